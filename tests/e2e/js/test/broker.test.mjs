// Identity `broker`: zebrunner-mcp is its own OAuth 2.1 authorization server
// for MCP clients (crate zebrunner-oauth). A client gets 401 at /mcp, finds our
// metadata from the challenge (RFC 9728 -> RFC 8414), registers itself (RFC
// 7591, public client), and sends the person to /authorize (PKCE S256,
// resource = <public>/mcp); the person signs in at Okta (the stand-in) as the
// server's confidential client, comes back to /oauth/callback, consents on our
// page, and the client redeems the code at /token for our ES256 access token
// (aud <public>/mcp) and a refresh token that rotates on every use.
//
//   1. the TypeScript SDK's own OAuth client, end to end; refresh rotation and
//      reuse detection; revocation (RFC 7009)
//   2. consent is remembered per person and client (and scope)
//   3. negative paths, one test each, raw HTTP
//   4. the Docker MCP Gateway's discovery and registration steps replayed
//   5. the consent page in Chromium: screenshot, keyboard only, labels
//
// Screenshot: tests/e2e/artifacts/screenshots/broker-consent.png

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { launchBrowser, screenshot, tabOrder, tabTo, unlabelledControls } from '../lib/browser.mjs';
import {
  HeadlessAgent,
  authorizationRequest,
  authorizeUrl,
  pageText,
  pkce,
  randomState,
  refreshGrant,
  register,
  registerPublicClient,
  revoke,
  startBroker,
  tokenRequest,
} from '../lib/broker.mjs';
import { freePort, mcpPost, parseChallenge } from '../lib/identity.mjs';
import { callTool, resultText, withTimeout } from '../lib/mcp.mjs';
import { USERS } from '../lib/okta.mjs';
import { initializeBody } from '../lib/raw.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const PENDING_COOKIE = 'zmcp-authorize';

/** Run `action` and wait until the main frame has loaded the next document (after any redirects). */
async function navigation(page, action) {
  const committed = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 30_000 });
  await action();
  await committed;
  await page.waitForLoadState('load');
}

/** An OAuthClientProvider keeping everything in memory; the browser step is `onRedirect(url)`. */
class MemoryOAuthProvider {
  constructor({ redirectUrl, clientName, onRedirect }) {
    this._redirectUrl = redirectUrl;
    this._clientName = clientName;
    this._onRedirect = onRedirect;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this.states = [];
    this.authorizationUrls = [];
    this.redirects = [];
    this.savedTokens = [];
    this.registrations = 0;
    this.invalidated = [];
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    const s = randomState();
    this.states.push(s);
    return s;
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this.registrations++;
    this._client = info;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this.savedTokens.push(tokens);
    this._tokens = tokens;
  }

  async redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url));
    this.redirects.push(await this._onRedirect(new URL(url)));
  }

  saveCodeVerifier(verifier) {
    this._verifier = verifier;
  }

  codeVerifier() {
    return this._verifier;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'client') this._client = undefined;
    if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
  }
}

/** Assert an RFC 6749 §5.2 error from the token endpoint. */
function assertTokenError(res, error, where) {
  assert.equal(res.status, error === 'invalid_client' ? 401 : 400, `${where}: HTTP status (${res.text})`);
  assert.equal(res.json?.error, error, `${where}: ${res.text}`);
  assert.equal(res.json.access_token, undefined, `${where}: no token`);
  assert.match(res.headers.get('cache-control') ?? '', /no-store/, `${where}: Cache-Control no-store`);
}

/** An authorization response at the client: `error` with the request's state and our issuer, no code. */
function assertErrorRedirect(location, { error, state, redirectUri, iss }, where) {
  assert.ok(location, `${where}: a redirect`);
  const url = new URL(location);
  assert.equal(url.origin + url.pathname, redirectUri, `${where}: back to the client's redirect URI: ${location}`);
  assert.equal(url.searchParams.get('error'), error, `${where}: ${location}`);
  assert.equal(url.searchParams.get('code'), null, `${where}: no code`);
  if (state !== undefined) assert.equal(url.searchParams.get('state'), state, `${where}: state returned`);
  assert.equal(url.searchParams.get('iss'), iss, `${where}: iss (RFC 9207)`);
}

/** An error page for the person: 400 HTML, never a redirect (RFC 6749 §4.1.2.1). */
async function assertErrorPage(response, where, status = 400) {
  const body = await response.text();
  assert.equal(response.status, status, `${where}: HTTP ${response.status}: ${body.slice(0, 300)}`);
  assert.equal(response.headers.get('location'), null, `${where}: no redirect`);
  assert.match(response.headers.get('content-type') ?? '', /text\/html/, `${where}: a page for the person`);
  return body;
}

/** POST an MCP initialize to /mcp with `accessToken`; the status and the challenge. */
async function mcpWith(publicUrl, accessToken) {
  const r = await fetch(`${publicUrl}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'grant-check', version: '1' } },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  return { status: r.status, challenge: r.headers.get('www-authenticate') ?? '' };
}

describe('identity broker: our own OAuth 2.1 authorization server for MCP clients', () => {
  let sandbox;
  let broker;
  let publicUrl;
  let resource;
  let browser;
  // A fixed loopback redirect URI for the raw tests (nothing listens there; the agent stops at it).
  let clientRedirect;

  before(async () => {
    sandbox = await startSandbox();
    broker = await startBroker({ sandbox });
    publicUrl = broker.publicUrl;
    resource = broker.resource;
    clientRedirect = `http://127.0.0.1:${await freePort()}/callback`;
  });

  after(async () => {
    await browser?.close();
    if (process.env.BROKER_E2E_LOGS) process.stderr.write(broker?.server.stderr ?? '');
    await broker?.stop();
    await sandbox?.stop();
  });

  /** A freshly registered public client for `redirectUris`. */
  const newClient = (name = 'broker negative-path client', redirectUris = [clientRedirect]) => registerPublicClient(publicUrl, { redirectUris, name });

  /** Authorize `client` as `login` through Okta and consent; resolves `{ code, req, result, agent }`. */
  async function approvedCode(client, { login = 'alice', agent = new HeadlessAgent({ login }), ...params } = {}) {
    const req = authorizationRequest(publicUrl, client, params);
    const result = await agent.authorize(req.url, { redirectUri: req.redirectUri });
    assert.ok(result.redirect, `back at the client: ${JSON.stringify(result.page ?? result.consent?.url)}`);
    const code = result.redirect.searchParams.get('code');
    assert.ok(code, `a code: ${result.redirect}`);
    assert.equal(result.redirect.searchParams.get('state'), req.state);
    assert.equal(result.redirect.searchParams.get('iss'), publicUrl);
    return { code, req, result, agent };
  }

  /** A code redeemed: resolves the token response (asserted 200). */
  async function redeem(client, { code, req }) {
    const res = await tokenRequest(publicUrl, {
      grant_type: 'authorization_code', code, client_id: client.client_id, redirect_uri: req.redirectUri, code_verifier: req.verifier, resource,
    });
    assert.equal(res.status, 200, `token: ${res.text}`);
    return res.json;
  }

  // -------------------------------------------------------------------------
  // 1. The TypeScript SDK's OAuth client
  // -------------------------------------------------------------------------

  test('TypeScript SDK: 401, discovery, registration, sign-in and consent, tools; refresh rotates; revocation', async () => {
    const sdkRedirect = `http://127.0.0.1:${await freePort()}/callback`;
    const agent = new HeadlessAgent({ login: 'alice' });
    const provider = new MemoryOAuthProvider({
      redirectUrl: sdkRedirect,
      clientName: 'Broker E2E (TypeScript SDK)',
      onRedirect: (url) => agent.authorize(url, { redirectUri: sdkRedirect }),
    });

    // Connecting without a token: 401, the SDK discovers, registers and sends the person off.
    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
    const first = new Client({ name: 'broker-e2e', version: '1.0.0' }, { capabilities: {} });
    await assert.rejects(withTimeout(first.connect(transport), 60_000, 'connect'), (err) => err instanceof UnauthorizedError || /unauthori[sz]ed/i.test(err.message));
    await first.close().catch(() => {});

    assert.equal(provider.registrations, 1, 'registered by DCR once');
    const registered = provider.clientInformation();
    assert.match(registered.client_id, /^dcr_/);
    assert.deepEqual(registered.redirect_uris, [sdkRedirect]);
    assert.equal(registered.token_endpoint_auth_method, 'none');
    assert.equal(registered.client_secret, undefined, 'a public client has no secret');

    assert.equal(provider.authorizationUrls.length, 1, 'one authorization request');
    const authz = provider.authorizationUrls[0];
    assert.equal(authz.origin + authz.pathname, `${publicUrl}/authorize`, `our authorization endpoint: ${authz}`);
    const q = Object.fromEntries(authz.searchParams);
    assert.equal(q.client_id, registered.client_id);
    assert.equal(q.response_type, 'code');
    assert.equal(q.code_challenge_method, 'S256');
    assert.equal(q.redirect_uri, sdkRedirect);
    assert.equal(q.resource, resource, 'RFC 8707 resource = the protected resource metadata resource');
    assert.equal(q.state, provider.states.at(-1));

    // The person went through Okta and our consent page; the client got code, state and iss.
    const redirected = provider.redirects[0];
    assert.ok(redirected.redirect, `reached the client's redirect URI: ${JSON.stringify(redirected.page ?? {})}`);
    assert.equal(redirected.consentShown, true, 'a first-time client is shown the consent page');
    assert.ok(agent.history.some((h) => h.url.startsWith(broker.okta.issuer)), 'the person signed in at Okta');
    assert.ok(agent.history.some((h) => h.url.startsWith(`${publicUrl}/oauth/callback`)), 'and came back to /oauth/callback');
    const back = redirected.redirect;
    const code = back.searchParams.get('code');
    assert.ok(code, `a code: ${back}`);
    assert.equal(back.searchParams.get('state'), q.state, 'state returned unchanged');
    assert.equal(back.searchParams.get('iss'), publicUrl, 'iss = our issuer (RFC 9207)');
    assert.equal(agent.jar.find(PENDING_COOKIE).length, 0, 'the pending-authorization cookie is cleared');

    await transport.finishAuth(code);
    const tokens0 = provider.tokens();
    assert.ok(tokens0?.access_token && tokens0.refresh_token, 'access and refresh token');
    assert.equal(tokens0.token_type.toLowerCase(), 'bearer');

    // Our access token: ES256 JWT, iss = us, aud = our MCP resource, verifiable with our JWKS.
    assert.equal(decodeProtectedHeader(tokens0.access_token).alg, 'ES256');
    const jwks = createRemoteJWKSet(new URL(`${publicUrl}/oauth/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(tokens0.access_token, jwks, { issuer: publicUrl, audience: resource, algorithms: ['ES256'] });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.cid, registered.client_id);
    assert.equal(payload.uid, USERS.alice.uid);
    assert.ok(payload.exp > payload.iat);

    // Connected: tools work.
    const transport2 = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
    const client = new Client({ name: 'broker-e2e', version: '1.0.0' }, { capabilities: {} });
    await withTimeout(client.connect(transport2), 30_000, 'connect with the token');
    try {
      const projects = await callTool(client, 'list_projects', { format: 'json' });
      assert.equal(projects.isError, false, resultText(projects));
      assert.ok(projects.structuredContent.projects.some((p) => p.key === 'DEMO'), resultText(projects));
      const demo1 = await callTool(client, 'get_test_case', { key: 'DEMO-1', format: 'json' });
      assert.equal(demo1.isError, false, resultText(demo1));
      assert.equal(demo1.structuredContent.test_case.key, 'DEMO-1');

      // Refresh through the SDK: a rejected access token makes it refresh and retry.
      provider._tokens = { ...tokens0, access_token: 'not-a-valid-access-token' };
      const again = await callTool(client, 'list_projects', {});
      assert.equal(again.isError, false, resultText(again));
      const tokens1 = provider.tokens();
      assert.ok(tokens1.access_token !== 'not-a-valid-access-token', 'a new access token');
      assert.ok(tokens1.refresh_token && tokens1.refresh_token !== tokens0.refresh_token, 'the refresh token rotated');
      await jwtVerify(tokens1.access_token, jwks, { issuer: publicUrl, audience: resource, algorithms: ['ES256'] });
    } finally {
      await client.close().catch(() => {});
    }
    const tokens1 = provider.tokens();

    // Reuse of the rotated-out token: invalid_grant, and the whole family is revoked.
    assertTokenError(await refreshGrant(publicUrl, registered.client_id, tokens0.refresh_token, { resource }), 'invalid_grant', 'the old refresh token again');
    assertTokenError(await refreshGrant(publicUrl, registered.client_id, tokens1.refresh_token, { resource }), 'invalid_grant', 'the current refresh token after the reuse');

    // Revocation (RFC 7009) on a fresh grant of the same client (consent remembered now).
    const fresh = await approvedCode(registered, { login: 'alice', redirectUri: sdkRedirect });
    assert.equal(fresh.result.consentShown, false, 'the same person and client: no consent page again');
    const grant = await redeem(registered, fresh);
    // Another client's revocation request does not touch this grant (RFC 7009 §2.1)...
    const stranger = await newClient('another client');
    const foreign = await revoke(publicUrl, { token: grant.refresh_token, client_id: stranger.client_id, token_type_hint: 'refresh_token' });
    assert.equal(foreign.status, 200, foreign.text);
    const stillLive = await refreshGrant(publicUrl, registered.client_id, grant.refresh_token);
    assert.equal(stillLive.status, 200, `another client cannot revoke this grant: ${stillLive.text}`);
    // ...its own does.
    const own = await revoke(publicUrl, { token: stillLive.json.refresh_token, client_id: registered.client_id, token_type_hint: 'refresh_token' });
    assert.equal(own.status, 200, own.text);
    assertTokenError(await refreshGrant(publicUrl, registered.client_id, stillLive.json.refresh_token), 'invalid_grant', 'refresh after revocation');
    // The grant's access token, still unexpired, stops working at /mcp at once.
    const revokedAccess = await mcpWith(publicUrl, stillLive.json.access_token);
    assert.equal(revokedAccess.status, 401, 'an access token of a revoked grant');
    assert.match(revokedAccess.challenge, /invalid_token/);
    assert.match(revokedAccess.challenge, /revoked/);
    // Unknown tokens: 200 as well (RFC 7009 §2.2).
    assert.equal((await revoke(publicUrl, { token: 'no-such-token', client_id: registered.client_id })).status, 200);
  });

  // -------------------------------------------------------------------------
  // 2. Consent is remembered
  // -------------------------------------------------------------------------

  test('consent is remembered per person and client: a second authorization skips the page', async () => {
    const client = await newClient('consent memory client');
    const firstTime = await approvedCode(client, { login: 'alice' });
    assert.equal(firstTime.result.consentShown, true, 'first time: the consent page');
    await redeem(client, firstTime);

    // Same person, same client, a new browser (so a new Okta sign-in too): no consent page.
    const secondTime = await approvedCode(client, { login: 'alice' });
    assert.equal(secondTime.result.consentShown, false, 'second time: no consent page');
    await redeem(client, secondTime);
    // The same browser session again: straight back with a code.
    const sameBrowser = await approvedCode(client, { login: 'alice', agent: secondTime.agent });
    assert.equal(sameBrowser.result.consentShown, false);

    // Someone else, the same client: asked.
    const bob = await approvedCode(client, { login: 'bob' });
    assert.equal(bob.result.consentShown, true, 'another person is asked for themselves');
    // Alice, another client: asked.
    const other = await newClient('consent memory client 2');
    assert.equal((await approvedCode(other, { login: 'alice' })).result.consentShown, true, 'another client is asked for');
    // Alice, same client, more scopes than she approved: asked again.
    const wider = await approvedCode(client, { login: 'alice', scope: 'zebrunner:read zebrunner:write' });
    assert.equal(wider.result.consentShown, true, 'a wider scope is asked for again');
    const widerTokens = await redeem(client, wider);
    assert.deepEqual(widerTokens.scope.split(' ').sort(), ['zebrunner:read', 'zebrunner:write']);
  });

  // -------------------------------------------------------------------------
  // 3. Negative paths
  // -------------------------------------------------------------------------

  describe('negative paths', () => {
    let client;
    before(async () => {
      client = await newClient();
    });

    /** GET /authorize with `params` (no redirects followed), as a fresh browser. */
    const authorizeRaw = (params) => new HeadlessAgent().request(authorizeUrl(publicUrl, params));

    const baseParams = () => {
      const { challenge } = pkce();
      return {
        response_type: 'code', client_id: client.client_id, redirect_uri: clientRedirect, state: randomState(),
        code_challenge: challenge, code_challenge_method: 'S256', resource,
      };
    };

    test('missing PKCE: code_challenge absent -> error=invalid_request at the client, no sign-in', async () => {
      const params = { ...baseParams(), code_challenge: undefined, code_challenge_method: undefined };
      const r = await authorizeRaw(params);
      assert.ok(r.status >= 300 && r.status < 400, `a redirect (${r.status})`);
      assertErrorRedirect(r.headers.get('location'), { error: 'invalid_request', state: params.state, redirectUri: clientRedirect, iss: publicUrl }, 'no code_challenge');
      assert.equal(r.headers.getSetCookie().filter((c) => c.startsWith(PENDING_COOKIE)).length, 0, 'no sign-in started');
    });

    test('plain PKCE (or no method, which means plain) -> error=invalid_request', async () => {
      const { verifier } = pkce();
      for (const method of ['plain', undefined]) {
        const params = { ...baseParams(), code_challenge: verifier, code_challenge_method: method };
        const r = await authorizeRaw(params);
        assertErrorRedirect(r.headers.get('location'), { error: 'invalid_request', state: params.state, redirectUri: clientRedirect, iss: publicUrl }, `code_challenge_method=${method}`);
      }
    });

    test('wrong code_verifier -> invalid_grant', async () => {
      const got = await approvedCode(client);
      const res = await tokenRequest(publicUrl, {
        grant_type: 'authorization_code', code: got.code, client_id: client.client_id, redirect_uri: clientRedirect, code_verifier: pkce().verifier, resource,
      });
      assertTokenError(res, 'invalid_grant', 'another verifier');
      const none = await approvedCode(client);
      assertTokenError(
        await tokenRequest(publicUrl, { grant_type: 'authorization_code', code: none.code, client_id: client.client_id, redirect_uri: clientRedirect }),
        'invalid_grant',
        'no verifier',
      );
    });

    test('redirect_uri not registered -> an error page (400), never a redirect', async () => {
      for (const redirectUri of ['https://attacker.example/callback', 'http://127.0.0.1:9/elsewhere', `${clientRedirect}?x=1`]) {
        const r = await authorizeRaw({ ...baseParams(), redirect_uri: redirectUri });
        const body = await assertErrorPage(r, `redirect_uri ${redirectUri}`);
        assert.match(pageText(body), /did not register|not registered|redirect/i, pageText(body));
      }
    });

    test('code reuse -> invalid_grant, and the tokens of the first redemption are revoked', async () => {
      const got = await approvedCode(client);
      const tokens = await redeem(client, got);
      const second = await tokenRequest(publicUrl, {
        grant_type: 'authorization_code', code: got.code, client_id: client.client_id, redirect_uri: clientRedirect, code_verifier: got.req.verifier, resource,
      });
      assertTokenError(second, 'invalid_grant', 'the code a second time');
      assertTokenError(await refreshGrant(publicUrl, client.client_id, tokens.refresh_token), 'invalid_grant', "the first redemption's refresh token");
      assert.equal((await mcpWith(publicUrl, tokens.access_token)).status, 401, "the first redemption's access token");
    });

    test('refresh token reuse -> invalid_grant, and the family is revoked', async () => {
      const tokens = await redeem(client, await approvedCode(client));
      const rotated = await refreshGrant(publicUrl, client.client_id, tokens.refresh_token, { resource });
      assert.equal(rotated.status, 200, rotated.text);
      assert.notEqual(rotated.json.refresh_token, tokens.refresh_token, 'rotated');
      assertTokenError(await refreshGrant(publicUrl, client.client_id, tokens.refresh_token), 'invalid_grant', 'the rotated-out token');
      assertTokenError(await refreshGrant(publicUrl, client.client_id, rotated.json.refresh_token), 'invalid_grant', 'its successor after the reuse');
      assert.equal((await mcpWith(publicUrl, rotated.json.access_token)).status, 401, "the revoked family's newest access token");
    });

    test('a refresh token of another client -> invalid_grant (and it keeps working for its own)', async () => {
      const tokens = await redeem(client, await approvedCode(client));
      const other = await newClient('thief');
      assertTokenError(await refreshGrant(publicUrl, other.client_id, tokens.refresh_token), 'invalid_grant', 'presented by another client');
      const own = await refreshGrant(publicUrl, client.client_id, tokens.refresh_token);
      assert.equal(own.status, 200, own.text);
    });

    test('a client that authenticates at /token -> 401 invalid_client with WWW-Authenticate (RFC 6749 §5.2)', async () => {
      const tokens = await redeem(client, await approvedCode(client));
      const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:secret`).toString('base64')}`;
      const res = await tokenRequest(publicUrl, { grant_type: 'refresh_token', client_id: client.client_id, refresh_token: tokens.refresh_token }, { authorization: basic });
      assertTokenError(res, 'invalid_client', 'Authorization: Basic at /token');
      // §5.2: "If the client attempted to authenticate via the Authorization request header
      // field, the authorization server MUST respond with an HTTP 401 (Unauthorized) status code
      // and include the WWW-Authenticate response header field matching the authentication scheme used".
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic\b/i, 'WWW-Authenticate: Basic on the 401');
    });

    test('wrong resource -> error=invalid_target (authorize) and invalid_target (token)', async () => {
      const params = { ...baseParams(), resource: 'http://other/mcp' };
      const r = await authorizeRaw(params);
      assertErrorRedirect(r.headers.get('location'), { error: 'invalid_target', state: params.state, redirectUri: clientRedirect, iss: publicUrl }, 'resource of another server');
      const tokens = await redeem(client, await approvedCode(client));
      const res = await refreshGrant(publicUrl, client.client_id, tokens.refresh_token, { resource: 'http://other/mcp' });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error, 'invalid_target', res.text);
    });

    test('unknown client_id -> an error page, never a redirect', async () => {
      const r = await authorizeRaw({ ...baseParams(), client_id: 'dcr_no-such-client' });
      const body = await assertErrorPage(r, 'unknown client');
      assert.match(pageText(body), /not registered/i);
      const none = await authorizeRaw({ ...baseParams(), client_id: undefined });
      await assertErrorPage(none, 'no client_id');
    });

    test('CSRF on consent: without the csrf field, without the cookie, a wrong one, another site -> 403', async () => {
      // bob: admitted by the policy, never approved this client.
      const agent = new HeadlessAgent({ login: 'bob' });
      const req = authorizationRequest(publicUrl, client);
      const stopped = await agent.authorize(req.url, { redirectUri: req.redirectUri, decision: null });
      assert.ok(stopped.consent, `stopped at our consent page: ${JSON.stringify(stopped.page ?? {})}`);
      const { url: consentUrl, form } = stopped.consent;
      assert.equal(form.action, '/oauth/consent');
      assert.equal(form.method, 'post');
      const csrf = form.hidden.csrf;
      assert.ok(csrf, 'a hidden csrf field');
      assert.equal(agent.jar.find(PENDING_COOKIE).length, 1, 'the pending-authorization cookie');

      const refused = async (r, where) => {
        const body = await assertErrorPage(r, where, 403);
        assert.equal(r.headers.get('location'), null);
        return body;
      };
      await refused(await agent.submit(consentUrl, form.action, { decision: 'approve' }), 'no csrf field');
      await refused(await agent.submit(consentUrl, form.action, { csrf: `${csrf.slice(0, -4)}AAAA`, decision: 'approve' }), 'a wrong csrf value');
      await refused(await new HeadlessAgent().submit(consentUrl, form.action, { csrf, decision: 'approve' }), 'no cookie');
      await refused(
        await agent.submit(consentUrl, form.action, { csrf, decision: 'approve' }, { headers: { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' } }),
        'from another site',
      );
      // Control: the refusals left the sign-in intact; the genuine form works.
      const ok = await agent.submit(consentUrl, form.action, { csrf, decision: 'approve' });
      assert.ok(ok.status >= 300 && ok.status < 400, `the genuine decision redirects (${ok.status})`);
      const back = new URL(ok.headers.get('location'));
      assert.equal(back.origin + back.pathname, clientRedirect);
      assert.ok(back.searchParams.get('code'));
      assert.equal(back.searchParams.get('state'), req.state);
    });

    test('consent denied -> error=access_denied at the client, and nothing is remembered', async () => {
      const denier = await newClient('denied client');
      const req = authorizationRequest(publicUrl, denier);
      const result = await new HeadlessAgent({ login: 'alice' }).authorize(req.url, { redirectUri: req.redirectUri, decision: 'deny' });
      assert.equal(result.consentShown, true);
      assertErrorRedirect(result.redirect?.href, { error: 'access_denied', state: req.state, redirectUri: clientRedirect, iss: publicUrl }, 'Deny');
      const again = await approvedCode(denier, { login: 'alice' });
      assert.equal(again.result.consentShown, true, 'after a denial the person is asked again');
    });

    test('a person the policy does not admit -> error=access_denied, no consent page', async () => {
      const req = authorizationRequest(publicUrl, client);
      const result = await new HeadlessAgent({ login: 'mallory' }).authorize(req.url, { redirectUri: req.redirectUri });
      assert.equal(result.consentShown, false);
      assertErrorRedirect(result.redirect?.href, { error: 'access_denied', state: req.state, redirectUri: clientRedirect, iss: publicUrl }, 'mallory');
    });

    test('DCR: an http redirect URI on a non-loopback host -> 400 invalid_redirect_uri', async () => {
      const r = await register(publicUrl, { client_name: 'plain http', redirect_uris: ['http://app.example/callback'], token_endpoint_auth_method: 'none' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_redirect_uri');
      for (const uri of ['javascript:alert(1)', 'https://app.example/cb#frag', '/relative']) {
        const bad = await register(publicUrl, { redirect_uris: [uri] });
        assert.equal(bad.status, 400, `${uri}: ${bad.text}`);
        assert.equal(bad.json.error, 'invalid_redirect_uri', uri);
      }
    });

    test('DCR: token_endpoint_auth_method client_secret_basic -> 400 (public clients only)', async () => {
      const r = await register(publicUrl, { client_name: 'confidential', redirect_uris: [clientRedirect], token_endpoint_auth_method: 'client_secret_basic' });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error, 'invalid_client_metadata');
      assert.equal(r.json.client_id, undefined);
    });

    test('malformed requests get the RFC error shapes, not plain text: JSON at /token, a repeated parameter at /authorize', async () => {
      const json = await fetch(`${publicUrl}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'authorization_code', client_id: client.client_id }),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(json.status, 400);
      assert.match(json.headers.get('content-type') ?? '', /application\/json/);
      assert.equal((await json.json()).error, 'invalid_request');
      const params = new URLSearchParams(baseParams());
      params.append('client_id', client.client_id);
      const repeated = await new HeadlessAgent().request(`${publicUrl}/authorize?${params}`);
      const body = await assertErrorPage(repeated, 'client_id twice');
      assert.match(pageText(body), /malformed/i, pageText(body));
    });
  });

  test('after the 401 to an unauthenticated POST /mcp the connection stays usable, or the server says Connection: close', async () => {
    // An OAuth client's next step after the 401 (protected resource metadata) goes out on the
    // same keep-alive connection. A server that closes it must say so (RFC 9112 §9.6: "A
    // sender SHOULD send a Connection header field ... containing the 'close' connection option
    // when it intends to close a connection"), or clients that do not retry (the Python SDK's
    // httpx) fail with "Server disconnected without sending a response".
    const { port } = new URL(publicUrl);
    const body = JSON.stringify(initializeBody(1));
    const head =
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const outcome = await new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let data = '';
      let closed = false;
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => (closed = true));
      socket.on('error', reject);
      // Headers first, the body a moment later (a client on a slow link, or one that writes
      // them separately as httpx does, and loses the race): the guard answers 401 from the
      // headers alone, before the body is there. (Sent in one segment, the body happens to be
      // buffered already and is drained, and the connection survives.)
      socket.write(head);
      setTimeout(() => socket.write(body), 100);
      // The whole 401 is back within this time; then see whether the connection still is.
      setTimeout(() => {
        const firstResponse = data;
        if (!closed) socket.write(`GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
        setTimeout(() => {
          socket.destroy();
          resolve({ firstResponse, closedAfter401: closed, all: data });
        }, 500);
      }, 500);
    });
    assert.match(outcome.firstResponse, /^HTTP\/1\.1 401 /);
    const announced = /\r\nconnection:[^\r]*\bclose\b/i.test(outcome.firstResponse.split('\r\n\r\n')[0]);
    if (!announced) {
      assert.equal(
        outcome.closedAfter401,
        false,
        'SERVER BUG: the server closed the connection after the 401 without "Connection: close" ' +
          `(the refused request's body is dropped unread): ${JSON.stringify(outcome.firstResponse.split('\r\n\r\n')[0])}`,
      );
      assert.equal((outcome.all.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, 2, 'the second request on the connection is answered');
    }
  });

  // -------------------------------------------------------------------------
  // 4. The Docker MCP Gateway's discovery, replayed
  // -------------------------------------------------------------------------

  test("Docker MCP Gateway's discovery and registration steps, replayed", async () => {
    // (docker/mcp-gateway-oauth-helpers discovery.go) POST initialize, expect 401 + challenge.
    const challenge = await mcpPost(resource, { body: initializeBody(1) });
    assert.equal(challenge.status, 401);
    const parsed = parseChallenge(challenge.headers['www-authenticate']);
    assert.equal(parsed?.scheme, 'Bearer');
    assert.equal(parsed.params.resource_metadata, `${publicUrl}/.well-known/oauth-protected-resource/mcp`);

    // PRM at the root (the gateway's only fallback) and path-inserted.
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const r = await fetch(`${publicUrl}${path}`);
      assert.equal(r.status, 200, path);
      const prm = await r.json();
      assert.equal(prm.resource, resource, `${path}: resource`);
      assert.deepEqual(prm.authorization_servers, [publicUrl], `${path}: we are the authorization server`);
    }

    // RFC 8414 metadata by path appending: <AS>/.well-known/oauth-authorization-server (no OIDC fallback).
    const as = publicUrl;
    const r = await fetch(`${as}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 200);
    const meta = await r.json();
    assert.equal(meta.issuer, as);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint']) assert.ok(meta[k]?.startsWith(as), `${k}: ${meta[k]}`);
    assert.ok(meta.code_challenge_methods_supported.includes('S256'));
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256'], 'S256 only');
    assert.ok(meta.token_endpoint_auth_methods_supported.includes('none'));
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    assert.equal(meta.revocation_endpoint, `${as}/revoke`);
    assert.equal(meta.jwks_uri, `${as}/oauth/jwks.json`);
    // The OIDC discovery alias serves the same document.
    assert.deepEqual(await (await fetch(`${as}/.well-known/openid-configuration`)).json(), meta);

    // DCR as the gateway does it: public client, Desktop redirect, and CE mode's loopback one.
    const gateway = {};
    for (const [mode, uri] of [['desktop', 'https://mcp.docker.com/oauth/callback'], ['ce', 'http://127.0.0.1:5000/callback']]) {
      const reg = await register(publicUrl, {
        client_name: 'MCP Gateway', redirect_uris: [uri], grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'], token_endpoint_auth_method: 'none',
      });
      assert.equal(reg.status, 201, `${mode}: ${reg.text}`);
      assert.deepEqual(reg.json.redirect_uris, [uri]);
      assert.equal(reg.json.token_endpoint_auth_method, 'none');
      assert.match(reg.headers.get('cache-control') ?? '', /no-store/);
      gateway[mode] = reg.json;
    }

    // And the CE-mode client completes a grant: scope from the challenge plus offline access, resource = PRM resource.
    const got = await approvedCode(gateway.ce, { login: 'alice', scope: `${parsed.params.scope} offline_access` });
    const tokens = await redeem(gateway.ce, got);
    assert.ok(tokens.refresh_token);
    const init = await mcpPost(resource, { token: tokens.access_token, body: initializeBody(1) });
    assert.equal(init.status, 200, init.body);
  });

  // -------------------------------------------------------------------------
  // 5. The consent page in a real browser
  // -------------------------------------------------------------------------

  test('the consent page in Chromium: what it says, labels, keyboard only (Tab to Allow, then Deny; Enter allows)', async () => {
    // The client's redirect URI: a loopback listener, as a native MCP client runs one.
    const callbacks = [];
    const listener = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname === '/callback') callbacks.push(url); // (not the browser's /favicon.ico)
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>done</title><p>You can close this window.</p>');
    });
    await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const redirectUri = `http://127.0.0.1:${listener.address().port}/callback`;
    try {
      const client = await registerPublicClient(publicUrl, { redirectUris: [redirectUri], name: 'Consent Screenshot App' });
      const req = authorizationRequest(publicUrl, client, { scope: 'zebrunner:read zebrunner:write' });
      browser = await launchBrowser();
      const page = await browser.context.newPage();
      page.setDefaultTimeout(30_000);
      const consoleMessages = [];
      page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));

      await page.goto(req.url.href);
      assert.ok(page.url().startsWith(broker.okta.origin), `at Okta's login: ${page.url()}`);
      await page.locator('input[name=login]').fill('alice');
      await page.locator('input[name=password]').fill('any-password');
      const consentResponse = page.waitForResponse((r) => new URL(r.url()).pathname === '/oauth/callback');
      await navigation(page, () => page.locator('button[type=submit]').click());
      // The stand-in's own consent (oidc-provider asks once per client and person).
      if (page.url().startsWith(broker.okta.origin)) await navigation(page, () => page.locator('button[type=submit]').click());
      const response = await consentResponse;
      assert.equal(new URL(page.url()).origin, publicUrl, `back at our consent page: ${page.url()}`);
      await page.waitForSelector('#consent-form');
      assert.equal(response.status(), 200);
      const headers = response.headers();
      assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, 'never framed');
      assert.match(headers['cache-control'] ?? '', /no-store/);
      await screenshot(page, 'broker-consent');

      // What the person is told: the client's (self-declared) name, where they return to, the scopes.
      const text = (s) => page.locator(s).first().innerText();
      assert.equal((await text('#client-name')).trim(), 'Consent Screenshot App');
      assert.match(await text('h1'), /Consent Screenshot App/);
      assert.equal((await text('#redirect-host')).trim(), '127.0.0.1');
      const scopes = await text('#scopes');
      assert.match(scopes, /zebrunner:read/);
      assert.match(scopes, /zebrunner:write/);
      assert.match(await text('#who'), new RegExp(USERS.alice.email.replace('.', '\\.')));
      assert.match(await page.content(), new RegExp(client.client_id), 'the client id is shown');

      // Every control has a name; Tab reaches Allow, then Deny.
      assert.deepEqual(await unlabelledControls(page), [], 'controls without an accessible name');
      const order = await tabOrder(page);
      const allow = order.findIndex((d) => d.form === 'consent-form' && d.name === 'decision' && /^Allow$/.test(d.label ?? ''));
      const deny = order.findIndex((d) => d.form === 'consent-form' && d.name === 'decision' && /^Deny$/.test(d.label ?? ''));
      assert.ok(allow >= 0 && deny >= 0, `Allow and Deny are reachable with Tab: ${JSON.stringify(order)}`);
      assert.ok(allow < deny, `Allow comes before Deny: ${JSON.stringify(order)}`);
      assert.equal(deny, allow + 1, 'Deny right after Allow');

      // Enter on Allow completes: the browser lands at the client's redirect URI with code, state, iss.
      await tabTo(page, '#consent-form button[value=approve]');
      await page.keyboard.press('Enter');
      for (let i = 0; i < 100 && callbacks.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      // KNOWN SERVER BUG (reported, not worked around): the consent page's CSP has
      // `form-action 'self'`, and browsers apply form-action to the redirects that follow a form
      // submission too, so Chromium refuses the 303 from POST /oauth/consent to the client's
      // redirect URI (another origin): Allow and Deny never reach the client, and the code the
      // server issued is wasted. The consent page's CSP must allow the redirect URI's origin
      // (or scheme) in form-action.
      const blocked = consoleMessages.find((m) => /form-action/.test(m));
      assert.equal(
        blocked,
        undefined,
        `SERVER BUG: the browser blocked the redirect to the client after Allow (CSP form-action 'self' on the consent page): ${blocked}`,
      );
      assert.equal(callbacks.length, 1, `the browser reached the client's redirect URI (now at ${page.url()}; console: ${JSON.stringify(consoleMessages)})`);
      const back = callbacks[0];
      assert.ok(back.searchParams.get('code'), String(back));
      assert.equal(back.searchParams.get('state'), req.state);
      assert.equal(back.searchParams.get('iss'), publicUrl);
      await screenshot(page, 'broker-consent-done');
      const tokens = await redeem(client, { code: back.searchParams.get('code'), req });
      assert.deepEqual(tokens.scope.split(' ').sort(), ['zebrunner:read', 'zebrunner:write']);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
