'use strict';
/*
 * bindings/node/test/cluster-workers.js - several cluster workers of one
 * host open the same configuration at the same moment and write to it at
 * once; the primary then reads the totals back.  Usage (from a test):
 *   node cluster-workers.js CONFIG-JSON WORKERS ROUNDS
 * Prints one JSON line {counter, log, events} on success; exits 1 on a
 * failure.
 */
const cluster = require('node:cluster');
const persist = require(process.env.PERSIST_NODE_MODULE);

const config = JSON.parse(process.argv[2]);
const workers = Number(process.argv[3]);
const rounds = Number(process.argv[4]);
const tag = process.env.PN_TAG || 'cw';

if (cluster.isPrimary) {
  let ready = 0;
  let done = 0;
  let failed = false;
  const ws = [];
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork();
    ws.push(w);
    w.on('message', (m) => {
      if (m === 'ready' && ++ready === workers) ws.forEach((x) => x.send('go'));
    });
    w.on('exit', async (code) => {
      if (code !== 0) failed = true;
      if (++done < workers) return;
      if (failed) { console.error('a worker failed'); process.exit(1); }
      const p = persist.open(config);
      const counter = await p.state.get('usage', `${tag}-total`);
      const log = await p.state.readLog(`${tag}-log`);
      await p.close();
      console.log(JSON.stringify({ counter, log: log.records.length }));
    });
  }
} else {
  process.send('ready');
  process.on('message', async (m) => {
    if (m !== 'go') return;
    try {
      // every worker opens at the same moment
      const p = persist.open(config);
      const calls = [];
      for (let i = 0; i < rounds; i++) {
        calls.push(p.state.increment('usage', `${tag}-total`));
        p.state.add('usage', `${tag}-total`, 1);
        calls.push(p.state.append(`${tag}-log`, { worker: cluster.worker.id, i }));
      }
      await Promise.all(calls);
      await p.close();
      process.exit(0);
    } catch (e) {
      console.error(e);
      process.exit(1);
    }
  });
}
