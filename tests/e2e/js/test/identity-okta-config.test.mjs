// Okta configurations that differ from the defaults: the custom authorization
// server's fixed Audience (`api://zebrunner-mcp`, Okta ignores `resource`)
// with ZMCP_OIDC_AUDIENCE, and groups in a custom claim with
// ZMCP_OIDC_GROUPS_CLAIM.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mint, userClaims } from '../lib/bad-tokens.mjs';
import { freePort, mcpPost, parseChallenge, runCli, startOidcServer, tempDir } from '../lib/identity.mjs';
import { serverEnv } from '../lib/mcp.mjs';
import { callTool } from '../lib/mcp.mjs';
import { decodeJwt, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const AUDIENCE = 'api://zebrunner-mcp';
const GROUPS_CLAIM = 'zebrunner_groups';

describe('identity oidc: Okta fixed Audience and a custom groups claim', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let resource;

  before(async () => {
    sandbox = await startSandbox();
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    okta = await startOkta({ resource, audience: AUDIENCE, groupsClaim: GROUPS_CLAIM });
    data = tempDir();
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir,
      env: { ZMCP_OIDC_AUDIENCE: AUDIENCE, ZMCP_OIDC_GROUPS_CLAIM: GROUPS_CLAIM },
    });
  });

  after(async () => {
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  test('a token with aud api://zebrunner-mcp is accepted; one for the URL is not; PRM still names the URL', async () => {
    const alice = (await okta.authorizationCode({ login: 'alice' })).access_token;
    assert.equal(decodeJwt(alice).payload.aud, AUDIENCE);
    assert.deepEqual(decodeJwt(alice).payload[GROUPS_CLAIM], ['qa']);
    const ok = await mcpPost(server.url, { token: alice });
    assert.equal(ok.status, 200, `fixed-audience token: ${ok.status} ${ok.headers['www-authenticate'] ?? ''}`);
    const urlAud = await mcpPost(server.url, { token: mint(okta, { ...userClaims(okta, 'alice'), aud: resource, [GROUPS_CLAIM]: ['qa'] }) });
    assert.equal(urlAud.status, 401, 'aud = the URL is not the configured audience');
    assert.equal(parseChallenge(urlAud.headers['www-authenticate'])?.params.error, 'invalid_token');
    const prm = await (await fetch(`${server.publicUrl}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.equal(prm.resource, resource, 'PRM resource stays the canonical URL');
  });

  test('groups are read from ZMCP_OIDC_GROUPS_CLAIM: bob sees only DEMO, mallory is refused, `groups` is ignored', async () => {
    const bob = (await okta.authorizationCode({ login: 'bob' })).access_token;
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${bob}` } } });
    const client = new Client({ name: 'e2e', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    try {
      const projects = await callTool(client, 'list_projects', { format: 'json' });
      assert.deepEqual(projects.structuredContent?.projects.map((p) => p.key), ['DEMO'], JSON.stringify(projects.content));
    } finally {
      await client.close();
    }
    const mallory = (await okta.authorizationCode({ login: 'mallory' })).access_token;
    assert.equal((await mcpPost(server.url, { token: mallory })).status, 403);
    // The default claim name carries an allowed group, the configured one does not.
    const spoof = mint(okta, { ...userClaims(okta, 'mallory'), aud: AUDIENCE, groups: ['qa'], [GROUPS_CLAIM]: ['contractors'] });
    assert.equal((await mcpPost(server.url, { token: spoof })).status, 403, 'groups come only from the configured claim');
  });
});

describe('identity start-up rules', () => {
  let sandbox;
  before(async () => {
    sandbox = await startSandbox();
  });
  after(async () => {
    await sandbox?.stop();
  });

  test('an http:// issuer on a non-loopback host is refused at start-up', async () => {
    const port = await freePort();
    const data = tempDir();
    try {
      const res = await runCli(['serve', '--transport', 'http', '--listen', `127.0.0.1:${port}`], {
        ...serverEnv(sandbox, sandbox.users.alice),
        ZMCP_IDENTITY: 'oidc',
        ZMCP_OIDC_ISSUER: 'http://idp.example.test/oauth2/default',
        ZMCP_PUBLIC_URL: `http://127.0.0.1:${port}`,
        ZMCP_DATA_DIR: data.dir,
      }, 20_000).catch((err) => ({ code: 'still running', stderr: err.message }));
      assert.notEqual(res.code, 0, 'must not start');
      assert.notEqual(res.code, 'still running', `the server started with a plain-http remote issuer: ${res.stderr.slice(0, 500)}`);
      assert.match(res.stderr, /https|loopback/i, `the refusal says why: ${res.stderr.slice(0, 500)}`);
    } finally {
      data.cleanup();
    }
  });

  test('identity none on a non-loopback HTTP address is refused at start-up', async () => {
    const port = await freePort();
    const data = tempDir();
    try {
      const res = await runCli(['serve', '--transport', 'http', '--listen', `0.0.0.0:${port}`], {
        ...serverEnv(sandbox, sandbox.users.alice),
        ZMCP_IDENTITY: 'none',
        ZMCP_DATA_DIR: data.dir,
      }, 20_000).catch((err) => ({ code: 'still running', stderr: err.message }));
      assert.notEqual(res.code, 'still running', `the server serves 0.0.0.0 without caller identity: ${res.stderr.slice(0, 500)}`);
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /identity|loopback|oidc/i, `the refusal says why: ${res.stderr.slice(0, 500)}`);
    } finally {
      data.cleanup();
    }
  });
});
