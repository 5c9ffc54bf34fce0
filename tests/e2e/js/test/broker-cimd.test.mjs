// Identity `broker` with client ID metadata documents
// (draft-ietf-oauth-client-id-metadata-document, as MCP 2025-11-25 uses them): a
// client names itself by the URL of a JSON document it publishes, and the
// server fetches that document at /authorize and /token instead of looking up a
// registration. The documents here are served by a local node http server;
// the server under test runs with ZMCP_OAUTH_CIMD_ALLOW_LOOPBACK_HTTP=true,
// the tests-only setting that admits http://127.0.0.1:<port>/ documents (the
// spec's https-only rule, relaxed for tests).
//
//   1. metadata: client_id_metadata_document_supported
//   2. the full flow with a document URL as client_id: authorize -> Okta
//      sign-in -> consent (names the document's host) -> code -> token -> a
//      tool call; the document is fetched once and cached per Cache-Control;
//      refresh and revocation with the URL client id; consent remembered
//   3. no-store documents are fetched every time, and a failing fetch is an
//      error (never a stale copy)
//   4. negative documents, each an error page (never a redirect) naming what
//      is wrong: client_id differs, redirect_uri not in the document, the
//      document answers a redirect, a confidential client, too large, not
//      JSON, 404, internal addresses; /token with a broken document
//   5. a second server without the test setting: plain http, a loopback
//      literal and a name resolving to loopback are refused without a fetch

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  HeadlessAgent,
  authorizationRequest,
  pageText,
  refreshGrant,
  revoke,
  startBroker,
  tokenRequest,
} from '../lib/broker.mjs';
import { freePort } from '../lib/identity.mjs';
import { projectKeysWithBearer } from '../lib/mcp.mjs';
import { USERS } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const PENDING_COOKIE = 'zmcp-authorize';

/**
 * A local server for metadata documents: `serve(path, route)` publishes
 * `route` = `{ status, headers, body }` (body: an object as JSON, or a
 * string/Buffer as is) or a function `(docUrl) => route` at `path` and
 * resolves its URL; `hits(path)` counts the requests for `path`.
 */
async function startDocumentServer() {
  const routes = new Map();
  const requests = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    requests.push({ path, accept: req.headers.accept ?? '' });
    const route = routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    }
    const { status = 200, headers = {}, body = '' } = route;
    const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(payload);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    port: server.address().port,
    serve(path, route) {
      const url = `${base}${path}`;
      routes.set(path, typeof route === 'function' ? route(url) : route);
      return url;
    },
    hits: (path) => requests.filter((r) => r.path === path).length,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

/** A valid document for `url`. */
const documentFor = (url, redirectUris, extra = {}) => ({
  client_id: url,
  client_name: 'CIMD E2E App',
  client_uri: 'https://app.example/',
  redirect_uris: redirectUris,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  ...extra,
});

/** An error page for the person: 400 HTML, never a redirect, no sign-in started. */
async function assertErrorPage(response, where, status = 400) {
  const body = await response.text();
  assert.equal(response.status, status, `${where}: HTTP ${response.status}: ${pageText(body).slice(0, 400)}`);
  assert.equal(response.headers.get('location'), null, `${where}: no redirect`);
  assert.match(response.headers.get('content-type') ?? '', /text\/html/, `${where}: a page for the person`);
  assert.equal(response.headers.getSetCookie().filter((c) => c.startsWith(PENDING_COOKIE)).length, 0, `${where}: no sign-in started`);
  return pageText(body);
}

describe('identity broker: client ID metadata documents', () => {
  let sandbox;
  let broker;
  let strict; // a second server, without the loopback test setting
  let docs;
  let publicUrl;
  let resource;
  let clientRedirect;

  before(async () => {
    sandbox = await startSandbox();
    docs = await startDocumentServer();
    broker = await startBroker({ sandbox, env: { ZMCP_OAUTH_CIMD_ALLOW_LOOPBACK_HTTP: 'true' } });
    publicUrl = broker.publicUrl;
    resource = broker.resource;
    clientRedirect = `http://127.0.0.1:${await freePort()}/callback`;
  });

  after(async () => {
    if (process.env.BROKER_E2E_LOGS) process.stderr.write(broker?.server.stderr ?? '');
    await strict?.stop();
    await broker?.stop();
    await docs?.close();
    await sandbox?.stop();
  });

  /** GET /authorize for `clientId` (no redirects followed), as a fresh browser. */
  const authorizeRaw = (clientId, { redirectUri = clientRedirect, base = publicUrl } = {}) =>
    new HeadlessAgent().request(authorizationRequest(base, { client_id: clientId, redirect_uris: [redirectUri] }, { resource: `${base}/mcp` }).url);

  test('the metadata says client ID metadata documents are supported', async () => {
    const meta = await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)).json();
    assert.equal(meta.client_id_metadata_document_supported, true);
    assert.ok(meta.token_endpoint_auth_methods_supported.includes('none'));
  });

  test('a document URL as client_id: authorize, Okta sign-in, consent, code, token, a tool call; cached, refreshed, revoked', async () => {
    const path = '/apps/e2e/client.json';
    const clientId = docs.serve(path, (url) => ({ headers: { 'cache-control': 'public, max-age=120' }, body: documentFor(url, [clientRedirect]) }));
    const client = { client_id: clientId, redirect_uris: [clientRedirect] };

    // Authorize: the person signs in at Okta and stops at our consent page.
    const agent = new HeadlessAgent({ login: 'alice' });
    const req = authorizationRequest(publicUrl, client, { scope: 'zebrunner:read', resource });
    const stopped = await agent.authorize(req.url, { redirectUri: req.redirectUri, decision: null });
    assert.ok(stopped.consent, `our consent page: ${JSON.stringify(stopped.page ? { status: stopped.page.status, text: pageText(stopped.page.html).slice(0, 400) } : {})}`);
    assert.ok(agent.history.some((h) => h.url.startsWith(broker.okta.issuer)), 'the person signed in at Okta');
    const text = pageText(stopped.consent.html);
    assert.match(text, /CIMD E2E App/, 'the document names the client');
    assert.match(stopped.consent.html, /id="document-host">127\.0\.0\.1</, `the document's host is named: ${text}`);
    assert.match(stopped.consent.html, /id="redirect-host">127\.0\.0\.1</, 'and where the browser returns to');
    assert.match(text, /any program here could claim to be it/, 'a loopback redirect is called out');
    assert.ok(stopped.consent.html.includes(clientId), 'the client id (the URL) is shown');

    // Approve: back at the client with code, state and iss.
    const { form, url: consentUrl } = stopped.consent;
    const approved = await agent.submit(consentUrl, form.action, { ...form.hidden, decision: 'approve' });
    assert.ok(approved.status >= 300 && approved.status < 400, `a redirect to the client (${approved.status})`);
    const back = new URL(approved.headers.get('location'));
    assert.equal(back.origin + back.pathname, clientRedirect);
    const code = back.searchParams.get('code');
    assert.ok(code, String(back));
    assert.equal(back.searchParams.get('state'), req.state);
    assert.equal(back.searchParams.get('iss'), publicUrl);

    // Token, with the URL as client_id.
    const res = await tokenRequest(publicUrl, {
      grant_type: 'authorization_code', code, client_id: clientId, redirect_uri: clientRedirect, code_verifier: req.verifier, resource,
    });
    assert.equal(res.status, 200, `token: ${res.text}`);
    const jwks = createRemoteJWKSet(new URL(`${publicUrl}/oauth/jwks.json`));
    const { payload } = await jwtVerify(res.json.access_token, jwks, { issuer: publicUrl, audience: resource, algorithms: ['ES256'] });
    assert.equal(payload.cid, clientId, 'the token names the document URL as its client');
    assert.equal(payload.uid, USERS.alice.uid);

    // Fetched once (at /authorize), as JSON; the consent page and /token used the cached copy.
    assert.equal(docs.hits(path), 1, `one fetch: ${JSON.stringify(docs.requests)}`);
    assert.match(docs.requests.find((r) => r.path === path).accept, /application\/json/);

    // A tool call with the token.
    assert.ok((await projectKeysWithBearer(resource, res.json.access_token, 'broker-cimd-e2e')).includes('DEMO'), 'a tool call with the token');

    // While cached, a broken document does not matter; refresh works with the URL client id.
    docs.serve(path, { status: 500, body: 'down' });
    const refreshed = await refreshGrant(publicUrl, clientId, res.json.refresh_token, { resource });
    assert.equal(refreshed.status, 200, `refresh with the cached document: ${refreshed.text}`);
    assert.notEqual(refreshed.json.refresh_token, res.json.refresh_token, 'rotated');
    assert.equal(docs.hits(path), 1, 'still one fetch');

    // Consent is remembered for this person and document client.
    docs.serve(path, (url) => ({ headers: { 'cache-control': 'max-age=120' }, body: documentFor(url, [clientRedirect]) }));
    const again = await new HeadlessAgent({ login: 'alice' }).authorize(authorizationRequest(publicUrl, client, { resource }).url, { redirectUri: clientRedirect });
    assert.ok(again.redirect?.searchParams.get('code'), `a code again: ${JSON.stringify(again.page?.status)}`);
    assert.equal(again.consentShown, false, 'no consent page the second time');

    // Revocation by the URL client id (no document fetch needed).
    const fetchesBefore = docs.hits(path);
    const revoked = await revoke(publicUrl, { token: refreshed.json.refresh_token, client_id: clientId, token_type_hint: 'refresh_token' });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(docs.hits(path), fetchesBefore, '/revoke fetches no document');
    const dead = await refreshGrant(publicUrl, clientId, refreshed.json.refresh_token);
    assert.equal(dead.status, 400, dead.text);
    assert.equal(dead.json.error, 'invalid_grant');
  });

  test('a no-store document is fetched every time, and a failing fetch is reported (never served stale)', async () => {
    const path = '/apps/no-store/client.json';
    const clientId = docs.serve(path, (url) => ({ headers: { 'cache-control': 'no-store' }, body: documentFor(url, [clientRedirect]) }));
    for (let i = 1; i <= 2; i++) {
      const r = await authorizeRaw(clientId);
      assert.ok(r.status >= 300 && r.status < 400, `on to Okta (${r.status})`);
      assert.ok(r.headers.get('location').startsWith(broker.okta.issuer), r.headers.get('location'));
      await r.arrayBuffer();
      assert.equal(docs.hits(path), i, `fetched ${i} times`);
    }
    docs.serve(path, { status: 503, body: 'maintenance' });
    const text = await assertErrorPage(await authorizeRaw(clientId), 'document answering 503');
    assert.match(text, /HTTP 503/, text);
  });

  describe('documents that cannot be used: an error page naming what is wrong', () => {
    test('the document names another client_id', async () => {
      const clientId = docs.serve('/bad/other-id.json', () => ({ body: documentFor('https://app.example/oauth/client.json', [clientRedirect]) }));
      const text = await assertErrorPage(await authorizeRaw(clientId), 'client_id differs');
      assert.match(text, /client_id (?:"|&#34;)https:\/\/app\.example\/oauth\/client\.json(?:"|&#34;) is not its own URL/, text);
      // Invalid documents are not cached: once fixed, the same URL works.
      docs.serve('/bad/other-id.json', (url) => ({ headers: { 'cache-control': 'max-age=600' }, body: documentFor(url, [clientRedirect]) }));
      const fixed = await authorizeRaw(clientId);
      assert.ok(fixed.status >= 300 && fixed.status < 400, `fixed document: on to Okta (${fixed.status})`);
    });

    test('the redirect_uri is not in the document', async () => {
      const clientId = docs.serve('/bad/redirect-uri.json', (url) => ({ body: documentFor(url, [clientRedirect]) }));
      for (const redirectUri of ['https://attacker.example/callback', 'http://127.0.0.1:9/elsewhere', `${clientRedirect}?x=1`]) {
        const text = await assertErrorPage(await authorizeRaw(clientId, { redirectUri }), `redirect_uri ${redirectUri}`);
        assert.match(text, /metadata document does not list/, text);
      }
    });

    test('the document URL answers with a redirect (not followed)', async () => {
      const target = docs.serve('/bad/redirect-target.json', (url) => ({ body: documentFor(url, [clientRedirect]) }));
      const clientId = docs.serve('/bad/moved.json', { status: 302, headers: { location: target }, body: '' });
      const text = await assertErrorPage(await authorizeRaw(clientId), 'redirecting document');
      assert.match(text, /redirect \(HTTP 302\)/, text);
      assert.equal(docs.hits('/bad/redirect-target.json'), 0, 'the redirect was not followed');
    });

    test('a confidential client (private_key_jwt), a client_secret, no redirect_uris', async () => {
      const keyed = docs.serve('/bad/private-key.json', (url) => ({ body: documentFor(url, [clientRedirect], { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://app.example/jwks.json' }) }));
      assert.match(await assertErrorPage(await authorizeRaw(keyed), 'private_key_jwt'), /private_key_jwt.*only public clients/, 'private_key_jwt');
      const secret = docs.serve('/bad/secret.json', (url) => ({ body: documentFor(url, [clientRedirect], { client_secret: 'hunter2' }) }));
      const secretText = await assertErrorPage(await authorizeRaw(secret), 'client_secret');
      assert.match(secretText, /client_secret/);
      assert.ok(!secretText.includes('hunter2'), 'the secret is not echoed');
      const none = docs.serve('/bad/no-redirects.json', (url) => ({ body: documentFor(url, []) }));
      assert.match(await assertErrorPage(await authorizeRaw(none), 'no redirect_uris'), /no redirect_uris/);
    });

    test('too large, not JSON, not found: named without echoing the content', async () => {
      const huge = docs.serve('/bad/huge.json', (url) => ({ body: JSON.stringify({ ...documentFor(url, [clientRedirect]), padding: 'x'.repeat(64 * 1024) }) }));
      assert.match(await assertErrorPage(await authorizeRaw(huge), 'huge document'), /larger than 16 KiB/);
      const marker = 'BINARY-MARKER-7f3a';
      const html = docs.serve('/bad/page.json', { headers: { 'content-type': 'text/html' }, body: Buffer.concat([Buffer.from(`<html>${marker}`), Buffer.from([0, 0xff, 0xfe, 1])]) });
      const htmlText = await assertErrorPage(await authorizeRaw(html), 'not JSON');
      assert.match(htmlText, /not JSON/);
      assert.ok(!htmlText.includes(marker), 'the content is not echoed');
      assert.match(await assertErrorPage(await authorizeRaw(`${docs.base}/bad/missing.json`), 'not found'), /HTTP 404/);
    });

    test('internal addresses and plain http elsewhere are refused even with the loopback test setting', async () => {
      for (const [clientId, why] of [
        ['https://10.0.0.1/client.json', /private address/],
        ['https://169.254.169.254/latest/meta-data/client.json', /link-local/],
        ['https://[::ffff:c0a8:101]/client.json', /private address/],
        ['https://[fd00::1]/client.json', /private address/],
        ['https://100.64.0.1/client.json', /shared address/],
        ['http://192.168.1.1/client.json', /must use https/],
        ['https://app.example', /must have a path/],
        ['https://app.example/a/../client.json', /path segments/],
        ['https://app.example/client.json#frag', /fragment/],
      ]) {
        const text = await assertErrorPage(await authorizeRaw(clientId), clientId);
        assert.match(text, why, `${clientId}: ${text}`);
      }
    });

    test('/token for a document client whose document went bad: 400 invalid_client', async () => {
      const path = '/apps/token-check/client.json';
      const clientId = docs.serve(path, (url) => ({ headers: { 'cache-control': 'no-store' }, body: documentFor(url, [clientRedirect]) }));
      const client = { client_id: clientId, redirect_uris: [clientRedirect] };
      const req = authorizationRequest(publicUrl, client, { resource });
      const result = await new HeadlessAgent({ login: 'alice' }).authorize(req.url, { redirectUri: clientRedirect });
      const code = result.redirect?.searchParams.get('code');
      assert.ok(code, `a code: ${JSON.stringify(result.page?.status)}`);
      docs.serve(path, () => ({ body: documentFor('https://app.example/oauth/client.json', [clientRedirect]) }));
      const res = await tokenRequest(publicUrl, {
        grant_type: 'authorization_code', code, client_id: clientId, redirect_uri: clientRedirect, code_verifier: req.verifier, resource,
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json?.error, 'invalid_client', res.text);
      assert.match(res.json.error_description, /not its own URL/);
      assert.equal(res.json.access_token, undefined);
    });
  });

  test('without the test setting: plain http, a loopback literal and a name resolving to loopback are refused, nothing is fetched', async () => {
    strict = await startBroker({ sandbox });
    const base = strict.publicUrl;
    const path = '/apps/strict/client.json';
    const httpUrl = docs.serve(path, (url) => ({ body: documentFor(url, [clientRedirect]) }));
    const requestsBefore = docs.requests.length;
    for (const [clientId, why] of [
      [httpUrl, /must use https/],
      [`https://127.0.0.1:${docs.port}${path}`, /loopback address/],
      [`https://[::1]:${docs.port}${path}`, /loopback address/],
      [`https://localhost:${docs.port}${path}`, /localhost resolves to a loopback address/],
    ]) {
      const text = await assertErrorPage(await authorizeRaw(clientId, { base }), clientId);
      assert.match(text, why, `${clientId}: ${text}`);
    }
    assert.equal(docs.requests.length, requestsBefore, 'no request reached the document server');
  });
});
