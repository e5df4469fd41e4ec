'use strict';
/*
 * bindings/node/test/child.js - a second Node process for the tests: it
 * opens the configuration in $PN_CONFIG and runs the calls its parent
 * sends over IPC ({id, call: 'state.increment', args}), answering {id,
 * result} or {id, error: {code, message}}; events of its subscriptions go
 * to the parent as {event: ...}.  Forked with serialization 'advanced' so
 * that Maps cross.
 */
const persist = require(process.env.PERSIST_NODE_MODULE);

const p = persist.open(JSON.parse(process.env.PN_CONFIG), { instanceId: process.env.PN_INSTANCE });

async function run(m) {
  if (m.call === 'sessions.subscribe') {
    await p.sessions.subscribe((event, data, info) => process.send({ event: { kind: 'session', event, data, info } }));
    return null;
  }
  if (m.call === 'configuration.subscribe') {
    await p.configuration.subscribe(m.args[0], (key, etag) => process.send({ event: { kind: 'config', key, etag } }));
    return null;
  }
  if (m.call === 'state.add') return p.state.add(...m.args) ?? null;
  if (m.call === 'close') {
    await p.close();
    setImmediate(() => process.disconnect());
    return null;
  }
  const [kind, method] = m.call.split('.');
  return p[kind][method](...m.args);
}

process.on('message', (m) => {
  run(m).then((result) => process.send({ id: m.id, result: result === undefined ? null : result }),
    (e) => process.send({ id: m.id, error: { code: e.code, message: e.message } }));
});
process.send({ ready: p.instanceId });
