-- +goose Up
-- Events written in the same transaction as the change that caused them.
-- A relay publishes pending rows in seq order and stamps published_at.
CREATE TABLE outbox (
    seq           bigserial PRIMARY KEY,
    event_id      text        NOT NULL,
    topic         text        NOT NULL,
    partition_key text        NOT NULL,
    event         jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    UNIQUE (topic, event_id)
);

CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL;

-- +goose StatementBegin
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- +goose Down
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE outbox;
