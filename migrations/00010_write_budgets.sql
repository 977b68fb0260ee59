-- +goose Up
-- One write budget per user, shared by every route that changes data and
-- every process and replica (a token bucket: RATE_LIMIT_PER_USER writes
-- per second, bursts of five seconds' worth). Each write takes a token in
-- its own transaction, as its first statement; one refused raises
-- SQLSTATE TD429 with the seconds until a token is back in DETAIL, and the
-- transaction writes nothing. A row idle for longer than a refill is the
-- same as none, so old rows are purged.
CREATE TABLE write_budgets (
    user_id text             PRIMARY KEY,
    tokens  double precision NOT NULL,
    at      timestamptz      NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION take_write_token(p_user text, p_rate double precision, p_burst double precision)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    left_over double precision;
BEGIN
    INSERT INTO write_budgets AS b (user_id, tokens, at) VALUES (p_user, p_burst - 1, clock_timestamp())
    ON CONFLICT (user_id) DO UPDATE SET
        tokens = least(p_burst, b.tokens + p_rate * greatest(0, extract(epoch FROM clock_timestamp() - b.at))) - 1,
        at = greatest(b.at, clock_timestamp())
    RETURNING tokens INTO left_over;
    IF left_over < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'TD429', MESSAGE = 'write budget used up',
            DETAIL = (-left_over / p_rate)::text;
    END IF;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION take_write_token(text, double precision, double precision);
DROP TABLE write_budgets;
