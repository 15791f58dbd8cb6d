-- omero-graph: the BIOMERO database tables, as the BIOMERO services create them.
--
-- Production BIOMERO databases are created by the services themselves (SQLAlchemy create_all
-- + Alembic in BIOMERO.importer, eventsourcing_sqlalchemy and biomero's views in the analyzer);
-- this file reproduces those tables for the demo world and the tests.
-- Source: /work/shared/reference/biomero-models.md sections 1.3, 1.4 and 2.1.
-- Every statement is IF NOT EXISTS, like create_all(checkfirst=True), so reapplying is harmless.

BEGIN;

--
-- BIOMERO.importer (ingest tracker): an append-only stage log, one row per stage per order.
--
CREATE TABLE IF NOT EXISTS imports_preprocessing (
    id serial NOT NULL,
    container character varying NOT NULL,
    input_file character varying NOT NULL,
    output_folder character varying NOT NULL,
    alt_output_folder character varying,
    extra_params json,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS imports (
    id serial NOT NULL,
    group_name character varying NOT NULL,
    user_name character varying NOT NULL,
    destination_id character varying NOT NULL,
    destination_type character varying NOT NULL,
    stage character varying NOT NULL,
    uuid character varying(36) NOT NULL,
    "timestamp" timestamp with time zone,
    files text NOT NULL,
    file_names text,
    -- added by migration 78d3d6d84aec (2025-08)
    description text,
    preprocessing_id integer,
    -- added by migration 92e8f9e637a1 (2026-08); NULL on rows written by older services
    import_options text,
    PRIMARY KEY (id),
    CONSTRAINT imports_preprocessing_id_fkey FOREIGN KEY (preprocessing_id) REFERENCES imports_preprocessing (id)
);
CREATE INDEX IF NOT EXISTS ix_imports_user_name ON imports (user_name);
CREATE INDEX IF NOT EXISTS ix_imports_uuid ON imports (uuid);
CREATE INDEX IF NOT EXISTS imports_ix_uuid_timestamp ON imports (uuid, "timestamp");

--
-- biomero (analyzer): the event store of WorkflowTracker, written by eventsourcing_sqlalchemy.
-- state is UTF-8 JSON in bytea; read it with convert_from(state, 'UTF8')::jsonb.
--
CREATE TABLE IF NOT EXISTS workflowtracker_events (
    id bigserial NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS workflowtracker_events_aggregate_idx
    ON workflowtracker_events (originator_id, originator_version);

-- The four follower process applications each get an events table (same layout, always empty)
-- and a tracking table (eventsourcing_sqlalchemy 0.9, as deployed: one row per processed
-- notification, PK (application_name, notification_id)).
CREATE TABLE IF NOT EXISTS jobaccounting_events (
    id bigserial NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS jobaccounting_events_aggregate_idx
    ON jobaccounting_events (originator_id, originator_version);
CREATE TABLE IF NOT EXISTS jobaccounting_tracking (
    application_name character varying(32) NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (application_name, notification_id)
);

CREATE TABLE IF NOT EXISTS jobprogress_events (
    id bigserial NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS jobprogress_events_aggregate_idx
    ON jobprogress_events (originator_id, originator_version);
CREATE TABLE IF NOT EXISTS jobprogress_tracking (
    application_name character varying(32) NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (application_name, notification_id)
);

CREATE TABLE IF NOT EXISTS workflowprogress_events (
    id bigserial NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS workflowprogress_events_aggregate_idx
    ON workflowprogress_events (originator_id, originator_version);
CREATE TABLE IF NOT EXISTS workflowprogress_tracking (
    application_name character varying(32) NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (application_name, notification_id)
);

CREATE TABLE IF NOT EXISTS workflowanalytics_events (
    id bigserial NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS workflowanalytics_events_aggregate_idx
    ON workflowanalytics_events (originator_id, originator_version);
CREATE TABLE IF NOT EXISTS workflowanalytics_tracking (
    application_name character varying(32) NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (application_name, notification_id)
);

--
-- biomero read models ("views", biomero/database.py): disposable, rebuilt by SLURM Init,
-- possibly incomplete. "user" and "group" are reserved words and must stay quoted.
--
CREATE TABLE IF NOT EXISTS biomero_job_view (
    slurm_job_id serial NOT NULL,
    "user" integer NOT NULL,
    "group" integer NOT NULL,
    task_id uuid,
    PRIMARY KEY (slurm_job_id)
);

CREATE TABLE IF NOT EXISTS biomero_job_progress_view (
    slurm_job_id serial NOT NULL,
    status character varying NOT NULL,
    progress character varying,
    PRIMARY KEY (slurm_job_id)
);

CREATE TABLE IF NOT EXISTS biomero_workflow_progress_view (
    workflow_id uuid NOT NULL,
    status character varying,
    progress character varying,
    "user" integer,
    "group" integer,
    name character varying,
    task character varying,
    main_task_name character varying,
    start_time timestamp without time zone NOT NULL,
    PRIMARY KEY (workflow_id)
);

CREATE TABLE IF NOT EXISTS biomero_task_execution (
    task_id uuid NOT NULL,
    task_name character varying NOT NULL,
    task_version character varying,
    user_id integer,
    group_id integer,
    status character varying NOT NULL,
    start_time timestamp without time zone NOT NULL,
    end_time timestamp without time zone,
    error_type character varying,
    PRIMARY KEY (task_id)
);

COMMIT;
