-- A state file as broadcaster wrote it at schema 2 (raw_title; before deliveries.parts and incidents.version),
-- made with that version's SQLiteStore and dumped with iterdump; times rounded by hand.
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
INSERT INTO "deliveries" VALUES(1,'checkout-down-2026-10-02',1,'slack-ops','','private','sent','1700000000.000200',NULL,0,NULL,NULL,'2026-10-02T09:00:01.000000+00:00','2026-10-02T09:00:01.000000+00:00','2026-10-02T09:00:01.000000+00:00','2026-10-02T09:00:01.000000+00:00');
INSERT INTO "deliveries" VALUES(2,'checkout-down-2026-10-02',1,'x','','public','sent','1841000000000000001',NULL,0,NULL,NULL,'2026-10-02T09:00:01.000000+00:00','2026-10-02T09:00:01.000000+00:00','2026-10-02T09:00:01.000000+00:00','2026-10-02T09:00:01.000000+00:00');
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
    , raw_title TEXT NOT NULL DEFAULT '');
INSERT INTO "incidents" VALUES('checkout-down-2026-10-02','Checkout down','major','investigating','incident','[["checkout", "major_outage"]]','2026-10-02T09:00:00.000000+00:00','2026-10-02T09:00:00.000000+00:00',NULL,NULL,NULL,'Checkout [private]ACMECORP[/private] down');
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','2');
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
INSERT INTO "updates" VALUES('checkout-down-2026-10-02',1,'2026-10-02T09:00:00.000000+00:00','investigating','Payments fail [private]for ACMECORP[/private].','[]','','[]','[]',NULL,NULL,'alice','update','{}');
CREATE INDEX incidents_updated_at ON incidents(updated_at);
CREATE INDEX incidents_status ON incidents(status);
CREATE INDEX deliveries_state ON deliveries(state);
CREATE INDEX deliveries_thread ON deliveries(incident_id, destination, target, sequence);
COMMIT;
