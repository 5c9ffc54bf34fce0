// Two replicas of zebrunner-mcp (`serve --transport http`, identity `broker`)
// sharing ONE PostgreSQL database, as docker-compose.http.yml runs them behind
// HAProxy. The test gets a schema of its own (ZEBRUNNER_MCP_TEST_POSTGRES_URL,
// default postgres://postgres@127.0.0.1:5432/test), dropped afterwards; without
// PostgreSQL it fails, unless ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 (then skipped).
//
// Both replicas present the same public URL, replica A's address: it is the
// issuer and the resource identifier (behind a load balancer it would be the
// balancer's). Requests are sent to A's or B's port; for the browser, the
// test plays the load balancer: the browser addresses the public URL, and the
// test delivers each request to the replica it picks, with the browser's Host
// and Origin unchanged (as HAProxy passes them on).
//
//   1. an OAuth login started on A (DCR, /authorize) finishes on B (Okta's
//      callback, consent); the code is redeemed at A; the access token works
//      on both; both serve the same signing key (made once)
//   2. a refresh token rotated on B, presented again on A: reuse, the family
//      is revoked
//   3. a write previewed on A is confirmed on B (one POST to Zebrunner); the
//      same confirmation again on A is refused
//   4. stateless MCP (2026-07-28) alternates freely between A and B; a
//      2025-11-25 session opened on A is unknown on B (404): sessions need
//      affinity (docs/deployment.md, deploy/compose/haproxy.cfg)
//   5. `audit search --json` on the shared database sees the tool calls of
//      both replicas (by the correlation ids each printed to its stdout sink)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  HeadlessAgent,
  authorizationRequest,
  refreshGrant,
  registerPublicClient,
  startBroker,
  tokenRequest,
} from '../lib/broker.mjs';
import { clearRequestLog, requestLog } from '../lib/control.mjs';
import { freePort, jsonLines, mcpPost, runCli } from '../lib/identity.mjs';
import { USERS, startOkta } from '../lib/okta.mjs';
import { createSchema, postgresSkip, psql } from '../lib/postgres.mjs';
import { MCP_HEADERS, initializeBody, rawRequest, responseFor } from '../lib/raw.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const STATELESS = '2026-07-28';
const SESSION_PROTOCOL = '2025-11-25';
const PUBLIC_API = '/api/public/v1';
const SCOPES = 'zebrunner:read zebrunner:write';

/**
 * A headless browser behind a load balancer: requests to the public origin
 * reach the replica named by `via` (its port), with Host and Origin as the
 * browser sends them (the public ones); everything else (Okta) goes direct.
 * `history` entries say which replica answered (`replica`).
 */
class BalancedAgent extends HeadlessAgent {
  constructor({ login, publicUrl, replicas }) {
    super({ login });
    this.publicOrigin = new URL(publicUrl).origin;
    this.replicas = replicas; // name -> listen URL
    this.via = null;
  }

  async request(url, { method = 'GET', headers = {}, body } = {}) {
    const u = new URL(url);
    if (u.origin !== this.publicOrigin || !this.via) return super.request(url, { method, headers, body });
    const target = new URL(u.pathname + u.search, this.replicas[this.via]);
    const h = { ...headers, host: u.host };
    const cookie = this.jar.header(u);
    if (cookie) h.cookie = cookie;
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const res = await rawRequest(target, { method, headers: h, body });
    const responseHeaders = new Headers();
    for (const [k, v] of Object.entries(res.headers)) for (const one of [v].flat()) responseHeaders.append(k, one);
    const nullBody = [101, 103, 204, 205, 304].includes(res.status);
    const response = new Response(nullBody ? null : res.body, { status: res.status, headers: responseHeaders });
    this.jar.store(u, response.headers.getSetCookie());
    this.history.push({ method, url: String(u), status: res.status, location: response.headers.get('location'), replica: this.via });
    return response;
  }
}

/** `_meta` of a 2026-07-28 request (no handshake). */
const statelessMeta = () => ({
  'io.modelcontextprotocol/protocolVersion': STATELESS,
  'io.modelcontextprotocol/clientInfo': { name: 'replicas-e2e', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
});

/** A 2026-07-28 request with a bearer token to `base`/mcp; resolves the raw response. */
function stateless(base, token, id, method, params = {}) {
  const headers = { ...MCP_HEADERS, 'mcp-protocol-version': STATELESS, 'mcp-method': method, authorization: `Bearer ${token}` };
  if (params.name) headers['mcp-name'] = params.name;
  return rawRequest(`${base}/mcp`, { method: 'POST', headers, body: { jsonrpc: '2.0', id, method, params: { ...params, _meta: statelessMeta() } } });
}

let nextId = 100;

/** A stateless tools/call on `base`: resolves the JSON-RPC result (HTTP 200 asserted). */
async function toolCall(base, token, name, args) {
  const id = nextId++;
  const res = await stateless(base, token, id, 'tools/call', { name, arguments: args });
  assert.equal(res.status, 200, `${name} at ${base}: HTTP ${res.status} ${res.body.slice(0, 500)}`);
  assert.equal(res.headers['mcp-session-id'], undefined, 'no session in stateless mode');
  return responseFor(res, id).result;
}

const resultText = (result) => (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

/** A tool result that must be a success; its structuredContent. */
function ok(result, what) {
  assert.notEqual(result.isError, true, `${what}: ${resultText(result).slice(0, 500)}`);
  assert.ok(result.structuredContent, `${what}: structuredContent`);
  return result.structuredContent;
}

describe('replicas: two servers, one PostgreSQL database', { skip: await postgresSkip() }, () => {
  let sandbox;
  let oracle;
  let db;
  let okta;
  let a;
  let b;
  let publicUrl;
  let resource;
  let replicas; // { A: listen URL, B: listen URL }
  let clientRedirect;
  let client; // registered at A
  let login; // tokens of scenario 1

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    db = await createSchema('replicas');
    const portA = await freePort();
    const portB = await freePort();
    publicUrl = `http://127.0.0.1:${portA}`;
    resource = `${publicUrl}/mcp`;
    okta = await startOkta({ resource, connectRedirectUri: [`${publicUrl}/oauth/callback`] });
    const env = { ZMCP_DATABASE_URL: db.url };
    // Started together, as a compose file starts them: migrations and the signing key race.
    const started = await Promise.allSettled([
      startBroker({ sandbox, okta, port: portA, publicUrl, env }),
      startBroker({ sandbox, okta, port: portB, publicUrl, env }),
    ]);
    [a, b] = started.map((s) => s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    replicas = { A: a.listenUrl, B: b.listenUrl };
    assert.equal(a.listenUrl, publicUrl);
    assert.notEqual(b.listenUrl, publicUrl);
    clientRedirect = `http://127.0.0.1:${await freePort()}/callback`;
  });

  after(async () => {
    if (process.env.REPLICAS_E2E_LOGS) {
      process.stderr.write(`--- replica A stderr\n${a?.server.stderr ?? ''}\n--- replica B stderr\n${b?.server.stderr ?? ''}\n`);
    }
    await a?.stop();
    await b?.stop();
    await okta?.stop();
    await sandbox?.stop();
    if (db) {
      await db.drop();
      assert.deepEqual(await db.tables(), [], `schema ${db.schema} dropped`);
    }
  });

  test('both replicas use the test schema, migrated once', async () => {
    const tables = await db.tables();
    for (const t of ['audit_log', 'schema_migrations', 'confirmation_tokens', 'oauth_signing_keys', 'oauth_refresh']) {
      assert.ok(tables.includes(t), `${t} in schema ${db.schema}: ${tables.join(', ')}`);
    }
    const versions = (await psql(db.base, `SELECT version FROM "${db.schema}".schema_migrations ORDER BY 1`)).split('\n').map(Number);
    assert.deepEqual(versions, versions.map((_, i) => i + 1), 'every migration applied, each once');
  });

  test('1. a login started on A finishes on B; the token works on both; one signing key', async () => {
    // Registration (RFC 7591) and the authorization request at A.
    client = await registerPublicClient(replicas.A, { redirectUris: [clientRedirect], name: 'replicas e2e client' });
    const req = authorizationRequest(publicUrl, client, { scope: SCOPES });
    const agent = new BalancedAgent({ login: 'alice', publicUrl, replicas });
    agent.via = 'A';
    const callbackUri = `${publicUrl}/oauth/callback`;
    const atCallback = await agent.authorize(req.url, { redirectUri: callbackUri });
    assert.ok(atCallback.redirect, `Okta sends the browser to our callback: ${JSON.stringify(atCallback.page ?? atCallback.consent?.url)}`);
    assert.equal(atCallback.redirect.origin + atCallback.redirect.pathname, callbackUri);
    assert.ok(atCallback.redirect.searchParams.get('code'), `Okta's code: ${atCallback.redirect}`);
    assert.equal(agent.jar.find('zmcp-authorize').length, 1, 'A set the pending-authorization cookie');

    // The load balancer now picks B: Okta's callback and the consent are answered there.
    agent.via = 'B';
    const done = await agent.authorize(atCallback.redirect, { redirectUri: req.redirectUri });
    assert.ok(done.redirect, `back at the client: ${JSON.stringify(done.page ?? {})}`);
    assert.equal(done.consentShown, true, 'B showed the consent page for a sign-in A started');
    const code = done.redirect.searchParams.get('code');
    assert.ok(code, `a code: ${done.redirect}`);
    assert.equal(done.redirect.searchParams.get('state'), req.state);
    assert.equal(done.redirect.searchParams.get('iss'), publicUrl);
    const ours = agent.history.filter((h) => h.replica);
    assert.deepEqual(
      ours.map((h) => [h.replica, h.method, new URL(h.url).pathname, h.status]),
      [
        ['A', 'GET', '/authorize', 303],
        ['B', 'GET', '/oauth/callback', 200],
        ['B', 'POST', '/oauth/consent', 303],
      ],
      'who answered what',
    );
    assert.equal(agent.jar.find('zmcp-authorize').length, 0, 'B cleared the pending-authorization cookie A set');

    // The code B issued, redeemed at A.
    const res = await tokenRequest(replicas.A, {
      grant_type: 'authorization_code', code, client_id: client.client_id, redirect_uri: req.redirectUri, code_verifier: req.verifier, resource,
    });
    assert.equal(res.status, 200, `token at A: ${res.text}`);
    login = res.json;
    assert.ok(login.access_token && login.refresh_token);
    assert.deepEqual(login.scope.split(' ').sort(), SCOPES.split(' '));

    // One signing key, made once: both replicas publish the same key set, and it verifies the token.
    const jwks = {};
    for (const [name, base] of Object.entries(replicas)) {
      const r = await rawRequest(`${base}/oauth/jwks.json`);
      assert.equal(r.status, 200, `${name} jwks: ${r.body}`);
      jwks[name] = JSON.parse(r.body);
    }
    assert.ok(jwks.A.keys.length >= 1, JSON.stringify(jwks.A));
    assert.deepEqual(jwks.B, jwks.A, 'the two replicas publish the same signing keys');
    const { payload } = await jwtVerify(login.access_token, createLocalJWKSet(jwks.B), { issuer: publicUrl, audience: resource, algorithms: ['ES256'] });
    // Made once although both started together: one key in the database, the one that signed.
    const kids = (await psql(db.base, `SELECT kid FROM "${db.schema}".oauth_signing_keys`)).split('\n');
    assert.deepEqual(kids, [decodeProtectedHeader(login.access_token).kid], 'one signing key in the database, the one that signed');
    assert.deepEqual(jwks.A.keys.map((k) => k.kid), kids);
    assert.equal(payload.uid, USERS.alice.uid);
    assert.equal(payload.cid, client.client_id);
    // Same authorization server metadata from both.
    const meta = {};
    for (const [name, base] of Object.entries(replicas)) {
      const r = await rawRequest(`${base}/.well-known/oauth-authorization-server`);
      assert.equal(r.status, 200, `${name} metadata: ${r.body}`);
      meta[name] = JSON.parse(r.body);
    }
    assert.equal(meta.A.issuer, publicUrl);
    assert.deepEqual(meta.B, meta.A, 'the same metadata from both replicas');

    // The access token works on both replicas.
    for (const [name, base] of Object.entries(replicas)) {
      const projects = ok(await toolCall(base, login.access_token, 'list_projects', { format: 'json' }), `list_projects on ${name}`);
      assert.ok(projects.projects.some((p) => p.key === 'DEMO'), `${name}: ${JSON.stringify(projects).slice(0, 300)}`);
    }

    // Codes are single use across replicas: a second grant's code, redeemed at A and presented
    // again at B, is refused there and revokes that grant, whose access token then stops
    // working on both replicas (the grant of `login` above is untouched).
    const second = authorizationRequest(publicUrl, client, { scope: SCOPES });
    const viaA = new BalancedAgent({ login: 'alice', publicUrl, replicas });
    viaA.via = 'A';
    const got = await viaA.authorize(second.url, { redirectUri: second.redirectUri });
    const secondCode = got.redirect?.searchParams.get('code');
    assert.ok(secondCode, JSON.stringify(got.page ?? {}));
    const redeem = { grant_type: 'authorization_code', code: secondCode, client_id: client.client_id, redirect_uri: second.redirectUri, code_verifier: second.verifier, resource };
    const first = await tokenRequest(replicas.A, redeem);
    assert.equal(first.status, 200, first.text);
    const again = await tokenRequest(replicas.B, redeem);
    assert.equal(again.status, 400, `the code a second time, at B: ${again.text}`);
    assert.equal(again.json?.error, 'invalid_grant');
    for (const [name, base] of Object.entries(replicas)) {
      const refused = await stateless(base, first.json.access_token, nextId++, 'tools/call', { name: 'list_projects', arguments: {} });
      assert.equal(refused.status, 401, `the revoked grant's access token on ${name}: ${refused.body.slice(0, 300)}`);
      assert.match(refused.body, /revoked/);
      ok(await toolCall(base, login.access_token, 'list_projects', {}), `the first grant still works on ${name}`);
    }
  });

  test('1b. the callback sent to B under B\'s own address: accepted, but the consent from that page is refused (one public origin)', async () => {
    // Not a load balancer: the browser itself is sent to B's address. B accepts the
    // callback (Host 127.0.0.1:<B> is a loopback name), but its consent form then posts
    // from an origin that is not the issuer's, and the same-origin check refuses it.
    const other = await registerPublicClient(replicas.A, { redirectUris: [clientRedirect], name: 'replicas e2e client, own address' });
    const req = authorizationRequest(publicUrl, other, { scope: 'zebrunner:read' });
    const agent = new HeadlessAgent({ login: 'alice' });
    const atCallback = await agent.authorize(req.url, { redirectUri: `${publicUrl}/oauth/callback` });
    assert.ok(atCallback.redirect, JSON.stringify(atCallback.page ?? {}));
    const toB = new URL(atCallback.redirect);
    toB.port = new URL(replicas.B).port;
    const result = await agent.authorize(toB, { redirectUri: req.redirectUri });
    assert.equal(result.consentShown, true, `B answered the callback with its consent page: ${JSON.stringify(result.page ?? {}).slice(0, 300)}`);
    assert.ok(result.page, 'no code for the client');
    assert.equal(result.page.status, 403, result.page.html.slice(0, 300));
    assert.match(result.page.html, /sent from another site/);
    assert.equal(new URL(result.page.url).origin, replicas.B);
  });

  test('2. a refresh token rotated on B is refused on A (reuse), and the family with it', async () => {
    assert.ok(login, 'scenario 1 ran');
    // A grant of its own (consent is remembered now), so the token of scenario 1 stays live.
    const req = authorizationRequest(publicUrl, client, { scope: SCOPES });
    const agent = new BalancedAgent({ login: 'alice', publicUrl, replicas });
    agent.via = 'B';
    const done = await agent.authorize(req.url, { redirectUri: req.redirectUri });
    assert.equal(done.consentShown, false, 'consent given on B in scenario 1 is remembered');
    const code = done.redirect?.searchParams.get('code');
    assert.ok(code, JSON.stringify(done.page ?? {}));
    const grant = await tokenRequest(replicas.B, {
      grant_type: 'authorization_code', code, client_id: client.client_id, redirect_uri: req.redirectUri, code_verifier: req.verifier, resource,
    });
    assert.equal(grant.status, 200, grant.text);
    const r0 = grant.json.refresh_token;

    const rotated = await refreshGrant(replicas.B, client.client_id, r0, { resource });
    assert.equal(rotated.status, 200, `rotation on B: ${rotated.text}`);
    const r1 = rotated.json.refresh_token;
    assert.ok(r1 && r1 !== r0, 'B rotated the refresh token');
    ok(await toolCall(replicas.A, rotated.json.access_token, 'list_projects', {}), 'the access token B issued, on A');

    const reuse = await refreshGrant(replicas.A, client.client_id, r0, { resource });
    assert.equal(reuse.status, 400, `the rotated-out token on A: ${reuse.text}`);
    assert.equal(reuse.json?.error, 'invalid_grant');
    for (const [name, base] of Object.entries(replicas)) {
      const family = await refreshGrant(base, client.client_id, r1, { resource });
      assert.equal(family.status, 400, `the current token of the revoked family on ${name}: ${family.text}`);
      assert.equal(family.json?.error, 'invalid_grant');
    }
  });

  test('3. a write previewed on A is confirmed on B (one POST); the same confirmation on A is refused', async () => {
    assert.ok(login, 'scenario 1 ran');
    const token = login.access_token;
    const title = `Replicas suite ${process.pid}-${Date.now()}`;
    const args = { project_key: 'DEMO', title, description: 'previewed on A, confirmed on B' };
    const suitesNamed = async () => (await oracle.pageAll(`${PUBLIC_API}/test-suites`, { projectKey: 'DEMO' })).filter((s) => s.title === title);
    const posts = async () => (await requestLog(sandbox)).filter((r) => r.method !== 'GET');

    await clearRequestLog(sandbox);
    const preview = ok(await toolCall(replicas.A, token, 'create_test_suite', args), 'preview on A');
    assert.equal(preview.stage, 'preview');
    assert.match(preview.confirmation_token, /^[0-9a-f]{64}$/);
    assert.deepEqual(preview.request, { method: 'POST', path: `${PUBLIC_API}/test-suites?projectKey=DEMO`, body: { title, description: args.description } });
    assert.deepEqual(await posts(), [], 'the preview wrote nothing');

    const confirm = { ...args, confirm: true, confirmation_token: preview.confirmation_token, format: 'json' };
    const written = ok(await toolCall(replicas.B, token, 'create_test_suite', confirm), 'confirm on B');
    assert.equal(written.stage, 'written');
    assert.deepEqual(written.request, preview.request);
    const writes = await posts();
    assert.deepEqual(
      writes.map((r) => [r.method, r.path, r.query, r.status]),
      [['POST', `${PUBLIC_API}/test-suites`, 'projectKey=DEMO', 201]],
      'exactly one POST, by B',
    );
    const made = await suitesNamed();
    assert.deepEqual(made.map((s) => [s.id, s.description]), [[written.result.id, args.description]]);

    const replay = await toolCall(replicas.A, token, 'create_test_suite', confirm);
    assert.equal(replay.isError, true, `the confirmation again on A: ${resultText(replay).slice(0, 300)}`);
    assert.match(resultText(replay), /already used/);
    assert.match(resultText(replay), /Not written/);
    assert.deepEqual(await posts(), writes, 'the refused confirm sent nothing to Zebrunner');
    assert.equal((await suitesNamed()).length, 1);
  });

  test('4. stateless MCP alternates between A and B; a 2025-11-25 session opened on A is unknown on B (404)', async () => {
    assert.ok(login, 'scenario 1 ran');
    const token = login.access_token;
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const name = i % 2 === 0 ? 'A' : 'B';
      const out = ok(await toolCall(replicas[name], token, 'list_projects', { format: 'json' }), `list_projects #${i} on ${name}`);
      answers.push(out.projects.map((p) => p.key).sort());
    }
    assert.ok(answers[0].includes('DEMO'), JSON.stringify(answers[0]));
    assert.deepEqual(answers, Array(6).fill(answers[0]), 'the same answer from either replica');
    // Behind a load balancer B sees the public Host (A's address here): accepted too.
    const id = nextId++;
    const viaBalancer = await rawRequest(`${replicas.B}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, host: new URL(publicUrl).host, origin: publicUrl, 'mcp-protocol-version': STATELESS, 'mcp-method': 'tools/list', authorization: `Bearer ${token}` },
      body: { jsonrpc: '2.0', id, method: 'tools/list', params: { _meta: statelessMeta() } },
    });
    assert.equal(viaBalancer.status, 200, `B with the public Host and Origin: ${viaBalancer.status} ${viaBalancer.body.slice(0, 300)}`);
    assert.ok(responseFor(viaBalancer, id).result.tools.some((t) => t.name === 'create_test_suite'));

    // A session lives in the memory of the replica that answered initialize.
    const init = await mcpPost(`${replicas.A}/mcp`, { token, body: initializeBody(1, SESSION_PROTOCOL) });
    assert.equal(init.status, 200, init.body);
    assert.equal(responseFor(init, 1).result.protocolVersion, SESSION_PROTOCOL);
    const session = init.headers['mcp-session-id'];
    assert.ok(session, 'A issued a session');
    const inSession = (base, body) => mcpPost(`${base}/mcp`, { token, session, protocolVersion: SESSION_PROTOCOL, body });
    assert.equal((await inSession(replicas.A, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
    const onA = await inSession(replicas.A, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    assert.equal(onA.status, 200, onA.body);
    assert.ok(responseFor(onA, 2).result.tools.some((t) => t.name === 'list_projects'));

    const onB = await inSession(replicas.B, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    assert.equal(onB.status, 404, `the session on B: ${onB.status} ${onB.body}`);
    assert.match(String(onB.headers['content-type']), /application\/json/);
    assert.deepEqual(JSON.parse(onB.body), {
      error: 'session_not_found',
      error_description: 'this MCP session is not known here (closed or expired); start a new session',
    });
    const callOnB = await inSession(replicas.B, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'list_projects', arguments: {} } });
    assert.equal(callOnB.status, 404, `a tool call in the session on B: ${callOnB.status} ${callOnB.body}`);

    // Still fine where it lives.
    const backOnA = await inSession(replicas.A, { jsonrpc: '2.0', id: 5, method: 'tools/list' });
    assert.equal(backOnA.status, 200, backOnA.body);
    const del = await rawRequest(`${replicas.A}/mcp`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'mcp-session-id': session, 'mcp-protocol-version': SESSION_PROTOCOL },
    });
    assert.ok(del.status >= 200 && del.status < 300, `DELETE on A: ${del.status} ${del.body}`);
  });

  test('5. audit search --json on the shared database sees the tool calls of both replicas', async () => {
    // Each replica also prints its records to stdout (sink "stdout"): their correlation ids
    // say which replica made which record.
    const printed = (broker) => jsonLines(broker.server.stdout).filter((r) => r.kind === 'tool_call' && r.correlation_id);
    const byReplica = { A: printed(a), B: printed(b) };
    const ids = Object.fromEntries(Object.entries(byReplica).map(([k, rs]) => [k, new Set(rs.map((r) => r.correlation_id))]));
    // Scenario 1: list_projects on each, twice; 2: on A; 3: preview on A, confirm on B, replay
    // on A; 4: 3 + 3 list_projects. (Calls refused for a revoked grant leave no tool record.)
    const tools = (name) => byReplica[name].map((r) => r.tool).sort();
    assert.deepEqual(tools('A'), ['create_test_suite', 'create_test_suite', ...Array(6).fill('list_projects')], JSON.stringify(byReplica.A, null, 1).slice(0, 2000));
    assert.deepEqual(tools('B'), ['create_test_suite', ...Array(5).fill('list_projects')], JSON.stringify(byReplica.B, null, 1).slice(0, 2000));
    for (const id of ids.A) assert.ok(!ids.B.has(id), `correlation id ${id} printed by both replicas`);

    const search = await runCli(['audit', 'search', '--json', '--limit', '1000'], { ZMCP_DATABASE_URL: db.url });
    assert.equal(search.code, 0, `audit search: ${search.stderr}`);
    const records = jsonLines(search.stdout);
    const stored = records.filter((r) => r.kind === 'tool_call');
    const storedIds = new Set(stored.map((r) => r.correlation_id));
    assert.equal(storedIds.size, stored.length, 'one record per call');
    assert.deepEqual([...storedIds].sort(), [...ids.A, ...ids.B].sort(), 'the database holds exactly the tool calls both replicas printed');
    for (const r of stored) {
      assert.equal(r.user_key, `uid:${USERS.alice.uid}`);
      assert.equal(r.transport, 'http');
      assert.ok(Number.isInteger(r.id), 'stored records have an id');
    }
    // The confirm that wrote was B's, and the replayed one (refused) A's.
    const creates = stored.filter((r) => r.tool === 'create_test_suite');
    const confirmOk = creates.filter((r) => r.outcome === 'ok' && r.zebrunner_requests.some((z) => z.method === 'POST'));
    assert.equal(confirmOk.length, 1, JSON.stringify(creates, null, 1));
    assert.ok(ids.B.has(confirmOk[0].correlation_id), 'the write was recorded by B');
    // The refused session request on B is in the shared log too.
    const denied = records.filter((r) => r.kind === 'authorization' && r.outcome === 'denied' && r.error_class === 'session_not_found');
    assert.equal(denied.length, 2, `B's two session refusals: ${JSON.stringify(denied, null, 1).slice(0, 1500)}`);
  });
});
