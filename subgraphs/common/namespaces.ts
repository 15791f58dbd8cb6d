/** Annotation namespaces other services write on OMERO objects (reference/biomero-models.md). */

/** BIOMERO.importer's order-UUID annotation, newest namespace first (omeroadi.import before 2025-10). */
export const IMPORT_NAMESPACES = ['biomero.import', 'omeroadi.import'];

/** BIOMERO's result annotation carrying Workflow_ID. */
export const WORKFLOW_NAMESPACE = 'biomero/workflow';
