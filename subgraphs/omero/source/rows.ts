/** Row shapes returned by the OMERO database source (column names as OMERO's DDL spells them). */
export interface OwnedRow {
  id: number;
  owner_id: number;
  group_id: number;
  group_permissions: number;
  created_at: Date;
  updated_at: Date;
}

export interface ImageRow extends OwnedRow {
  name: string;
  description: string | null;
  acquisitiondate: Date | null;
}

export interface ContainerRow extends OwnedRow {
  name: string;
  description: string | null;
}

export interface PlateRow extends ContainerRow {
  rows: number | null;
  columns: number | null;
}

export interface ExperimenterRow {
  id: number;
  omename: string;
  firstname: string;
  lastname: string;
  email: string | null;
}

export interface GroupRow {
  id: number;
  name: string;
  description: string | null;
  permissions: number;
}

export interface MembershipRow {
  child: number;
  parent: number;
  owner: boolean;
}

export interface MapAnnotationRow {
  id: number;
  parent: number;
  ns: string | null;
  owner_id: number;
  pairs: { key: string; value: string }[];
}

/** Which link table joins an object type to its annotations. */
export type AnnotatedType = 'image' | 'dataset' | 'project' | 'plate' | 'screen';
