'use strict';
/*
 * examples/node/server.js - a small HTTP server in the platform's shape,
 * on persist: run several instances on one configuration (redis for all
 * three kinds) behind a balancer without sticky sessions and they behave
 * as one.
 *
 *   node server.js [--config FILE] [--port N] [--instance NAME]
 *
 * It listens on 127.0.0.1 only (port 0: any free one) and prints
 * "listening on PORT" once ready.
 *
 *   GET  /api/config/KEY       the configuration document, with its ETag;
 *                              304 when If-None-Match names it
 *   PUT  /api/config/KEY       store a document (JSON body); If-Match makes
 *                              it conditional (412 on a mismatch)
 *   GET  /api/events?session=ID  server-sent events: every broadcast, what
 *                              is sent to this session, configuration changes
 *   POST /api/broadcast        {event, data} to every instance's clients
 *   POST /api/send/ID          {event, data} to the one session, wherever held
 *   GET  /api/connections      the live SSE sessions of every instance
 *   GET  /api/usage            the usage counters (requests per route, per user)
 *   GET  /health               this instance's name
 *
 * Every request is counted (per route, and per user from X-User) with the
 * queued increment: the usage tracker's way, no await on the hot path.
 */
const http = require('node:http');
const path = require('node:path');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const persist = require(process.env.PERSIST_NODE_MODULE || path.join(__dirname, '..', '..', 'bindings', 'node'));
const store = persist.open(arg('config', process.env.PERSIST_CONFIG || null), {
  instanceId: arg('instance', undefined),
  log: (level, message) => { if (level !== 'debug' && level !== 'info') console.error(`persist ${level}: ${message}`); },
});
const { configuration, state, sessions } = store;

/* SSE clients of this instance: session id -> response. */
const clients = new Map();

function sse(res, event, data) {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { text += c; if (text.length > 1 << 20) reject(Object.assign(new Error('body too large'), { status: 413 })); });
    req.on('end', () => {
      try { resolve(text ? JSON.parse(text) : null); } catch (e) { reject(Object.assign(e, { status: 400 })); }
    });
    req.on('error', reject);
  });
}

/* An HTTP status for a persist error. */
function statusOf(e) {
  return e.status && e.status >= 400 && e.status < 600 && !e.code ? e.status :
    ({ ENOTFOUND: 404, ECONFLICT: 412, EINVAL: 400, EUNAVAILABLE: 503, ETIMEDOUT: 504 })[e.code] ||
    (e instanceof TypeError || e instanceof SyntaxError ? 400 : 500);
}

async function route(req, res, url) {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const user = req.headers['x-user'];
  // the usage tracker: queued, returns at once
  // keys as the imported usage counters name theirs: METRIC.DIM.NAME
  state.add('usage', `requests.route.${req.method} /${parts.slice(0, 2).join('/')}`);
  if (user) state.add('usage', `requests.user.${user}`);

  if (req.method === 'GET' && parts[0] === 'health') return send(res, 200, { instance: store.instanceId });
  if (parts[0] !== 'api') return send(res, 404, { error: 'no such route' });

  if (parts[1] === 'config' && parts[2]) {
    const key = parts[2];
    if (req.method === 'GET') {
      const { data, etag } = await configuration.get(key);
      const tag = `"${etag}"`;
      if (req.headers['if-none-match'] === tag) {
        res.writeHead(304, { etag: tag });
        return res.end();
      }
      return send(res, 200, data, { etag: tag, 'cache-control': 'no-cache' });
    }
    if (req.method === 'PUT') {
      const ifMatch = req.headers['if-match'] ? req.headers['if-match'].replace(/"/g, '') : null;
      const body = await readBody(req);
      await configuration.set(key, body, { ifMatch });
      return send(res, 200, { etag: `"${configuration.generateETag(body)}"` }, { etag: `"${configuration.generateETag(body)}"` });
    }
  }
  if (req.method === 'GET' && parts[1] === 'events') {
    const id = url.searchParams.get('session') || `${store.instanceId}-${Date.now()}-${Math.random()}`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    clients.set(id, res);
    req.on('close', () => {
      clients.delete(id);
      sessions.removeConnection(id).catch(() => {});
    });
    await sessions.setConnection(id, { instance: store.instanceId, user: user || null });
    sse(res, 'ready', { session: id, instance: store.instanceId });
    return undefined;
  }
  if (req.method === 'POST' && parts[1] === 'broadcast') {
    const { event, data } = (await readBody(req)) || {};
    await sessions.broadcast(event, data ?? null);
    return send(res, 202, { ok: true });
  }
  if (req.method === 'POST' && parts[1] === 'send' && parts[2]) {
    const { event, data } = (await readBody(req)) || {};
    await sessions.send(parts[2], event, data ?? null);
    return send(res, 202, { ok: true });
  }
  if (req.method === 'GET' && parts[1] === 'connections') {
    return send(res, 200, await sessions.listConnections());
  }
  if (req.method === 'GET' && parts[1] === 'usage') {
    await state.flush();
    const rows = await state.scan('usage');
    return send(res, 200, Object.fromEntries(rows.map((r) => [r.key, r.value])));
  }
  return send(res, 404, { error: 'no such route' });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  route(req, res, url).catch((e) => {
    if (res.headersSent) return res.end();
    send(res, statusOf(e), { error: e.message, code: e.code });
  });
});

async function start() {
  // events of every instance reach this instance's SSE clients
  await sessions.subscribe((event, data, info) => {
    if (info.sessionId === null) {
      for (const res of clients.values()) sse(res, event, data);
    } else if (clients.has(info.sessionId)) {
      sse(clients.get(info.sessionId), event, data);
    }
  });
  // configuration changes (made through any instance) too
  await configuration.subscribe(null, (key, etag) => {
    for (const res of clients.values()) sse(res, 'config', { key, etag });
  });
  server.listen(Number(arg('port', process.env.PORT || 0)), '127.0.0.1', () => {
    console.log(`listening on ${server.address().port}`);
  });
}

async function stop() {
  for (const res of clients.values()) res.end();
  server.close();
  await store.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

start().catch((e) => {
  console.error(e);
  process.exit(1);
});
