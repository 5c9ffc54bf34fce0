// PostgreSQL restarted while the server is under load (issue 11's fault tests).
//
// zebrunner-mcp (HTTP, identity oidc, credentials vault) keeps its audit log,
// vault and write confirmations in a PostgreSQL cluster of the test's own
// (lib/pgcluster.mjs: the machine's PostgreSQL binaries, a private data
// directory and port), so the test can stop and start it without disturbing
// the shared server other tests use. Eight TypeScript SDK clients (Alice
// writing, Bob reading) call tools in a loop; the cluster is stopped for 25 s (longer
// than the storage's waits for a connection) and started again. Then:
//   - every call ended cleanly: a result, a tool error or a JSON-RPC error with
//     a message, never a dropped connection or a hang, and the process lived;
//   - the restart was felt: writes needing the database failed while it was down;
//   - the server recovered by itself: calls succeed again without a restart;
//   - no acknowledged record is lost: every write confirmed to a client has its
//     audit record, and every vault record stored (by `vault put`) is still there.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { POLICY_TOML, freePort, jsonLines, runCli, startOidcServer, tempDir } from '../lib/identity.mjs';
import { callTool, resultText } from '../lib/mcp.mjs';
import { READ_SCOPE, USERS, WRITE_SCOPE, startOkta } from '../lib/okta.mjs';
import { startCluster } from '../lib/pgcluster.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const VAULT_KEYS = `e2e:${Buffer.alloc(32, 11).toString('base64')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL restarted during load', () => {
  let cluster;
  let sandbox;
  let okta;
  let server;
  let data;

  before(async () => {
    cluster = await startCluster();
    sandbox = await startSandbox();
    const port = await freePort();
    okta = await startOkta({ resource: `http://127.0.0.1:${port}/mcp` });
    data = tempDir();
    const config = `${POLICY_TOML}
[zebrunner.logins]
"uid:${USERS.alice.uid}" = "${sandbox.users.alice.login}"
"uid:${USERS.bob.uid}" = "${sandbox.users.bob.login}"
`;
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir, config,
      env: {
        RUST_LOG: 'info',
        ZMCP_CREDENTIALS: 'vault',
        ZMCP_VAULT_KEYS: VAULT_KEYS,
        ZMCP_DATABASE_URL: cluster.url,
        // The load is two people calling as fast as they can: no per-person or per-client limit.
        ZMCP_LIMITS_REQUESTS_PER_MINUTE_PER_USER: '0',
        ZMCP_LIMITS_REQUESTS_PER_MINUTE_PER_CLIENT: '0',
      },
    });
  });

  after(async () => {
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    await cluster?.destroy();
    data?.cleanup();
  });

  async function vaultPut(who) {
    const user = sandbox.users[who];
    const tokenFile = join(data.dir, `${who}-token.txt`);
    writeFileSync(tokenFile, `${user.token}\n`, { mode: 0o600 });
    return runCli(['vault', 'put', '--user', `uid:${USERS[who].uid}`, '--login', user.login, '--token-file', tokenFile], server.env);
  }

  async function vaultUsers() {
    const list = await runCli(['vault', 'list', '--json'], server.env);
    assert.equal(list.code, 0, list.stderr);
    return jsonLines(list.stdout).map((r) => r.user_key).sort();
  }

  async function connect(who, scope) {
    const token = (await okta.authorizationCode({ login: who, scope })).access_token;
    const client = new Client({ name: `pg-restart-${who}`, version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }));
    return client;
  }

  /**
   * One call, classified: `ok`, `tool_error` (isError with a message), `rpc_error` (JSON-RPC
   * error with a message) or `broken`; with when it started and ended.
   */
  async function attempt(client, name, args) {
    const started = Date.now();
    const out = await classify(client, name, args);
    return { ...out, started, ended: Date.now() };
  }

  async function classify(client, name, args) {
    try {
      const result = await callTool(client, name, args, 30_000);
      if (!result.isError) return { outcome: 'ok', result };
      const text = resultText(result);
      return { outcome: text.length > 10 ? 'tool_error' : 'broken', text };
    } catch (err) {
      const text = String(err?.message ?? err);
      // The SDK turns a JSON-RPC error response into McpError ("MCP error -32603: ...").
      return { outcome: /^MCP error -32\d{3}: .{10,}/.test(text) ? 'rpc_error' : 'broken', text };
    }
  }

  test('calls fail cleanly while it is down, recover by themselves, and nothing acknowledged is lost', async () => {
    for (const who of ['alice', 'bob']) {
      const put = await vaultPut(who);
      assert.equal(put.code, 0, put.stderr);
    }
    assert.deepEqual(await vaultUsers(), [`uid:${USERS.alice.uid}`, `uid:${USERS.bob.uid}`].sort());

    const writers = await Promise.all([0, 1, 2, 3].map(() => connect('alice', `openid ${READ_SCOPE} ${WRITE_SCOPE}`)));
    const readers = await Promise.all([0, 1, 2, 3].map(() => connect('bob', `openid ${READ_SCOPE}`)));
    const calls = [];
    const outage = {};
    let phase = 'before';
    let running = true;
    let serial = 0;

    const writeLoop = async (client) => {
      while (running) {
        const args = { project_key: 'DEMO', title: `pg restart ${process.pid} ${serial++}` };
        const at = phase;
        const preview = await attempt(client, 'create_test_suite', { ...args, format: 'json' });
        calls.push({ kind: 'preview', phase: at, ...preview });
        if (preview.outcome !== 'ok') continue;
        const token = preview.result.structuredContent?.confirmation_token;
        assert.match(String(token), /^[0-9a-f]{64}$/, JSON.stringify(preview.result.structuredContent));
        const confirmAt = phase;
        const confirmed = await attempt(client, 'create_test_suite', { ...args, confirm: true, confirmation_token: token, format: 'json' });
        calls.push({ kind: 'confirm', phase: confirmAt, title: args.title, ...confirmed });
      }
    };
    const readLoop = async (client) => {
      while (running) {
        const at = phase;
        calls.push({ kind: 'read', phase: at, ...(await attempt(client, 'get_test_case', { key: 'DEMO-1' })) });
      }
    };
    const load = [...writers.map(writeLoop), ...readers.map(readLoop)];

    await sleep(2_000);
    phase = 'down';
    await cluster.stop();
    outage.from = Date.now();
    // A vault write while the database is down: refused with a message, or (if it raced
    // the stop) stored; whichever, the exit code must say which.
    const putWhileDown = await vaultPut('alice');
    // Longer than twice the storage's 10 s wait for a connection (a write waits once for its
    // confirmation and once for its audit record): calls must give up cleanly meanwhile.
    await sleep(25_000);
    outage.to = Date.now();
    await cluster.start();
    phase = 'after';
    await sleep(4_000);
    running = false;
    await Promise.all(load);

    assert.ok(server.alive, `the server died:\n${server.stderr.slice(-3000)}`);
    const broken = calls.filter((c) => c.outcome === 'broken');
    assert.deepEqual(broken, [], 'every call ended with a result or an error message');
    assert.ok(calls.filter((c) => c.phase === 'before' && c.outcome === 'ok').length > 10, 'load was running before the restart');
    // Writes that ended while the database was down (a second after the stop, so no answer
    // sent before it is still on its way) failed, with a message: the storage waits 10 s
    // for a connection, then gives up.
    const whileDown = calls.filter((c) => c.ended > outage.from + 1_000 && c.ended <= outage.to);
    const writesWhileDown = whileDown.filter((c) => c.kind !== 'read');
    assert.ok(writesWhileDown.length > 0, 'writes ended while the database was down');
    assert.deepEqual(writesWhileDown.filter((c) => c.outcome === 'ok'), [], 'no write succeeded without its database');
    assert.notEqual(putWhileDown.code, 0, 'vault put while the database is down fails');
    assert.match(putWhileDown.stderr, /database|storage|connect/i, putWhileDown.stderr);

    // Recovered by itself: the same process serves writes and reads again.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const write = await attempt(writers[0], 'create_test_suite', { project_key: 'DEMO', title: `pg restart ${process.pid} after`, format: 'json' });
      const read = await attempt(readers[0], 'get_test_case', { key: 'DEMO-1' });
      if (write.outcome === 'ok' && read.outcome === 'ok') break;
      if (Date.now() > deadline) assert.fail(`not recovered 30 s after the restart: ${write.text ?? ''} ${read.text ?? ''}`);
      await sleep(500);
    }
    assert.ok(calls.filter((c) => c.phase === 'after' && c.outcome === 'ok').length > 0, 'calls succeeded under load after the restart');

    // Nothing acknowledged is lost: each confirmed write has its audit record...
    const acknowledged = calls.filter((c) => c.kind === 'confirm' && c.outcome === 'ok');
    assert.ok(acknowledged.length > 0, 'some writes were confirmed');
    const audit = await runCli(['audit', 'search', '--tool', 'create_test_suite', '--outcome', 'ok', '--limit', '100000', '--json'], server.env);
    assert.equal(audit.code, 0, audit.stderr);
    const confirmedRecords = jsonLines(audit.stdout).filter((r) => r.arguments?.confirm === true);
    assert.equal(confirmedRecords.length, acknowledged.length, 'one audit record per acknowledged write');
    // ...and each really reached Zebrunner once.
    const suites = (await new Oracle(sandbox.url, sandbox.users.alice).suites('DEMO')).map((s) => s.title);
    for (const c of acknowledged) {
      assert.equal(suites.filter((t) => t === c.title).length, 1, `${c.title} written once`);
    }
    // ...and the vault records stored before the restart are all there.
    assert.deepEqual(await vaultUsers(), [`uid:${USERS.alice.uid}`, `uid:${USERS.bob.uid}`].sort());

    await Promise.all([...writers, ...readers].map((c) => c.close()));
  });
});
