-- omero-graph's run summary: one row per workflow run, the facts workflowStatistics groups by,
-- so that a statistics request reads 100,000 small rows instead of parsing 2 M JSON events.
--
-- The rows are written only by the workflows subgraph (subgraphs/workflows/source/run-summary.ts),
-- which folds runs with the same fold the API uses (fold.ts) and catches up from
-- `folded_up_to` (the last settled event id folded) on each statistics request and after live
-- events, under an advisory lock. The tables can be dropped at any time (statistics then read the
-- event store directly, as before) and are rebuilt from the event store when re-created.
-- BIOMERO never reads them.
--
-- Idempotent: safe to run on every start. The role the subgraph connects as needs SELECT,
-- INSERT, UPDATE and DELETE on the four tables (the owner has them).

BEGIN;

CREATE TABLE IF NOT EXISTS omero_graph_workflow_run_summary (
    run_id uuid PRIMARY KEY,
    user_id bigint,
    group_id bigint,
    created timestamptz,
    -- the workflow task's name and version (fold.ts workflowTaskOf)
    workflow text,
    workflow_version text,
    -- the run's status as the API's WorkflowRunStatus enum value
    status text NOT NULL,
    -- the workflow job's queue wait and run time, the run's total (seconds; null when unknown)
    queued_seconds double precision,
    running_seconds double precision,
    total_seconds double precision,
    slurm_jobs integer NOT NULL,
    -- the highest event id of the run and its tasks when folded
    last_event_id bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS omero_graph_workflow_run_summary_created_idx ON omero_graph_workflow_run_summary (created);

-- Which run added which task (WorkflowRun.TaskAdded): a new task event refolds these runs.
CREATE TABLE IF NOT EXISTS omero_graph_workflow_run_task (
    task_id uuid NOT NULL,
    run_id uuid NOT NULL,
    PRIMARY KEY (task_id, run_id)
);

-- One row: every event with id <= folded_up_to is in the summary; fold_version changes when the
-- fold's rules do (the subgraph then rebuilds the summary).
CREATE TABLE IF NOT EXISTS omero_graph_workflow_run_summary_state (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    folded_up_to bigint NOT NULL,
    fold_version integer NOT NULL
);
INSERT INTO omero_graph_workflow_run_summary_state (one, folded_up_to, fold_version) VALUES (true, 0, 0)
    ON CONFLICT (one) DO NOTHING;
-- A new value each time the summary is rebuilt: buckets remembered from an earlier build are not reused.
ALTER TABLE omero_graph_workflow_run_summary_state ADD COLUMN IF NOT EXISTS generation text NOT NULL DEFAULT '';

-- A version per UTC day of the runs' `created`, raised in the same transaction as any summary row
-- of that day is written or removed: workflowStatistics reuses the buckets of a day whose version
-- is unchanged (subgraphs/workflows/source/statistics-cache.ts).
CREATE TABLE IF NOT EXISTS omero_graph_workflow_run_day (
    day timestamptz PRIMARY KEY,
    version bigint NOT NULL
);

COMMIT;
