/*
 * plugins/redis/redis-script.c - the Lua scripts of the redis provider.
 *
 * Scripts make the operations atomic that need more than one Redis
 * command and a decision in between (read-check-write): state get/set/
 * delete across the counter hash and the value keys, the slow path of
 * increments, configuration compare-and-swap with its notification, and
 * the session registry.  Every pooled connection loads them with SCRIPT
 * LOAD during its handshake (so a restarted server gets them again), and
 * requests call them with EVALSHA; the digests are computed here once
 * with OpenSSL.  The key layouts the scripts work on are documented at
 * the top of redis-state.c, redis-config.c and redis-session.c.
 *
 * Numbers: Redis hands integer replies to Lua as doubles, so scripts never
 * return a counter as a Lua number; they return the stored decimal text,
 * which C parses exactly.
 */
#include "redis-private.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

/* Cleanup of a state collection's expired value markers, shared by the
   set and cleanup scripts.  KEYS[1] counter hash, KEYS[3] expiry zset,
   CLEAN_NOW = now (ms), CLEAN_VPFX = prefix of the value keys.  Entries
   due are checked against the server's own view (PTTL): gone -> drop the
   marker; no expiry any more -> forget; still alive (clock skew) -> move
   to the server's deadline.  At most 16 per call. */
#define CLEANUP_LOOP(CLEAN_NOW, CLEAN_VPFX)                                   \
	"local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', " CLEAN_NOW \
	", 'LIMIT', 0, 16)\n"                                                 \
	"for _, k in ipairs(due) do\n"                                        \
	"  local t = redis.call('PTTL', " CLEAN_VPFX " .. k)\n"               \
	"  if t == -2 then\n"                                                 \
	"    if redis.call('HGET', KEYS[1], k) == '" REDIS_VALUE_MARK "' then\n" \
	"      redis.call('HDEL', KEYS[1], k)\n"                              \
	"    end\n"                                                           \
	"    redis.call('ZREM', KEYS[3], k)\n"                                \
	"  elseif t == -1 then\n"                                             \
	"    redis.call('ZREM', KEYS[3], k)\n"                                \
	"  else\n"                                                            \
	"    redis.call('ZADD', KEYS[3], tonumber(" CLEAN_NOW ") + t, k)\n"   \
	"  end\n"                                                             \
	"end\n"

/* Refuse a TTL argument outside 0..PERSIST_TTL_MAX_MS before the first
   write: Redis checks an expiry only when it applies it, after the script
   may have changed other keys, and a script is not rolled back.  Scripts
   write nothing before this check and never fail after their first
   write. */
#define TTL_CHECK(TTL_ARG)                                                    \
	"do local t = tonumber(" TTL_ARG ")\n"                                \
	"  if not t or t < 0 or t > " REDIS_TTL_MAX_TEXT " or t % 1 ~= 0 then\n" \
	"    return redis.error_reply('PERSIST-EINVAL TTL out of range')\n"   \
	"  end\n"                                                             \
	"end\n"

/* Exact int64 arithmetic for the batch scripts (Lua has only doubles):
   a number is {hi, lo} = hi * E + lo with 0 <= lo < E.  num(text) parses
   counter text as Redis does (no sign '+', no leading zero, no '-0'),
   nil when it is not counter text or leaves int64; add(a, b) is nil when
   the sum leaves int64. */
#define INT64_LUA                                                             \
	"local E = 1000000000\n"                                              \
	"local function int64(hi, lo)\n"                                      \
	"  if hi > 9223372036 or (hi == 9223372036 and lo > 854775807) or\n"  \
	"     hi < -9223372037 or (hi == -9223372037 and lo < 145224192) then\n" \
	"    return nil\n"                                                    \
	"  end\n"                                                             \
	"  return {hi, lo}\n"                                                 \
	"end\n"                                                               \
	"local function num(t)\n"                                             \
	"  if t == '0' then return {0, 0} end\n"                              \
	"  if type(t) ~= 'string' or #t > 20 or not string.match(t, '^%-?[1-9]%d*$') then\n" \
	"    return nil\n"                                                    \
	"  end\n"                                                             \
	"  local neg = string.sub(t, 1, 1) == '-'\n"                          \
	"  local d = neg and string.sub(t, 2) or t\n"                         \
	"  if #d > 19 then return nil end\n"                                  \
	"  local hi = tonumber(string.sub(d, 1, -10)) or 0\n"                 \
	"  local lo = tonumber(string.sub(d, -9))\n"                          \
	"  if neg then\n"                                                     \
	"    hi, lo = -hi, -lo\n"                                             \
	"    if lo < 0 then lo = lo + E; hi = hi - 1 end\n"                   \
	"  end\n"                                                             \
	"  return int64(hi, lo)\n"                                            \
	"end\n"                                                               \
	"local function add(a, b)\n"                                          \
	"  local hi, lo = a[1] + b[1], a[2] + b[2]\n"                         \
	"  if lo >= E then lo = lo - E; hi = hi + 1 end\n"                    \
	"  return int64(hi, lo)\n"                                            \
	"end\n"

/* The write times of a collection's keys, the sorted set P s:{C}:w (see
   redis-state.c), shared by the scripts that set or delete keys.
   prune_times(w, now, added) runs after the ZADDs of a call, added being
   how many members they added (ZADD's answers): only when the set grew
   does it forget up to 16 + added entries older than
   PERSIST_BATCH_ID_KEEP_MS before now, so the work per call is bounded
   and each growth removes more old entries than it adds - old ones never
   pile up - while rewriting a key already timed (the common case) costs
   no ZRANGEBYSCORE.  ZREM takes them in pieces (Lua's unpack stops near
   8000).  Then the set expires REDIS_TIMES_LIFE_MS after this write, so
   the times of a collection nobody writes any more go too.  Scores are
   integers below 2^53, which Redis prints exactly when a script passes
   them as Lua numbers. */
_Static_assert(REDIS_TIMES_KEEP_MS == PERSIST_BATCH_ID_KEEP_MS &&
	       REDIS_TIMES_LIFE_MS == 2 * PERSIST_BATCH_ID_KEEP_MS,
	       "the scripts keep write times as long as plugin.h asks");
#define TIMES_LUA                                                             \
	"local function prune_times(w, now, added)\n"                         \
	"  if added > 0 then\n"                                               \
	"    local old = redis.call('ZRANGEBYSCORE', w, '-inf', tonumber(now) - " \
	REDIS_STR(REDIS_TIMES_KEEP_MS) " - 1, 'LIMIT', 0, 16 + added)\n"       \
	"    for s = 1, #old, 4000 do\n"                                       \
	"      redis.call('ZREM', w, unpack(old, s, math.min(s + 3999, #old)))\n" \
	"    end\n"                                                           \
	"  end\n"                                                             \
	"  redis.call('PEXPIRE', w, " REDIS_STR(REDIS_TIMES_LIFE_MS) ")\n"    \
	"end\n"

static struct redis_script scripts[RS_COUNT_] = {
	/* KEYS: hash, value key.  ARGV: key.
	   -> nil | {pttl or -1, bytes} */
	[RS_STATE_GET] = { "state-get",
		"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
		"if not v then return false end\n"
		"if v ~= '" REDIS_VALUE_MARK "' then return {-1, v} end\n"
		"local s = redis.call('GET', KEYS[2])\n"
		"if not s then return false end\n"
		"return {redis.call('PTTL', KEYS[2]), s}\n", "" },
	/* KEYS: hash, value key, expiry zset, times zset.  ARGV: key,
	   data, ttl ms ('0': none), expiry (ms since the epoch), now (ms),
	   value-key prefix.  Records now as the key's write time.  -> 1 */
	[RS_STATE_SET] = { "state-set",
		TTL_CHECK("ARGV[3]")
		TIMES_LUA
		"if ARGV[3] ~= '0' then\n"
		"  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
		"else\n"
		"  redis.call('SET', KEYS[2], ARGV[2])\n"
		"end\n"
		"redis.call('HSET', KEYS[1], ARGV[1], '" REDIS_VALUE_MARK "')\n"
		"if ARGV[3] ~= '0' then\n"
		"  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])\n"
		"end\n"
		"prune_times(KEYS[4], ARGV[5], redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1]))\n"
		CLEANUP_LOOP("ARGV[5]", "ARGV[6]")
		"return 1\n", "" },
	/* KEYS: hash, value key, expiry zset, times zset.  ARGV: key, now
	   (ms).  Records now as the key's write time, also when the key is
	   absent (a set made before this delete must not bring it back).
	   -> 1 deleted, 0 absent */
	[RS_STATE_DEL] = { "state-del",
		TIMES_LUA
		"prune_times(KEYS[4], ARGV[2], redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1]))\n"
		"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
		"if not v then return 0 end\n"
		"redis.call('HDEL', KEYS[1], ARGV[1])\n"
		"if v == '" REDIS_VALUE_MARK "' then\n"
		"  redis.call('ZREM', KEYS[3], ARGV[1])\n"
		"  return redis.call('DEL', KEYS[2])\n"
		"end\n"
		"return 1\n", "" },
	/* Slow path of incr, after HINCRBY met a value marker.  KEYS: hash,
	   value key, expiry zset.  ARGV: key, delta.  -> new value as
	   decimal text, or error PERSIST-NOTINT */
	[RS_STATE_INCR] = { "state-incr",
		"if redis.call('HGET', KEYS[1], ARGV[1]) == '" REDIS_VALUE_MARK "' then\n"
		"  if redis.call('EXISTS', KEYS[2]) == 1 then\n"
		"    local r = redis.pcall('INCRBY', KEYS[2], ARGV[2])\n"
		"    if type(r) == 'table' and r.err then\n"
		"      return redis.error_reply('PERSIST-NOTINT ' .. r.err)\n"
		"    end\n"
		"    return redis.call('GET', KEYS[2])\n"
		"  end\n"
		"  redis.call('HDEL', KEYS[1], ARGV[1])\n"
		"  redis.call('ZREM', KEYS[3], ARGV[1])\n"
		"end\n"
		"local r = redis.pcall('HINCRBY', KEYS[1], ARGV[1], ARGV[2])\n"
		"if type(r) == 'table' and r.err then\n"
		"  return redis.error_reply('PERSIST-NOTINT ' .. r.err)\n"
		"end\n"
		"return redis.call('HGET', KEYS[1], ARGV[1])\n", "" },
	/* KEYS: hash, unused, expiry zset.  ARGV: now (ms), value-key
	   prefix.  -> 1 */
	[RS_STATE_CLEANUP] = { "state-cleanup",
		CLEANUP_LOOP("ARGV[1]", "ARGV[2]")
		"return 1\n", "" },
	/* KEYS: document hash.  ARGV: data, etag, '1' if if-match, if-match
	   etag, ttl ms ('0': none), channel, notice (three fields; the
	   script adds the fourth, "changed").  A notice goes out when the
	   ETag changed, or, unchanged, when there is a TTL (for the expiry
	   checks of the other stores).  -> 1 set, 0 conflict */
	[RS_CONFIG_SET] = { "config-set",
		"local old = redis.call('HGET', KEYS[1], 'e')\n"
		"if ARGV[3] == '1' and old ~= ARGV[4] then\n"
		"  return 0\n"
		"end\n"
		TTL_CHECK("ARGV[5]")
		"redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2])\n"
		"if ARGV[5] ~= '0' then\n"
		"  redis.call('PEXPIRE', KEYS[1], ARGV[5])\n"
		"else\n"
		"  redis.call('PERSIST', KEYS[1])\n"
		"end\n"
		"if old ~= ARGV[2] then\n"
		"  redis.call('PUBLISH', ARGV[6], ARGV[7] .. '1:1')\n"
		"elseif ARGV[5] ~= '0' then\n"
		"  redis.call('PUBLISH', ARGV[6], ARGV[7] .. '1:0')\n"
		"end\n"
		"return 1\n", "" },
	/* KEYS: document hash.  ARGV: '1' if if-match, if-match etag,
	   channel, notice.  -> 1 deleted, 0 absent, -1 conflict */
	[RS_CONFIG_DEL] = { "config-del",
		"local e = redis.call('HGET', KEYS[1], 'e')\n"
		"if not e then return 0 end\n"
		"if ARGV[1] == '1' and e ~= ARGV[2] then return -1 end\n"
		"redis.call('DEL', KEYS[1])\n"
		"redis.call('PUBLISH', ARGV[3], ARGV[4])\n"
		"return 1\n", "" },
	/* KEYS: session hash, session index.  ARGV: id, instance, data, ttl
	   ms ('0': none), expiry ms ('0': none), now ms, session-key prefix.
	   Also forgets up to 16 index entries of sessions that expired. */
	[RS_SESSION_PUT] = { "session-put",
		TTL_CHECK("ARGV[4]")
		"redis.call('HSET', KEYS[1], 'i', ARGV[2], 'd', ARGV[3], 'x', ARGV[5])\n"
		"if ARGV[4] ~= '0' then\n"
		"  redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
		"  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])\n"
		"else\n"
		"  redis.call('PERSIST', KEYS[1])\n"
		"  redis.call('ZADD', KEYS[2], '+inf', ARGV[1])\n"
		"end\n"
		"local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[6], 'LIMIT', 0, 16)\n"
		"for _, id in ipairs(due) do\n"
		"  local t = redis.call('PTTL', ARGV[7] .. id)\n"
		"  if t == -2 then\n"
		"    redis.call('ZREM', KEYS[2], id)\n"
		"  elseif t == -1 then\n"
		"    redis.call('ZADD', KEYS[2], '+inf', id)\n"
		"  else\n"
		"    redis.call('ZADD', KEYS[2], tonumber(ARGV[6]) + t, id)\n"
		"  end\n"
		"end\n"
		"return 1\n", "" },
	/* KEYS: session hash, session index.  ARGV: id.  -> 1 dropped,
	   0 unknown */
	[RS_SESSION_DROP] = { "session-drop",
		"local n = redis.call('DEL', KEYS[1])\n"
		"redis.call('ZREM', KEYS[2], ARGV[1])\n"
		"return n\n", "" },
	/* KEYS: session hash, session index.  ARGV: instance channel
	   prefix, message, id.  -> receivers, -1 when no live session has
	   the id, -2 when its holder no longer listens (the holder exited:
	   the stale registration is dropped) */
	[RS_SESSION_SEND] = { "session-send",
		"local inst = redis.call('HGET', KEYS[1], 'i')\n"
		"if not inst then return -1 end\n"
		"local n = redis.call('PUBLISH', ARGV[1] .. inst, ARGV[2])\n"
		"if n == 0 then\n"
		"  redis.call('DEL', KEYS[1])\n"
		"  redis.call('ZREM', KEYS[2], ARGV[3])\n"
		"  return -2\n"
		"end\n"
		"return n\n", "" },
	/* Drop a state collection.  KEYS: hash, expiry zset, log, log base,
	   times zset.  ARGV: value-key prefix.  Every field of the hash may have a value
	   string (counters have none: DEL of it is a no-op).  -> number of
	   the collection's own keys removed */
	[RS_STATE_DROP] = { "state-drop",
		"for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do\n"
		"  redis.call('DEL', ARGV[1] .. k)\n"
		"end\n"
		"return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])\n", "" },
	/* A page of a log.  KEYS: log list, log base.  ARGV: from (record
	   number), page size.  The list's element i is record base + i; a
	   from below base starts at base.  -> {base as text, records} */
	[RS_LOG_READ] = { "log-read",
		"local b = redis.call('GET', KEYS[2]) or '0'\n"
		"local s = tonumber(ARGV[1]) - tonumber(b)\n"
		"if s < 0 then s = 0 end\n"
		"if s >= redis.call('LLEN', KEYS[1]) then return {b, {}} end\n"
		"return {b, redis.call('LRANGE', KEYS[1], s, s + tonumber(ARGV[2]) - 1)}\n", "" },
	/* Trim a log before record ARGV[1].  KEYS: log list, log base.
	   -> {1} done (or nothing to do), {0, base as text, length} when
	   ARGV[1] is beyond the next record number (nothing trimmed) */
	[RS_LOG_TRIM] = { "log-trim",
		"local b = redis.call('GET', KEYS[2]) or '0'\n"
		"local n = redis.call('LLEN', KEYS[1])\n"
		"local before = tonumber(ARGV[1])\n"
		"if before > tonumber(b) + n then return {0, b, n} end\n"
		"if before <= tonumber(b) then return {1} end\n"
		"redis.call('LTRIM', KEYS[1], before - tonumber(b), -1)\n"
		"redis.call('SET', KEYS[2], ARGV[1])\n"
		"return {1}\n", "" },
	/* KEYS: log list, log base.  -> {base as text, length} */
	[RS_LOG_BOUNDS] = { "log-bounds",
		"return {redis.call('GET', KEYS[2]) or '0', redis.call('LLEN', KEYS[1])}\n", "" },
	/* An exactly-once batch, dated or not.  KEYS[1]: the batch id's
	   key; then four per operation: hash, value key, expiry zset, and
	   the times zset (set, delete) or the log (append, increment).
	   ARGV[1]: how long the id is kept (ms), ARGV[2]: now (ms), ARGV[3]:
	   '1' dated, '0' not; then four per operation: type (s set, i incr,
	   a append, d delete), key, data or delta, TTL ms ('0': none); when
	   dated, then one more per operation: the time it was made (ms since
	   the epoch; read for sets and deletes).  -> 0 the id was applied
	   before (nothing done), 1 applied.  The id is checked first; then,
	   when dated, each set or delete is skipped when its key's recorded
	   time (ZSCORE, then the times this batch records, in order) is
	   later than its own; then every increment is checked on a
	   simulation of the keys the batch touches (counter text, int64
	   range, exactly: numbers are split into hi * 1e9 + lo because Lua
	   has only doubles), so the script raises PERSIST-EINVAL before its
	   first write or never fails.  Each set or delete applied records
	   its time (now when not dated). */
	[RS_STATE_BATCH_ONCE] = { "state-batch-once",
		"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
		INT64_LUA
		TIMES_LUA
		"local dated = ARGV[3] == '1'\n"
		"local n = (#ARGV - 3) / (dated and 5 or 4)\n"
		"local sim, tm, skip = {}, {}, {}\n"
		"for i = 0, n - 1 do\n"
		"  local t, k = ARGV[4 + 4 * i], ARGV[5 + 4 * i]\n"
		"  local h, vk = KEYS[2 + 4 * i], KEYS[3 + 4 * i]\n"
		"  local id = h .. '\\0' .. k\n"
		"  if dated and (t == 's' or t == 'd') then\n"
		"    local at = tonumber(ARGV[4 + 4 * n + i])\n"
		"    if tm[id] == nil then\n"
		"      local r = redis.call('ZSCORE', KEYS[5 + 4 * i], k)\n"
		"      tm[id] = r and tonumber(r) or false\n"
		"    end\n"
		"    if tm[id] and tm[id] > at then skip[i] = true else tm[id] = at end\n"
		"  end\n"
		"  if not skip[i] then\n"
		"    if t ~= 'a' and sim[id] == nil then\n"
		"      local f = redis.call('HGET', h, k)\n"
		"      if not f then sim[id] = false\n"
		"      elseif f == '" REDIS_VALUE_MARK "' then\n"
		"        local v = redis.call('GET', vk)\n"
		"        if v then sim[id] = {text = v} else sim[id] = false end\n"
		"      else sim[id] = {text = f} end\n"
		"    end\n"
		"    if t == 's' then sim[id] = {text = ARGV[6 + 4 * i]}\n"
		"    elseif t == 'd' then sim[id] = false\n"
		"    elseif t == 'i' then\n"
		"      local cur = sim[id]\n"
		"      local c = {0, 0}\n"
		"      if cur then c = cur.num or num(cur.text) end\n"
		"      local s = c and add(c, num(ARGV[6 + 4 * i]))\n"
		"      if not s then\n"
		"        return redis.error_reply('PERSIST-EINVAL operation ' .. i .. ': key \"' .. k ..\n"
		"          '\" holds no counter text or the sum leaves int64; nothing was applied')\n"
		"      end\n"
		"      sim[id] = {num = s}\n"
		"    end\n"
		"  end\n"
		"end\n"
		"redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])\n"
		"local now = tonumber(ARGV[2])\n"
		"local touched, added = {}, {}\n"
		"for i = 0, n - 1 do\n"
		"  local t, k, a, ttl = ARGV[4 + 4 * i], ARGV[5 + 4 * i], ARGV[6 + 4 * i], ARGV[7 + 4 * i]\n"
		"  local h, vk, x, w = KEYS[2 + 4 * i], KEYS[3 + 4 * i], KEYS[4 + 4 * i], KEYS[5 + 4 * i]\n"
		"  if skip[i] then\n"
		"  elseif t == 's' then\n"
		"    if ttl ~= '0' then redis.call('SET', vk, a, 'PX', ttl)\n"
		"    else redis.call('SET', vk, a) end\n"
		"    redis.call('HSET', h, k, '" REDIS_VALUE_MARK "')\n"
		"    if ttl ~= '0' then redis.call('ZADD', x, now + tonumber(ttl), k) end\n"
		"  elseif t == 'i' then\n"
		"    if redis.call('HGET', h, k) == '" REDIS_VALUE_MARK "' then\n"
		"      if redis.call('EXISTS', vk) == 1 then\n"
		"        redis.call('INCRBY', vk, a)\n"
		"      else\n"
		"        redis.call('HDEL', h, k)\n"
		"        redis.call('ZREM', x, k)\n"
		"        redis.call('HINCRBY', h, k, a)\n"
		"      end\n"
		"    else\n"
		"      redis.call('HINCRBY', h, k, a)\n"
		"    end\n"
		"  elseif t == 'a' then\n"
		"    redis.call('RPUSH', w, a)\n"
		"  else\n"
		"    redis.call('HDEL', h, k)\n"
		"    redis.call('DEL', vk)\n"
		"    redis.call('ZREM', x, k)\n"
		"  end\n"
		"  if not skip[i] and (t == 's' or t == 'd') then\n"
		"    local new = redis.call('ZADD', w, dated and ARGV[4 + 4 * n + i] or ARGV[2], k)\n"
		"    if not added[w] then touched[#touched + 1] = w; added[w] = 0 end\n"
		"    added[w] = added[w] + new\n"
		"  end\n"
		"end\n"
		"for _, w in ipairs(touched) do prune_times(w, ARGV[2], added[w]) end\n"
		"return 1\n", "" },
	/* The exactly-once batch of increments only, the fast form of
	   state-batch-once.  KEYS[1]: the batch id's key; then one per
	   collection: its hash.  ARGV[1]: how long the id is kept (ms); then
	   per collection, in the order of KEYS: the count c, c keys, c
	   deltas (the batch's order within the collection).  -> 0 the id
	   was applied before, 1 applied, 2 nothing done: the batch needs
	   state-batch-once (a key holds a value - the marker - or holds no
	   counter text, or a sum leaves int64: that script handles values
	   and words the error).  One HMGET per collection reads the current
	   values (in pieces: Lua's unpack stops near 8000); each sum is then
	   computed in Lua numbers while both sides are at most 2^52 (exact:
	   a 15-digit text is below 10^15), in the exact {hi, lo} form beyond;
	   every sum is known before the first write.  The writes are the id
	   key and one HSET per collection of each key's final value: the
	   delta's own text for a key absent before with one increment, else
	   a Lua number (at most 2^52: Redis writes such an argument as its
	   full decimal integer, "%.17g" before 7.2, an integer print since;
	   cheaper than making the string in Lua) or the {hi, lo} text. */
	[RS_STATE_BATCH_ONCE_INCR] = { "state-batch-once-incr",
		"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
		INT64_LUA
		"local B, P = 4503599627370496, 4000\n"
		"local function pair(x)\n"
		"  local hi = math.floor(x / E)\n"
		"  local lo = x - hi * E\n"
		"  if lo < 0 then lo = lo + E; hi = hi - 1\n"
		"  elseif lo >= E then lo = lo - E; hi = hi + 1 end\n"
		"  return {hi, lo}\n"
		"end\n"
		"local function text(v)\n"
		"  if type(v) == 'string' then return v end\n"
		"  if type(v) == 'number' then\n"
		"    if v == 0 then return '0' end\n"
		"    return v\n"
		"  end\n"
		"  local hi, lo, s = v[1], v[2], ''\n"
		"  if hi < 0 then\n"
		"    hi, lo, s = -hi, -lo, '-'\n"
		"    if lo < 0 then lo = lo + E; hi = hi - 1 end\n"
		"  end\n"
		"  if hi == 0 then return s .. string.format('%.0f', lo) end\n"
		"  return s .. string.format('%.0f%09.0f', hi, lo)\n"
		"end\n"
		"local plan, a = {}, 2\n"
		"for j = 2, #KEYS do\n"
		"  local c = tonumber(ARGV[a])\n"
		"  local k0, d0 = a, a + c\n"
		"  a = a + 1 + 2 * c\n"
		"  local got = {}\n"
		"  for s = 1, c, P do\n"
		"    local e = math.min(s + P - 1, c)\n"
		"    local r = redis.call('HMGET', KEYS[j], unpack(ARGV, k0 + s, k0 + e))\n"
		"    for i = 1, e - s + 1 do got[s + i - 1] = r[i] end\n"
		"  end\n"
		"  local cur, order, no = {}, {}, 0\n"
		"  for i = 1, c do\n"
		"    local k, d = ARGV[k0 + i], ARGV[d0 + i]\n"
		"    local v, fresh = cur[k], false\n"
		"    if v == nil then\n"
		"      local t = got[i]\n"
		"      if not t then v, fresh = 0, true\n"
		"      elseif #t <= 15 and (t == '0' or string.match(t, '^%-?[1-9]%d*$')) then\n"
		"        v = tonumber(t)\n"
		"      else\n"
		"        v = num(t)\n"
		"        if not v then return 2 end\n"
		"      end\n"
		"      no = no + 1\n"
		"      order[no] = k\n"
		"    elseif type(v) == 'string' then\n"
		"      v = tonumber(v)\n"
		"    end\n"
		"    if fresh and #d <= 15 then\n"
		"      v = d\n"
		"    elseif type(v) == 'number' and #d <= 15 then\n"
		"      v = v + tonumber(d)\n"
		"      if v > B or v < -B then v = pair(v) end\n"
		"    else\n"
		"      if type(v) == 'number' then v = pair(v) end\n"
		"      v = add(v, num(d))\n"
		"      if not v then return 2 end\n"
		"    end\n"
		"    cur[k] = v\n"
		"  end\n"
		"  plan[#plan + 1] = {KEYS[j], cur, order}\n"
		"end\n"
		"redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])\n"
		"for _, p in ipairs(plan) do\n"
		"  local h, cur, order = p[1], p[2], p[3]\n"
		"  for s = 1, #order, P / 2 do\n"
		"    local args, m = {}, 0\n"
		"    for i = s, math.min(s + P / 2 - 1, #order) do\n"
		"      local k = order[i]\n"
		"      args[m + 1], args[m + 2], m = k, text(cur[k]), m + 2\n"
		"    end\n"
		"    redis.call('HSET', h, unpack(args))\n"
		"  end\n"
		"end\n"
		"return 1\n", "" },
	/* The write times of the sets and deletes of a batch (MULTI/EXEC)
	   in one collection.  KEYS: times zset.  ARGV: now (ms), then the
	   keys.  -> 1 */
	[RS_STATE_TIMES] = { "state-times",
		TIMES_LUA
		"local added = 0\n"
		"for i = 2, #ARGV do\n"
		"  added = added + redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])\n"
		"end\n"
		"prune_times(KEYS[1], ARGV[1], added)\n"
		"return 1\n", "" },
};

static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;
static int scripts_status = -1;

/* Compute every script's SHA1 hex digest (run once). */
static void scripts_digest(void)
{
	for (int i = 0; i < RS_COUNT_; i++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;

		if (EVP_Digest(scripts[i].body, strlen(scripts[i].body), md, &mdlen,
			       EVP_sha1(), NULL) != 1 || mdlen != 20)
			return;
		for (unsigned j = 0; j < mdlen; j++)
			snprintf(scripts[i].sha + 2 * j, 3, "%02x", md[j]);
	}
	scripts_status = 0;
}

/* Make sure the digests exist; 0 on success. */
int redis_scripts_init(void)
{
	pthread_once(&scripts_once, scripts_digest);
	return scripts_status;
}

/* The script with this id. */
const struct redis_script *redis_script(enum redis_script_id id)
{
	return &scripts[id];
}

/* Add "EVALSHA <sha> <nkeys>"; the caller adds keys and arguments. */
void redis_req_script(struct redis_req *req, enum redis_script_id id,
		      int nkeys)
{
	redis_req_cmd(req, "EVALSHA");
	redis_req_arg(req, scripts[id].sha, 40);
	redis_req_i64(req, nkeys);
}
