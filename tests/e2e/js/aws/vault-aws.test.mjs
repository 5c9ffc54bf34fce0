// credentials = "vault" with vault.backend = "aws-secrets-manager" and vault.key_source =
// "aws-kms", against moto (the AWS stand-in): an administrator stores a person's token with
// `zebrunner-mcp vault put` (KMS-wrapped keys made by `vault keygen`), and a tool call through
// the TypeScript SDK client is served from the record in Secrets Manager as that person.
// Needs a zebrunner-mcp built with `--features aws` and moto at ZEBRUNNER_MCP_TEST_MOTO_URL;
// scripts/test's `aws` stage provides both (run alone: `scripts/test aws`).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { POLICY_TOML, freePort, readTree, runCli, startOidcServer, tempDir } from '../lib/identity.mjs';
import { callTool, resultText } from '../lib/mcp.mjs';
import { USERS, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const MOTO = process.env.ZEBRUNNER_MCP_TEST_MOTO_URL;

describe('vault in AWS Secrets Manager with KMS-wrapped keys (moto)', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let aws;

  before(async () => {
    assert.ok(
      MOTO,
      'ZEBRUNNER_MCP_TEST_MOTO_URL is not set: start moto with `scripts/moto start` and run `scripts/test aws`',
    );
    const alive = await fetch(MOTO).then(() => true, () => false);
    assert.ok(alive, `moto does not answer at ${MOTO}: start it with \`scripts/moto start\``);
    // A KMS key in moto (its JSON API; moto routes by the credential scope and does not check
    // the signature), and the prefix this run's records go under.
    const created = await fetch(MOTO, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'TrentService.CreateKey',
        Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify({ Description: 'zebrunner-mcp e2e' }),
    }).then((r) => r.json());
    const keyId = created.KeyMetadata.KeyId;
    aws = {
      AWS_ENDPOINT_URL: MOTO,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      ZMCP_CREDENTIALS: 'vault',
      ZMCP_VAULT_BACKEND: 'aws-secrets-manager',
      ZMCP_VAULT_AWS_SECRET_PREFIX: `zmcp-e2e/${process.pid}-${Date.now()}/`,
      ZMCP_VAULT_KEY_SOURCE: 'aws-kms',
      ZMCP_VAULT_AWS_KMS_KEY_ID: keyId,
    };
    const keygen = await runCli(['vault', 'keygen', '--id', 'e2e'], aws);
    assert.equal(keygen.code, 0, keygen.stderr);
    aws.ZMCP_VAULT_KEYS = keygen.stdout.trim();
    assert.match(aws.ZMCP_VAULT_KEYS, /^e2e:[A-Za-z0-9+/=]{100,}$/, 'a wrapped key, longer than a plain one');

    sandbox = await startSandbox();
    const port = await freePort();
    okta = await startOkta({ resource: `http://127.0.0.1:${port}/mcp` });
    data = tempDir();
    const config = `${POLICY_TOML}
[zebrunner.logins]
"uid:${USERS.alice.uid}" = "${sandbox.users.alice.login}"
`;
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir, config, env: aws,
    });
  });

  after(async () => {
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  test('a tool call is served from the record stored in Secrets Manager', async () => {
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

    // The record is in Secrets Manager, not in the database.
    const listed = await runCli(['vault', 'list', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.includes(`"user_key":"uid:${USERS.alice.uid}"`), listed.stdout);
    const inDatabase = await runCli(['vault', 'list', '--json'], { ...env, ZMCP_VAULT_BACKEND: 'database' });
    assert.equal(inDatabase.code, 0, inDatabase.stderr);
    assert.equal(inDatabase.stdout.trim(), '', 'no record in the database');

    const token = (await okta.authorizationCode({ login: 'alice' })).access_token;
    const client = new Client({ name: 'vault-aws-e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(server.url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await callTool(client, 'list_projects', { format: 'json' });
      assert.equal(result.isError, false, resultText(result));
      const keys = result.structuredContent.projects.map((p) => p.key).sort();
      assert.deepEqual(keys, [...alice.projects].filter((k) => k !== 'OLD').sort());
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
