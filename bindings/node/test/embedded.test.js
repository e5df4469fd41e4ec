'use strict';
/*
 * bindings/node/test/embedded.test.js - the Node.js binding on the
 * embedded default (filesystem configuration and state under
 * ./persist-data, memory sessions) and on an explicit filesystem + memory
 * configuration with the write queue on; opening from a path, opening
 * errors, a process that exits without close(), and cluster workers
 * opening one configuration at once.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const persist = require(process.env.PERSIST_NODE_MODULE);
const { apiSuite, rejectsWith } = require('./api.js');

const tmp = fs.mkdtempSync(path.join(process.env.PERSIST_TEST_TMP, 'embedded-'));
process.chdir(tmp);   // the embedded default writes ./persist-data

const fsConfig = (name, state = {}) => ({
  configuration: { provider: 'filesystem', config: { root: path.join(tmp, name, 'config') } },
  state: { provider: 'filesystem', config: { root: path.join(tmp, name, 'state'), ...state } },
  sessions: { provider: 'memory', config: {} },
});

apiSuite('embedded default', () => undefined);
apiSuite('filesystem + memory, write queue on', () => fsConfig('queued', { batchInterval: 50 }));

/* Run a node script in a child process; its stdout. */
function node(args, env = {}) {
  return execFileSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
}

describe('opening', () => {
  it('from a JSON file (a whole platform.json)', async () => {
    const file = path.join(tmp, 'platform.json');
    fs.writeFileSync(file, JSON.stringify({ title: 'hub', persistence: fsConfig('fromfile') }));
    const p = persist.open(file);
    assert.deepEqual(p.providers, { configuration: 'filesystem', state: 'filesystem', sessions: 'memory' });
    await p.state.set('c', 'k', 1);
    await p.close();
    assert.ok(fs.existsSync(path.join(tmp, 'fromfile', 'state')));
  });

  it('errors carry their codes: an unknown provider, a broken file', () => {
    assert.throws(() => persist.open({ state: { provider: 'nosuch', config: {} } }),
      (e) => e.code === 'ENOPLUGIN' && /nosuch/.test(e.message));
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"persistence": {');
    assert.throws(() => persist.open(bad), (e) => e.code === 'ECONFIG' && e.message.includes('bad.json'));
    assert.throws(() => persist.open(path.join(tmp, 'missing.json')), (e) => typeof e.code === 'string' && /missing\.json/.test(e.message));
  });

  it('instanceId option names the instance', async () => {
    const p = persist.open(fsConfig('inst'), { instanceId: 'web-1' });
    assert.equal(p.instanceId, 'web-1');
    await p.close();
  });
});

describe('a process that exits without close()', () => {
  for (const how of ['returns', 'calls process.exit']) {
    it(`still flushes its queued writes when it ${how}`, async () => {
      const name = how === 'returns' ? 'exit-return' : 'exit-call';
      const config = fsConfig(name, { batchInterval: 600000 });
      const script = `
        const p = require(process.env.PERSIST_NODE_MODULE).open(${JSON.stringify(config)});
        for (let i = 0; i < 100; i++) p.state.add('usage', 'k', 2);
        p.state.set('links', 'l', {u: 1}).then(() => {
          if (p.state.stats().queueDepth < 2) throw new Error('not queued');
          ${how === 'returns' ? '' : 'process.exit(0);'}
        });`;
      node(['-e', script]);
      const p = persist.open(config);
      assert.equal(await p.state.get('usage', 'k'), 200);
      assert.deepEqual(await p.state.get('links', 'l'), { u: 1 });
      await p.close();
    });
  }
});

describe('the environment cleanup hook', () => {
  it('flushes a handle of the addon itself (no exit handler) when the process ends', async () => {
    const config = fsConfig('hook', { batchInterval: 600000 });
    const script = `
      const native = require(process.env.PERSIST_NODE_ADDON);
      const h = native.open(${JSON.stringify(JSON.stringify({ persistence: config }))}, false, null, () => {});
      for (let i = 0; i < 10; i++) native.stateAdd(h, 'usage', 'k', 3);
      if (native.stateStats(h).queueDepth !== 1) throw new Error('not queued');`;
    node(['-e', script]);
    const p = persist.open(config);
    assert.equal(await p.state.get('usage', 'k'), 30);
    await p.close();
  });

  it('flushes the handle of a worker thread that ends without close()', async () => {
    const { Worker } = require('node:worker_threads');
    const config = fsConfig('worker', { batchInterval: 600000 });
    const w = new Worker(`
      const p = require(process.env.PERSIST_NODE_MODULE).open(${JSON.stringify(config)});
      for (let i = 0; i < 10; i++) p.state.add('usage', 'k', 4);
      require('node:worker_threads').parentPort.postMessage(p.state.stats().queueDepth);`, { eval: true });
    const depth = await new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); });
    assert.equal(depth, 1);
    await new Promise((r) => w.on('exit', r));
    const p = persist.open(config);
    assert.equal(await p.state.get('usage', 'k'), 40);
    await p.close();
  });
});

describe('cluster', () => {
  it('four workers open the same configuration at once and count exactly', () => {
    const rounds = process.env.PERSIST_TEST_QUICK ? 50 : 200;
    const out = node([path.join(__dirname, 'cluster-workers.js'), JSON.stringify(fsConfig('cluster')), '4', String(rounds)]);
    const res = JSON.parse(out.trim().split('\n').pop());
    assert.deepEqual(res, { counter: 4 * rounds * 2, log: 4 * rounds });
  });
});

describe('no value lost to a bad call', () => {
  it('a refused value leaves the stored one as it was', async () => {
    const p = persist.open(fsConfig('keep'));
    await p.state.set('c', 'k', { v: 1 });
    const cyclic = {};
    cyclic.c = cyclic;
    await assert.rejects(p.state.set('c', 'k', cyclic));
    await rejectsWith('EINVAL', p.state.set('c', 'k\u0001', 2));
    assert.deepEqual(await p.state.get('c', 'k'), { v: 1 });
    await p.close();
  });
});
