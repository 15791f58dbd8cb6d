/**
 * Row builders shared by the OMERO parts of the demo seed: events, annotations and links,
 * written with the columns and values the OMERO server itself would write.
 */
import { DEMO_GROUPS, DEMO_USERS } from './world';
import type { Row } from './sql';

const GROUP_PERMISSIONS = new Map<number, number>(Object.values(DEMO_GROUPS).map((g) => [g.id, g.permissions]));

/** An object's permissions column is a copy of its group's value at creation. */
export function perms(groupId: number): number {
  const p = GROUP_PERMISSIONS.get(groupId);
  if (p === undefined) throw new Error(`unknown demo group ${groupId}`);
  return p;
}

/** The OMERO events (type 4 'User') behind every creation_id / update_id of the demo world. */
export const EVENTS = {
  aliceProject: { id: 1, user: 2, group: 3, time: '2026-03-01 09:00:00' },
  bobProject: { id: 2, user: 3, group: 5, time: '2026-03-01 09:05:00' },
  bobImport: { id: 3, user: 3, group: 5, time: '2026-03-01 09:10:00' },
  bobReadOnly: { id: 4, user: 3, group: 4, time: '2026-03-01 09:20:00' },
  aliceScreen: { id: 5, user: 2, group: 5, time: '2026-03-01 09:30:00' },
  importCompleted: { id: 6, user: 2, group: 3, time: '2026-03-02 09:01:00' },
  importPreprocessed: { id: 7, user: 2, group: 3, time: '2026-03-02 09:34:30' },
  importScreen: { id: 8, user: 2, group: 5, time: '2026-03-03 14:00:00' },
  aliceAnnotate: { id: 9, user: 2, group: 3, time: '2026-03-04 11:00:00' },
  workflowResults: { id: 10, user: 2, group: 3, time: '2026-03-05 12:40:00' },
  formV1: { id: 11, user: 7, group: 0, time: '2026-03-06 10:00:00' },
  submission1: { id: 12, user: 7, group: 0, time: '2026-03-07 15:00:00' },
  kvdata1: { id: 13, user: 2, group: 3, time: '2026-03-07 15:00:00' },
  formV2: { id: 14, user: 7, group: 0, time: '2026-03-10 09:00:00' },
  submission2: { id: 15, user: 7, group: 0, time: '2026-03-11 16:20:00' },
  kvdata2: { id: 16, user: 2, group: 3, time: '2026-03-11 16:20:00' },
} as const;

export type DemoEvent = (typeof EVENTS)[keyof typeof EVENTS];

const SESSION_OF = new Map<number, number>(Object.values(DEMO_USERS).map((u) => [u.id, u.sessionId]));

export function eventRows(): Row[] {
  return Object.values(EVENTS).map((e) => ({
    id: e.id,
    permissions: -52,
    status: null,
    time: e.time,
    experimenter: e.user,
    experimentergroup: e.group,
    session: SESSION_OF.get(e.user),
    type: 4, // eventtype 'User'
  }));
}

/** owner/group/permissions/creation/update columns for an object created in event `e`. */
export function details(e: DemoEvent, updated: DemoEvent = e): Row {
  return {
    permissions: perms(e.group),
    version: 0,
    owner_id: e.user,
    group_id: e.group,
    creation_id: e.id,
    update_id: updated.id,
  };
}

export interface MapAnnotationSpec {
  id: number;
  ns: string;
  event: DemoEvent;
  updated?: DemoEvent;
  entries: ReadonlyArray<readonly [string, string]>;
}

/** A MapAnnotation ('/map/') and its key-value rows; `index` keeps the pair order. */
export function mapAnnotation(spec: MapAnnotationSpec): { annotation: Row; values: Row[] } {
  return {
    annotation: { discriminator: '/map/', id: spec.id, ns: spec.ns, ...details(spec.event, spec.updated) },
    values: spec.entries.map(([name, value], index) => ({ annotation_id: spec.id, index, name, value })),
  };
}

/** A parent→child link row (project/dataset/image/... links and *annotationlink). */
export function link(id: number, parent: number, child: number, e: DemoEvent): Row {
  return { id, parent, child, ...details(e) };
}
