BEGIN TRANSACTION;
CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        incident_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        destination TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL,
        state TEXT NOT NULL,
        remote_id TEXT,
        thread_ref TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        claimed_by TEXT,
        claimed_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (incident_id, sequence, destination, target),
        FOREIGN KEY (incident_id, sequence) REFERENCES updates(incident_id, sequence)
    );
INSERT INTO "deliveries" VALUES(1,'db-slow-2026-10-01',1,'slack-ops','','private','sent','1700000000.000100',NULL,1,NULL,NULL,NULL,'2026-10-01T10:00:00.000000+00:00','2026-10-01T10:00:01.000000+00:00','2026-10-01T10:00:01.000000+00:00');
CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        impact TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'incident',
        components TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        scheduled_start TEXT,
        scheduled_end TEXT
    );
INSERT INTO "incidents" VALUES('db-slow-2026-10-01','DB slow','minor','resolved','incident','[["db","operational"]]','2026-10-01T10:00:00.000000+00:00','2026-10-01T11:00:00.000000+00:00','2026-10-01T11:00:00.000000+00:00',NULL,NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','1');
CREATE TABLE updates (
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        sequence INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        raw_message TEXT NOT NULL,
        components TEXT NOT NULL DEFAULT '[]',
        private_note TEXT NOT NULL DEFAULT '',
        customers TEXT NOT NULL DEFAULT '[]',
        tickets TEXT NOT NULL DEFAULT '[]',
        etr TEXT,
        next_update_by TEXT,
        author TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'update',
        extra TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (incident_id, sequence)
    );
INSERT INTO "updates" VALUES('db-slow-2026-10-01',1,'2026-10-01T10:00:00.000000+00:00','investigating','Queries are slow.','[["db","degraded_performance"]]','','[]','[]',NULL,NULL,'alice','update','{}');
INSERT INTO "updates" VALUES('db-slow-2026-10-01',2,'2026-10-01T11:00:00.000000+00:00','resolved','Fixed.','[]','','[]','[]',NULL,NULL,'alice','update','{}');
CREATE INDEX incidents_updated_at ON incidents(updated_at);
CREATE INDEX incidents_status ON incidents(status);
CREATE INDEX deliveries_state ON deliveries(state);
CREATE INDEX deliveries_thread ON deliveries(incident_id, destination, target, sequence);
COMMIT;
