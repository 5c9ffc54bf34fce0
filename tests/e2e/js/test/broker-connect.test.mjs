// Identity `broker` with credentials `vault`: a person who authorizes an application before
// connecting Zebrunner does it inside /authorize, once. After the Okta sign-in they land on the
// connect page (already signed in), paste their token, and the authorization goes on by
// itself (/oauth/resume -> consent -> the application's code); the application's first tool
// call then works as them. The second time, nothing is asked.
//
// With `vault.zebrunner_token_exchange` and a Zebrunner that offers its proposed token
// exchange (the sandbox with --token-exchange-issuer), the page is skipped: the person's
// Okta ID token is exchanged for their Zebrunner token during the sign-in. With the setting
// on but the endpoint absent (Zebrunner today: 404), the page comes as before.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HeadlessAgent, authorizationRequest, pageText, parseForms, registerPublicClient, startBroker, tokenRequest } from '../lib/broker.mjs';
import { POLICY_TOML, freePort, runCli } from '../lib/identity.mjs';
import { projectKeysWithBearer } from '../lib/mcp.mjs';
import { CLIENTS as OKTA_CLIENTS, USERS, oktaUid, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const REDIRECT = 'http://127.0.0.1:53999/callback';

/** Start Okta, the sandbox (optionally with the token exchange) and the broker on one port. */
async function world({ exchange, setting }) {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const okta = await startOkta({ resource: `${publicUrl}/mcp`, connectRedirectUri: [`${publicUrl}/oauth/callback`, `${publicUrl}/connect/callback`] });
  const sandbox = await startSandbox({
    args: exchange ? ['--token-exchange-issuer', okta.issuer, '--token-exchange-audience', OKTA_CLIENTS.connect.id] : [],
  });
  // A directory person whose company e-mail is the sandbox login of Alice (Zebrunner matches
  // people by e-mail), so the default login rule (login = e-mail) lets them connect.
  const zed = { groups: ['qa'], name: 'Zed Example', login: 'zed', email: sandbox.users.alice.login, uid: oktaUid('zed') };
  USERS.zed = zed;
  const config = `${POLICY_TOML}
[zebrunner.logins]
"uid:${USERS.bob.uid}" = "${sandbox.users.bob.login}"
`;
  const broker = await startBroker({
    sandbox, okta, port, config,
    env: { ZMCP_CREDENTIALS: 'vault', ZMCP_VAULT_ZEBRUNNER_TOKEN_EXCHANGE: setting ? 'true' : 'false' },
  });
  return {
    publicUrl, okta, sandbox, broker, zed,
    async stop() {
      await broker.stop();
      await okta.stop();
      await sandbox.stop();
      delete USERS.zed;
    },
  };
}

async function redeem(w, client, req, code) {
  const res = await tokenRequest(w.publicUrl, {
    grant_type: 'authorization_code', code, client_id: client.client_id, redirect_uri: req.redirectUri, code_verifier: req.verifier, resource: `${w.publicUrl}/mcp`,
  });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

const projectKeys = (w, token) => projectKeysWithBearer(`${w.publicUrl}/mcp`, token, 'broker-connect-e2e');

const visible = (user) => [...user.projects].filter((k) => k !== 'OLD').sort();

describe('broker + vault: the connect step inside /authorize', () => {
  let w;
  before(async () => {
    w = await world({ exchange: false, setting: true });
  });
  after(async () => w?.stop());

  test('a person without a stored token connects once, inside the authorization', async () => {
    const client = await registerPublicClient(w.publicUrl, { redirectUris: [REDIRECT] });
    const agent = new HeadlessAgent({ login: 'bob' });
    const req = authorizationRequest(w.publicUrl, client);
    const first = await agent.authorize(req.url, { redirectUri: REDIRECT });
    // Zebrunner answered 404 to the token exchange (the setting is on): the page comes.
    assert.ok(first.page, `stopped at the connect page: ${JSON.stringify(first.redirect ?? first.consent?.url)}`);
    assert.equal(new URL(first.page.url).pathname, '/connect');
    assert.match(pageText(first.page.html), /An application asked to use Zebrunner as you/);
    assert.match(pageText(first.page.html), /Bob Example/, 'already signed in: no second Okta sign-in');
    const form = parseForms(first.page.html).find((f) => f.action === '/connect/token');
    assert.ok(form, 'the token form');
    const saved = await agent.submit(first.page.url, form.action, {
      ...form.hidden, login: w.sandbox.users.bob.login, token: w.sandbox.users.bob.token,
    });
    assert.equal(saved.status, 303, await saved.text());
    assert.equal(saved.headers.get('location'), '/oauth/resume');
    // The authorization goes on: consent, then the application's code.
    const back = await agent.authorize(new URL('/oauth/resume', w.publicUrl), { redirectUri: REDIRECT });
    assert.ok(back.redirect, JSON.stringify(back.page ?? back.consent?.url));
    assert.ok(back.consentShown, 'the consent page still comes');
    assert.equal(back.redirect.searchParams.get('state'), req.state);
    const tokens = await redeem(w, client, req, back.redirect.searchParams.get('code'));
    // Bob's Zebrunner account, narrowed by the policy (group dev: DEMO only).
    assert.deepEqual(await projectKeys(w, tokens.access_token), visible(w.sandbox.users.bob).filter((k) => k === 'DEMO'));

    // The second time: no connect page, no consent (remembered), a code at once.
    const again = authorizationRequest(w.publicUrl, client);
    const second = await new HeadlessAgent({ login: 'bob' }).authorize(again.url, { redirectUri: REDIRECT });
    assert.ok(second.redirect, JSON.stringify(second.page?.url));
    assert.equal(second.consentShown, false);
    assert.ok(!agent.history.slice(-1).some((h) => h.url.includes('/connect')));
  });

  test('resume without a waiting authorization says what to do', async () => {
    const stray = await new HeadlessAgent().request(new URL('/oauth/resume', w.publicUrl));
    assert.equal(stray.status, 400);
    assert.match(pageText(await stray.text()), /No application is waiting for you in this browser/);
  });
});

describe('broker + vault + Zebrunner token exchange: no page at all', () => {
  let w;
  before(async () => {
    w = await world({ exchange: true, setting: true });
  });
  after(async () => w?.stop());

  test("the person's Okta ID token becomes their Zebrunner token during the sign-in", async () => {
    const list = await runCli(['vault', 'list', '--json'], w.broker.server.env);
    assert.ok(!list.stdout.includes(`uid:${w.zed.uid}`), 'no record before');
    const client = await registerPublicClient(w.publicUrl, { redirectUris: [REDIRECT] });
    const agent = new HeadlessAgent({ login: 'zed' });
    const req = authorizationRequest(w.publicUrl, client);
    const result = await agent.authorize(req.url, { redirectUri: REDIRECT });
    assert.ok(result.redirect, `straight to consent and back: ${JSON.stringify(result.page?.url)}`);
    assert.ok(!agent.history.some((h) => new URL(h.url).pathname === '/connect'), 'the connect page was skipped');
    const tokens = await redeem(w, client, req, result.redirect.searchParams.get('code'));
    assert.deepEqual(await projectKeys(w, tokens.access_token), visible(w.sandbox.users.alice));
    const after = await runCli(['vault', 'list', '--json'], w.broker.server.env);
    assert.ok(after.stdout.includes(`uid:${w.zed.uid}`), after.stdout);
    assert.ok(!w.broker.server.stdout.includes(tokens.access_token.split('.')[2]), 'no token in the output');
  });
});
