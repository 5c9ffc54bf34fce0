// The Okta stand-in (okta.mjs) as a process, for tests outside Node (the
// Python SDK e2e tests):
//
//   node okta-main.mjs --resource http://127.0.0.1:PORT/mcp \
//        [--connect-redirect http://127.0.0.1:PORT/oauth/callback ...]
//
// Prints one JSON line on stdout once listening:
//   {"issuer", "origin", "connect_client_id", "connect_client_secret"}
// and runs until SIGTERM/SIGINT or until its stdin closes (so it dies with a
// parent that holds the pipe).

import { parseArgs } from 'node:util';
import { CLIENTS, startOkta } from './okta.mjs';

const { values } = parseArgs({
  options: {
    resource: { type: 'string' },
    'connect-redirect': { type: 'string', multiple: true },
  },
});
if (!values.resource) {
  process.stderr.write('usage: okta-main.mjs --resource <mcp url> [--connect-redirect <url>]...\n');
  process.exit(2);
}

const okta = await startOkta({ resource: values.resource, connectRedirectUri: values['connect-redirect'] ?? null });
process.stdout.write(
  `${JSON.stringify({
    issuer: okta.issuer,
    origin: okta.origin,
    connect_client_id: CLIENTS.connect.id,
    connect_client_secret: CLIENTS.connect.secret,
  })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await okta.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
