-- Players and their sessions. Every query the store makes is backed by an
-- index: see the comments on each one.

CREATE TABLE players (
    id         uuid        PRIMARY KEY,
    username   text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT players_username_key UNIQUE (username)
);

CREATE TABLE sessions (
    id             uuid        PRIMARY KEY,
    player_id      uuid        NOT NULL REFERENCES players (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    max_expires_at timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text        NOT NULL DEFAULT '',
    -- revoked_db_at is the database's clock when the row was revoked, set by
    -- a trigger. Listeners re-read missed revocations by it after a
    -- reconnect, so the gateways' own clocks do not matter.
    revoked_db_at  timestamptz,
    ip             text        NOT NULL DEFAULT '',
    user_agent     text        NOT NULL DEFAULT '',
    refresh_hash   bytea       NOT NULL,
    -- RotateRefresh finds a session by its current refresh hash.
    CONSTRAINT sessions_refresh_hash_key UNIQUE (refresh_hash)
);

-- PlayerSessions, the eviction in CreateSession, RevokePlayerSessions and the
-- players' ON DELETE CASCADE.
CREATE INDEX sessions_player_created_idx ON sessions (player_id, created_at);
-- DeleteExpired's batches. Not partial: a predicate on now() is refused.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
-- The listener's re-read of revocations it may have missed.
CREATE INDEX sessions_revoked_db_at_idx ON sessions (revoked_db_at) WHERE revoked_db_at IS NOT NULL;

-- Every refresh hash a session had before its current one: presenting one is
-- reuse and revokes the session.
CREATE TABLE former_refresh_hashes (
    hash       bytea PRIMARY KEY,
    session_id uuid  NOT NULL REFERENCES sessions (id) ON DELETE CASCADE
);
-- The sessions' ON DELETE CASCADE.
CREATE INDEX former_refresh_hashes_session_idx ON former_refresh_hashes (session_id);

-- Every statement that revokes a session (revoked_at from NULL to a time)
-- stamps it with the database clock and notifies the 'session_revoked'
-- channel in the same transaction, so no revoking path can forget to publish.
-- NOTIFY channels are per database: the payload names the schema so that
-- listeners on other schemas ignore it.
CREATE FUNCTION sessions_stamp_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revoked_db_at := clock_timestamp();
    RETURN NEW;
END;
$$;

CREATE TRIGGER sessions_stamp_revocation
    BEFORE UPDATE OF revoked_at ON sessions
    FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION sessions_stamp_revocation();

CREATE FUNCTION sessions_notify_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('session_revoked', json_build_object(
        'session_id', NEW.id,
        'player_id', NEW.player_id,
        'reason', NEW.revoked_reason,
        'schema', TG_TABLE_SCHEMA,
        'at', NEW.revoked_db_at
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_notify_revocation
    AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION sessions_notify_revocation();
