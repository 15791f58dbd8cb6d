/**
 * Seed the demo world into an OMERO and a BIOMERO database that already hold our DDL
 * (database/setup.ts). Deterministic and idempotent: every row has a fixed key and is inserted
 * with ON CONFLICT DO NOTHING, so a second run changes nothing. Afterwards the sequences are
 * moved past the fixed ids so later plain inserts (ome_nextval, serial) do not collide.
 */
import { seedFormAnnotations } from './forms';
import { seedImportAnnotations, seedImports } from './imports';
import { seedLineageOmero, seedLineageWorkflows } from './lineage';
import { OMERO_SEQUENCED_TABLES, seedOmeroCore } from './omero';
import { type Db, type Queryable, advanceSequence, inTransaction } from './sql';
import { seedWorkflowAnnotations, seedWorkflows } from './workflows';

export * from './world';
export { LINEAGE_DEMO } from './lineage';

export async function seedDemoWorld(omero: Db, biomero: Db): Promise<void> {
  await inTransaction(omero, async (q) => {
    await seedOmeroCore(q);
    await seedImportAnnotations(q);
    await seedWorkflowAnnotations(q);
    await seedFormAnnotations(q);
    await seedLineageOmero(q);
    await advanceOmeroSequences(q);
  });
  await inTransaction(biomero, async (q) => {
    await seedImports(q);
    await seedWorkflows(q);
    await seedLineageWorkflows(q);
  });
}

async function advanceOmeroSequences(q: Queryable): Promise<void> {
  for (const table of OMERO_SEQUENCED_TABLES) {
    const { rows } = await q.query(`SELECT COALESCE(max(id), 0)::int AS max FROM ${table}`);
    await advanceSequence(q, `seq_${table}`, rows[0].max);
  }
}
