-- +goose Up
-- The streaming relay reads the outbox's inserts from the write-ahead log
-- (logical decoding with pgoutput) through this publication, in commit
-- order, instead of polling the table and stamping each row published.
-- Where the migrating role may not create a publication the migration
-- goes on without it, and the relay polls (it says so once at start).
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'todo_outbox') THEN
        CREATE PUBLICATION todo_outbox FOR TABLE outbox WITH (publish = 'insert');
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'no publication todo_outbox (%): the outbox relay will poll', SQLERRM;
END
$$;
-- +goose StatementEnd

-- Where each replication slot's relay has got to, saved four times a
-- second (never per event): the log position, commit time and highest
-- outbox seq of the last transaction whose events the broker acknowledged.
-- A relay whose slot is gone (invalidated, dropped, or not on a promoted
-- standby) creates a new one and first publishes the table's rows again
-- from catch_up_from, a margin before commit_time (duplicates, dropped by
-- id downstream, never a gap); the backlog metrics count rows after
-- last_seq as waiting; the clean-up deletes streamed rows once they are
-- past the retention.
CREATE TABLE outbox_stream (
    slot          text        PRIMARY KEY,
    confirmed_lsn pg_lsn,
    commit_time   timestamptz,
    last_seq      bigint      NOT NULL DEFAULT 0,
    catch_up_from timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The events not yet published, whichever relay runs: rows the polling
-- relay has not stamped and the stream has not passed (rows after the
-- highest seq of its saved position, at most a quarter second old).
CREATE VIEW outbox_waiting AS
    SELECT o.* FROM outbox o
    WHERE o.published_at IS NULL AND o.failed_at IS NULL
        AND o.seq > COALESCE((SELECT max(last_seq) FROM outbox_stream), 0);

-- +goose Down
DROP VIEW outbox_waiting;
DROP TABLE outbox_stream;
DROP PUBLICATION IF EXISTS todo_outbox;
