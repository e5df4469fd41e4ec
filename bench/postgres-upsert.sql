-- bench/postgres-upsert.sql - the statement persist_state_incr runs (the
-- postgres provider's counter upsert), as a pgbench custom script: the
-- anchor of the postgres-single area.
INSERT INTO persist.kv AS t (coll, key, num) VALUES ('pgbench', 'k', 1::int8) ON CONFLICT (coll, key) DO UPDATE SET num = CASE WHEN t.expires_at <= now() THEN EXCLUDED.num WHEN t.num IS NULL OR (t.num > 0 AND EXCLUDED.num > 9223372036854775807 - t.num) OR (t.num < 0 AND EXCLUDED.num < -9223372036854775808 - t.num) THEN persist.counter_add(COALESCE(t.value, convert_to(t.num::text, 'UTF8')), EXCLUDED.num, t.key) ELSE t.num + EXCLUDED.num END, value = NULL, expires_at = CASE WHEN t.expires_at <= now() THEN NULL ELSE t.expires_at END RETURNING num;
