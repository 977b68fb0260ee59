-- +goose Up
CREATE TABLE tasks (
    id                 uuid PRIMARY KEY,
    user_id            text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
    title              text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description        text        NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'in_progress', 'done')),
    priority           text        NOT NULL DEFAULT 'medium'
                                   CHECK (priority IN ('low', 'medium', 'high')),
    tags               text[]      NOT NULL DEFAULT '{}',
    due_date           timestamptz,
    timezone           text        NOT NULL DEFAULT 'UTC',
    recurring_type     text        NOT NULL DEFAULT 'none'
                                   CHECK (recurring_type IN ('none', 'daily', 'weekly', 'monthly', 'yearly')),
    recurrence_basis   text        NOT NULL DEFAULT 'completion'
                                   CHECK (recurrence_basis IN ('completion', 'schedule')),
    recurring_end_date timestamptz,
    series_anchor      timestamptz,
    parent_task_id     uuid UNIQUE REFERENCES tasks (id) ON DELETE SET NULL,
    completed_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_completed_matches_status CHECK ((status = 'done') = (completed_at IS NOT NULL)),
    CONSTRAINT tasks_end_after_due CHECK (recurring_end_date IS NULL OR due_date IS NULL OR recurring_end_date >= due_date)
);

CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE tasks;
