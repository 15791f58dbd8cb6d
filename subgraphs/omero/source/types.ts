/**
 * The read model both sources return and the one interface they implement. Resolvers depend
 * only on this module: the database source (SQL on OMERO's tables) and the json-api source
 * (OMERO.web) are interchangeable (OMERO_SOURCE).
 */
import type { ObjectPermissions } from '../../common/access';

export interface Quantity {
  value: number;
  /** OMERO's unit symbol, e.g. µm */
  unit: string;
}

export interface Color {
  red: number;
  green: number;
  blue: number;
  alpha: number;
}

/** Owner, group, times and the caller's permissions: what every owned object carries. */
export interface OwnedRecord {
  id: number;
  ownerId: number;
  groupId: number;
  permissions: ObjectPermissions;
  /** null where the source cannot tell (json-api) */
  createdAt: Date | null;
  updatedAt: Date | null;
}

export interface ProjectRecord extends OwnedRecord {
  name: string;
  description: string | null;
}

export type DatasetRecord = ProjectRecord;

export interface ImageRecord extends OwnedRecord {
  name: string;
  description: string | null;
  acquisitionDate: Date | null;
  series: number | null;
  /** primary pixels without channels (both sources load it with the image) */
  pixels: PixelsRecord | null;
}

export interface PixelsRecord {
  id: number;
  sizeX: number;
  sizeY: number;
  sizeZ: number;
  sizeC: number;
  sizeT: number;
  physicalSizeX: Quantity | null;
  physicalSizeY: Quantity | null;
  physicalSizeZ: Quantity | null;
  timeIncrement: Quantity | null;
  pixelType: string;
  dimensionOrder: string;
  significantBits: number | null;
}

export interface ChannelRecord {
  index: number;
  name: string | null;
  color: Color | null;
  emissionWavelength: Quantity | null;
  excitationWavelength: Quantity | null;
  fluor: string | null;
}

export interface ScreenRecord extends ProjectRecord {
  protocolDescription: string | null;
  protocolIdentifier: string | null;
  reagentSetDescription: string | null;
  reagentSetIdentifier: string | null;
  type: string | null;
}

export interface PlateRecord extends ProjectRecord {
  rows: number | null;
  columns: number | null;
  rowNamingConvention: string | null;
  columnNamingConvention: string | null;
  externalIdentifier: string | null;
  status: string | null;
}

export interface PlateAcquisitionRecord extends OwnedRecord {
  name: string | null;
  description: string | null;
  startTime: Date | null;
  endTime: Date | null;
  maximumFieldCount: number | null;
  plateId: number | null;
}

export interface WellRecord extends OwnedRecord {
  row: number;
  column: number;
  type: string | null;
  externalDescription: string | null;
  externalIdentifier: string | null;
  status: string | null;
  color: Color | null;
  plateId: number | null;
}

export interface WellSampleRecord {
  id: number;
  imageId: number | null;
  plateAcquisitionId: number | null;
  positionX: Quantity | null;
  positionY: Quantity | null;
  timepoint: Date | null;
}

export interface RoiRecord extends OwnedRecord {
  name: string | null;
  description: string | null;
  imageId: number | null;
}

export type ShapeType = 'Rectangle' | 'Ellipse' | 'Point' | 'Line' | 'Polyline' | 'Polygon' | 'Label' | 'Mask';

export interface ShapeRecord {
  __typename: ShapeType;
  id: number;
  theZ: number | null;
  theT: number | null;
  theC: number | null;
  fillColor: Color | null;
  strokeColor: Color | null;
  strokeWidth: Quantity | null;
  text: string | null;
  locked: boolean | null;
  x?: number | null;
  y?: number | null;
  width?: number | null;
  height?: number | null;
  radiusX?: number | null;
  radiusY?: number | null;
  x1?: number | null;
  y1?: number | null;
  x2?: number | null;
  y2?: number | null;
  points?: string | null;
  markerStart?: string | null;
  markerEnd?: string | null;
}

export interface OriginalFileRecord {
  id: number;
  name: string;
  path: string;
  size: number | null;
  mimetype: string | null;
  clientPath: string | null;
  hash: string | null;
}

export interface FilesetRecord {
  id: number;
  templatePrefix: string;
  originalFiles: OriginalFileRecord[];
}

export interface ExperimenterRecord {
  id: number;
  userName: string;
  firstName: string;
  middleName: string | null;
  lastName: string;
  email: string | null;
  institution: string | null;
}

export interface GroupRecord {
  id: number;
  name: string;
  description: string | null;
  /** six-character permission string, e.g. rwra-- */
  perm: string;
}

export interface MembershipRecord {
  groupId: number;
  /** null when the source cannot tell (json-api, for anyone but the caller) */
  leader: boolean | null;
}

export type AnnotationKind = 'map' | 'tag' | 'comment' | 'file';

export interface AnnotationRecord extends OwnedRecord {
  __typename: 'MapAnnotation' | 'TagAnnotation' | 'CommentAnnotation' | 'FileAnnotation';
  namespace: string | null;
  description: string | null;
  pairs?: { key: string; value: string }[];
  text?: string;
  file?: OriginalFileRecord | null;
}

/** Object types with by-id lookups. */
export interface RecordOf {
  Project: ProjectRecord;
  Dataset: DatasetRecord;
  Image: ImageRecord;
  Screen: ScreenRecord;
  Plate: PlateRecord;
  PlateAcquisition: PlateAcquisitionRecord;
  Well: WellRecord;
  Roi: RoiRecord;
}
export type ObjectType = keyof RecordOf;

/** Types with lists (Query.images etc.) and the link parents each list can be narrowed to. */
export type ListType = 'Project' | 'Dataset' | 'Image' | 'Screen' | 'Plate' | 'Well';

/** Types annotations hang on (the <type>annotationlink tables). */
export type AnnotatedType = 'Project' | 'Dataset' | 'Image' | 'Screen' | 'Plate';
/** In the order Annotation.linkedObjects lists them. */
export const ANNOTATED_TYPES: readonly AnnotatedType[] = ['Project', 'Dataset', 'Image', 'Screen', 'Plate'];
/** Most objects Annotation.linkedObjects names (docs/limits.md). */
export const LINKED_OBJECTS_LIMIT = 200;

export interface KeyValueCondition {
  /** any of these namespaces; null = any namespace */
  ns: string[] | null;
  key: string;
  /** null = any value */
  value: string | null;
}

export interface ListFilter {
  ownerId?: number;
  groupId?: number;
  orphaned?: boolean;
  nameContains?: string;
  keyValue?: KeyValueCondition;
  /** children of one container: datasets of a project, images of a dataset, plates of a screen, wells of a plate */
  parentId?: number;
}

/**
 * Where a page of a list starts or ends: an edge's sort key (lists are ordered by lower(name),
 * id; wells by column, row, id, as OMERO.web orders them) and the 1-based position it had when
 * listed — a hint only, where the json-api source starts looking for the key.
 */
export interface ListCursor {
  position: number;
  id: number;
  /** named lists */
  name?: string;
  /** wells */
  column?: number;
  row?: number;
}

/** A keyset page: up to `limit` rows strictly between `after` and `before`, the first ones, or the last ones when `backward`. */
export interface ListPage {
  limit: number;
  after: ListCursor | null;
  before: ListCursor | null;
  backward: boolean;
}

export interface ListResult<T> {
  /** at most page.limit rows, in list order */
  rows: T[];
  /** position of rows[0] (1-based): the last one's + 1 paging forwards, as counted paging backwards */
  firstPosition: number;
  /** more rows inside the bounds in the direction paged */
  hasMore: boolean;
  /** asked only when the client selects totalCount */
  totalCount(): Promise<number>;
}

export type ParentRelation = 'projectsOfDataset' | 'datasetsOfImage' | 'screensOfPlate';

/** One per request and caller. Every by-id and by-parent method batches through a DataLoader. */
export interface OmeroSource {
  readonly kind: 'database' | 'json-api';
  object<T extends ObjectType>(type: T, id: number): Promise<RecordOf[T] | null>;
  list<T extends ListType>(type: T, filter: ListFilter, page: ListPage): Promise<ListResult<RecordOf[T]>>;
  parents(relation: ParentRelation, childId: number): Promise<ProjectRecord[] | DatasetRecord[] | ScreenRecord[]>;
  channels(imageId: number): Promise<ChannelRecord[]>;
  plateAcquisitions(plateId: number): Promise<PlateAcquisitionRecord[]>;
  wellSamples(wellId: number): Promise<WellSampleRecord[]>;
  wellOfImage(imageId: number): Promise<WellRecord | null>;
  rois(imageId: number): Promise<RoiRecord[]>;
  shapes(roiId: number): Promise<ShapeRecord[]>;
  fileset(imageId: number): Promise<FilesetRecord | null>;
  /** annotations of one kind on an object, by annotation id; map annotations optionally in one namespace */
  annotations(type: AnnotatedType, objectId: number, kind: AnnotationKind, ns: string | null): Promise<AnnotationRecord[]>;
  /**
   * A map, tag, comment or file annotation by id, when the caller may read it and it is linked
   * (by a link they may read) to a project, dataset, image, screen or plate they may read; else null.
   */
  annotation(id: number): Promise<AnnotationRecord | null>;
  /**
   * The objects the caller may read that an annotation is linked to (by links they may read):
   * projects, datasets, images, screens, then plates, each by id; at most LINKED_OBJECTS_LIMIT.
   */
  linkedObjects(annotationId: number): Promise<AnnotatedObjectRef[]>;
  experimenter(id: number): Promise<ExperimenterRecord | null>;
  experimenterByName(userName: string): Promise<ExperimenterRecord | null>;
  group(id: number): Promise<GroupRecord | null>;
  groupByName(name: string): Promise<GroupRecord | null>;
  memberships(userId: number): Promise<MembershipRecord[]>;
  /**
   * Images and plates with a map annotation (in one of `ns`) holding key = value, as ids in no
   * particular order; batched over values (import order UUIDs, workflow run ids). Loading them
   * with object() applies the caller's visibility.
   */
  objectsWithValue(ns: string[], key: string, value: string): Promise<ObjectRef[]>;
}

export interface ObjectRef {
  type: 'Image' | 'Plate';
  id: number;
}

export interface AnnotatedObjectRef {
  type: AnnotatedType;
  id: number;
}
