/**
 * Container image references (`[registry[:port]/]path[:tag][@digest]`), parsed by one grammar:
 * the OCI distribution reference grammar (distribution/reference), which Docker and podman use.
 * Used where a reference is checked before it is written (createImportOrder's preprocessing) and
 * where one is read back (Preprocessing.image/tag/digest, the lineage's Software agents).
 */

// domain-component: alphanumerics with inner hyphens; the registry host may carry a port.
const DOMAIN_COMPONENT = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
// path-component: lower-case alphanumerics joined by '.', '_', '__' or one or more '-'.
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const REFERENCE = new RegExp(`^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

/** Longest reference accepted (OMERO.biomero's column is varchar(255)). */
export const MAX_IMAGE_REFERENCE_LENGTH = 255;

export interface ImageReference {
  /** registry host (with port), or null for the default registry (Docker Hub) */
  registry: string | null;
  /** repository path within the registry, e.g. `cellularimagingcf/convertleica-docker` */
  repository: string;
  /** registry and repository, as written: what `docker pull` names without tag or digest */
  name: string;
  tag: string | null;
  /** `algorithm:hex` */
  digest: string | null;
}

/**
 * The parts of a reference, or null when it is not one. As Docker decides it, the first path
 * component names a registry only when it has a '.' or a ':' or is `localhost` (`org/img` is a
 * repository on the default registry, `registry:5000/org/img` is not).
 */
export function parseImageReference(reference: string): ImageReference | null {
  if (reference.length === 0 || reference.length > MAX_IMAGE_REFERENCE_LENGTH) return null;
  const m = REFERENCE.exec(reference);
  if (!m) return null;
  let [, registry, repository] = m;
  const [, , , tag, digest] = m;
  if (registry !== undefined && !(registry.includes('.') || registry.includes(':') || registry === 'localhost')) {
    // a lower-case first component without '.'/':' is part of the path after all
    if (!new RegExp(`^${PATH_COMPONENT}$`).test(registry)) return null;
    repository = `${registry}/${repository}`;
    registry = undefined as unknown as string;
  }
  return {
    registry: registry ?? null,
    repository,
    name: registry ? `${registry}/${repository}` : repository,
    tag: tag ?? null,
    digest: digest ?? null,
  };
}
