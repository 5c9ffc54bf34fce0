// A table-driven battery of bad tokens and bad Authorization headers sent
// over HTTP to /mcp of a server with identity `oidc`: each must be refused
// with the right status and `WWW-Authenticate` challenge, and the server must
// stay healthy. Controls (validly minted tokens, leeway edges) must pass, so
// a refusal is attributable to the one thing each bad token gets wrong.
// Okta's own verifier (@okta/jwt-verifier) is a cross-check oracle: our
// server must never accept a token that Okta's verifier rejects.
// Also: JWKS caching, and the unknown-`kid` refetch rate limit.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OktaJwtVerifier from '@okta/jwt-verifier';
import { buildBattery, buildControls, mint, signRaw, userClaims } from '../lib/bad-tokens.mjs';
import { freePort, leakedSecrets, mcpPost, parseChallenge, startOidcServer, tempDir } from '../lib/identity.mjs';
import { CLIENTS, newRsaKey, startOkta } from '../lib/okta.mjs';
import { rawRequest } from '../lib/raw.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const OTHER_RESOURCE = 'http://127.0.0.1:9/other-mcp';

describe('identity oidc: bad-token battery', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let resource;
  let prmUrl;
  let real;
  let oktaVerifier;
  const serverVerdicts = new Map(); // token -> accepted?

  before(async () => {
    sandbox = await startSandbox();
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    okta = await startOkta({ resource, otherResources: [OTHER_RESOURCE], jwksMaxAge: 300 });
    const alice = await okta.authorizationCode({ login: 'alice' });
    real = {
      alice: alice.access_token,
      idToken: alice.id_token,
      otherAudience: (await okta.authorizationCode({ login: 'alice', resource: OTHER_RESOURCE })).access_token,
      batchClientCredentials: (await okta.clientCredentials({ client: CLIENTS.batch })).access_token,
      otherClient: (await okta.authorizationCode({ login: 'alice', client: CLIENTS.other })).access_token,
    };
    data = tempDir();
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir,
      env: {
        ZMCP_OIDC_SERVICE_CLIENTS: CLIENTS.svc.id,
        ZMCP_OIDC_ALLOWED_CLIENT_IDS: [CLIENTS.web.id, CLIENTS.svc.id, CLIENTS.batch.id].join(','),
      },
    });
    prmUrl = `${server.publicUrl}/.well-known/oauth-protected-resource/mcp`;
    oktaVerifier = new OktaJwtVerifier({ issuer: okta.issuer, testing: { disableHttpsCheck: true } });
  });

  after(async () => {
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  const initialize = (authorization, query) => {
    const url = query ? `${server.url}?${query}` : server.url;
    return mcpPost(url, authorization === undefined ? {} : { authorization });
  };

  async function oktaAccepts(token) {
    // njwt (inside @okta/jwt-verifier 4.0.2) throws an UNCAUGHT TypeError on a
    // token with an empty signature segment; only hand it well-formed JWS.
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return false;
    try {
      await oktaVerifier.verifyAccessToken(token, resource);
      return true;
    } catch {
      return false;
    }
  }

  test('the JWKS is fetched once and cached across requests', async () => {
    const before = okta.hits.get('/v1/keys') ?? 0;
    for (let i = 0; i < 15; i++) {
      const res = await initialize(`Bearer ${mint(okta, userClaims(okta, 'alice'))}`);
      assert.equal(res.status, 200, res.body);
    }
    const fetched = (okta.hits.get('/v1/keys') ?? 0) - before;
    assert.ok(fetched <= 1, `15 requests with a known kid fetched the JWKS ${fetched} times`);
    assert.ok((okta.hits.get('/v1/keys') ?? 0) >= 1, 'the server fetched the IdP\'s keys at {issuer}/v1/keys (jwks_uri from discovery)');
  });

  test('controls: validly signed tokens and leeway edges are accepted (and by Okta\'s verifier)', async (t) => {
    for (const c of buildControls(okta, real)) {
      await t.test(c.name, async () => {
        const res = await initialize(c.authorization ?? `Bearer ${c.bearer}`);
        // Okta's JS verifier has no clock leeway: leave the leeway edges out of the cross-check.
        if (!c.leeway) serverVerdicts.set(c.bearer, { name: c.name, accepted: res.status === 200 });
        assert.equal(res.status, 200, `${c.name}: ${res.status} ${res.headers['www-authenticate'] ?? ''} ${res.body.slice(0, 300)}`);
        if (!c.authorization && !c.leeway) {
          assert.ok(await oktaAccepts(c.bearer), `Okta's verifier also accepts: ${c.name}`);
        }
      });
    }
  });

  test('battery: every bad token / header is refused with the right status and challenge', async (t) => {
    const rows = await buildBattery(okta, real);
    const tokenRows = rows.filter((r) => r.bearer).length;
    assert.ok(tokenRows >= 30, `at least 30 bad tokens (have ${tokenRows})`);
    for (const row of rows) {
      await t.test(row.name, async () => {
        const res = await initialize(row.authorization, row.query);
        if (row.bearer) serverVerdicts.set(row.bearer, { name: row.name, accepted: res.status === 200 });
        const header = res.headers['www-authenticate'];
        const where = `${row.name}: HTTP ${res.status}, WWW-Authenticate ${header ?? '(none)'}, body ${res.body.slice(0, 200)}`;
        assert.ok(row.expect.status.includes(res.status), `expected ${row.expect.status.join('/')}; ${where}`);
        if (res.status === 401 || res.status === 400) {
          const ch = parseChallenge(header);
          assert.ok(ch && ch.scheme.toLowerCase() === 'bearer', `a Bearer challenge; ${where}`);
          assert.equal(ch.params.resource_metadata, prmUrl, `resource_metadata; ${where}`);
          if (row.expect.error === null) assert.equal(ch.params.error, undefined, `no error code; ${where}`);
          else if (row.expect.error) assert.equal(ch.params.error, row.expect.error, `error code; ${where}`);
          else if (ch.params.error) assert.ok(['invalid_token', 'invalid_request'].includes(ch.params.error), where);
          if (res.status === 400 && ch.params.error) assert.equal(ch.params.error, 'invalid_request', where);
        }
        if (res.status !== 200) assert.equal(res.headers['mcp-session-id'], undefined, `no session for a refused request; ${where}`);
        if (row.bearer && row.bearer.length > 30) {
          assert.deepEqual(leakedSecrets(`${header ?? ''} ${res.body}`, [row.bearer]), [], 'the token is not echoed back');
        }
      });
    }
    const health = await rawRequest(`${server.origin}/healthz`);
    assert.equal(health.status, 200, 'healthy after the battery');
    assert.ok(server.alive, 'server process still running');
    assert.doesNotMatch(server.stderr, /panicked at/, 'no panic in the server log');
    const ok = await initialize(`Bearer ${real.alice}`);
    assert.equal(ok.status, 200, 'a good token still works after the battery');
  });

  test('cross-check with @okta/jwt-verifier: nothing our server accepts is rejected by Okta\'s verifier', async () => {
    const disagreements = [];
    const oktaLenient = [];
    for (const [token, { name, accepted }] of serverVerdicts) {
      const okt = await oktaAccepts(token);
      if (accepted && !okt) disagreements.push(name);
      if (!accepted && okt) oktaLenient.push(name);
    }
    if (oktaLenient.length) process.stderr.write(`note: Okta's verifier accepts ${oktaLenient.length} tokens our server refuses: ${oktaLenient.join('; ')}\n`);
    assert.ok(serverVerdicts.size >= 35, 'the cross-check saw the controls and the battery');
    assert.deepEqual(disagreements, [], 'tokens our server accepted but Okta\'s verifier refused');
  });

  test('unknown-kid floods refetch the JWKS at most 10 times a minute, and good tokens keep working', async () => {
    const before = okta.hits.get('/v1/keys') ?? 0;
    for (let i = 0; i < 25; i++) {
      const k = await newRsaKey(`flood-${i}`);
      const res = await initialize(`Bearer ${signRaw({ alg: 'RS256', typ: 'at+jwt', kid: k.kid }, userClaims(okta, 'alice'), k)}`);
      assert.equal(res.status, 401, `unknown kid #${i}`);
    }
    const fetched = (okta.hits.get('/v1/keys') ?? 0) - before;
    assert.ok(fetched <= 10, `25 unknown kids caused ${fetched} JWKS fetches (limit 10 a minute)`);
    const ok = await initialize(`Bearer ${mint(okta, userClaims(okta, 'alice'))}`);
    assert.equal(ok.status, 200, 'a token with the known kid is still accepted during the flood');
  });
});
