// t/lib/s3rver/s3rver-run.js - start s3rver (an S3 server that checks
// SigV4 signatures) for the tests, on 127.0.0.1 and a port the system
// picks, keeping its objects in a directory of the test:
//
//     node s3rver-run.js DIRECTORY BUCKET...
//
// It prints "ready PORT" once it listens, and stops on SIGTERM/SIGINT.
// The package has no command-line entry of its own that does this.
'use strict';
const S3rver = require('@20minutes/s3rver');

const [directory, ...buckets] = process.argv.slice(2);
if (!directory || buckets.length === 0) {
  process.stderr.write('usage: node s3rver-run.js DIRECTORY BUCKET...\n');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  (addr) => process.stdout.write(`ready ${addr.port}\n`),
  (err) => {
    process.stderr.write(`s3rver-run.js: ${err.stack || err}\n`);
    process.exit(1);
  },
);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
