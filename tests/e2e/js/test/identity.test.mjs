// Identity `oidc` (issue 4) against a REAL OpenID Provider shaped like an
// Okta custom authorization server (lib/okta.mjs): tokens come from its
// endpoints (authorization code + PKCE driven headlessly), the TypeScript SDK
// is the MCP client. Covers the 401 challenge, RFC 9728 metadata, the SDK's
// own OAuth discovery, scopes, groups and per-group project limits, sessions
// bound to the identity, the audit log (no token anywhere in it), and the operator's view:
// /readyz and Prometheus metrics on their own listener (no token or person there either).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, discoverAuthorizationServerMetadata, discoverOAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import { clearRequestLog, requestLog, setBehaviour } from '../lib/control.mjs';
import {
  findKey, flatValues, freePort, jsonLines, leakedSecrets, mcpPost, parseChallenge, readTree, runCli, startOidcServer, tempDir,
} from '../lib/identity.mjs';
import { callTool, withTimeout } from '../lib/mcp.mjs';
import { CLIENTS, READ_SCOPE, USERS, WRITE_SCOPE, decodeJwt, startOkta } from '../lib/okta.mjs';
import { initializeBody, responseFor } from '../lib/raw.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';
import { TOOL_NAMES } from '../lib/tool-suite.mjs';

// The user key the server records for an Okta user: the uid, named by its claim.
const userKey = (user) => `uid:${user.uid}`;

const FREE_TEXT = 'passphrase hunter2 in a free-text title filter';

function sdkClient(url, token) {
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {});
  const client = new Client({ name: 'zebrunner-mcp-e2e-identity', version: '1.0.0' }, { capabilities: {} });
  return { client, transport, connect: () => withTimeout(client.connect(transport), 30_000, 'connect') };
}

/** A tool call that must be refused: a JSON-RPC error, an HTTP error, or an isError result without data. */
async function assertRefused(client, name, args, what) {
  let result;
  try {
    result = await callTool(client, name, args);
  } catch (err) {
    return String(err.message ?? err);
  }
  assert.equal(result.isError, true, `${what}: expected a refusal, got ${JSON.stringify(result).slice(0, 400)}`);
  return JSON.stringify(result.content);
}

/** A pre-registered public client driven headlessly through the IdP's login form. */
class HeadlessOAuthProvider {
  constructor(okta, login) {
    this.okta = okta;
    this.login = login;
    this.authorizationUrls = [];
    this._tokens = undefined;
    this._verifier = undefined;
  }
  get redirectUrl() {
    return CLIENTS.web.redirectUri;
  }
  get clientMetadata() {
    return { client_name: 'e2e headless', redirect_uris: [CLIENTS.web.redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return { client_id: CLIENTS.web.id };
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  async redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url));
    this.redirect = await this.okta.authorizeHeadless(url.toString(), this.login, CLIENTS.web.redirectUri);
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
}

describe('identity oidc: Okta-shaped IdP, TypeScript SDK client, policy, sessions, audit', () => {
  let sandbox;
  let oracle;
  let okta;
  let server;
  let data;
  let resource;
  let metricsUrl;
  const tok = {};
  const secrets = [];

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    okta = await startOkta({ resource });
    for (const login of ['alice', 'bob', 'mallory']) {
      const t = await okta.authorizationCode({ login });
      tok[login] = t.access_token;
      secrets.push(t.access_token, t.id_token);
    }
    tok.alice2 = (await okta.authorizationCode({ login: 'alice' })).access_token;
    tok.aliceNoRead = (await okta.authorizationCode({ login: 'alice', scope: 'openid email' })).access_token;
    secrets.push(tok.alice2, tok.aliceNoRead, CLIENTS.svc.secret, sandbox.users.alice.token);
    data = tempDir();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir,
      env: {
        ZMCP_OIDC_SERVICE_CLIENTS: CLIENTS.svc.id,
        ZMCP_OIDC_ALLOWED_CLIENT_IDS: `${CLIENTS.web.id},${CLIENTS.svc.id}`,
        ZMCP_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
        // The leak test below reads everything the server logs at its most verbose, in the
        // JSON form log shippers take (span fields included): every crate at trace (rmcp's
        // payload logging stays held back unless named; see crates/zebrunner-mcp/src/logging.rs).
        RUST_LOG: 'trace',
        ZMCP_LOG_FORMAT: 'json',
      },
    });
  });

  after(async () => {
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  test('the IdP issues Okta-shaped access tokens for this resource', () => {
    const { header, payload } = decodeJwt(tok.alice);
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid);
    assert.equal(payload.iss, okta.issuer);
    assert.equal(payload.aud, resource);
    assert.equal(payload.cid, CLIENTS.web.id);
    assert.equal(payload.uid, USERS.alice.uid);
    assert.deepEqual(payload.scp, [READ_SCOPE]);
    assert.deepEqual(payload.groups, ['qa']);
    assert.equal(payload.scope, undefined, 'Okta tokens carry scp, not scope');
    assert.deepEqual(decodeJwt(tok.aliceNoRead).payload.scp, []);
  });

  test('/healthz is open without a token', async () => {
    const res = await fetch(`${server.origin}/healthz`);
    assert.equal(res.status, 200);
  });

  test('no token: 401 with a Bearer challenge naming the PRM and the read scope, no error code', async () => {
    for (const [method, body] of [['POST', initializeBody(1)], ['GET', undefined], ['DELETE', undefined]]) {
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      if (method !== 'POST') Object.assign(headers, { 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-11-25' });
      const res = await fetch(server.url, {
        method,
        headers,
        body: body && JSON.stringify(body),
      }).catch((e) => assert.fail(`${method} /mcp: ${e.message}`));
      assert.equal(res.status, 401, `${method} /mcp without a token`);
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      assert.ok(ch, `${method}: WWW-Authenticate missing`);
      assert.equal(ch.scheme.toLowerCase(), 'bearer');
      assert.equal(ch.params.resource_metadata, `${server.publicUrl}/.well-known/oauth-protected-resource/mcp`);
      assert.ok((ch.params.scope ?? '').split(' ').includes(READ_SCOPE), `scope in challenge: ${ch.params.scope}`);
      assert.ok(!(ch.params.scope ?? '').includes('offline_access'), 'no offline_access in the challenge');
      assert.equal(ch.params.error, undefined, 'RFC 6750 §3.1: no error code when no credentials were sent');
      assert.equal(ch.params.__unparsed, undefined, `challenge parses cleanly: ${res.headers.get('www-authenticate')}`);
    }
  });

  test('an invalid token: 401 error="invalid_token" with resource_metadata; nothing echoed', async () => {
    const res = await mcpPost(server.url, { token: `${tok.alice.slice(0, -4)}AAAA` });
    assert.equal(res.status, 401, res.body);
    const ch = parseChallenge(res.headers['www-authenticate']);
    assert.equal(ch?.params.error, 'invalid_token', res.headers['www-authenticate']);
    assert.equal(ch.params.resource_metadata, `${server.publicUrl}/.well-known/oauth-protected-resource/mcp`);
    assert.ok(!res.body.includes(tok.alice.split('.')[1]), 'the token is not echoed');
  });

  test('RFC 9728 protected resource metadata (path-inserted and root), and the AS metadata behind it', async () => {
    const known = {
      resource: 'string', authorization_servers: 'array', jwks_uri: 'string', scopes_supported: 'array',
      bearer_methods_supported: 'array', resource_signing_alg_values_supported: 'array', resource_name: 'string',
      resource_documentation: 'string', resource_policy_uri: 'string', resource_tos_uri: 'string',
      tls_client_certificate_bound_access_tokens: 'boolean', authorization_details_types_supported: 'array',
      dpop_signing_alg_values_supported: 'array', dpop_bound_access_tokens_required: 'boolean', signed_metadata: 'string',
    };
    for (const [path, expectedResources] of [
      ['/.well-known/oauth-protected-resource/mcp', [resource]],
      // RFC 9728 §3.3 would make the root document's resource the origin; the brief says /mcp. Either is consistent.
      ['/.well-known/oauth-protected-resource', [resource, server.publicUrl]],
    ]) {
      const res = await fetch(server.publicUrl + path); // no token: PRM must be public
      assert.equal(res.status, 200, `${path} without a token`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `${path} content-type`);
      const prm = await res.json();
      assert.ok(expectedResources.includes(prm.resource), `${path}: resource ${prm.resource} must be one of ${expectedResources}`);
      assert.ok(!new URL(prm.resource).hash, 'resource has no fragment');
      for (const [field, type] of Object.entries(known)) {
        if (prm[field] === undefined) continue;
        assert.equal(Array.isArray(prm[field]) ? 'array' : typeof prm[field], type, `${path}: ${field} must be a JSON ${type}`);
      }
      assert.ok(prm.authorization_servers.length >= 1, 'authorization_servers has at least one AS');
      assert.deepEqual(prm.authorization_servers, [okta.issuer]);
      assert.deepEqual(prm.bearer_methods_supported, ['header']);
      assert.ok(prm.scopes_supported.includes(READ_SCOPE), `scopes_supported: ${prm.scopes_supported}`);
      assert.ok(!prm.scopes_supported.includes('offline_access'), 'no offline_access in scopes_supported');
      assert.ok(prm.resource_name.trim(), 'resource_name non-empty');
      assert.ok(URL.canParse(prm.resource_documentation), `resource_documentation must be an absolute URL, got ${JSON.stringify(prm.resource_documentation)}`);
      const unknown = Object.keys(prm).filter((k) => !(k in known));
      if (unknown.length) process.stderr.write(`note: ${path} has non-RFC 9728 fields ${unknown.join(', ')}\n`);
      // The PRM stays public even with a bad token.
      const withBad = await fetch(server.publicUrl + path, { headers: { authorization: 'Bearer nonsense' } });
      assert.equal(withBad.status, 200, `${path} with a bad token`);
    }
    // The SDK finds the same document and the issuer's metadata from it.
    const prm = await discoverOAuthProtectedResourceMetadata(new URL(server.url));
    assert.equal(prm.resource, resource);
    const asMeta = await discoverAuthorizationServerMetadata(prm.authorization_servers[0]);
    assert.equal(asMeta.issuer, okta.issuer);
    assert.equal(asMeta.token_endpoint, `${okta.issuer}/v1/token`);
    const jwks = await (await fetch(asMeta.jwks_uri)).json();
    assert.ok(jwks.keys.length >= 1 && jwks.keys.every((k) => !k.d), 'public JWKS reachable');
  });

  test('TypeScript SDK with alice\'s token: tools/list and list_projects (compared with the REST oracle)', async () => {
    const { client, connect } = sdkClient(server.url, tok.alice);
    await connect();
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);
      const result = await callTool(client, 'list_projects', { format: 'json' });
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      const expected = (await oracle.projects()).filter((p) => !p.deleted).map((p) => p.key).sort();
      assert.deepEqual(result.structuredContent.projects.map((p) => p.key).sort(), expected);
      const search = await callTool(client, 'search_test_cases', { project_key: 'MOBILE', count_only: true, title_contains: FREE_TEXT });
      assert.notEqual(search.isError, true, `qa may read MOBILE: ${JSON.stringify(search.content)}`);
    } finally {
      await client.close();
    }
  });

  test('TypeScript SDK without a token: connect fails with 401, no session', async () => {
    const { client, connect } = sdkClient(server.url);
    await assert.rejects(connect(), (err) => /401|unauthori[sz]ed/i.test(String(err.message)) || assert.fail(`unexpected: ${err.message}`));
    await client.close().catch(() => {});
  });

  test('TypeScript SDK OAuth: 401 → PRM → AS metadata → authorization code + PKCE with resource → connected', async () => {
    const provider = new HeadlessOAuthProvider(okta, 'alice');
    const first = new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider });
    const c1 = new Client({ name: 'e2e-oauth', version: '1.0.0' }, { capabilities: {} });
    await assert.rejects(withTimeout(c1.connect(first), 30_000, 'oauth connect'), (err) => err instanceof UnauthorizedError || assert.fail(err.stack));
    assert.equal(provider.authorizationUrls.length, 1, 'the SDK redirected to the authorization endpoint once');
    const authUrl = provider.authorizationUrls[0];
    assert.equal(`${authUrl.origin}${authUrl.pathname}`, `${okta.issuer}/v1/authorize`);
    assert.equal(authUrl.searchParams.get('resource'), resource, 'RFC 8707 resource = PRM resource');
    assert.ok(authUrl.searchParams.get('scope').split(' ').includes(READ_SCOPE), `scope: ${authUrl.searchParams.get('scope')}`);
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    await first.finishAuth(provider.redirect.searchParams.get('code'));
    const saved = provider.tokens();
    secrets.push(saved.access_token, saved.id_token, saved.refresh_token);
    assert.equal(decodeJwt(saved.access_token).payload.aud, resource);
    const second = new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider });
    const c2 = new Client({ name: 'e2e-oauth', version: '1.0.0' }, { capabilities: {} });
    await withTimeout(c2.connect(second), 30_000, 'oauth reconnect');
    try {
      const { tools } = await c2.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);
    } finally {
      await c2.close();
      await c1.close().catch(() => {});
    }
  });

  test('a valid token without zebrunner:read: 403 insufficient_scope naming the scope', async () => {
    const res = await mcpPost(server.url, { token: tok.aliceNoRead });
    assert.equal(res.status, 403, res.body);
    const ch = parseChallenge(res.headers['www-authenticate']);
    assert.ok(ch, 'WWW-Authenticate on 403');
    assert.equal(ch.params.error, 'insufficient_scope');
    assert.ok((ch.params.scope ?? '').split(' ').includes(READ_SCOPE), `scope: ${ch.params.scope}`);
    assert.equal(ch.params.resource_metadata, `${server.publicUrl}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(res.headers['mcp-session-id'], undefined, 'no session for a refused caller');
  });

  test('mallory (group contractors, not allowed): 403 with a reason, no session', async () => {
    const res = await mcpPost(server.url, { token: tok.mallory });
    assert.equal(res.status, 403, res.body);
    assert.equal(res.headers['mcp-session-id'], undefined);
    const ch = parseChallenge(res.headers['www-authenticate']);
    const reason = `${res.body} ${ch?.params.error_description ?? ''}`;
    assert.match(reason, /group|not allowed|not permitted|access/i, `403 must say why: body ${res.body} / ${res.headers['www-authenticate']}`);
    assert.ok(!reason.includes(tok.mallory.split('.')[2]), 'no token in the reason');
  });

  test('bob (dev: read-only, DEMO only): list_projects = [DEMO], other projects refused before Zebrunner is called', async () => {
    const { client, connect } = sdkClient(server.url, tok.bob);
    await connect();
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0);
      for (const t of tools) {
        assert.ok(TOOL_NAMES.includes(t.name), `unexpected tool ${t.name}`);
        assert.equal(t.annotations?.readOnlyHint, true, `read-only group sees only read-only tools, got ${t.name}`);
      }
      const projects = await callTool(client, 'list_projects', { format: 'json' });
      assert.notEqual(projects.isError, true, JSON.stringify(projects.content));
      assert.deepEqual(projects.structuredContent.projects.map((p) => p.key), ['DEMO']);
      assert.equal(projects.structuredContent.total, 1, 'total counts only visible projects');
      const demo = await callTool(client, 'get_test_case', { key: 'DEMO-1', format: 'json' });
      assert.notEqual(demo.isError, true, `DEMO is allowed: ${JSON.stringify(demo.content)}`);

      const mobileCase = (await oracle.testCases('MOBILE'))[0]; // (the oracle's own request, before the log is cleared)
      await clearRequestLog(sandbox);
      const refusals = [
        ['search_test_cases', { project_key: 'MOBILE', count_only: true }],
        ['search_test_cases', { project_key: 'mobile', count_only: true }],
        ['get_test_case', { key: 'MOBILE-1' }],
        ['get_test_case', { key: 'mobile-1' }],
        ['get_test_case', { id: mobileCase.id, project_key: 'MOBILE' }],
        ['list_test_suites', { project_key: 'API' }],
        ['get_project_settings', { project_key: 'API' }],
        ['get_test_suite', { project_key: 'MOBILE', suite_id: 1 }],
      ];
      for (const [name, args] of refusals) {
        await assertRefused(client, name, args, `bob ${name} ${JSON.stringify(args)}`);
      }
      const log = await requestLog(sandbox);
      const leaked = log.filter((r) => /MOBILE|\bAPI\b/i.test(`${r.path} ${JSON.stringify(r.query)}`) && !/^\/api\/(iam|projects\/v1\/projects$)/.test(r.path));
      assert.deepEqual(leaked, [], 'refused calls must not reach Zebrunner for the other projects');
    } finally {
      await client.close();
    }
  });

  test('bob (DEMO only): other projects\' ids under project_key DEMO are refused like missing ones, even where Zebrunner ignores the project', async () => {
    const { client, connect } = sdkClient(server.url, tok.bob);
    await connect();
    const mobileCase = (await oracle.testCases('MOBILE'))[0];
    // The worst case for a shared account: lookups by id answer any project's object.
    await setBehaviour(sandbox, { ids_ignore_project: true });
    try {
      const refusals = [
        ['get_test_suite', { project_key: 'DEMO', suite_id: 132 }, 'suite_id', 132],
        ['get_test_case', { project_key: 'DEMO', id: mobileCase.id }, 'id', mobileCase.id],
        ['get_test_run', { project_key: 'DEMO', run_id: 813 }, 'run_id', 813],
        ['get_launch', { project_key: 'DEMO', launch_id: 2001 }, 'launch_id', 2001],
        ['list_launch_tests', { project_key: 'DEMO', launch_id: 2001 }, 'launch_id', 2001],
        ['list_test_runs', { project_key: 'DEMO', milestone: 509 }, 'milestone', 509],
      ];
      const missing = 4999999;
      for (const [name, args, field, id] of refusals) {
        const foreign = await assertRefused(client, name, { ...args, format: 'json' }, `bob ${name} ${JSON.stringify(args)}`);
        const absent = await assertRefused(client, name, { ...args, [field]: missing, format: 'json' }, `bob ${name} with a missing ${field}`);
        assert.equal(foreign.replaceAll(String(id), 'N'), absent.replaceAll(String(missing), 'N'), `${name}: another project's ${field} reads like a missing one`);
        assert.ok(!/MOBILE|Mobile App/.test(foreign), `${name}: nothing of MOBILE is shown: ${foreign}`);
      }
      const own = await callTool(client, 'get_test_suite', { project_key: 'DEMO', suite_id: 101, format: 'json' });
      assert.notEqual(own.isError, true, `DEMO's own suite: ${JSON.stringify(own.content)}`);
    } finally {
      await setBehaviour(sandbox, { ids_ignore_project: false });
      await client.close();
    }
  });

  test('the MCP session is bound to the identity that opened it', async () => {
    const init = await mcpPost(server.url, { token: tok.alice });
    assert.equal(init.status, 200, init.body);
    const session = init.headers['mcp-session-id'];
    assert.ok(session, 'alice got a session');
    const note = await mcpPost(server.url, { token: tok.alice, session, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    assert.equal(note.status, 202, note.body);
    const list = (t, id) => mcpPost(server.url, { token: t, session, body: { jsonrpc: '2.0', id, method: 'tools/list' } });

    const bob = await list(tok.bob, 2);
    assert.equal(bob.status, 403, `bob's token on alice's session: ${bob.status} ${bob.body}`);
    assert.ok(!/"tools"/.test(bob.body), 'no tools/list result for bob');
    const none = await list(undefined, 3);
    assert.equal(none.status, 401, 'no token on the session');
    const bobCall = await mcpPost(server.url, {
      token: tok.bob, session, body: { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_projects', arguments: {} } },
    });
    assert.equal(bobCall.status, 403, `bob calling a tool on alice's session: ${bobCall.status}`);
    const bobStream = await fetch(server.url, { method: 'GET', headers: { accept: 'text/event-stream', authorization: `Bearer ${tok.bob}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' } });
    assert.equal(bobStream.status, 403, 'bob cannot open the GET stream of alice\'s session');
    await bobStream.body?.cancel();
    const bobDelete = await fetch(server.url, { method: 'DELETE', headers: { authorization: `Bearer ${tok.bob}`, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' } });
    assert.equal(bobDelete.status, 403, 'bob cannot end alice\'s session');

    const again = await list(tok.alice2, 5);
    assert.equal(again.status, 200, `alice with a fresh token keeps her session: ${again.body}`);
    assert.ok(responseFor(again, 5).result.tools.length > 0);
  });

  test('2026-07-28 stateless requests: the token and the project policy apply per request', async () => {
    const stateless = (token, id, method, params = {}) => mcpPost(server.url, {
      token,
      headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(params.name ? { 'mcp-name': params.name } : {}) },
      body: {
        jsonrpc: '2.0', id, method,
        params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw-e2e', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } },
      },
    });
    const none = await stateless(undefined, 1, 'tools/list');
    assert.equal(none.status, 401, 'stateless request without a token');
    const bobMobile = await stateless(tok.bob, 2, 'tools/call', { name: 'search_test_cases', arguments: { project_key: 'MOBILE', count_only: true } });
    assert.equal(bobMobile.status, 200, bobMobile.body);
    assert.equal(responseFor(bobMobile, 2).result?.isError, true, `bob's stateless MOBILE call is refused: ${bobMobile.body.slice(0, 300)}`);
    const bobDemo = await stateless(tok.bob, 3, 'tools/call', { name: 'search_test_cases', arguments: { project_key: 'DEMO', count_only: true } });
    assert.notEqual(responseFor(bobDemo, 3).result?.isError, true, bobDemo.body.slice(0, 300));
    const mallory = await stateless(tok.mallory, 4, 'tools/list');
    assert.equal(mallory.status, 403);
  });

  test('a write tool needs the write scope: step-up 403, then a preview with it', async () => {
    const call = (token, id) => mcpPost(server.url, {
      token,
      headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'create_test_suite' },
      body: {
        jsonrpc: '2.0', id, method: 'tools/call',
        params: {
          name: 'create_test_suite', arguments: { project_key: 'DEMO', title: 'Scoped suite' },
          _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw-e2e', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} },
        },
      },
    });
    const readOnly = await call(tok.alice, 1);
    assert.equal(readOnly.status, 403, readOnly.body);
    const ch = parseChallenge(readOnly.headers['www-authenticate']);
    assert.equal(ch.params.error, 'insufficient_scope');
    assert.ok((ch.params.scope ?? '').split(' ').includes(WRITE_SCOPE), `scope: ${ch.params.scope}`);
    const writer = (await okta.authorizationCode({ login: 'alice', scope: `openid email profile ${READ_SCOPE} ${WRITE_SCOPE}` })).access_token;
    secrets.push(writer);
    const ok = await call(writer, 2);
    assert.equal(ok.status, 200, ok.body);
    const result = responseFor(ok, 2).result;
    assert.notEqual(result?.isError, true, ok.body.slice(0, 300));
    assert.equal(result.structuredContent.stage, 'preview');
    assert.match(result.structuredContent.confirmation_token, /^[0-9a-f]{64}$/);
  });

  test('service client svc (client credentials, listed in ZMCP_OIDC_SERVICE_CLIENTS) is authenticated (not 401)', async () => {
    const svc = await okta.clientCredentials({ client: CLIENTS.svc, scope: READ_SCOPE });
    secrets.push(svc.access_token);
    assert.equal(decodeJwt(svc.access_token).payload.uid, undefined, 'client-credentials tokens carry no uid');
    const res = await mcpPost(server.url, { token: svc.access_token });
    // Authenticated; the group policy may still refuse a groupless client, but with 403 and a reason.
    assert.ok(res.status === 200 || res.status === 403, `svc: ${res.status} ${res.body}`);
    assert.notEqual(res.status, 401);
  });

  test('audit stdout sink: JSON lines with alice\'s list_projects call, free text redacted', () => {
    const has = (r, ...vals) => { const v = flatValues(r); return vals.every((x) => v.includes(x)); };
    const stdoutRecords = jsonLines(server.stdout).filter((r) => has(r, userKey(USERS.alice), 'list_projects'));
    assert.ok(stdoutRecords.length >= 1, `stdout sink printed alice's list_projects record; stdout was:\n${server.stdout.slice(0, 2000)}`);
    assert.ok(!server.stdout.includes('hunter2'), 'free text (title_contains) is redacted in the stdout sink');
  });

  test('/readyz is ready; /metrics is only on its own listener and counts the calls made', async () => {
    const ready = await fetch(`${server.origin}/readyz`);
    const readyBody = await ready.json();
    assert.equal(ready.status, 200, JSON.stringify(readyBody));
    assert.deepEqual(Object.keys(readyBody.checks).sort(), ['keys', 'shutdown', 'storage', 'zebrunner']);
    const onMain = await fetch(`${server.origin}/metrics`);
    assert.notEqual(onMain.status, 200, 'no metrics on the MCP listener');
    assert.ok(!(await onMain.text()).includes('zmcp_'), 'no metrics on the MCP listener');
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^zmcp_tool_calls_total\{tool="list_projects",outcome="ok"\} [1-9]/m);
    assert.match(text, /^zmcp_http_requests_total\{route="\/mcp",method="POST",status="401"\} [1-9]/m);
    assert.match(text, /^zmcp_zebrunner_requests_total\{endpoint="[a-z/-]+",method="GET",status="200"\} [1-9]/m);
    assert.match(text, /^zmcp_jwks_lookups_total\{source="issuer",result="hit"\} [1-9]/m);
  });

  test('no token, secret or person in the server\'s stdout, stderr (trace log level, JSON), data directory, /metrics or /readyz', async () => {
    // The log really is at trace, in JSON, with the request's correlation id on the lines of
    // a call: otherwise the search below would prove nothing.
    const logLines = jsonLines(server.stderr);
    const levels = new Set(logLines.map((l) => l.level));
    assert.ok(levels.has('TRACE') && levels.has('DEBUG'), `log levels seen: ${[...levels]}`);
    // The Zebrunner requests of tool calls (not the start-up check's, which belong to no call).
    const zebrunnerLines = logLines.filter((l) => l.fields?.message === 'zebrunner response'
      && (l.spans ?? []).some((s) => s.name === 'tool.call'));
    assert.ok(zebrunnerLines.length > 0, 'the Zebrunner client logged the requests of tool calls');
    assert.ok(
      zebrunnerLines.every((l) => l.spans.every((s) => s.name === 'zebrunner.request'
        || /^[0-9a-f-]{36}$/.test(s.correlation_id ?? ''))),
      'every Zebrunner request log line of a call carries the correlation id of its call',
    );
    const auditIds = new Set(jsonLines(server.stdout).map((r) => r.correlation_id).filter(Boolean));
    assert.ok(
      zebrunnerLines.some((l) => (l.spans ?? []).some((s) => auditIds.has(s.correlation_id))),
      'the correlation ids on the Zebrunner log lines are those of the audit records',
    );
    const metrics = await (await fetch(metricsUrl)).text();
    const ready = await (await fetch(`${server.origin}/readyz`)).text();
    for (const [where, text] of [
      ['server stdout', server.stdout], ['server stderr', server.stderr], ['data directory files (SQLite)', readTree(data.dir)],
      ['/metrics', metrics], ['/readyz', ready],
    ]) {
      assert.deepEqual(leakedSecrets(text, secrets), [], `no token or secret in ${where}`);
    }
    for (const user of [USERS.alice, USERS.bob, USERS.mallory]) {
      for (const value of [user.uid, user.email].filter(Boolean)) {
        assert.ok(!metrics.includes(value), `${value} in /metrics`);
        assert.ok(!ready.includes(value), `${value} in /readyz`);
      }
    }
    for (const address of [sandbox.url, okta.issuer, 'hunter2']) {
      assert.ok(!metrics.includes(address) && !ready.includes(address), `${address} in /metrics or /readyz`);
    }
  });

  test('audit CLI: search and export show a record per tool call and per refusal, arguments redacted, no secrets', async () => {
    const env = server.env;
    const search = await runCli(['audit', 'search', '--user', userKey(USERS.alice), '--tool', 'list_projects'], env);
    assert.equal(search.code, 0, `audit search failed: ${search.stderr}`);
    assert.ok(search.stdout.includes('list_projects'), `audit search shows alice's list_projects call:\n${search.stdout}`);
    assert.ok(!search.stdout.includes('search_test_cases'), 'audit search --tool filters by tool');
    assert.ok(!search.stdout.includes(USERS.bob.uid), 'audit search --user filters by user');

    const exp = await runCli(['audit', 'export', '--format', 'jsonl'], env);
    assert.equal(exp.code, 0, `audit export failed: ${exp.stderr}`);
    const records = jsonLines(exp.stdout);
    assert.ok(records.length > 0, `audit export printed no JSON lines:\n${exp.stdout.slice(0, 1000)}`);
    const has = (r, ...vals) => { const v = flatValues(r); return vals.every((x) => v.includes(x)); };

    const aliceList = records.filter((r) => has(r, userKey(USERS.alice), 'list_projects'));
    assert.ok(aliceList.length >= 1, `a record of alice's list_projects call (uid ${USERS.alice.uid})`);
    const rec = aliceList[0];
    assert.ok(has(rec, CLIENTS.web.id), `client id in the record: ${JSON.stringify(rec)}`);
    assert.ok(findKey(rec, /outcome|result|status/i) !== undefined, `outcome in the record: ${JSON.stringify(rec)}`);

    const aliceSearch = records.filter((r) => has(r, userKey(USERS.alice), 'search_test_cases'));
    assert.ok(aliceSearch.length >= 1, 'a record of alice\'s search_test_cases call');
    assert.ok(findKey(aliceSearch[0], /arg/i) !== undefined, `arguments recorded: ${JSON.stringify(aliceSearch[0])}`);
    assert.ok(JSON.stringify(aliceSearch[0]).includes('MOBILE'), 'project keys are kept');
    assert.ok(!exp.stdout.includes('hunter2'), 'free text (title_contains) is redacted in the audit log');

    const denial = /den|refus|forbid|reject|not.?allowed/i;
    const bobDenied = records.filter((r) => has(r, userKey(USERS.bob)) && /MOBILE|API/.test(JSON.stringify(r)) && denial.test(JSON.stringify(r)));
    assert.ok(bobDenied.length >= 1, 'authorization-decision records for bob\'s refused project calls');
    const malloryDenied = records.filter((r) => (has(r, userKey(USERS.mallory)) || has(r, 'mallory')) && denial.test(JSON.stringify(r)));
    assert.ok(malloryDenied.length >= 1, 'an authorization-decision record for mallory\'s 403');

    for (const [where, text] of [['audit export', exp.stdout], ['audit search', search.stdout], ['audit CLI stderr', exp.stderr + search.stderr]]) {
      assert.deepEqual(leakedSecrets(text, secrets), [], `no token or secret in ${where}`);
    }
  });
});
