-- bench/postgres-upsert.sql - the statement persist_state_incr runs (the
-- postgres provider's counter upsert), as a pgbench custom script: the
-- anchor of the postgres-single area.
INSERT INTO persist.kv AS t (coll, key, value) VALUES ('pgbench', 'k', convert_to(1::int8::text, 'UTF8')) ON CONFLICT (coll, key) DO UPDATE SET value = convert_to(persist.counter_add(CASE WHEN t.expires_at <= now() THEN NULL ELSE t.value END, 1::int8, t.key)::text, 'UTF8'), expires_at = CASE WHEN t.expires_at <= now() THEN NULL ELSE t.expires_at END RETURNING value;
