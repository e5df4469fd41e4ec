'use strict';
/*
 * bindings/node/index.js - persist for Node.js: open(config) returns an
 * object whose `configuration`, `state` and `sessions` members are the
 * platform's ConfigurationProvider, StateStorageProvider and
 * SessionProvider, served by persist's providers through the native addon
 * (persist.node).
 *
 * This file owns what is JavaScript about the interfaces: argument checks
 * (TypeErrors naming the argument), defaults, JSON conversion of values,
 * TTLs in seconds, the shapes of the results, the subscriber registry, and
 * closing at exit.  Every call that may block runs on the libuv thread
 * pool in the addon and answers with a Promise; errors are Errors whose
 * `code` is persist's ('ENOTFOUND', 'ECONFLICT', 'EINVAL', 'EUNAVAILABLE',
 * ...) and whose message is persist's.
 */
const path = require('path');
const fs = require('fs');

/* The addon: $PERSIST_NODE_ADDON, node-gyp's build, an installed copy
   beside this file, or the autotools build in this directory. */
function loadAddon() {
  const candidates = [
    process.env.PERSIST_NODE_ADDON,
    path.join(__dirname, 'build', 'Release', 'persist.node'),
    path.join(__dirname, 'persist.node'),
    path.join(__dirname, '.libs', 'persist.node'),
  ].filter(Boolean);
  for (const file of candidates) {
    if (fs.existsSync(file)) return require(file);
  }
  throw new Error('persist: the native addon persist.node was not found\n' +
    `Build it (make, or npm install in ${__dirname}); looked in: ${candidates.join(', ')}.`);
}
const native = loadAddon();

const MAX_TTL_SECONDS = 100 * 365 * 24 * 3600;

/* --- argument checks ------------------------------------------------------ */

function typeError(message) {
  const e = new TypeError(message);
  e.code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

function countError(fn, given, min, max) {
  const want = min === max ? `${min}` : `${min} to ${max}`;
  const e = new TypeError(`${fn} takes ${want} argument${max === 1 ? '' : 's'}, ${given} given`);
  e.code = 'ERR_INVALID_ARG_COUNT';
  throw e;
}

function checkCount(fn, args, min, max) {
  if (args.length < min || args.length > max) countError(fn, args.length, min, max);
}

function checkString(name, v) {
  if (typeof v !== 'string') throw typeError(`${name} must be a string, not ${describe(v)}`);
  return v;
}

function checkInteger(name, v) {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw typeError(`${name} must be a safe integer, not ${describe(v)}`);
  return v;
}

function checkFunction(name, v) {
  if (typeof v !== 'function') throw typeError(`${name} must be a function, not ${describe(v)}`);
  return v;
}

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  if (typeof v === 'bigint') return `bigint ${v}n`;
  return typeof v === 'object' ? 'an object' : `${typeof v}`;
}

/* TTL in seconds (null/undefined/0: none) to milliseconds. */
function ttlMs(name, ttl) {
  if (ttl === null || ttl === undefined || ttl === 0) return 0;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
    throw typeError(`${name} must be null or a number of seconds from 0 to ${MAX_TTL_SECONDS}, not ${describe(ttl)}`);
  }
  return Math.max(1, Math.round(ttl * 1000));
}

/* JSON text of a value; a value JSON cannot hold is a TypeError naming
   the argument and why. */
function toJSON(name, value) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    const err = new TypeError(`${name} cannot be serialised to JSON: ${e.message}`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    err.cause = e;
    throw err;
  }
  if (text === undefined) {
    const err = new TypeError(`${name} cannot be serialised to JSON: ${describe(value)} has no JSON form`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return text;
}

function fromJSON(text) {
  return text === null || text === undefined ? text : JSON.parse(text);
}

function closedError() {
  const e = new Error('persist handle is closed\nThe handle was closed; open a new one.');
  e.code = 'ECLOSED';
  return e;
}

/* --- the handle ------------------------------------------------------------ */

/* Handles not closed yet: a process that exits without close() still
   flushes them (one 'exit' listener for all; the addon's environment
   cleanup hook is the second line). */
const openHandles = new Set();

function closeAtExit() {
  for (const p of openHandles) {
    p._closing = true;
    try {
      native.closeSync(p._h);
    } catch (e) {
      process.stderr.write(`persist: closing at exit: ${e.message}\n`);
    }
  }
  openHandles.clear();
}

class Persist {
  constructor(config, options) {
    let text = null;
    let isPath = false;
    if (typeof config === 'string') {
      text = config;
      isPath = true;
    } else if (config !== null && config !== undefined) {
      if (typeof config !== 'object' || Array.isArray(config)) {
        throw typeError(`config must be a path, an object or null, not ${describe(config)}`);
      }
      text = toJSON('config', 'persistence' in config ? config : { persistence: config });
    }
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw typeError(`options must be an object, not ${describe(options)}`);
    }
    options = options || {};
    if (options.instanceId !== undefined) checkString('options.instanceId', options.instanceId);
    if (options.log !== undefined) checkFunction('options.log', options.log);
    if (options.onError !== undefined) checkFunction('options.onError', options.onError);
    this._log = options.log;
    this._onError = options.onError;
    this._subs = new Map();
    this._nextToken = 1;
    this._pending = new Set();   // queued adds without the write queue
    this._closing = null;
    this._h = native.open(text, isPath, options.instanceId ?? null,
      (kind, token, a, b, c, d) => this._dispatch(kind, token, a, b, c, d));
    const info = native.info(this._h);
    this.instanceId = info.instanceId;
    this.batching = info.batching;
    this.providers = info.providers;
    openHandles.add(this);
    if (openHandles.size === 1) process.on('exit', closeAtExit);
    this.configuration = new ConfigurationProvider(this);
    this.state = new StateStorageProvider(this);
    this.sessions = new SessionProvider(this);
  }

  /* The handle for a call, or throw once closed. */
  _handle() {
    if (this._closing) throw closedError();
    return this._h;
  }

  /* Report what a subscriber threw; the binding goes on. */
  _report(err, what) {
    if (this._onError) {
      try { this._onError(err, what); return; } catch (e) { err = e; }
    }
    process.emitWarning(`persist: a ${what} callback threw: ${err && err.stack ? err.stack : err}`,
      'PersistCallbackError');
  }

  _dispatch(kind, token, a, b, c, d) {
    if (kind === 'log') {
      if (this._log) {
        try { this._log(['debug', 'info', 'warning', 'error'][token] || 'error', a); } catch (e) { this._report(e, 'log'); }
      }
      return;
    }
    const sub = this._subs.get(token);
    if (!sub) return;
    try {
      if (kind === 'config') {
        sub(a, b);
      } else {
        let data;
        try { data = fromJSON(b); } catch (e) { data = b; }
        sub(a, data, { sessionId: c, origin: d, local: d === this.instanceId });
      }
    } catch (e) {
      this._report(e, kind === 'config' ? 'configuration subscriber' : 'session subscriber');
    }
  }

  /* Subscribe through native fn; resolves to an unsubscribe function. */
  async _subscribe(fn, key, callback) {
    const token = this._nextToken++;
    this._subs.set(token, callback);
    try {
      if (key === undefined) await native.sessionSubscribe(this._handle(), token);
      else await native.configSubscribe(this._handle(), key, token);
    } catch (e) {
      this._subs.delete(token);
      throw e;
    }
    let done = null;
    return () => {
      if (!done) {
        this._subs.delete(token);
        done = this._closing ? Promise.resolve(false) : native.unsubscribe(this._h, token);
      }
      return done;
    };
  }

  /* Flush what is queued, close every store, free the handle.  Calls
     after it reject with ECLOSED; calling it again is harmless. */
  close() {
    checkCount('close', arguments, 0, 0);
    if (this._closing instanceof Promise) return this._closing;
    if (this._closing === true) return Promise.resolve();
    openHandles.delete(this);
    if (openHandles.size === 0) process.removeListener('exit', closeAtExit);
    const pending = [...this._pending];
    this._closing = Promise.allSettled(pending)
      .then(() => native.close(this._h))
      .finally(() => this._subs.clear());
    return this._closing;
  }
}

/* --- configuration ----------------------------------------------------- */

class ConfigurationProvider {
  constructor(p) { this._p = p; }

  /* {data, etag}; rejects with ENOTFOUND when the document is absent. */
  async get(key) {
    checkCount('configuration.get', arguments, 1, 1);
    checkString('key', key);
    const [data, etag] = await native.configGet(this._p._handle(), key);
    return { data: fromJSON(data), etag };
  }

  /* Store value as JSON; options.ttl in seconds, options.ifMatch an ETag
     (ECONFLICT when the current one differs). */
  async set(key, value, options = {}) {
    checkCount('configuration.set', arguments, 2, 3);
    checkString('key', key);
    if (options === null || typeof options !== 'object') throw typeError(`options must be an object, not ${describe(options)}`);
    const ttl = ttlMs('options.ttl', options.ttl);
    const ifMatch = options.ifMatch ?? null;
    if (ifMatch !== null) checkString('options.ifMatch', ifMatch);
    await native.configSet(this._p._handle(), key, toJSON('value', value), ttl, ifMatch);
  }

  /* Call callback(key, etag) on every change of key (etag null: deleted;
     key null when the provider lost track and everything should be re-read).
     key null: every key.  Resolves to an unsubscribe function (which
     returns a Promise). */
  async subscribe(key, callback) {
    checkCount('configuration.subscribe', arguments, 2, 2);
    if (key !== null) checkString('key', key);
    checkFunction('callback', callback);
    return this._p._subscribe('config', key, callback);
  }

  /* Map key -> {data, etag} of the documents found (absent keys left out). */
  async getMultiple(keys) {
    checkCount('configuration.getMultiple', arguments, 1, 1);
    if (!Array.isArray(keys)) throw typeError(`keys must be an array, not ${describe(keys)}`);
    keys.forEach((k, i) => checkString(`keys[${i}]`, k));
    const rows = await native.configGetMany(this._p._handle(), keys);
    const map = new Map();
    for (const [key, data, etag, status] of rows) {
      if (status === 0) map.set(key, { data: fromJSON(data), etag });
    }
    return map;
  }

  /* ETag of data: of its bytes for a Buffer, else of its JSON text (the
     text set() stores, so the same ETag get() answers). */
  generateETag(data) {
    checkCount('configuration.generateETag', arguments, 1, 1);
    return native.etag(Buffer.isBuffer(data) ? data : toJSON('data', data));
  }

  async delete(key, options = {}) {
    checkCount('configuration.delete', arguments, 1, 2);
    checkString('key', key);
    const ifMatch = (options && options.ifMatch) ?? null;
    if (ifMatch !== null) checkString('options.ifMatch', ifMatch);
    await native.configDelete(this._p._handle(), key, ifMatch);
  }

  /* Every key, sorted. */
  async list() {
    checkCount('configuration.list', arguments, 0, 0);
    return native.configList(this._p._handle());
  }
}

/* --- state ---------------------------------------------------------------- */

class StateStorageProvider {
  constructor(p) { this._p = p; }

  /* The value, or undefined when absent. */
  async get(collection, key) {
    checkCount('state.get', arguments, 2, 2);
    checkString('collection', collection);
    checkString('key', key);
    return fromJSON(await native.stateGet(this._p._handle(), collection, key));
  }

  /* ttl in seconds (null: none). */
  async set(collection, key, value, ttl = null) {
    checkCount('state.set', arguments, 3, 4);
    checkString('collection', collection);
    checkString('key', key);
    const ms = ttlMs('ttl', ttl);
    await native.stateSet(this._p._handle(), collection, key, toJSON('value', value), ms);
  }

  /* Atomic increment: the new value. */
  increment(collection, key, amount = 1) {
    // not `async`: one Promise (the addon's) per call instead of two
    try {
      if (arguments.length < 2 || arguments.length > 3) countError('state.increment', arguments.length, 2, 3);
      if (typeof collection !== 'string') checkString('collection', collection);
      if (typeof key !== 'string') checkString('key', key);
      if (!Number.isSafeInteger(amount)) checkInteger('amount', amount);
      return native.stateIncr(this._p._handle(), collection, key, amount);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async append(collection, data) {
    checkCount('state.append', arguments, 2, 2);
    checkString('collection', collection);
    await native.stateAppend(this._p._handle(), collection, toJSON('data', data));
  }

  /* entries: [{key, value, ttl?}] (ttl in seconds), one provider batch. */
  async setBatch(collection, entries) {
    checkCount('state.setBatch', arguments, 2, 2);
    checkString('collection', collection);
    if (!Array.isArray(entries)) throw typeError(`entries must be an array, not ${describe(entries)}`);
    const rows = entries.map((e, i) => {
      if (e === null || typeof e !== 'object') throw typeError(`entries[${i}] must be an object {key, value}`);
      checkString(`entries[${i}].key`, e.key);
      return [e.key, toJSON(`entries[${i}].value`, e.value), ttlMs(`entries[${i}].ttl`, e.ttl)];
    });
    await native.stateSetBatch(this._p._handle(), collection, rows);
  }

  async delete(collection, key) {
    checkCount('state.delete', arguments, 2, 2);
    checkString('collection', collection);
    checkString('key', key);
    await native.stateDelete(this._p._handle(), collection, key);
  }

  /* [{key, value, expiresAt}] of the live keys starting with prefix,
     sorted (expiresAt: ms since the epoch, or null). */
  async scan(collection, prefix = '') {
    checkCount('state.scan', arguments, 1, 2);
    checkString('collection', collection);
    checkString('prefix', prefix);
    const rows = await native.stateScan(this._p._handle(), collection, prefix);
    return rows.map(([key, value, exp]) => ({ key, value: fromJSON(value), expiresAt: exp || null }));
  }

  /* {records: [{index, data}], next}: records from number `from` on, at
     most max (0: all). */
  async readLog(collection, from = 0, max = 0) {
    checkCount('state.readLog', arguments, 1, 3);
    checkString('collection', collection);
    checkInteger('from', from);
    checkInteger('max', max);
    const [records, next] = await native.stateReadLog(this._p._handle(), collection, from, max);
    return { records: records.map(([index, data]) => ({ index, data: fromJSON(data) })), next };
  }

  /* Store everything written so far (the write queue first). */
  async flush() {
    checkCount('state.flush', arguments, 0, 0);
    await Promise.allSettled([...this._p._pending]);
    await native.stateFlush(this._p._handle());
  }

  /* The usage tracker's increment: returns at once, nothing to await.
     With the write queue (batchInterval) it is queued in this process
     (a full queue throws EUNAVAILABLE); without it the increment runs in
     the background and a failure goes to options.onError (or a process
     warning).  flush() and close() wait for it. */
  add(collection, key, amount = 1) {
    // the hot path of usage tracking: checks inline, no arguments object
    if (arguments.length < 2 || arguments.length > 3) countError('state.add', arguments.length, 2, 3);
    if (typeof collection !== 'string') checkString('collection', collection);
    if (typeof key !== 'string') checkString('key', key);
    if (!Number.isSafeInteger(amount)) checkInteger('amount', amount);
    const r = native.stateAdd(this._p._handle(), collection, key, amount);
    if (r instanceof Promise) {
      const pending = this._p._pending;
      const tracked = r.catch((e) => this._p._report(e, 'state.add')).finally(() => pending.delete(tracked));
      pending.add(tracked);
    }
  }

  /* Several increments as one batch: entries [{key, amount}]. */
  async incrementBatch(collection, entries) {
    checkCount('state.incrementBatch', arguments, 2, 2);
    checkString('collection', collection);
    if (!Array.isArray(entries)) throw typeError(`entries must be an array, not ${describe(entries)}`);
    const rows = entries.map((e, i) => {
      if (e === null || typeof e !== 'object') throw typeError(`entries[${i}] must be an object {key, amount}`);
      checkString(`entries[${i}].key`, e.key);
      return [e.key, checkInteger(`entries[${i}].amount`, e.amount === undefined ? 1 : e.amount)];
    });
    await native.stateIncrBatch(this._p._handle(), collection, rows);
  }

  /* Counters of the write queue. */
  stats() {
    return native.stateStats(this._p._handle());
  }
}

/* --- sessions --------------------------------------------------------------- */

class SessionProvider {
  constructor(p) { this._p = p; }

  /* Register or refresh a connection this instance holds (ttl in
     seconds, null: until removed). */
  async setConnection(sessionId, connectionData, ttl = null) {
    checkCount('sessions.setConnection', arguments, 2, 3);
    checkString('sessionId', sessionId);
    const ms = ttlMs('ttl', ttl);
    await native.sessionPut(this._p._handle(), sessionId, toJSON('connectionData', connectionData), ms);
  }

  async broadcast(event, data) {
    checkCount('sessions.broadcast', arguments, 2, 2);
    checkString('event', event);
    await native.sessionBroadcast(this._p._handle(), event, toJSON('data', data));
  }

  /* callback(event, data, {sessionId, origin, local}) for every event
     sent after the Promise resolves, from every instance (sessionId null
     for a broadcast; local: sent by this handle).  Resolves to an
     unsubscribe function. */
  async subscribe(callback) {
    checkCount('sessions.subscribe', arguments, 1, 1);
    checkFunction('callback', callback);
    return this._p._subscribe('session', undefined, callback);
  }

  async removeConnection(sessionId) {
    checkCount('sessions.removeConnection', arguments, 1, 1);
    checkString('sessionId', sessionId);
    await native.sessionDrop(this._p._handle(), sessionId);
  }

  /* [{sessionId, data, instance, expiresAt}] of every instance, sorted. */
  async listConnections() {
    checkCount('sessions.listConnections', arguments, 0, 0);
    const rows = await native.sessionList(this._p._handle());
    return rows.map(([sessionId, data, instance, exp]) =>
      ({ sessionId, data: fromJSON(data), instance, expiresAt: exp || null }));
  }

  /* An event to the one session, on whichever instance holds it. */
  async send(sessionId, event, data) {
    checkCount('sessions.send', arguments, 3, 3);
    checkString('sessionId', sessionId);
    checkString('event', event);
    await native.sessionSend(this._p._handle(), sessionId, event, toJSON('data', data));
  }
}

/* open(configPathOrObject, options): a path to a JSON file, an object (a
   whole platform.json, or its "persistence" member), or nothing for
   $PERSIST_CONFIG or the embedded default (filesystem under
   ./persist-data, memory sessions).  options: {instanceId, log(level,
   message), onError(error, what)}. */
function open(config, options) {
  checkCount('open', arguments, 0, 2);
  return new Persist(config, options);
}

module.exports = { open, Persist, VALUE_MAX: native.VALUE_MAX };
