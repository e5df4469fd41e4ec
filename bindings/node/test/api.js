'use strict';
/*
 * bindings/node/test/api.js - the cases every configuration of the Node.js
 * binding must pass: every method of the three providers and the extras,
 * their results' shapes, errors with their codes, bad input, callbacks
 * that throw, a closed handle, and an event loop that stays responsive
 * under thousands of calls in flight.  Required by the test files, which
 * call apiSuite(label, makeConfig) for each backend.
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const persist = require(process.env.PERSIST_NODE_MODULE);

const QUICK = !!process.env.PERSIST_TEST_QUICK;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Resolve when cond() holds, or fail after ms. */
async function waitFor(what, cond, ms = 10000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/* Assert that promise (or function) fails with an Error of this code. */
async function rejectsWith(code, promiseOrFn, re) {
  let err = null;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error with code ${code}`);
  assert.equal(err.code, code, `code of: ${err.message}`);
  if (re) assert.match(err.message, re);
  return err;
}

function apiSuite(label, makeConfig) {
  describe(label, () => {
    let p;
    const u = `${process.pid}-${Date.now()}`;  // keys of this run
    before(() => { p = persist.open(makeConfig()); });
    after(async () => { if (p) await p.close(); });

    describe('configuration', () => {
      it('set then get answers the data and its ETag, which generateETag computes', async () => {
        const doc = { name: 'platform', models: ['a', 'b'], n: 1.5, ok: true, none: null, s: 'é€😀' };
        await p.configuration.set(`platform-${u}`, doc);
        const got = await p.configuration.get(`platform-${u}`);
        assert.deepEqual(got.data, doc);
        assert.match(got.etag, /^[0-9a-f]{8,}$/);
        assert.equal(p.configuration.generateETag(doc), got.etag);
        assert.notEqual(p.configuration.generateETag({ other: 1 }), got.etag);
        assert.equal(p.configuration.generateETag(Buffer.from(JSON.stringify(doc))), got.etag);
      });

      it('get of an absent key rejects with ENOTFOUND naming the key', async () => {
        await rejectsWith('ENOTFOUND', p.configuration.get(`absent-${u}`), new RegExp(`absent-${u}`));
      });

      it('ifMatch: the current ETag writes, another answers ECONFLICT and writes nothing', async () => {
        const k = `cas-${u}`;
        await p.configuration.set(k, { v: 1 });
        const { etag } = await p.configuration.get(k);
        await p.configuration.set(k, { v: 2 }, { ifMatch: etag });
        await rejectsWith('ECONFLICT', p.configuration.set(k, { v: 3 }, { ifMatch: etag }));
        assert.deepEqual((await p.configuration.get(k)).data, { v: 2 });
      });

      it('getMultiple answers a Map of the documents found', async () => {
        await p.configuration.set(`m1-${u}`, [1]);
        await p.configuration.set(`m2-${u}`, 'two');
        const m = await p.configuration.getMultiple([`m1-${u}`, `nope-${u}`, `m2-${u}`]);
        assert.ok(m instanceof Map);
        assert.deepEqual([...m.keys()], [`m1-${u}`, `m2-${u}`]);
        assert.deepEqual(m.get(`m1-${u}`).data, [1]);
        assert.equal(m.get(`m2-${u}`).data, 'two');
        assert.equal(m.get(`m2-${u}`).etag, p.configuration.generateETag('two'));
        assert.equal((await p.configuration.getMultiple([])).size, 0);
      });

      it('subscribe: the callback fires on a change and on a delete, not after unsubscribe', async () => {
        const k = `sub-${u}`;
        const seen = [];
        const unsubscribe = await p.configuration.subscribe(k, (key, etag) => seen.push([key, etag]));
        assert.equal(typeof unsubscribe, 'function');
        await p.configuration.set(k, { v: 1 });
        await waitFor('the change', () => seen.length >= 1);
        assert.equal(seen[0][0], k);
        assert.equal(seen[0][1], p.configuration.generateETag({ v: 1 }));
        await p.configuration.delete(k);
        await waitFor('the delete', () => seen.some(([, e]) => e === null));
        assert.equal(await unsubscribe(), true);
        assert.equal(await unsubscribe(), true, 'a second call answers the same');
        const n = seen.length;
        await p.configuration.set(k, { v: 2 });
        await sleep(200);
        assert.equal(seen.length, n);
      });

      it('delete and list', async () => {
        await p.configuration.set(`del-${u}`, 1);
        assert.ok((await p.configuration.list()).includes(`del-${u}`));
        await p.configuration.delete(`del-${u}`);
        assert.ok(!(await p.configuration.list()).includes(`del-${u}`));
        await rejectsWith('ENOTFOUND', p.configuration.delete(`del-${u}`));
      });
    });

    describe('state', () => {
      it('get of an absent key is undefined; set then get round-trips JSON values', async () => {
        assert.equal(await p.state.get('links', `absent-${u}`), undefined);
        for (const [i, v] of [{ url: 'https://x/é', n: [1, { a: null }] }, 'text', 42, false, null, []].entries()) {
          await p.state.set('links', `k${i}-${u}`, v);
          assert.deepEqual(await p.state.get('links', `k${i}-${u}`), v);
        }
      });

      it('set with a TTL in seconds: scan shows its expiry', async () => {
        const t0 = Date.now();
        await p.state.set('ttl', `t-${u}`, 'x', 60);
        await p.state.set('ttl', `n-${u}`, 'y');
        const rows = await p.state.scan('ttl', `t-${u}`);
        assert.equal(rows.length, 1);
        assert.ok(rows[0].expiresAt >= t0 + 59000 && rows[0].expiresAt <= Date.now() + 61000,
          `expiresAt ${rows[0].expiresAt}`);
        assert.equal((await p.state.scan('ttl', `n-${u}`))[0].expiresAt, null);
      });

      it('a short TTL expires', async () => {
        await p.state.set('ttl', `short-${u}`, 1, 0.2);
        await sleep(600);
        assert.equal(await p.state.get('ttl', `short-${u}`), undefined);
      });

      it('increment: default 1, an amount, negative; the new value', async () => {
        const k = `c-${u}`;
        assert.equal(await p.state.increment('usage', k), 1);
        assert.equal(await p.state.increment('usage', k, 10), 11);
        assert.equal(await p.state.increment('usage', k, -4), 7);
        assert.equal(await p.state.increment('usage', k, 5n), 12);
        assert.equal(await p.state.get('usage', k), 12);
      });

      it('increments in flight at once are all counted', async () => {
        const n = QUICK ? 200 : 1000;
        const values = await Promise.all(Array.from({ length: n }, () => p.state.increment('usage', `par-${u}`)));
        assert.equal(Math.max(...values), n);
        assert.equal(new Set(values).size, n, 'each call saw its own new value');
      });

      it('append and readLog with from, max and next', async () => {
        const c = `log-${u}`.replace(/[^A-Za-z0-9_.:-]/g, '_');
        for (let i = 0; i < 5; i++) await p.state.append(c, { i, text: `r${i}` });
        const all = await p.state.readLog(c);
        assert.deepEqual(all.records.map((r) => r.data.i), [0, 1, 2, 3, 4]);
        assert.deepEqual(all.records.map((r) => r.index), [0, 1, 2, 3, 4]);
        assert.equal(all.next, 5);
        const part = await p.state.readLog(c, 2, 2);
        assert.deepEqual(part.records.map((r) => r.data.i), [2, 3]);
        assert.equal(part.next, 4);
        assert.deepEqual((await p.state.readLog(c, 5)).records, []);
      });

      it('setBatch, scan with a prefix (sorted) and delete', async () => {
        await p.state.setBatch('short', [
          { key: `b-${u}-2`, value: { url: 'two' } },
          { key: `b-${u}-1`, value: { url: 'one' }, ttl: 3600 },
          { key: `b-${u}-3`, value: 3 },
        ]);
        let rows = await p.state.scan('short', `b-${u}-`);
        assert.deepEqual(rows.map((r) => r.key), [`b-${u}-1`, `b-${u}-2`, `b-${u}-3`]);
        assert.deepEqual(rows[1].value, { url: 'two' });
        assert.ok(rows[0].expiresAt > Date.now());
        await p.state.delete('short', `b-${u}-2`);
        rows = await p.state.scan('short', `b-${u}-`);
        assert.deepEqual(rows.map((r) => r.key), [`b-${u}-1`, `b-${u}-3`]);
        assert.equal(await p.state.get('short', `b-${u}-2`), undefined);
        await p.state.setBatch('short', []);
      });

      it('add returns at once with nothing; flush stores it', async () => {
        const k = `q-${u}`;
        assert.equal(p.state.add('usage', k, 3), undefined);
        assert.equal(p.state.add('usage', k), undefined);
        await p.state.flush();
        assert.equal(await p.state.get('usage', k), 4);
        assert.equal(await p.state.increment('usage', k, 1), 5);
      });

      it("incrementBatch: a turn's burst of 24 increments on 16 keys", async () => {
        const entries = [];
        const want = new Map();
        for (let i = 0; i < 24; i++) {
          const key = `turn-${u}-${i % 16}`;
          entries.push({ key, amount: i + 1 });
          want.set(key, (want.get(key) || 0) + i + 1);
        }
        await p.state.incrementBatch('usage', entries);
        await p.state.incrementBatch('usage', entries.slice(0, 2));
        await p.state.flush();
        want.set(`turn-${u}-0`, want.get(`turn-${u}-0`) + 1);
        want.set(`turn-${u}-1`, want.get(`turn-${u}-1`) + 2);
        for (const [key, v] of want) assert.equal(await p.state.get('usage', key), v, key);
      });

      it('stats describe the write queue', async () => {
        const s = p.state.stats();
        assert.equal(typeof s.enabled, 'boolean');
        assert.equal(s.enabled, p.batching);
        assert.equal(typeof s.opsQueued, 'number');
      });

      it('a large value (4 MiB) round-trips', async () => {
        const big = { blob: 'x'.repeat(4 << 20), n: 1 };
        await p.state.set('big', `v-${u}`, big);
        const back = await p.state.get('big', `v-${u}`);
        assert.equal(back.blob.length, big.blob.length);
        assert.equal(back.n, 1);
      });
    });

    describe('sessions', () => {
      it('setConnection, listConnections, removeConnection', async () => {
        await p.sessions.setConnection(`s1-${u}`, { user: 'alice', app: 'chat' });
        await p.sessions.setConnection(`s2-${u}`, { user: 'bob' }, 60);
        let list = await p.sessions.listConnections();
        const mine = list.filter((c) => c.sessionId.endsWith(u));
        assert.deepEqual(mine.map((c) => c.sessionId), [`s1-${u}`, `s2-${u}`]);
        assert.deepEqual(mine[0].data, { user: 'alice', app: 'chat' });
        assert.equal(mine[0].instance, p.instanceId);
        await p.sessions.removeConnection(`s1-${u}`);
        list = await p.sessions.listConnections();
        assert.ok(!list.some((c) => c.sessionId === `s1-${u}`));
        assert.ok(list.some((c) => c.sessionId === `s2-${u}`));
      });

      it('subscribe receives broadcasts and sends; unsubscribe stops them', async () => {
        const seen = [];
        const unsubscribe = await p.sessions.subscribe((event, data, info) => seen.push({ event, data, info }));
        await p.sessions.broadcast('config-changed', { key: 'platform' });
        await p.sessions.setConnection(`s3-${u}`, {});
        await p.sessions.send(`s3-${u}`, 'chunk', 'hello');
        await waitFor('two events', () => seen.length >= 2);
        const b = seen.find((e) => e.event === 'config-changed');
        assert.deepEqual(b.data, { key: 'platform' });
        assert.equal(b.info.sessionId, null);
        assert.equal(b.info.origin, p.instanceId);
        assert.equal(b.info.local, true);
        const s = seen.find((e) => e.event === 'chunk');
        assert.equal(s.data, 'hello');
        assert.equal(s.info.sessionId, `s3-${u}`);
        await unsubscribe();
        const n = seen.length;
        await p.sessions.broadcast('late', 1);
        await sleep(200);
        assert.equal(seen.length, n);
      });

      it('a subscriber that throws is reported and the others go on', async () => {
        const errors = [];
        const q = persist.open(makeConfig(), { onError: (e, what) => errors.push([e.message, what]) });
        try {
          const seen = [];
          await q.sessions.subscribe(() => { throw new Error('boom'); });
          await q.sessions.subscribe((event) => seen.push(event));
          await q.sessions.broadcast('one', 1);
          await q.sessions.broadcast('two', 2);
          await waitFor('both events', () => seen.length >= 2);
          await waitFor('both errors', () => errors.length >= 2);
          assert.deepEqual(errors[0], ['boom', 'session subscriber']);
          assert.deepEqual(seen, ['one', 'two']);
          // the same for a configuration subscriber
          const changes = [];
          await q.configuration.subscribe(`thrower-${u}`, () => { throw new Error('bang'); });
          await q.configuration.subscribe(`thrower-${u}`, (key) => changes.push(key));
          await q.configuration.set(`thrower-${u}`, 1);
          // (a provider may fold quick changes into one notice)
          await waitFor('the change', () => changes.length >= 1, 15000);
          await waitFor('the error', () => errors.some(([m, w]) => m === 'bang' && w === 'configuration subscriber'));
          await q.state.increment('usage', `after-${u}`);
        } finally {
          await q.close();
        }
      });
    });

    describe('bad input', () => {
      it('wrong types and counts are TypeErrors naming the argument', async () => {
        await assert.rejects(p.state.get('c'), { name: 'TypeError', code: 'ERR_INVALID_ARG_COUNT' });
        await assert.rejects(p.state.get('c', 'k', 'x'), { name: 'TypeError', message: /state\.get takes 2 arguments, 3 given/ });
        await assert.rejects(p.state.get(1, 'k'), { name: 'TypeError', message: /^collection must be a string/ });
        await assert.rejects(p.state.set('c', 'k', 1, 'soon'), { name: 'TypeError', message: /^ttl must be/ });
        await assert.rejects(p.state.increment('c', 'k', 1.5), { name: 'TypeError', message: /^amount must be a safe integer/ });
        await assert.rejects(p.configuration.get(null), { name: 'TypeError', message: /^key must be a string/ });
        await assert.rejects(p.configuration.set('k', 1, { ifMatch: 5 }), { name: 'TypeError', message: /^options\.ifMatch/ });
        await assert.rejects(p.configuration.subscribe('k', 'nope'), { name: 'TypeError', message: /^callback must be a function/ });
        await assert.rejects(p.configuration.getMultiple('k'), { name: 'TypeError', message: /^keys must be an array/ });
        await assert.rejects(p.state.setBatch('c', [{ key: 1 }]), { name: 'TypeError', message: /entries\[0\]\.key/ });
        await assert.rejects(p.state.incrementBatch('c', [{ key: 'k', amount: 'x' }]), { message: /entries\[0\]\.amount/ });
        await assert.rejects(p.sessions.subscribe(), { name: 'TypeError' });
        assert.throws(() => p.state.add('c'), { name: 'TypeError' });
        assert.throws(() => p.state.add('c', 'k', NaN), { name: 'TypeError', message: /^amount/ });
        assert.throws(() => persist.open(42), { name: 'TypeError', message: /^config must be/ });
      });

      it('values JSON cannot hold: a cycle, a BigInt, undefined', async () => {
        const cyclic = { a: 1 };
        cyclic.self = cyclic;
        await assert.rejects(p.state.set('c', 'k', cyclic), { name: 'TypeError', message: /^value cannot be serialised to JSON: .*circular/i });
        await assert.rejects(p.state.append('c', { n: 10n }), { name: 'TypeError', message: /^data cannot be serialised to JSON: .*BigInt/ });
        await assert.rejects(p.configuration.set('k', undefined), { name: 'TypeError', message: /^value cannot be serialised/ });
        await assert.rejects(p.sessions.broadcast('e', () => 1), { name: 'TypeError', message: /^data cannot be serialised/ });
        assert.throws(() => p.configuration.generateETag(cyclic), { name: 'TypeError' });
      });

      it("persist's own refusals carry EINVAL and its message", async () => {
        await rejectsWith('EINVAL', p.state.set('bad collection!', 'k', 1), /collection/);
        await rejectsWith('EINVAL', p.state.get('c', 'k'.repeat(5000)));
        await assert.rejects(p.state.readLog('c', -1), { name: 'RangeError' });
      });

      it('the native functions check their arguments too', () => {
        const native = require(process.env.PERSIST_NODE_ADDON);
        assert.throws(() => native.stateGet({}, 'c', 'k'), { name: 'TypeError', message: /^handle must be/ });
        assert.throws(() => native.stateGet(), { name: 'TypeError', message: /takes 3 arguments, 0 given/ });
        assert.throws(() => native.etag(5), { name: 'TypeError', message: /^data must be a string/ });
      });
    });

    describe('responsiveness', () => {
      /* One run: n increments issued `chunk` per turn of the loop, as a
         server would; the longest gap between ticks of a 10 ms timer. */
      async function run(n, chunk) {
        const ticks = [];
        const timer = setInterval(() => ticks.push(Date.now()), 10);
        await sleep(30);
        const t0 = Date.now();
        const calls = [];
        let peak = 0;
        let settled = 0;
        for (let i = 0; i < n; i += chunk) {
          for (let j = i; j < i + chunk; j++) {
            calls.push(p.state.increment('usage', `busy-${u}-${j % 50}`).finally(() => settled++));
          }
          peak = Math.max(peak, calls.length - settled);
          await new Promise((r) => setImmediate(r));
        }
        const values = await Promise.all(calls);
        const t1 = Date.now();
        await sleep(30);
        clearInterval(timer);
        assert.equal(values.length, n);
        let gap = 0;
        for (let i = 1; i < ticks.length; i++) gap = Math.max(gap, ticks[i] - ticks[i - 1]);
        return { gap, peak, ms: t1 - t0, during: ticks.filter((t) => t >= t0 && t <= t1).length };
      }

      it('a timer fires on time while thousands of calls are in flight', async () => {
        // under the sanitizers (QUICK) every call costs many times more
        const n = QUICK ? 2000 : 5000;
        const chunk = QUICK ? 500 : 1000;
        const limit = QUICK ? 3000 : 500;
        // a machine loaded by other work can stall any process now and then:
        // the best of three runs must meet the limit
        const runs = [];
        for (let k = 0; k < 3; k++) {
          const r = await run(n, chunk);
          runs.push(r);
          assert.ok(r.peak >= chunk, `only ${r.peak} calls were in flight at once`);
          if (r.gap < limit && r.during >= Math.floor(r.ms / limit)) break;
        }
        const best = runs.reduce((a, b) => (b.gap < a.gap ? b : a));
        assert.ok(best.gap < limit, `the event loop was blocked for ${runs.map((r) => r.gap).join(', ')} ms (limit ${limit})`);
        assert.ok(best.during >= Math.floor(best.ms / limit), `${best.during} ticks in ${best.ms} ms of calls`);
      });
    });

    describe('closing', () => {
      it('calls queued before close complete; calls after it reject with ECLOSED', async () => {
        const q = persist.open(makeConfig());
        const k = `close-${u}`;
        const before = [q.state.increment('usage', k), q.state.increment('usage', k)];
        const closed = q.close();
        assert.equal(q.close(), closed, 'close twice is the same close');
        await closed;
        assert.deepEqual((await Promise.all(before)).sort(), [1, 2]);
        await rejectsWith('ECLOSED', q.state.get('usage', k));
        assert.throws(() => q.state.add('usage', k), { code: 'ECLOSED' });
        await rejectsWith('ECLOSED', () => q.configuration.subscribe('k', () => {}));
      });
    });
  });
}

module.exports = { apiSuite, waitFor, rejectsWith, sleep };
