'use strict';
/*
 * bindings/node/test/example.test.js - examples/node/server.js run as two
 * instances on one redis-server ($REDIS_URL, test-node-example.sh), driven
 * with real HTTP requests and server-sent-event clients (node:http) on
 * 127.0.0.1: a document written through one is served by the other with
 * the same ETag and 304s, events sent through either reach the clients of
 * both (and a send reaches only its session), usage counted by both adds
 * up, and the connection list is the same from each.
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { waitFor } = require('./api.js');

const server = path.join(process.env.abs_top_srcdir, 'examples', 'node', 'server.js');
const tmp = fs.mkdtempSync(path.join(process.env.PERSIST_TEST_TMP, 'example-'));
const url = process.env.REDIS_URL;
const prefix = `ex${process.pid}:`;
const configFile = path.join(tmp, 'platform.json');
fs.writeFileSync(configFile, JSON.stringify({
  persistence: {
    configuration: { provider: 'redis', config: { url, prefix } },
    state: { provider: 'redis', config: { url, prefix, batchInterval: 100 } },
    sessions: { provider: 'redis', config: { url, prefix } },
  },
}));

/* Start one instance; resolves to {proc, port}. */
function startInstance(name) {
  const proc = spawn(process.execPath, [server, '--config', configFile, '--instance', name, '--port', '0'],
    { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.on('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
  });
}

/* One HTTP request: {status, headers, body (parsed JSON or '')}. */
function request(port, method, p, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : '' }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

/* An SSE client: {events: [{event, data}], close()}; resolves once ready. */
function sseClient(port, session) {
  return new Promise((resolve, reject) => {
    const events = [];
    const req = http.get({ host: '127.0.0.1', port, path: `/api/events?session=${session}` }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'], /^text\/event-stream/);
      let buf = '';
      const client = { events, close: () => req.destroy() };
      res.setEncoding('utf8');
      res.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          events.push({ event: ev && ev[1], data: data && JSON.parse(data[1]) });
          if (ev && ev[1] === 'ready') resolve(client);
        }
      });
    });
    req.on('error', (e) => { if (e.code !== 'ECONNRESET') reject(e); });
  });
}

describe('two instances of the example server on one redis', () => {
  let a;
  let b;
  const sse = [];
  before(async () => {
    [a, b] = await Promise.all([startInstance('web-a'), startInstance('web-b')]);
  });
  after(async () => {
    for (const c of sse) c.close();
    for (const x of [a, b]) {
      if (!x) continue;
      const exited = new Promise((r) => x.proc.on('exit', r));
      x.proc.kill('SIGTERM');
      await exited;
    }
  });

  it('each answers for itself', async () => {
    assert.deepEqual((await request(a.port, 'GET', '/health')).body, { instance: 'web-a' });
    assert.deepEqual((await request(b.port, 'GET', '/health')).body, { instance: 'web-b' });
  });

  it('a document written through one is served by the other, with the same ETag and 304s', async () => {
    const doc = { title: 'AI Hub', models: ['gpt', 'claude'] };
    const put = await request(a.port, 'PUT', '/api/config/platform', { body: doc });
    assert.equal(put.status, 200);
    const fromB = await request(b.port, 'GET', '/api/config/platform');
    assert.equal(fromB.status, 200);
    assert.deepEqual(fromB.body, doc);
    assert.equal(fromB.headers.etag, put.headers.etag);
    const fromA = await request(a.port, 'GET', '/api/config/platform');
    assert.equal(fromA.headers.etag, fromB.headers.etag);
    for (const port of [a.port, b.port]) {
      const again = await request(port, 'GET', '/api/config/platform', { headers: { 'if-none-match': fromB.headers.etag } });
      assert.equal(again.status, 304);
      assert.equal(again.body, '');
    }
    // a change through b: a's old ETag no longer matches, a serves the new one
    const doc2 = { ...doc, title: 'AI Hub 2' };
    assert.equal((await request(b.port, 'PUT', '/api/config/platform', { body: doc2, headers: { 'if-match': put.headers.etag } })).status, 200);
    const stale = await request(a.port, 'PUT', '/api/config/platform', { body: doc, headers: { 'if-match': put.headers.etag } });
    assert.equal(stale.status, 412);
    const newer = await request(a.port, 'GET', '/api/config/platform', { headers: { 'if-none-match': fromB.headers.etag } });
    assert.equal(newer.status, 200);
    assert.deepEqual(newer.body, doc2);
    assert.notEqual(newer.headers.etag, fromB.headers.etag);
    assert.equal((await request(b.port, 'GET', '/api/config/absent')).status, 404);
  });

  it('events reach the SSE clients of both; a send only its session', async () => {
    const ca = await sseClient(a.port, 'sse-a');
    const cb = await sseClient(b.port, 'sse-b');
    sse.push(ca, cb);
    assert.equal((await request(b.port, 'POST', '/api/broadcast', { body: { event: 'notice', data: { text: 'hi' } } })).status, 202);
    await waitFor('the broadcast at both', () => [ca, cb].every((c) => c.events.some((e) => e.event === 'notice')));
    assert.deepEqual(ca.events.find((e) => e.event === 'notice').data, { text: 'hi' });
    // sent through a to the session b holds
    assert.equal((await request(a.port, 'POST', '/api/send/sse-b', { body: { event: 'chunk', data: 'only b' } })).status, 202);
    await waitFor('the send at b', () => cb.events.some((e) => e.event === 'chunk'));
    assert.equal(cb.events.find((e) => e.event === 'chunk').data, 'only b');
    // a configuration change through b reaches both clients
    await request(b.port, 'PUT', '/api/config/ui', { body: { theme: 'dark' } });
    await waitFor('the config event at both', () => [ca, cb].every((c) => c.events.some((e) => e.event === 'config' && e.data.key === 'ui')));
    assert.ok(!ca.events.some((e) => e.event === 'chunk'), 'the send reached only its session');
    // both list both connections
    for (const port of [a.port, b.port]) {
      const list = (await request(port, 'GET', '/api/connections')).body;
      assert.deepEqual(list.map((c) => [c.sessionId, c.instance]), [['sse-a', 'web-a'], ['sse-b', 'web-b']]);
    }
  });

  it('usage counted by both instances adds up', async () => {
    const n = 20;
    const calls = [];
    for (let i = 0; i < n; i++) {
      calls.push(request(i % 2 ? a.port : b.port, 'GET', '/health', { headers: { 'x-user': 'carol' } }));
    }
    await Promise.all(calls);
    // each flushes its own queue within batchInterval; /api/usage flushes the asked one
    let usage;
    const end = Date.now() + 5000;
    do {
      usage = (await request(a.port, 'GET', '/api/usage')).body;
    } while (usage['requests.user.carol'] !== n && Date.now() < end);
    assert.equal(usage['requests.user.carol'], n);
    assert.ok(usage['requests.route.GET /health'] >= n + 2);
    const fromB = (await request(b.port, 'GET', '/api/usage')).body;
    assert.equal(fromB['requests.user.carol'], n);
  });
});
