-- +goose Up
-- Webhooks: a user's HTTP endpoints and the events each wants. The secret
-- signs every delivery (Standard Webhooks), so it is kept as given out
-- (whsec_ and base64): HMAC needs the key itself. failing_since is when the
-- endpoint's current run of failed attempts began (NULL while it answers);
-- a webhook failing for long enough is disabled, with the reason.
CREATE TABLE webhooks (
    id              uuid PRIMARY KEY,
    user_id         text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    events          text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 16),
    secret          text NOT NULL CHECK (secret LIKE 'whsec\_%'),
    created_at      timestamptz NOT NULL,
    failing_since   timestamptz,
    disabled_at     timestamptz,
    disabled_reason text CHECK (length(disabled_reason) <= 1024),
    CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);

CREATE INDEX webhooks_user_idx ON webhooks (user_id, created_at, id);

-- One delivery per webhook and event (a redelivered event adds nothing);
-- its id is the webhook-id header of every attempt. payload is the exact
-- body signed and sent each time. A pending delivery is tried at
-- next_attempt_at; while one is being sent, next_attempt_at is pushed past
-- the attempt (a lease), so a crashed sender's delivery is tried again.
-- seq orders one webhook's deliveries as their events came.
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY CHECK (id LIKE 'msg\_%'),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id         text NOT NULL,
    event_id        text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type      text NOT NULL,
    payload         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text CHECK (length(last_error) <= 1024),
    finished_at     timestamptz,
    UNIQUE (webhook_id, event_id),
    CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL)),
    CHECK ((state = 'pending') = (finished_at IS NULL))
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, webhook_id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_hook_due_idx ON webhook_deliveries (webhook_id, next_attempt_at, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (webhook_id, seq DESC);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE state <> 'pending';

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
