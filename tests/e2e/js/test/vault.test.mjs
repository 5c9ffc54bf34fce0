// credentials = "vault" through the TypeScript SDK client, with identity oidc against the
// Okta-like issuer: a person without a stored token is asked with a URL-mode elicitation
// (2025-11-25) to open the connect page, and gets a tool error naming it; once an
// administrator stored their token (`zebrunner-mcp vault put`), their calls reach Zebrunner
// as their own login.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { POLICY_TOML, freePort, readTree, runCli, startOidcServer, tempDir } from '../lib/identity.mjs';
import { callTool, resultText } from '../lib/mcp.mjs';
import { USERS, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const VAULT_KEYS = `e2e:${Buffer.alloc(32, 9).toString('base64')}`;

describe('credentials vault: URL elicitation, then the person as themselves', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let connectUrl;

  before(async () => {
    sandbox = await startSandbox();
    const port = await freePort();
    okta = await startOkta({ resource: `http://127.0.0.1:${port}/mcp` });
    data = tempDir();
    connectUrl = `http://127.0.0.1:${port}/connect`;
    const config = `${POLICY_TOML}
[zebrunner.logins]
# The access token carries no e-mail here (sub is the Okta login "alice"): map the user key.
"uid:${USERS.alice.uid}" = "${sandbox.users.alice.login}"
`;
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir, config,
      env: { ZMCP_CREDENTIALS: 'vault', ZMCP_VAULT_KEYS: VAULT_KEYS, ZMCP_VAULT_CONNECT_URL: connectUrl },
    });
  });

  after(async () => {
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  async function connect(token, { urlElicitation }) {
    const asked = [];
    const capabilities = urlElicitation ? { elicitation: { url: {} } } : {};
    const client = new Client({ name: 'vault-e2e', version: '1' }, { capabilities });
    if (urlElicitation) {
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params);
        return { action: 'accept' };
      });
    }
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    return { client, asked };
  }

  test('without a stored token: a URL elicitation to the connect page, and an error naming it', async () => {
    const token = (await okta.authorizationCode({ login: 'alice' })).access_token;
    const { client, asked } = await connect(token, { urlElicitation: true });
    try {
      const result = await callTool(client, 'list_projects', {});
      assert.equal(result.isError, true);
      assert.match(resultText(result), /No Zebrunner account is connected for you/);
      assert.ok(resultText(result).includes(connectUrl), resultText(result));
      assert.equal(asked.length, 1, 'one elicitation');
      assert.equal(asked[0].mode, 'url');
      assert.equal(asked[0].url, connectUrl);
      assert.ok(asked[0].elicitationId, 'an elicitation id');
    } finally {
      await client.close();
    }
    // A client without URL elicitation gets the error only.
    const plain = await connect(token, { urlElicitation: false });
    try {
      const result = await callTool(plain.client, 'list_projects', {});
      assert.equal(result.isError, true);
      assert.ok(resultText(result).includes(connectUrl));
    } finally {
      await plain.client.close();
    }
  });

  test('after `vault put`, calls reach Zebrunner as the person, and no token is on disk', async () => {
    const alice = sandbox.users.alice;
    const tokenFile = join(data.dir, 'alice-token.txt');
    writeFileSync(tokenFile, `${alice.token}\n`, { mode: 0o600 });
    const env = { ...server.env };
    const put = await runCli(
      ['vault', 'put', '--user', `uid:${USERS.alice.uid}`, '--login', alice.login, '--token-file', tokenFile],
      env,
    );
    assert.equal(put.code, 0, put.stderr);
    writeFileSync(tokenFile, 'removed');
    const token = (await okta.authorizationCode({ login: 'alice' })).access_token;
    const { client, asked } = await connect(token, { urlElicitation: true });
    try {
      const result = await callTool(client, 'list_projects', { format: 'json' });
      assert.equal(result.isError, false, resultText(result));
      const keys = result.structuredContent.projects.map((p) => p.key).sort();
      assert.deepEqual(keys, [...alice.projects].filter((k) => k !== 'OLD').sort());
      assert.equal(asked.length, 0, 'nobody is asked to connect once connected');
    } finally {
      await client.close();
    }
    const audit = await runCli(['audit', 'search', '--json', '--limit', '5'], env);
    assert.equal(audit.code, 0, audit.stderr);
    assert.ok(audit.stdout.includes(`"zebrunner_login":"${alice.login}"`), audit.stdout);
    assert.ok(!readTree(data.dir).includes(alice.token), 'a token in the data directory');
    assert.ok(!server.stdout.includes(alice.token) && !server.stderr.includes(alice.token), 'a token in the logs');
  });
});
