-- +goose Up
-- POST /api/{user_id}/tasks with an Idempotency-Key: the first request's
-- digest (of its decoded body) and answer, so a retry with the same key
-- and body gets that answer and creates nothing, and the same key with
-- another body is refused. Written in the task's transaction.
CREATE TABLE idempotency_keys (
    user_id    text        NOT NULL,
    key        text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    digest     text        NOT NULL,
    response   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
-- Keys are purged after IDEMPOTENCY_KEY_RETENTION.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
