-- Keep only each session's newest former refresh hashes (formerHashes in
-- sessions.go, 32): otherwise a client refreshing in a loop grows the table
-- without bound, since every refresh also pushes the session's expiry out.
-- seq orders a session's former hashes, oldest first; RotateRefresh deletes
-- those past the newest 32 in the transaction that adds one.

ALTER TABLE former_refresh_hashes ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;

-- RotateRefresh's prune (the newest of a session first) and the sessions'
-- ON DELETE CASCADE, which the index on session_id alone served until now.
CREATE INDEX former_refresh_hashes_session_seq_idx ON former_refresh_hashes (session_id, seq);
DROP INDEX former_refresh_hashes_session_idx;

-- Existing rows get seq in no particular order, so which 32 survive this
-- one-time prune is arbitrary: the history kept was unbounded before.
DELETE FROM former_refresh_hashes f USING (
    SELECT hash, row_number() OVER (PARTITION BY session_id ORDER BY seq DESC) AS n
    FROM former_refresh_hashes
) ranked
WHERE f.hash = ranked.hash AND ranked.n > 32;
