'use strict';
/*
 * bindings/node/test/redis.test.js - the Node.js binding on a private
 * redis-server ($REDIS_URL, started by test-node-redis.sh): every method
 * with all three kinds on redis, with and without the write queue; two
 * Node processes sharing the server see each other's increments,
 * broadcasts, sends and configuration changes; cluster workers opening
 * one configuration at once; an unreachable server answers EUNAVAILABLE.
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork, execFileSync } = require('node:child_process');
const persist = require(process.env.PERSIST_NODE_MODULE);
const { apiSuite, waitFor, rejectsWith } = require('./api.js');

process.chdir(process.env.PERSIST_TEST_TMP);  // kinds left to the default write here
const url = process.env.REDIS_URL;
assert.ok(url, 'REDIS_URL is not set (run through test-node-redis.sh)');

const redisConfig = (prefix, state = {}) => ({
  configuration: { provider: 'redis', config: { url, prefix, cacheTTL: 300000 } },
  state: { provider: 'redis', config: { url, prefix, ...state } },
  sessions: { provider: 'redis', config: { url, prefix } },
});

apiSuite('redis', () => redisConfig('api:'));
apiSuite('redis, write queue on', () => redisConfig('apiq:', { batchInterval: 50 }));

/* A persist of another Node process: call(name, ...args) -> Promise. */
function child(config, instance) {
  const proc = fork(path.join(__dirname, 'child.js'), [], {
    env: { ...process.env, PN_CONFIG: JSON.stringify(config), PN_INSTANCE: instance },
    serialization: 'advanced',
  });
  const waiting = new Map();
  const events = [];
  let next = 1;
  let ready;
  const started = new Promise((r) => { ready = r; });
  proc.on('message', (m) => {
    if (m.ready) return ready(m.ready);
    if (m.event) return events.push(m.event);
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else w.resolve(m.result);
  });
  const call = (name, ...args) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    proc.send({ id, call: name, args });
  });
  return { proc, call, events, started };
}

describe('two Node processes on one redis', () => {
  const config = redisConfig(`two${process.pid}:`);
  let a;
  let b;
  before(async () => {
    a = child(config, 'node-a');
    b = child(config, 'node-b');
    assert.equal(await a.started, 'node-a');
    assert.equal(await b.started, 'node-b');
  });
  after(async () => {
    await Promise.all([a.call('close'), b.call('close')]);
  });

  it("see each other's increments", async () => {
    const n = 100;
    await Promise.all([
      ...Array.from({ length: n }, () => a.call('state.increment', 'usage', 'shared')),
      ...Array.from({ length: n }, () => b.call('state.increment', 'usage', 'shared', 2)),
    ]);
    assert.equal(await a.call('state.get', 'usage', 'shared'), 3 * n);
    assert.equal(await b.call('state.get', 'usage', 'shared'), 3 * n);
    await a.call('state.incrementBatch', 'usage', [{ key: 'shared', amount: 5 }]);
    await a.call('state.add', 'usage', 'shared', 7);
    await a.call('state.flush');
    assert.equal(await b.call('state.increment', 'usage', 'shared', 0), 3 * n + 12);
  });

  it("see each other's broadcasts and sends", async () => {
    await a.call('sessions.subscribe');
    await b.call('sessions.subscribe');
    await a.call('sessions.broadcast', 'hello', { from: 'a' });
    await b.call('sessions.setConnection', 'sse-b', { user: 'bob' });
    await a.call('sessions.send', 'sse-b', 'chunk', 'to b');
    await waitFor('the broadcast at b', () => b.events.some((e) => e.event === 'hello'));
    await waitFor('the send at b', () => b.events.some((e) => e.event === 'chunk'));
    const hello = b.events.find((e) => e.event === 'hello');
    assert.deepEqual(hello.data, { from: 'a' });
    assert.equal(hello.info.origin, 'node-a');
    assert.equal(hello.info.local, false);
    const chunk = b.events.find((e) => e.event === 'chunk');
    assert.equal(chunk.info.sessionId, 'sse-b');
    assert.equal(chunk.data, 'to b');
    await waitFor('its own broadcast at a', () => a.events.some((e) => e.event === 'hello' && e.info.local));
    const list = await a.call('sessions.listConnections');
    assert.deepEqual(list.map((c) => [c.sessionId, c.instance]), [['sse-b', 'node-b']]);
  });

  it('a configuration change in one reaches the subscriber in the other, and its reads', async () => {
    await a.call('configuration.set', 'platform', { v: 1 });
    assert.deepEqual((await b.call('configuration.get', 'platform')).data, { v: 1 }); // now cached in b
    await b.call('configuration.subscribe', 'platform');
    await a.call('configuration.set', 'platform', { v: 2 });
    const etag2 = await a.call('configuration.generateETag', { v: 2 });
    await waitFor('the change at b', () => b.events.some((e) => e.kind === 'config' && e.etag === etag2));
    assert.ok(b.events.filter((e) => e.kind === 'config').every((e) => e.key === 'platform'));
    const got = await b.call('configuration.get', 'platform');
    assert.deepEqual(got.data, { v: 2 });
    assert.equal(got.etag, etag2);
    const m = await b.call('configuration.getMultiple', ['platform']);
    assert.deepEqual(m.get('platform').data, { v: 2 });
  });
});

describe('cluster on redis', () => {
  it('four workers open the same configuration at once and count exactly', () => {
    const rounds = process.env.PERSIST_TEST_QUICK ? 50 : 200;
    const out = execFileSync(process.execPath, [path.join(__dirname, 'cluster-workers.js'),
      JSON.stringify(redisConfig(`cluster${process.pid}:`, { batchInterval: 20 })), '4', String(rounds)],
    { encoding: 'utf8', timeout: 180000 });   // four processes: slow under a sanitizer
    assert.deepEqual(JSON.parse(out.trim().split('\n').pop()), { counter: 4 * rounds * 2, log: 4 * rounds });
  });
});

describe('a server that stalls', () => {
  it('does not stall the event loop: calls wait on the pool while timers fire', async () => {
    const fs = require('node:fs');
    const pid = Number(fs.readFileSync(path.join(process.env.REDIS_DIR, 'pid'), 'utf8'));
    const p = persist.open({ state: { provider: 'redis', config: { url, prefix: `stall${process.pid}:`, commandTimeout: 20000 } } });
    await p.state.increment('usage', 'k');  // connected
    const ticks = [];
    const timer = setInterval(() => ticks.push(Date.now()), 10);
    process.kill(pid, 'SIGSTOP');
    let values;
    const pause = 1500;
    try {
      const t0 = Date.now();
      const calls = Array.from({ length: 1000 }, () => p.state.increment('usage', 'k'));
      await new Promise((r) => setTimeout(r, pause));
      const duringPause = ticks.filter((t) => t >= t0).length;
      process.kill(pid, 'SIGCONT');
      values = await Promise.all(calls);
      // a call made on the event loop would have held it for the whole pause
      assert.ok(duringPause >= 10, `${duringPause} timer ticks in a ${pause} ms stall of the server`);
      let gap = 0;
      for (let i = 1; i < ticks.length; i++) gap = Math.max(gap, ticks[i] - ticks[i - 1]);
      assert.ok(gap < pause * 0.6, `the event loop was blocked for ${gap} ms`);
    } finally {
      process.kill(pid, 'SIGCONT');
      clearInterval(timer);
    }
    assert.equal(Math.max(...values), 1001);
    await p.close();
  });
});

describe('an unreachable server', () => {
  it('answers EUNAVAILABLE, and the handle still closes', async () => {
    const dead = 'redis://127.0.0.1:1/0';
    const p = persist.open({ state: { provider: 'redis', config: { url: dead, connectTimeout: 500 } } });
    const e = await rejectsWith('EUNAVAILABLE', p.state.increment('usage', 'k'));
    assert.match(e.message, /127\.0\.0\.1/);
    await p.close();
  });
});
