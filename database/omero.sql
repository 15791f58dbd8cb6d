-- omero-graph: the subset of the OMERO 5.4 schema (OMERO5.4__0) that omero-graph reads.
--
-- Production databases are created by a real OMERO server; this file exists so the demo world
-- and the tests run on tables that match those column for column (names, types including the
-- domains and unit enums, nullability, defaults, unique keys, FK names). Source of truth:
-- /work/shared/reference/omero-schema.md (read off the real DDL: psql-header.sql, schema.sql,
-- psql-footer.sql). Differences from the real DDL, all deliberate:
--   * only the tables omero-graph reads (plus the enum tables and link tables they point at);
--   * no FKs to tables we do not create (externalinfo, experiment, instrument, statsinfo, ...);
--   * of OMERO's triggers only image_series_default_zero and the annotation_mapvalue cleanup on
--     annotation delete (reindexing, namespace bookkeeping and the admin-privilege checks are
--     the OMERO server's business, not a reader's);
--   * no count_* tables, no namespace/thumbnail/renderingdef/... tables.
--
-- Everything runs in one transaction: either the whole schema exists or none of it does.
-- database/setup.ts applies this file only when table `experimenter` does not exist yet.

BEGIN;

-- Helper used while building the schema only: pg_temp functions vanish with the session, so
-- nothing that a real OMERO database lacks is left behind.
CREATE FUNCTION pg_temp.common_fks(t text) RETURNS void AS $$
BEGIN
    -- The five columns almost every OMERO model table shares, with OMERO's FK names.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (creation_id) REFERENCES event', t, 'fk' || t || '_creation_id_event');
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (update_id) REFERENCES event', t, 'fk' || t || '_update_id_event');
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (owner_id) REFERENCES experimenter', t, 'fk' || t || '_owner_id_experimenter');
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (group_id) REFERENCES experimentergroup', t, 'fk' || t || '_group_id_experimentergroup');
    EXECUTE format('CREATE INDEX %I ON %I (owner_id)', 'i_' || t || '_owner', t);
    EXECUTE format('CREATE INDEX %I ON %I (group_id)', 'i_' || t || '_group', t);
END;
$$ LANGUAGE plpgsql;

--
-- Domains and unit enums (psql-header.sql)
--
CREATE DOMAIN nonnegative_int AS INTEGER CHECK (VALUE >= 0);
CREATE DOMAIN nonnegative_float AS DOUBLE PRECISION CHECK (VALUE >= 0);
CREATE DOMAIN positive_int AS INTEGER CHECK (VALUE > 0);
CREATE DOMAIN positive_float AS DOUBLE PRECISION CHECK (VALUE > 0);
CREATE DOMAIN percent_fraction AS DOUBLE PRECISION CHECK (VALUE >= 0 AND VALUE <= 1);

CREATE TYPE UnitsLength AS ENUM ('Ym','Zm','Em','Pm','Tm','Gm','Mm','km','hm','dam','m','dm','cm','mm','µm','nm','pm','fm','am','zm','ym','Å','ua','ly','pc','thou','li','in','ft','yd','mi','pt','pixel','reference frame');
CREATE TYPE UnitsTime AS ENUM ('Ys','Zs','Es','Ps','Ts','Gs','Ms','ks','hs','das','s','ds','cs','ms','µs','ns','ps','fs','as','zs','ys','min','h','d');

--
-- ome_nextval: OMERO hands out ids from seq_<table> under an advisory lock (psql-footer.sql).
-- No id column has a DEFAULT; writers call ome_nextval('seq_<table>').
--
CREATE SEQUENCE _lock_seq;
CREATE TABLE _lock_ids (
    id int4 NOT NULL PRIMARY KEY DEFAULT nextval('_lock_seq'),
    name varchar(255) NOT NULL UNIQUE
);

CREATE OR REPLACE FUNCTION ome_nextval(seq VARCHAR, increment int4) RETURNS INT8 AS $$
DECLARE
    Lid  int4;
    nv   int8;
BEGIN
    SELECT id INTO Lid FROM _lock_ids WHERE name = seq;
    IF Lid IS NULL THEN
        SELECT INTO Lid nextval('_lock_seq');
        INSERT INTO _lock_ids (id, name) VALUES (Lid, seq);
    END IF;

    PERFORM pg_advisory_lock(1, Lid);
    PERFORM nextval(seq) FROM generate_series(1, increment);
    SELECT currval(seq) INTO nv;
    PERFORM pg_advisory_unlock(1, Lid);

    RETURN nv;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ome_nextval(seq VARCHAR) RETURNS INT8 AS $$
BEGIN
    RETURN ome_nextval(seq, 1);
END;
$$ LANGUAGE plpgsql;

-- One sequence per table with an id, registered in _lock_ids like OMERO does.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'dbpatch', 'node', 'session', 'experimenter', 'experimentergroup', 'groupexperimentermap',
        'eventtype', 'event', 'eventlog', 'pixelstype', 'dimensionorder', 'format', 'checksumalgorithm',
        'originalfile', 'fileset', 'filesetentry', 'project', 'dataset', 'image',
        'projectdatasetlink', 'datasetimagelink', 'pixels', 'logicalchannel', 'channel',
        'screen', 'plate', 'plateacquisition', 'screenplatelink', 'well', 'wellsample', 'roi', 'shape',
        'annotation', 'imageannotationlink', 'projectannotationlink', 'datasetannotationlink',
        'screenannotationlink', 'plateannotationlink', 'plateacquisitionannotationlink',
        'wellannotationlink', 'roiannotationlink', 'experimenterannotationlink',
        'experimentergroupannotationlink', 'filesetannotationlink', 'originalfileannotationlink'
    ] LOOP
        EXECUTE format('CREATE SEQUENCE %I', 'seq_' || t);
        INSERT INTO _lock_ids (name) VALUES ('seq_' || t);
    END LOOP;
END;
$$;

--
-- Bookkeeping
--
CREATE TABLE dbpatch (
    id bigint NOT NULL DEFAULT ome_nextval('seq_dbpatch'),
    currentpatch integer NOT NULL,
    currentversion character varying(255) NOT NULL,
    permissions bigint NOT NULL DEFAULT -52,
    finished timestamp without time zone,
    message character varying(255) DEFAULT 'Updating',
    previouspatch integer NOT NULL,
    previousversion character varying(255) NOT NULL,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);

CREATE TABLE _roles (
    root_user_id BIGINT NOT NULL,
    guest_user_id BIGINT NOT NULL,
    system_group_id BIGINT NOT NULL,
    user_group_id BIGINT NOT NULL,
    guest_group_id BIGINT NOT NULL
);

--
-- Enumeration tables (value lists from psql-footer.sql; `format` starts empty, the server adds
-- Bio-Formats reader names on import)
--
CREATE TABLE eventtype (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    value character varying(255) NOT NULL,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (value),
    UNIQUE (external_id)
);
CREATE TABLE pixelstype (
    id bigint NOT NULL,
    bitsize integer,
    permissions bigint NOT NULL,
    value character varying(255) NOT NULL,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (value),
    UNIQUE (external_id)
);
CREATE TABLE dimensionorder (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    value character varying(255) NOT NULL,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (value),
    UNIQUE (external_id)
);
CREATE TABLE format (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    value character varying(255) NOT NULL,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (value),
    UNIQUE (external_id)
);
CREATE TABLE checksumalgorithm (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    value character varying(255) NOT NULL,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (value),
    UNIQUE (external_id)
);

--
-- Users, groups, sessions, events
--
CREATE TABLE experimenter (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    email character varying(255),
    firstname character varying(255) NOT NULL,
    institution character varying(255),
    lastname character varying(255) NOT NULL,
    ldap boolean NOT NULL DEFAULT false,
    middlename character varying(255),
    omename character varying(255) NOT NULL,
    version integer,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (omename)
);

CREATE TABLE experimentergroup (
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    ldap boolean NOT NULL DEFAULT false,
    name character varying(255) NOT NULL,
    version integer,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (name)
);

CREATE TABLE groupexperimentermap (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    owner boolean NOT NULL,
    version integer,
    child bigint NOT NULL,
    external_id bigint,
    parent bigint NOT NULL,
    child_index integer NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (child, child_index),
    UNIQUE (external_id),
    UNIQUE (parent, child)
);
ALTER TABLE groupexperimentermap ADD CONSTRAINT fkgroupexperimentermap_parent_experimentergroup FOREIGN KEY (parent) REFERENCES experimentergroup;
ALTER TABLE groupexperimentermap ADD CONSTRAINT fkgroupexperimentermap_child_experimenter FOREIGN KEY (child) REFERENCES experimenter;

CREATE TABLE node (
    id bigint NOT NULL,
    conn text NOT NULL,
    permissions bigint NOT NULL,
    down timestamp without time zone,
    scale integer,
    up timestamp without time zone NOT NULL,
    uuid character varying(255) NOT NULL,
    version integer,
    external_id bigint,
    PRIMARY KEY (id),
    UNIQUE (uuid),
    UNIQUE (external_id)
);
CREATE INDEX node_down ON node(down);

CREATE TABLE session (
    id bigint NOT NULL,
    closed timestamp without time zone,
    defaulteventtype character varying(255) NOT NULL,
    permissions bigint NOT NULL,
    message text,
    started timestamp without time zone NOT NULL,
    timetoidle bigint NOT NULL,
    timetolive bigint NOT NULL,
    useragent character varying(255),
    userip character varying(45),
    uuid character varying(255) NOT NULL,
    version integer,
    external_id bigint,
    node bigint NOT NULL,
    owner bigint NOT NULL,
    sudoer bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (uuid)
);
ALTER TABLE session ADD CONSTRAINT fksession_node_node FOREIGN KEY (node) REFERENCES node;
ALTER TABLE session ADD CONSTRAINT fksession_owner_experimenter FOREIGN KEY (owner) REFERENCES experimenter;
ALTER TABLE session ADD CONSTRAINT fksession_sudoer_experimenter FOREIGN KEY (sudoer) REFERENCES experimenter;

CREATE TABLE event (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    status character varying(255),
    "time" timestamp without time zone NOT NULL,
    containingevent bigint,
    external_id bigint,
    experimenter bigint NOT NULL,
    experimentergroup bigint NOT NULL,
    "session" bigint NOT NULL,
    type bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
ALTER TABLE event ADD CONSTRAINT fkevent_containingevent_event FOREIGN KEY (containingevent) REFERENCES event;
ALTER TABLE event ADD CONSTRAINT fkevent_experimenter_experimenter FOREIGN KEY (experimenter) REFERENCES experimenter;
ALTER TABLE event ADD CONSTRAINT fkevent_experimentergroup_experimentergroup FOREIGN KEY (experimentergroup) REFERENCES experimentergroup;
ALTER TABLE event ADD CONSTRAINT fkevent_session_session FOREIGN KEY ("session") REFERENCES session;
ALTER TABLE event ADD CONSTRAINT fkevent_type_eventtype FOREIGN KEY (type) REFERENCES eventtype;
CREATE INDEX i_event_experimenter ON event(experimenter);
CREATE INDEX i_event_experimentergroup ON event(experimentergroup);
CREATE INDEX i_event_session ON event("session");

CREATE TABLE eventlog (
    id bigint NOT NULL,
    action character varying(255) NOT NULL,
    permissions bigint NOT NULL,
    entityid bigint NOT NULL,
    entitytype character varying(255) NOT NULL,
    external_id bigint,
    event bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
ALTER TABLE eventlog ADD CONSTRAINT fkeventlog_event_event FOREIGN KEY (event) REFERENCES event;
CREATE INDEX i_eventlog_event ON eventlog(event);
CREATE INDEX eventlog_entitytype ON eventlog(entitytype);
CREATE INDEX eventlog_entityid ON eventlog(entityid);
CREATE INDEX eventlog_action ON eventlog(action);

--
-- Files
--
CREATE TABLE originalfile (
    id bigint NOT NULL,
    atime timestamp without time zone,
    ctime timestamp without time zone,
    permissions bigint NOT NULL,
    hash text,
    mimetype character varying(255) DEFAULT 'application/octet-stream'::character varying,
    mtime timestamp without time zone,
    name text NOT NULL,
    path text NOT NULL,
    repo character varying(36),
    "size" bigint,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    hasher bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('originalfile');
ALTER TABLE originalfile ADD CONSTRAINT fkoriginalfile_hasher_checksumalgorithm FOREIGN KEY (hasher) REFERENCES checksumalgorithm;
-- as OMERO 5.4's psql-footer.sql: a path with repeated slashes names the same file
CREATE UNIQUE INDEX originalfile_repo_path_index ON originalfile (repo, regexp_split_to_array('/' || path || name || '/', '/+')) WHERE repo IS NOT NULL;
CREATE INDEX originalfile_path_index ON originalfile (path);
CREATE INDEX originalfile_hash_index ON originalfile (hash);

CREATE TABLE fileset (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    templateprefix text NOT NULL,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('fileset');

CREATE TABLE filesetentry (
    id bigint NOT NULL,
    clientpath text NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    fileset bigint NOT NULL,
    originalfile bigint NOT NULL,
    fileset_index integer NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (fileset, fileset_index)
);
SELECT pg_temp.common_fks('filesetentry');
ALTER TABLE filesetentry ADD CONSTRAINT fkfilesetentry_fileset_fileset FOREIGN KEY (fileset) REFERENCES fileset;
ALTER TABLE filesetentry ADD CONSTRAINT fkfilesetentry_originalfile_originalfile FOREIGN KEY (originalfile) REFERENCES originalfile;
CREATE INDEX i_filesetentry_fileset ON filesetentry(fileset);
CREATE INDEX i_filesetentry_originalfile ON filesetentry(originalfile);

--
-- Containers and images
--
CREATE TABLE project (
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    name text NOT NULL,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('project');

CREATE TABLE dataset (
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    name text NOT NULL,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('dataset');

CREATE TABLE image (
    id bigint NOT NULL,
    acquisitiondate timestamp without time zone,
    archived boolean,
    description text,
    permissions bigint NOT NULL,
    name text NOT NULL,
    partial boolean,
    series nonnegative_int NOT NULL DEFAULT 0,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    experiment bigint,
    fileset bigint,
    format bigint,
    imagingenvironment bigint,
    instrument bigint,
    objectivesettings bigint,
    stagelabel bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('image');
ALTER TABLE image ADD CONSTRAINT fkimage_fileset_fileset FOREIGN KEY (fileset) REFERENCES fileset;
ALTER TABLE image ADD CONSTRAINT fkimage_format_format FOREIGN KEY (format) REFERENCES format;
CREATE INDEX i_image_fileset ON image(fileset);

CREATE FUNCTION image_series_default_zero() RETURNS "trigger" AS $$
    BEGIN
        IF NEW.series IS NULL THEN
            NEW.series := 0;
        END IF;

        RETURN NEW;
    END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER image_series_default_zero
    BEFORE INSERT OR UPDATE ON image
    FOR EACH ROW EXECUTE PROCEDURE image_series_default_zero();

CREATE TABLE projectdatasetlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
SELECT pg_temp.common_fks('projectdatasetlink');
ALTER TABLE projectdatasetlink ADD CONSTRAINT fkprojectdatasetlink_parent_project FOREIGN KEY (parent) REFERENCES project;
ALTER TABLE projectdatasetlink ADD CONSTRAINT fkprojectdatasetlink_child_dataset FOREIGN KEY (child) REFERENCES dataset;
CREATE INDEX i_projectdatasetlink_parent ON projectdatasetlink(parent);
CREATE INDEX i_projectdatasetlink_child ON projectdatasetlink(child);

CREATE TABLE datasetimagelink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
SELECT pg_temp.common_fks('datasetimagelink');
ALTER TABLE datasetimagelink ADD CONSTRAINT fkdatasetimagelink_parent_dataset FOREIGN KEY (parent) REFERENCES dataset;
ALTER TABLE datasetimagelink ADD CONSTRAINT fkdatasetimagelink_child_image FOREIGN KEY (child) REFERENCES image;
CREATE INDEX i_datasetimagelink_parent ON datasetimagelink(parent);
CREATE INDEX i_datasetimagelink_child ON datasetimagelink(child);

CREATE TABLE pixels (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    methodology character varying(255),
    physicalsizexunit unitslength,
    physicalsizex positive_float,
    physicalsizeyunit unitslength,
    physicalsizey positive_float,
    physicalsizezunit unitslength,
    physicalsizez positive_float,
    sha1 character varying(255) NOT NULL,
    significantbits positive_int,
    sizec positive_int NOT NULL,
    sizet positive_int NOT NULL,
    sizex positive_int NOT NULL,
    sizey positive_int NOT NULL,
    sizez positive_int NOT NULL,
    timeincrementunit unitstime,
    timeincrement double precision,
    version integer,
    waveincrement integer,
    wavestart integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    dimensionorder bigint NOT NULL,
    image bigint NOT NULL,
    pixelstype bigint NOT NULL,
    relatedto bigint,
    image_index integer NOT NULL,
    path text,
    name text,
    repo character varying(36),
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (image, image_index)
);
SELECT pg_temp.common_fks('pixels');
ALTER TABLE pixels ADD CONSTRAINT fkpixels_dimensionorder_dimensionorder FOREIGN KEY (dimensionorder) REFERENCES dimensionorder;
ALTER TABLE pixels ADD CONSTRAINT fkpixels_image_image FOREIGN KEY (image) REFERENCES image;
ALTER TABLE pixels ADD CONSTRAINT fkpixels_pixelstype_pixelstype FOREIGN KEY (pixelstype) REFERENCES pixelstype;
ALTER TABLE pixels ADD CONSTRAINT fkpixels_relatedto_pixels FOREIGN KEY (relatedto) REFERENCES pixels;
ALTER TABLE pixels ADD CONSTRAINT physicalsizex_unitpair
    CHECK (physicalsizex IS NULL AND physicalsizexunit IS NULL
        OR physicalsizex IS NOT NULL AND physicalsizexunit IS NOT NULL);
ALTER TABLE pixels ADD CONSTRAINT physicalsizey_unitpair
    CHECK (physicalsizey IS NULL AND physicalsizeyunit IS NULL
        OR physicalsizey IS NOT NULL AND physicalsizeyunit IS NOT NULL);
ALTER TABLE pixels ADD CONSTRAINT physicalsizez_unitpair
    CHECK (physicalsizez IS NULL AND physicalsizezunit IS NULL
        OR physicalsizez IS NOT NULL AND physicalsizezunit IS NOT NULL);
ALTER TABLE pixels ADD CONSTRAINT timeincrement_unitpair
    CHECK (timeincrement IS NULL AND timeincrementunit IS NULL
        OR timeincrement IS NOT NULL AND timeincrementunit IS NOT NULL);
CREATE INDEX i_pixels_image ON pixels(image);

CREATE TABLE logicalchannel (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    emissionwaveunit unitslength,
    emissionwave positive_float,
    excitationwaveunit unitslength,
    excitationwave positive_float,
    fluor character varying(255),
    name text,
    ndfilter double precision,
    pinholesizeunit unitslength,
    pinholesize double precision,
    pockelcellsetting integer,
    samplesperpixel positive_int,
    version integer,
    contrastmethod bigint,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    detectorsettings bigint,
    filterset bigint,
    illumination bigint,
    lightpath bigint,
    lightsourcesettings bigint,
    "mode" bigint,
    otf bigint,
    photometricinterpretation bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('logicalchannel');
ALTER TABLE logicalchannel ADD CONSTRAINT pinholesize_unitpair
    CHECK (pinholesize IS NULL AND pinholesizeunit IS NULL
        OR pinholesize IS NOT NULL AND pinholesizeunit IS NOT NULL);
ALTER TABLE logicalchannel ADD CONSTRAINT excitationwave_unitpair
    CHECK (excitationwave IS NULL AND excitationwaveunit IS NULL
        OR excitationwave IS NOT NULL AND excitationwaveunit IS NOT NULL);
ALTER TABLE logicalchannel ADD CONSTRAINT emissionwave_unitpair
    CHECK (emissionwave IS NULL AND emissionwaveunit IS NULL
        OR emissionwave IS NOT NULL AND emissionwaveunit IS NOT NULL);

CREATE TABLE channel (
    id bigint NOT NULL,
    alpha integer,
    blue integer,
    permissions bigint NOT NULL,
    green integer,
    lookuptable text,
    red integer,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    logicalchannel bigint NOT NULL,
    pixels bigint NOT NULL,
    statsinfo bigint,
    pixels_index integer NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (pixels, pixels_index)
);
SELECT pg_temp.common_fks('channel');
ALTER TABLE channel ADD CONSTRAINT fkchannel_logicalchannel_logicalchannel FOREIGN KEY (logicalchannel) REFERENCES logicalchannel;
ALTER TABLE channel ADD CONSTRAINT fkchannel_pixels_pixels FOREIGN KEY (pixels) REFERENCES pixels;
CREATE INDEX i_channel_pixels ON channel(pixels);
CREATE INDEX i_channel_logicalchannel ON channel(logicalchannel);

--
-- Screens, plates, wells
--
CREATE TABLE screen (
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    name text NOT NULL,
    protocoldescription text,
    protocolidentifier character varying(255),
    reagentsetdescription text,
    reagentsetidentifier character varying(255),
    type character varying(255),
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('screen');

CREATE TABLE plate (
    id bigint NOT NULL,
    columnnamingconvention character varying(255),
    columns integer,
    defaultsample integer,
    description text,
    permissions bigint NOT NULL,
    externalidentifier character varying(255),
    name text NOT NULL,
    rownamingconvention character varying(255),
    "rows" integer,
    status text,
    version integer,
    welloriginxunit unitslength,
    welloriginx double precision,
    welloriginyunit unitslength,
    welloriginy double precision,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('plate');
ALTER TABLE plate ADD CONSTRAINT welloriginx_unitpair
    CHECK (welloriginx IS NULL AND welloriginxunit IS NULL
        OR welloriginx IS NOT NULL AND welloriginxunit IS NOT NULL);
ALTER TABLE plate ADD CONSTRAINT welloriginy_unitpair
    CHECK (welloriginy IS NULL AND welloriginyunit IS NULL
        OR welloriginy IS NOT NULL AND welloriginyunit IS NOT NULL);

-- Not in omero-schema.md; columns from OMERO5.4__0/schema.sql (omero-api.md B.2).
CREATE TABLE plateacquisition (
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    endtime timestamp without time zone,
    maximumfieldcount integer,
    name text,
    starttime timestamp without time zone,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    plate bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('plateacquisition');
ALTER TABLE plateacquisition ADD CONSTRAINT fkplateacquisition_plate_plate FOREIGN KEY (plate) REFERENCES plate;
CREATE INDEX i_plateacquisition_plate ON plateacquisition(plate);

CREATE TABLE screenplatelink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
SELECT pg_temp.common_fks('screenplatelink');
ALTER TABLE screenplatelink ADD CONSTRAINT fkscreenplatelink_parent_screen FOREIGN KEY (parent) REFERENCES screen;
ALTER TABLE screenplatelink ADD CONSTRAINT fkscreenplatelink_child_plate FOREIGN KEY (child) REFERENCES plate;
CREATE INDEX i_screenplatelink_parent ON screenplatelink(parent);
CREATE INDEX i_screenplatelink_child ON screenplatelink(child);

CREATE TABLE well (
    id bigint NOT NULL,
    alpha integer,
    blue integer,
    "column" integer,
    permissions bigint NOT NULL,
    externaldescription text,
    externalidentifier character varying(255),
    green integer,
    red integer,
    "row" integer,
    status character varying(255),
    type character varying(255),
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    plate bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('well');
ALTER TABLE well ADD CONSTRAINT fkwell_plate_plate FOREIGN KEY (plate) REFERENCES plate;
CREATE UNIQUE INDEX well_col_row ON well (plate, "column", "row");

CREATE TABLE wellsample (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    posxunit unitslength,
    posx double precision,
    posyunit unitslength,
    posy double precision,
    timepoint timestamp without time zone,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    image bigint NOT NULL,
    plateacquisition bigint,
    well bigint NOT NULL,
    well_index integer NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (well, well_index)
);
SELECT pg_temp.common_fks('wellsample');
ALTER TABLE wellsample ADD CONSTRAINT fkwellsample_image_image FOREIGN KEY (image) REFERENCES image;
ALTER TABLE wellsample ADD CONSTRAINT fkwellsample_plateacquisition_plateacquisition FOREIGN KEY (plateacquisition) REFERENCES plateacquisition;
ALTER TABLE wellsample ADD CONSTRAINT fkwellsample_well_well FOREIGN KEY (well) REFERENCES well;
ALTER TABLE wellsample ADD CONSTRAINT posx_unitpair
    CHECK (posx IS NULL AND posxunit IS NULL
        OR posx IS NOT NULL AND posxunit IS NOT NULL);
ALTER TABLE wellsample ADD CONSTRAINT posy_unitpair
    CHECK (posy IS NULL AND posyunit IS NULL
        OR posy IS NOT NULL AND posyunit IS NOT NULL);
CREATE INDEX i_wellsample_image ON wellsample(image);
CREATE INDEX i_wellsample_well ON wellsample(well);

--
-- ROIs
--
CREATE TABLE roi (
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    name text,
    version integer,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    image bigint,
    source bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('roi');
ALTER TABLE roi ADD CONSTRAINT fkroi_image_image FOREIGN KEY (image) REFERENCES image;
ALTER TABLE roi ADD CONSTRAINT fkroi_source_originalfile FOREIGN KEY (source) REFERENCES originalfile;
CREATE INDEX i_roi_image ON roi(image);

CREATE TABLE shape (
    discriminator character varying(31) NOT NULL,
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    fillcolor integer,
    fillrule character varying(255),
    fontfamily character varying(255),
    fontsizeunit unitslength,
    fontsize double precision,
    fontstyle character varying(255),
    locked boolean,
    strokecolor integer,
    strokedasharray character varying(255),
    strokewidthunit unitslength,
    strokewidth double precision,
    thec integer,
    thet integer,
    thez integer,
    version integer,
    radiusx double precision,
    radiusy double precision,
    textvalue text,
    x double precision,
    y double precision,
    markerend character varying(255),
    markerstart character varying(255),
    x1 double precision,
    x2 double precision,
    y1 double precision,
    y2 double precision,
    bytes bytea,
    height double precision,
    width double precision,
    d text,
    points text,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    roi bigint NOT NULL,
    transform bigint,
    pixels bigint,
    roi_index integer NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (roi, roi_index)
);
SELECT pg_temp.common_fks('shape');
ALTER TABLE shape ADD CONSTRAINT fkshape_roi_roi FOREIGN KEY (roi) REFERENCES roi;
ALTER TABLE shape ADD CONSTRAINT fkmask_pixels_pixels FOREIGN KEY (pixels) REFERENCES pixels;
ALTER TABLE shape ADD CONSTRAINT strokewidth_unitpair
    CHECK (strokewidth IS NULL AND strokewidthunit IS NULL
        OR strokewidth IS NOT NULL AND strokewidthunit IS NOT NULL);
ALTER TABLE shape ADD CONSTRAINT fontsize_unitpair
    CHECK (fontsize IS NULL AND fontsizeunit IS NULL
        OR fontsize IS NOT NULL AND fontsizeunit IS NOT NULL);
CREATE INDEX i_shape_roi ON shape(roi);

--
-- Annotations
--
CREATE TABLE annotation (
    discriminator character varying(31) NOT NULL,
    id bigint NOT NULL,
    description text,
    permissions bigint NOT NULL,
    name text,
    ns text,
    version integer,
    boolvalue boolean,
    textvalue text,
    doublevalue double precision,
    longvalue bigint,
    termvalue text,
    timevalue timestamp without time zone,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    "file" bigint,
    PRIMARY KEY (id),
    UNIQUE (external_id)
);
SELECT pg_temp.common_fks('annotation');
ALTER TABLE annotation ADD CONSTRAINT fkfileannotation_file_originalfile FOREIGN KEY ("file") REFERENCES originalfile;
CREATE INDEX annotation_discriminator ON annotation(discriminator);
CREATE INDEX annotation_ns ON annotation(ns);

CREATE TABLE annotation_mapvalue (
    annotation_id bigint NOT NULL,
    name text NOT NULL,
    value text NOT NULL,
    index integer NOT NULL,
    PRIMARY KEY (annotation_id, index)
);
ALTER TABLE annotation_mapvalue ADD CONSTRAINT fkannotation_mapvalue_map FOREIGN KEY (annotation_id) REFERENCES annotation;
CREATE INDEX annotation_mapvalue_name ON annotation_mapvalue(name);
CREATE INDEX annotation_mapvalue_value ON annotation_mapvalue(value);

CREATE FUNCTION annotation_mapvalue_map_entry_delete_trigger_function() RETURNS "trigger" AS $$
BEGIN
    DELETE FROM annotation_mapvalue WHERE annotation_id = OLD.id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER annotation_mapvalue_map_entry_delete_trigger
    BEFORE DELETE ON annotation
    FOR EACH ROW EXECUTE PROCEDURE annotation_mapvalue_map_entry_delete_trigger_function();

-- Annotation links: parent = the annotated object, child = annotation.id. imageannotationlink is
-- in omero-schema.md; the others have exactly its shape (omero-api.md B.2, schema.sql).
CREATE TABLE imageannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE imageannotationlink ADD CONSTRAINT fkimageannotationlink_parent_image FOREIGN KEY (parent) REFERENCES image;
ALTER TABLE imageannotationlink ADD CONSTRAINT fkimageannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('imageannotationlink');
CREATE INDEX i_imageannotationlink_parent ON imageannotationlink(parent);
CREATE INDEX i_imageannotationlink_child ON imageannotationlink(child);

CREATE TABLE projectannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE projectannotationlink ADD CONSTRAINT fkprojectannotationlink_parent_project FOREIGN KEY (parent) REFERENCES project;
ALTER TABLE projectannotationlink ADD CONSTRAINT fkprojectannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('projectannotationlink');
CREATE INDEX i_projectannotationlink_parent ON projectannotationlink(parent);
CREATE INDEX i_projectannotationlink_child ON projectannotationlink(child);

CREATE TABLE datasetannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE datasetannotationlink ADD CONSTRAINT fkdatasetannotationlink_parent_dataset FOREIGN KEY (parent) REFERENCES dataset;
ALTER TABLE datasetannotationlink ADD CONSTRAINT fkdatasetannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('datasetannotationlink');
CREATE INDEX i_datasetannotationlink_parent ON datasetannotationlink(parent);
CREATE INDEX i_datasetannotationlink_child ON datasetannotationlink(child);

CREATE TABLE screenannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE screenannotationlink ADD CONSTRAINT fkscreenannotationlink_parent_screen FOREIGN KEY (parent) REFERENCES screen;
ALTER TABLE screenannotationlink ADD CONSTRAINT fkscreenannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('screenannotationlink');
CREATE INDEX i_screenannotationlink_parent ON screenannotationlink(parent);
CREATE INDEX i_screenannotationlink_child ON screenannotationlink(child);

CREATE TABLE plateannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE plateannotationlink ADD CONSTRAINT fkplateannotationlink_parent_plate FOREIGN KEY (parent) REFERENCES plate;
ALTER TABLE plateannotationlink ADD CONSTRAINT fkplateannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('plateannotationlink');
CREATE INDEX i_plateannotationlink_parent ON plateannotationlink(parent);
CREATE INDEX i_plateannotationlink_child ON plateannotationlink(child);

CREATE TABLE plateacquisitionannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE plateacquisitionannotationlink ADD CONSTRAINT fkplateacquisitionannotationlink_parent_plateacquisition FOREIGN KEY (parent) REFERENCES plateacquisition;
ALTER TABLE plateacquisitionannotationlink ADD CONSTRAINT fkplateacquisitionannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('plateacquisitionannotationlink');
CREATE INDEX i_plateacquisitionannotationlink_parent ON plateacquisitionannotationlink(parent);
CREATE INDEX i_plateacquisitionannotationlink_child ON plateacquisitionannotationlink(child);

CREATE TABLE wellannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE wellannotationlink ADD CONSTRAINT fkwellannotationlink_parent_well FOREIGN KEY (parent) REFERENCES well;
ALTER TABLE wellannotationlink ADD CONSTRAINT fkwellannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('wellannotationlink');
CREATE INDEX i_wellannotationlink_parent ON wellannotationlink(parent);
CREATE INDEX i_wellannotationlink_child ON wellannotationlink(child);

CREATE TABLE roiannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE roiannotationlink ADD CONSTRAINT fkroiannotationlink_parent_roi FOREIGN KEY (parent) REFERENCES roi;
ALTER TABLE roiannotationlink ADD CONSTRAINT fkroiannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('roiannotationlink');
CREATE INDEX i_roiannotationlink_parent ON roiannotationlink(parent);
CREATE INDEX i_roiannotationlink_child ON roiannotationlink(child);

CREATE TABLE experimenterannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE experimenterannotationlink ADD CONSTRAINT fkexperimenterannotationlink_parent_experimenter FOREIGN KEY (parent) REFERENCES experimenter;
ALTER TABLE experimenterannotationlink ADD CONSTRAINT fkexperimenterannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('experimenterannotationlink');
CREATE INDEX i_experimenterannotationlink_parent ON experimenterannotationlink(parent);
CREATE INDEX i_experimenterannotationlink_child ON experimenterannotationlink(child);

CREATE TABLE experimentergroupannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE experimentergroupannotationlink ADD CONSTRAINT fkexperimentergroupannotationlink_parent_experimentergroup FOREIGN KEY (parent) REFERENCES experimentergroup;
ALTER TABLE experimentergroupannotationlink ADD CONSTRAINT fkexperimentergroupannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('experimentergroupannotationlink');
CREATE INDEX i_experimentergroupannotationlink_parent ON experimentergroupannotationlink(parent);
CREATE INDEX i_experimentergroupannotationlink_child ON experimentergroupannotationlink(child);

CREATE TABLE filesetannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE filesetannotationlink ADD CONSTRAINT fkfilesetannotationlink_parent_fileset FOREIGN KEY (parent) REFERENCES fileset;
ALTER TABLE filesetannotationlink ADD CONSTRAINT fkfilesetannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('filesetannotationlink');
CREATE INDEX i_filesetannotationlink_parent ON filesetannotationlink(parent);
CREATE INDEX i_filesetannotationlink_child ON filesetannotationlink(child);

CREATE TABLE originalfileannotationlink (
    id bigint NOT NULL,
    permissions bigint NOT NULL,
    version integer,
    child bigint NOT NULL,
    creation_id bigint NOT NULL,
    external_id bigint,
    group_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    update_id bigint NOT NULL,
    parent bigint NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (external_id),
    UNIQUE (parent, child, owner_id)
);
ALTER TABLE originalfileannotationlink ADD CONSTRAINT fkoriginalfileannotationlink_parent_originalfile FOREIGN KEY (parent) REFERENCES originalfile;
ALTER TABLE originalfileannotationlink ADD CONSTRAINT fkoriginalfileannotationlink_child_annotation FOREIGN KEY (child) REFERENCES annotation;
SELECT pg_temp.common_fks('originalfileannotationlink');
CREATE INDEX i_originalfileannotationlink_parent ON originalfileannotationlink(parent);
CREATE INDEX i_originalfileannotationlink_child ON originalfileannotationlink(child);

--
-- Bootstrap rows of a fresh OMERO database (psql-footer.sql), in an order our FKs accept.
--
INSERT INTO dbpatch (currentversion, currentpatch, previousversion, previouspatch, message, finished)
    VALUES ('OMERO5.4', 0, 'OMERO5.4', 0, 'Database ready.', clock_timestamp());

INSERT INTO _roles (root_user_id, guest_user_id, system_group_id, user_group_id, guest_group_id)
    VALUES (0, 1, 0, 1, 2);

INSERT INTO experimenter (id, permissions, version, omename, firstname, lastname)
    VALUES (0, 0, 0, 'root', 'root', 'root');
INSERT INTO experimenter (id, permissions, version, omename, firstname, lastname)
    VALUES (ome_nextval('seq_experimenter'), 0, 0, 'guest', 'Guest', 'Account');

-- 'unkclock_timestampn' is verbatim: OMERO's build replaced "now" inside 'unknown'.
-- node 0 has `down` set, i.e. it is not a live node.
INSERT INTO node (id, permissions, uuid, conn, up, down)
    SELECT 0, -52, '000000000000000000000000000000000000', 'unkclock_timestampn', clock_timestamp(), clock_timestamp();

INSERT INTO session (id, permissions, timetoidle, timetolive, started, closed, defaulteventtype, uuid, owner, node)
    SELECT 0, -52, 0, 0, clock_timestamp(), clock_timestamp(), 'BOOTSTRAP', 0000, 0, 0;
INSERT INTO session (id, permissions, timetoidle, timetolive, started, closed, defaulteventtype, uuid, owner, node)
    SELECT ome_nextval('seq_session'), -52, 0, 0, clock_timestamp(), clock_timestamp(), 'PREVIOUSITEMS', '1111', 0, 0;

-- system is private so administrators do not share by accident; user is rwr-r-; guest private.
INSERT INTO experimentergroup (id, permissions, version, name)
    VALUES (0, -120, 0, 'system');
INSERT INTO experimentergroup (id, permissions, version, name)
    VALUES (ome_nextval('seq_experimentergroup'), -52, 0, 'user');
INSERT INTO experimentergroup (id, permissions, version, name)
    VALUES (ome_nextval('seq_experimentergroup'), -120, 0, 'guest');

INSERT INTO eventtype (id, permissions, value) VALUES (0, -52, 'Bootstrap');
INSERT INTO event (id, permissions, time, status, experimenter, experimentergroup, session, type)
    VALUES (0, 0, clock_timestamp(), 'BOOTSTRAP', 0, 0, 0, 0);

INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner)
    VALUES (0, -52, 0, 0, 0, 0, true);
INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner)
    SELECT ome_nextval('seq_groupexperimentermap'), -52, 0, 1, 0, 1, false;
INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner)
    SELECT ome_nextval('seq_groupexperimentermap'), -52, 0, 2, 1, 0, false;

-- Enumerations, in OMERO's order, so their ids match a real database
-- (eventtype 4 = User, pixelstype 6 = uint16, dimensionorder 1 = XYZCT, checksumalgorithm 6 = SHA1-160).
INSERT INTO eventtype (id, permissions, value)
    SELECT ome_nextval('seq_eventtype'), -52, v
      FROM unnest(ARRAY['Import', 'Internal', 'Shoola', 'User', 'Task', 'Test', 'Processing', 'FullText', 'Sessions'])
           WITH ORDINALITY AS t(v, n) ORDER BY n;

INSERT INTO pixelstype (id, permissions, value, bitsize)
    SELECT ome_nextval('seq_pixelstype'), -52, v, b
      FROM unnest(ARRAY['bit', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'float', 'double', 'complex', 'double-complex'],
                  ARRAY[1, 8, 16, 32, 8, 16, 32, 32, 64, 64, 128])
           WITH ORDINALITY AS t(v, b, n) ORDER BY n;
ALTER TABLE pixelstype ALTER COLUMN bitsize SET NOT NULL;

INSERT INTO dimensionorder (id, permissions, value)
    SELECT ome_nextval('seq_dimensionorder'), -52, v
      FROM unnest(ARRAY['XYZCT', 'XYZTC', 'XYCTZ', 'XYCZT', 'XYTCZ', 'XYTZC'])
           WITH ORDINALITY AS t(v, n) ORDER BY n;

INSERT INTO checksumalgorithm (id, permissions, value)
    SELECT ome_nextval('seq_checksumalgorithm'), -52, v
      FROM unnest(ARRAY['Adler-32', 'CRC-32', 'MD5-128', 'Murmur3-32', 'Murmur3-128', 'SHA1-160', 'File-Size-64'])
           WITH ORDINALITY AS t(v, n) ORDER BY n;

COMMIT;
