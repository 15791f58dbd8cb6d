import DataLoader from 'dataloader';
import type pg from 'pg';
import type { Caller } from '../../common/identity';
import { visibleToCaller } from '../../common/omero-access';
import { ASSIGNMENTS_NS, DATA_NS, parseFormDefinition, parseSubmissions, SCHEMA_NS, type FormDefinition, type FormObjectType, type FormSubmission } from '../parse';

const TABLES: Record<FormObjectType, string> = { Project: 'project', Dataset: 'dataset', Screen: 'screen', Plate: 'plate' };

interface NsPairsRow {
  ns: string;
  pairs: { key: string; value: string }[];
}

/** Map annotations linked to experimenters (OMERO.forms' store), pairs in index order. */
const STORE_SQL = `SELECT a.ns, COALESCE((SELECT json_agg(json_build_object('key', mv.name, 'value', mv.value) ORDER BY mv.index)
      FROM annotation_mapvalue mv WHERE mv.annotation_id = a.id), '[]'::json) AS pairs
    FROM annotation a
   WHERE a.discriminator = '/map/' AND a.id IN (SELECT child FROM experimenterannotationlink)`;

/**
 * OMERO.forms data for one request. The store belongs to a privileged account, so OMERO's own
 * rules would hide it: visibility is applied here instead — submissions follow the object they
 * describe, definitions are visible to their owners and members of the groups they are assigned to.
 */
export class FormsSource {
  constructor(
    private readonly pool: pg.Pool,
    private readonly caller: Caller,
  ) {}

  readonly forms = new DataLoader<string, FormDefinition | null>(async (ids) => {
    const { rows } = await this.pool.query<NsPairsRow>(`${STORE_SQL} AND (a.ns = ANY($1::text[]) OR a.ns LIKE ANY($2::text[])) ORDER BY a.id`, [
      ids.map((id) => SCHEMA_NS + id),
      ids.map((id) => `${ASSIGNMENTS_NS}${id.replace(/[%_\\]/g, '\\$&')}/%`),
    ]);
    return ids.map((id) => {
      const schema = rows.find((r) => r.ns === SCHEMA_NS + id);
      if (!schema) return null;
      const form = parseFormDefinition(id, schema.pairs);
      const assigned = rows.filter((r) => r.ns.startsWith(`${ASSIGNMENTS_NS}${id}/`)).map((r) => Number(r.ns.slice(`${ASSIGNMENTS_NS}${id}/`.length)));
      return this.canSeeForm(form, assigned) ? form : null;
    });
  });

  private canSeeForm(form: FormDefinition, assignedGroupIds: number[]): boolean {
    const caller = this.caller;
    if (!caller) return false;
    if (caller.isAdmin || form.ownerIds.includes(caller.userId)) return true;
    return caller.groups.some((g) => assignedGroupIds.includes(g.id));
  }

  /** Submission history per object, newest first, only for objects the caller may see. */
  submissions(type: FormObjectType): DataLoader<number, FormSubmission[]> {
    let loader = this.submissionLoaders.get(type);
    if (!loader) {
      loader = new DataLoader<number, FormSubmission[]>(async (objectIds) => {
        const table = TABLES[type];
        const visible = await this.pool.query<{ id: number }>(
          `SELECT x.id FROM ${table} x WHERE x.id = ANY($2::bigint[]) AND ${visibleToCaller('x', '$1', this.caller)}`,
          [this.caller?.userId ?? -1, objectIds],
        );
        const ids = visible.rows.map((r) => Number(r.id));
        if (ids.length === 0) return objectIds.map(() => []);
        const { rows } = await this.pool.query<NsPairsRow>(`${STORE_SQL} AND a.ns LIKE ANY($1::text[]) ORDER BY a.id`, [ids.map((id) => `${DATA_NS}${type}/${id}/%`)]);
        return objectIds.map((id) => {
          const prefix = `${DATA_NS}${type}/${id}/`;
          return rows.filter((r) => r.ns.startsWith(prefix)).flatMap((r) => parseSubmissions(r.ns.slice(prefix.length), r.pairs));
        });
      });
      this.submissionLoaders.set(type, loader);
    }
    return loader;
  }

  private readonly submissionLoaders = new Map<FormObjectType, DataLoader<number, FormSubmission[]>>();
}
