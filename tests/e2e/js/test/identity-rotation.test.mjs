// Signing-key rotation at the IdP while zebrunner-mcp (identity `oidc`) keeps
// running: a new key is published and used, tokens signed with it are
// accepted (unknown kid -> JWKS refetch), then the old key is retired and
// tokens signed with it are refused once the server's key cache expires
// (the IdP sends Cache-Control max-age=2 on its keys). No server restart.
// Then an IdP outage: cached keys keep serving, and a flood of tokens with
// unknown kids costs at most the allowed JWKS fetches.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, mcpPost, parseChallenge, startOidcServer, tempDir } from '../lib/identity.mjs';
import { signRaw, userClaims } from '../lib/bad-tokens.mjs';
import { CLIENTS, PREFIX, decodeJwt, newRsaKey, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('identity oidc: key rotation and IdP outage without a restart', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let pid;

  before(async () => {
    sandbox = await startSandbox();
    const port = await freePort();
    okta = await startOkta({ resource: `http://127.0.0.1:${port}/mcp`, jwksMaxAge: 2 });
    data = tempDir();
    server = await startOidcServer({
      sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir,
      env: { ZMCP_OIDC_SERVICE_CLIENTS: CLIENTS.svc.id },
    });
    pid = server.child.pid;
  });

  after(async () => {
    okta?.setOutage(false);
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  const status = async (token) => (await mcpPost(server.url, { token })).status;
  const userToken = async (login = 'alice') => (await okta.authorizationCode({ login })).access_token;

  test('rotate: new key accepted, old key retired and then refused, same process throughout', async () => {
    const t1 = await userToken();
    assert.equal(decodeJwt(t1).header.kid, 'okta-key-1');
    assert.equal(await status(t1), 200, 'token signed with key 1');

    await okta.rotate('okta-key-2');
    const t2 = await userToken('bob');
    assert.equal(decodeJwt(t2).header.kid, 'okta-key-2');
    assert.equal(await status(t2), 200, 'token signed with the new key 2 (published after the server cached key 1)');
    assert.equal(await status(t1), 200, 'key 1 is still published: its tokens stay valid');

    okta.retire('okta-key-1');
    assert.deepEqual(okta.jwks().keys.map((k) => k.kid), ['okta-key-2']);
    const deadline = Date.now() + 75_000;
    let last;
    for (;;) {
      const res = await mcpPost(server.url, { token: t1 });
      last = res;
      if (res.status !== 200) break;
      if (Date.now() > deadline) assert.fail('a token signed with the retired key 1 was still accepted 75 s after retirement (JWKS max-age 2 s)');
      await sleep(1_000);
    }
    assert.equal(last.status, 401, `retired key: ${last.status} ${last.body}`);
    assert.equal(parseChallenge(last.headers['www-authenticate'])?.params.error, 'invalid_token');
    assert.equal(await status(t2), 200, 'key 2 tokens still accepted');
    assert.equal(await status(await userToken()), 200, 'fresh tokens accepted');
    assert.equal(server.child.pid, pid);
    assert.ok(server.alive, 'no restart');
  });

  test('IdP outage: cached keys keep serving known-key tokens; unknown kids are refused, not 5xx', async () => {
    const good = await userToken();
    assert.equal(await status(good), 200);
    await okta.rotate('okta-key-3');
    const unknownKid = await userToken();
    okta.setOutage(true);
    try {
      await sleep(3_500); // past the keys' max-age: the server may try to refresh and fail
      assert.equal(await status(good), 200, 'known key still trusted while the issuer is unreachable');
      const res = await mcpPost(server.url, { token: unknownKid });
      assert.equal(res.status, 401, `unknown kid during the outage: ${res.status} ${res.body}`);

      // A flood of well-formed tokens, each naming a kid the server has never seen (signed by
      // a key of the attacker's): every one is refused, and the server's JWKS refetches stay
      // within its limit (10 in any minute, the first fetch at start-up included).
      const forger = await newRsaKey('forged');
      const flood = Array.from({ length: 300 }, (_, i) =>
        signRaw({ alg: 'RS256', typ: 'at+jwt', kid: `forged-${i}` }, userClaims(okta), forger));
      const before = okta.outageHits(`${PREFIX}/v1/keys`);
      for (let i = 0; i < flood.length; i += 50) {
        const statuses = await Promise.all(flood.slice(i, i + 50).map((token) => status(token)));
        assert.deepEqual([...new Set(statuses)], [401], 'every forged-kid token refused');
      }
      const fetches = okta.outageHits(`${PREFIX}/v1/keys`) - before;
      assert.ok(fetches >= 1, 'the flood reached the issuer at least once (the count is of the right path)');
      assert.ok(fetches <= 10, `${fetches} JWKS fetches for 300 unknown kids (limit 10 a minute)`);
      assert.equal(await status(good), 200, 'known key still trusted after the flood');
    } finally {
      okta.setOutage(false);
    }
    const deadline = Date.now() + 75_000;
    while ((await status(unknownKid)) !== 200) {
      if (Date.now() > deadline) assert.fail('after the outage ended, a token with the new key 3 was not accepted within 75 s');
      await sleep(2_000);
    }
    assert.ok(server.alive);
  });
});
