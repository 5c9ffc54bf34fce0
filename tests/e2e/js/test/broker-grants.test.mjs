// Identity `broker`: the grants of the operator's confidential clients at /token, with real
// peers: the Okta stand-in (oidc-provider) for people's access tokens, an enterprise identity
// provider whose ID-JAGs are signed with `jose` (Okta Cross App Access in miniature), the
// TypeScript SDK as the MCP client, and the sandbox as Zebrunner.
//
//   1. metadata names the grants, the client authentication methods and the ID-JAG profile
//   2. client_credentials: a CI pipeline's own token (no refresh token), seen as client:<id>;
//      wrong secret, a public client, an unknown scope are refused
//   3. token exchange (RFC 8693): a person's Okta access token (or one of ours) for a
//      short-lived Zebrunner bearer from the vault that Zebrunner itself accepts; the
//      long-lived API token only for the client allowed it; no vault record, wrong types,
//      wrong resource refused; every exchange in the audit log, no token in it
//   4. enterprise-managed authorization: an ID-JAG for a person gives an access token with no
//      refresh token that calls tools as that person; replayed jti, wrong typ, aud,
//      client_id, resource, lifetime, and an untrusted issuer are refused; an administrator's
//      revocation stops the token at once
//   5. `zebrunner-mcp oauth client-secret`

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startBroker, tokenRequest } from '../lib/broker.mjs';
import { POLICY_TOML, freePort, leakedSecrets, runCli } from '../lib/identity.mjs';
import { projectKeysWithBearer } from '../lib/mcp.mjs';
import { USERS, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const API_TOKEN_TYPE = 'urn:zebrunner:params:oauth:token-type:api-token';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const secret = () => randomBytes(32).toString('base64url');
const CLIENTS = {
  ci: { id: 'ci-bot', secret: secret() },
  exchanger: { id: 'exchanger', secret: secret() },
  personal: { id: 'exchanger-personal', secret: secret() },
  ema: { id: 'claude-ema', secret: secret() },
};
const basic = (c, password = c.secret) =>
  'Basic ' + Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(password)}`).toString('base64');

/** An enterprise identity provider: discovery, JWKS, and ID-JAGs it signs. */
async function startEnterpriseIdp() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, issuer).pathname;
    if (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ issuer, jwks_uri: `${issuer}/keys`, token_endpoint: `${issuer}/token`, authorization_endpoint: `${issuer}/authorize` }),
      );
    } else if (path === '/keys') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    /** An ID-JAG; `claims` and `header` override the defaults. */
    async idJag({ audience, resource, clientId, user = USERS.alice, claims = {}, header = {}, key = privateKey }) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: issuer, sub: user.uid, uid: user.uid, email: user.email, aud: audience, resource, client_id: clientId,
        jti: randomBytes(12).toString('hex'), iat: now, exp: now + 300, scope: 'zebrunner:read', groups: user.groups,
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'oauth-id-jag+jwt', ...header })
        .sign(key);
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('broker: the grants of confidential clients', () => {
  let sandbox;
  let broker;
  let idp;
  let publicUrl;

  before(async () => {
    sandbox = await startSandbox();
    idp = await startEnterpriseIdp();
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    const okta = await startOkta({ resource: `${publicUrl}/mcp`, connectRedirectUri: [`${publicUrl}/oauth/callback`] });
    const config = `${POLICY_TOML}
[oauth]
id_jag_issuers = ["${idp.issuer}"]

[[oauth.confidential_clients]]
client_id = "${CLIENTS.ci.id}"
client_name = "CI pipeline"
secret_sha256 = "${sha256(CLIENTS.ci.secret)}"
grants = ["client_credentials"]
groups = ["qa"]

[[oauth.confidential_clients]]
client_id = "${CLIENTS.exchanger.id}"
client_name = "Report service"
secret_sha256 = "${sha256(CLIENTS.exchanger.secret)}"
grants = ["token_exchange"]

[[oauth.confidential_clients]]
client_id = "${CLIENTS.personal.id}"
client_name = "Migration tool"
secret_sha256 = "${sha256(CLIENTS.personal.secret)}"
grants = ["token_exchange"]
personal_api_token = true

[[oauth.confidential_clients]]
client_id = "${CLIENTS.ema.id}"
client_name = "Claude (enterprise)"
secret_sha256 = "${sha256(CLIENTS.ema.secret)}"
grants = ["jwt_bearer"]

[zebrunner.logins]
"uid:${USERS.alice.uid}" = "${sandbox.users.alice.login}"
"client:${CLIENTS.ci.id}" = "${sandbox.users.bob.login}"
`;
    broker = await startBroker({ sandbox, okta, port, config, env: { ZMCP_CREDENTIALS: 'vault' } });
    // Alice and the CI pipeline have Zebrunner credentials in the vault; Bob has none.
    for (const [user, account] of [[`uid:${USERS.alice.uid}`, sandbox.users.alice], [`client:${CLIENTS.ci.id}`, sandbox.users.bob]]) {
      const file = join(broker.dataDir, 'token.txt');
      writeFileSync(file, `${account.token}\n`, { mode: 0o600 });
      const put = await runCli(['vault', 'put', '--user', user, '--login', account.login, '--token-file', file], broker.server.env);
      writeFileSync(file, 'removed');
      assert.equal(put.code, 0, put.stderr);
    }
  });

  after(async () => {
    await broker?.stop();
    await broker?.okta.stop();
    await idp?.stop();
    await sandbox?.stop();
  });

  const projectKeys = (token) => projectKeysWithBearer(`${publicUrl}/mcp`, token, 'broker-grants-e2e');

  const visible = (user) => [...user.projects].filter((k) => k !== 'OLD').sort();

  /** The audit records the server printed (stdout sink) for one grant. */
  function grantRecords(grant) {
    return broker.server.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((r) => r.error_class === `oauth.${grant}`);
  }

  test('metadata names the grants, the client authentication and the ID-JAG profile', async () => {
    const meta = await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)).json();
    for (const g of ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE, JWT_BEARER]) {
      assert.ok(meta.grant_types_supported.includes(g), g);
    }
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post']);
    assert.deepEqual(meta.authorization_grant_profiles_supported, ['urn:ietf:params:oauth:grant-profile:id-jag']);
  });

  test('client_credentials: the pipeline acts as client:ci-bot, with no refresh token', async () => {
    const res = await tokenRequest(publicUrl, { grant_type: 'client_credentials' }, { authorization: basic(CLIENTS.ci) });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.scope, 'zebrunner:read');
    assert.equal(res.json.refresh_token, undefined);
    assert.deepEqual(await projectKeys(res.json.access_token), visible(sandbox.users.bob));
    const search = await runCli(['audit', 'search', '--json', '--limit', '50'], broker.server.env);
    assert.ok(search.stdout.includes(`"user_key":"client:${CLIENTS.ci.id}"`), search.stdout);
    // client_secret_post works too.
    const post = await tokenRequest(publicUrl, { grant_type: 'client_credentials', client_id: CLIENTS.ci.id, client_secret: CLIENTS.ci.secret });
    assert.equal(post.status, 200, post.text);
  });

  test('client_credentials refusals', async () => {
    const wrong = await tokenRequest(publicUrl, { grant_type: 'client_credentials' }, { authorization: basic(CLIENTS.ci, 'not-the-secret') });
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal(wrong.json.error, 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    const silent = await tokenRequest(publicUrl, { grant_type: 'client_credentials', client_id: CLIENTS.ci.id });
    assert.equal(silent.status, 401, 'a confidential client must authenticate');
    const both = await tokenRequest(publicUrl, { grant_type: 'client_credentials', client_secret: CLIENTS.ci.secret }, { authorization: basic(CLIENTS.ci) });
    assert.equal(both.json.error, 'invalid_request', 'two authentication methods');
    const otherGrant = await tokenRequest(publicUrl, { grant_type: 'client_credentials' }, { authorization: basic(CLIENTS.exchanger) });
    assert.equal(otherGrant.json.error, 'unauthorized_client', otherGrant.text);
    const publicClient = await tokenRequest(publicUrl, { grant_type: 'client_credentials', client_id: 'some-public-client' });
    assert.equal(publicClient.json.error, 'unauthorized_client', publicClient.text);
    const scope = await tokenRequest(publicUrl, { grant_type: 'client_credentials', scope: 'zebrunner:write' }, { authorization: basic(CLIENTS.ci) });
    assert.equal(scope.json.error, 'invalid_scope', scope.text);
    assert.match(scope.json.error_description, /zebrunner:read/);
    const unknown = await tokenRequest(publicUrl, { grant_type: 'password' }, { authorization: basic(CLIENTS.ci) });
    assert.equal(unknown.json.error, 'unsupported_grant_type');
  });

  async function exchange(client, subject, extra = {}) {
    return tokenRequest(
      publicUrl,
      { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, ...extra },
      { authorization: basic(client) },
    );
  }

  test('token exchange: an Okta access token for a short-lived Zebrunner bearer that Zebrunner accepts', async () => {
    const okta = (await broker.okta.authorizationCode({ login: 'alice' })).access_token;
    const res = await exchange(CLIENTS.exchanger, okta, { resource: sandbox.url });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.zebrunner_login, sandbox.users.alice.login);
    assert.ok(res.json.expires_in > 0 && res.json.expires_in <= 3600, `expires_in ${res.json.expires_in}`);
    assert.notEqual(res.json.access_token, sandbox.users.alice.token, 'never the long-lived token');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const projects = await fetch(`${sandbox.url}/api/projects/v1/projects`, { headers: { authorization: `Bearer ${res.json.access_token}` } });
    assert.equal(projects.status, 200, 'Zebrunner accepts the bearer');
  });

  test('token exchange: one of our own tokens as the subject', async () => {
    const ours = await tokenRequest(publicUrl, { grant_type: 'client_credentials' }, { authorization: basic(CLIENTS.ci) });
    const res = await exchange(CLIENTS.exchanger, ours.json.access_token);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.zebrunner_login, sandbox.users.bob.login);
  });

  test('token exchange: the long-lived API token only for the client allowed it', async () => {
    const okta = (await broker.okta.authorizationCode({ login: 'alice' })).access_token;
    const refused = await exchange(CLIENTS.exchanger, okta, { requested_token_type: API_TOKEN_TYPE });
    assert.equal(refused.json.error, 'invalid_request', refused.text);
    const allowed = await exchange(CLIENTS.personal, okta, { requested_token_type: API_TOKEN_TYPE });
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.json.issued_token_type, API_TOKEN_TYPE);
    assert.equal(allowed.json.token_type, 'N_A');
    assert.equal(allowed.json.access_token, sandbox.users.alice.token);
  });

  test('token exchange refusals, each audited', async () => {
    const bob = (await broker.okta.authorizationCode({ login: 'bob' })).access_token;
    const none = await exchange(CLIENTS.exchanger, bob);
    assert.equal(none.json.error, 'invalid_grant', none.text);
    assert.match(none.json.error_description, /No Zebrunner account is connected/);
    const alice = (await broker.okta.authorizationCode({ login: 'alice' })).access_token;
    const wrongType = await exchange(CLIENTS.exchanger, alice, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' });
    assert.equal(wrongType.json.error, 'invalid_request');
    assert.match(wrongType.json.error_description, /access_token/);
    const target = await exchange(CLIENTS.exchanger, alice, { resource: 'https://evil.example' });
    assert.equal(target.json.error, 'invalid_target', target.text);
    const forged = await exchange(CLIENTS.exchanger, `${alice.slice(0, -4)}AAAA`);
    assert.equal(forged.json.error, 'invalid_grant', forged.text);
    const actor = await exchange(CLIENTS.exchanger, alice, { actor_token: alice, actor_token_type: ACCESS_TOKEN_TYPE });
    assert.equal(actor.json.error, 'invalid_request', actor.text);
    const notAllowed = await exchange(CLIENTS.ci, alice);
    assert.equal(notAllowed.json.error, 'unauthorized_client', notAllowed.text);

    const records = grantRecords('token_exchange');
    assert.ok(records.filter((r) => r.outcome === 'ok').length >= 3, 'issued exchanges audited');
    const denied = records.filter((r) => r.outcome === 'denied');
    assert.ok(denied.length >= 5, `refusals audited: ${denied.length}`);
    assert.ok(denied.some((r) => r.user_key === `uid:${USERS.bob.uid}` && /No Zebrunner account/.test(r.detail)));
    const leaks = leakedSecrets(broker.server.stdout + broker.server.stderr, [
      sandbox.users.alice.token, sandbox.users.bob.token, alice, bob, ...Object.values(CLIENTS).map((c) => c.secret),
    ]);
    assert.deepEqual(leaks, [], 'no token or secret in the output');
  });

  const jag = (extra = {}) => idp.idJag({ audience: publicUrl, resource: `${publicUrl}/mcp`, clientId: CLIENTS.ema.id, ...extra });
  const bearerGrant = (assertion, client = CLIENTS.ema, extra = {}) =>
    tokenRequest(publicUrl, { grant_type: JWT_BEARER, assertion, ...extra }, client ? { authorization: basic(client) } : {});

  test('enterprise-managed authorization: an ID-JAG signs the person in, with no refresh token', async () => {
    const assertion = await jag();
    const res = await bearerGrant(assertion);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.refresh_token, undefined);
    assert.equal(res.json.scope, 'zebrunner:read');
    assert.deepEqual(await projectKeys(res.json.access_token), visible(sandbox.users.alice));
    const replay = await bearerGrant(assertion);
    assert.equal(replay.json.error, 'invalid_grant', 'a replayed jti');
    assert.match(replay.json.error_description, /already used/);
    // Scopes are the intersection of what was asked and what the assertion names.
    const narrow = await bearerGrant(await jag(), CLIENTS.ema, { scope: 'zebrunner:write' });
    assert.equal(narrow.json.error, 'invalid_scope', narrow.text);
  });

  test('ID-JAG refusals', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      'wrong typ': await jag({ header: { typ: 'JWT' } }),
      'wrong aud': await jag({ audience: 'https://other-as.example' }),
      'wrong client_id': await jag({ clientId: 'cursor' }),
      'wrong resource': await jag({ resource: 'https://other.example/mcp' }),
      'too long-lived': await jag({ claims: { exp: now + 3600 } }),
      expired: await jag({ claims: { iat: now - 900, exp: now - 600 } }),
      'proof of possession': await jag({ claims: { cnf: { jkt: 'x' } } }),
      'untrusted issuer': await jag({ claims: { iss: 'https://evil.example' } }),
      'another key': await jag({ key: (await generateKeyPair('ES256')).privateKey }),
    };
    for (const [name, assertion] of Object.entries(cases)) {
      const res = await bearerGrant(assertion);
      assert.equal(res.status, 400, `${name}: ${res.text}`);
      assert.equal(res.json.error, 'invalid_grant', `${name}: ${res.text}`);
    }
    const publicClient = await bearerGrant(await jag(), null, { client_id: 'some-public-client' });
    assert.equal(publicClient.json.error, 'unauthorized_client', publicClient.text);
    const denied = grantRecords('jwt_bearer').filter((r) => r.outcome === 'denied');
    assert.ok(denied.length >= Object.keys(cases).length, `refusals audited: ${denied.length}`);
  });

  test("an administrator's revocation stops an ID-JAG token at once", async () => {
    const res = await bearerGrant(await jag());
    assert.equal(res.status, 200, res.text);
    const revoke = await runCli(['oauth', 'revoke', '--user', `uid:${USERS.alice.uid}`], broker.server.env);
    assert.equal(revoke.code, 0, revoke.stderr);
    const client = new Client({ name: 'revoked', version: '1' });
    await assert.rejects(
      client.connect(new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${res.json.access_token}` } },
      })),
      /401|Unauthorized|invalid_token/i,
    );
  });

  test('`oauth client-secret` prints a secret and the digest the configuration holds', async () => {
    const out = await runCli(['oauth', 'client-secret', '--client', 'nightly'], broker.server.env);
    assert.equal(out.code, 0, out.stderr);
    const printed = out.stdout.match(/^ {2}([A-Za-z0-9_-]{43})$/m)?.[1];
    assert.ok(printed, out.stdout);
    assert.ok(out.stdout.includes(`secret_sha256 = "${sha256(printed)}"`), out.stdout);
    assert.ok(out.stdout.includes('client_id = "nightly"'), out.stdout);
  });
});
