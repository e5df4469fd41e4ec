'use strict';
/*
 * bench/node-bench.js - calls per second of the Node.js binding's state
 * increments, run by bench/node-bench.sh: a plain JavaScript Map increment
 * (the anchor), then on the memory and the filesystem providers with the
 * write queue on:
 *   awaited   `await state.increment()` one at a time
 *   inflight  state.increment() 1000 at a time (Promise.all)
 *   queued    state.add() for every event, then state.flush(): the usage
 *             tracker's call, measured up to the flush that stores them
 * Every counter is read back and compared with the sum of what was added
 * (exit 1 on a difference).  Medians of ROUNDS rounds (environment, default
 * 5).  Prints one line per figure, then the figures as one JSON line
 * (the last line), which node-bench.sh reads.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const persist = require(process.env.PERSIST_NODE_MODULE);

const ROUNDS = Number(process.env.ROUNDS) || 5;
const KEYS = 1000;
const N_QUEUED = 200000;
const N_INFLIGHT = 20000;
const N_AWAITED = 2000;
const IN_FLIGHT = 1000;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const NAMES = Array.from({ length: KEYS }, (_, i) => `user${i}:app${i % 7}:model${i % 3}`);
const keyName = (i) => NAMES[i % KEYS];
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/* The anchor: n increments of a Map entry; calls/s. */
function mapRound(n) {
  const m = new Map();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const k = keyName(i);
    m.set(k, (m.get(k) || 0) + 1);
  }
  const s = seconds(t0);
  let sum = 0;
  for (const v of m.values()) sum += v;
  if (sum !== n) throw new Error(`the Map holds ${sum} increments of ${n}`);
  return n / s;
}

/* Read every counter of collection back and compare with expect. */
async function verify(p, collection, expect, what) {
  const rows = await p.state.scan(collection);
  const got = new Map(rows.map((r) => [r.key, Number(r.value)]));
  for (const [k, v] of expect) {
    if (got.get(k) !== v)
      throw new Error(`${what}: counter ${collection}/${k} holds ${got.get(k)}, the calls add up to ${v}`);
  }
  if (got.size !== expect.size)
    throw new Error(`${what}: ${got.size} counters stored, ${expect.size} written`);
}

function expected(n) {
  const m = new Map();
  for (let i = 0; i < n; i++) m.set(keyName(i), (m.get(keyName(i)) || 0) + 1);
  return m;
}

/* One round of the three paths on a fresh collection of handle p. */
async function providerRound(p, label, round) {
  const out = {};
  let c = `aw${round}`;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N_AWAITED; i++) await p.state.increment(c, keyName(i));
  out.awaited = N_AWAITED / seconds(t0);
  await verify(p, c, expected(N_AWAITED), `${label} awaited`);

  c = `if${round}`;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N_INFLIGHT; i += IN_FLIGHT) {
    const calls = [];
    for (let j = i; j < i + IN_FLIGHT; j++) calls.push(p.state.increment(c, keyName(j)));
    await Promise.all(calls);
  }
  out.inflight = N_INFLIGHT / seconds(t0);
  await verify(p, c, expected(N_INFLIGHT), `${label} in flight`);

  c = `q${round}`;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N_QUEUED; i++) p.state.add(c, keyName(i));
  await p.state.flush();
  out.queued = N_QUEUED / seconds(t0);
  await verify(p, c, expected(N_QUEUED), `${label} queued`);
  return out;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(process.env.PERSIST_TEST_TMP || os.tmpdir(), 'node-bench-'));
  const configs = {
    memory: {
      state: { provider: 'memory', config: { batchInterval: 100 } },
      sessions: { provider: 'memory', config: {} },
    },
    filesystem: {
      configuration: { provider: 'filesystem', config: { root: path.join(tmp, 'config') } },
      state: { provider: 'filesystem', config: { root: path.join(tmp, 'state'), batchInterval: 100 } },
      sessions: { provider: 'memory', config: {} },
    },
  };
  const runs = { map: [] };
  for (const name of Object.keys(configs)) runs[name] = { awaited: [], inflight: [], queued: [] };
  const handles = {};
  for (const [name, config] of Object.entries(configs)) handles[name] = persist.open(config);

  for (let r = 0; r < ROUNDS; r++) {
    runs.map.push(mapRound(N_QUEUED));
    for (const name of Object.keys(configs)) {
      const got = await providerRound(handles[name], name, r);
      for (const k of Object.keys(got)) runs[name][k].push(got[k]);
    }
  }
  for (const h of Object.values(handles)) await h.close();

  const fmt = (xs) => xs.map((x) => Math.round(x)).join(' ');
  console.log(`map increments: ${fmt(runs.map)}`);
  const result = { map: median(runs.map) };
  for (const name of Object.keys(configs)) {
    result[name] = {};
    for (const k of ['awaited', 'inflight', 'queued']) {
      console.log(`${name} ${k}: ${fmt(runs[name][k])}`);
      result[name][k] = median(runs[name][k]);
    }
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(`node-bench.js: ${e.message}`);
  process.exit(1);
});
