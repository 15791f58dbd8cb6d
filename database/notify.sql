-- omero-graph's own migration, part 1 (part 2: run-summary.sql): with it, the only things
-- omero-graph ever creates in a BIOMERO database.
--
-- AFTER INSERT triggers that announce each new row of the two append-only logs with pg_notify,
-- payload = the new row's id. Subscribers still read the rows themselves (by id; which ids are
-- final is decided from pg_locks, docs/live-status.md), so a lost or coalesced notification only
-- costs latency, never data. Without this migration the subgraphs fall back to polling by id.
--
-- Idempotent: safe to run on every start.

BEGIN;

CREATE OR REPLACE FUNCTION omero_graph_notify_imports() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('omero_graph_imports', NEW.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION omero_graph_notify_workflow_events() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('omero_graph_workflow_events', NEW.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS omero_graph_imports_notify ON imports;
CREATE TRIGGER omero_graph_imports_notify
    AFTER INSERT ON imports
    FOR EACH ROW EXECUTE FUNCTION omero_graph_notify_imports();

DROP TRIGGER IF EXISTS omero_graph_workflow_events_notify ON workflowtracker_events;
CREATE TRIGGER omero_graph_workflow_events_notify
    AFTER INSERT ON workflowtracker_events
    FOR EACH ROW EXECUTE FUNCTION omero_graph_notify_workflow_events();

COMMIT;
