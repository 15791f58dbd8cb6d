/**
 * `npm run migrate`: installs our one migration in the BIOMERO database named by
 * BIOMERO_DATABASE_URL: database/notify.sql (pg_notify triggers on imports and
 * workflowtracker_events) and database/run-summary.sql (the tables workflowStatistics reads).
 * Idempotent. Without it, live status still works by polling and statistics read the event store.
 */
import { applyNotifyMigration } from './setup';

async function main(): Promise<void> {
  const url = process.env.BIOMERO_DATABASE_URL;
  if (!url) {
    console.error('BIOMERO_DATABASE_URL is not set.');
    process.exit(2);
  }
  await applyNotifyMigration(url);
  console.log('notify triggers installed on imports and workflowtracker_events; workflow run summary tables present');
}

main().catch((err) => {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
