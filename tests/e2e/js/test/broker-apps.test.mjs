// Identity `broker`: the self-service page /oauth/apps, where a person sees
// the applications they allowed to use Zebrunner as them and revokes them.
//
//   1. alice authorizes a client (DCR, PKCE S256, Okta sign-in at the
//      stand-in, consent on our page), gets tokens, calls a tool, refreshes;
//      bob authorizes the same client, and another of his own
//   2. alice opens /oauth/apps in Chromium, signs in at Okta, sees that one
//      client (not bob's), every control labelled and reachable with Tab
//   3. POSTs to the revoke endpoint without (or with a wrong) CSRF token, or
//      from another site, are refused (403) and revoke nothing
//   4. she revokes with the keyboard (Tab to the button, Enter): her access
//      token is refused at /mcp (401) at once, her refresh token at /token
//      (invalid_grant), the list is empty, the client has to ask again;
//      bob's grant of the same client still works
//
// Screenshots: tests/e2e/artifacts/screenshots/broker-apps.png (the list),
// broker-apps-signed-out.png, broker-apps-revoked.png.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshot, tabOrder, tabTo, unlabelledControls } from '../lib/browser.mjs';
import {
  HeadlessAgent,
  authorizationRequest,
  pageText,
  refreshGrant,
  registerPublicClient,
  startBroker,
  tokenRequest,
} from '../lib/broker.mjs';
import { freePort, mcpPost } from '../lib/identity.mjs';
import { projectKeysWithBearer } from '../lib/mcp.mjs';
import { USERS } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const PAGE = {
  signIn: '#sign-in',
  who: '#who',
  table: '#apps',
  rows: '#apps tbody tr',
  noApps: '#no-apps',
  notice: '#notice',
  problem: '#problem',
  signOut: '#sign-out-form button',
  revokeFor: (clientId) => `form.revoke-form:has(input[name=client_id][value="${clientId}"]) button`,
  csrf: '#sign-out-form input[name=csrf]',
};
// The Okta stand-in's (oidc-provider devInteractions) login and consent forms.
const OKTA = {
  login: 'input[name=login]',
  password: 'input[name=password]',
  submit: 'button[type=submit]',
};
const SECURITY_HEADERS = {
  'content-security-policy': [/frame-ancestors 'none'/, /default-src 'none'/, /form-action 'self'/],
  'cache-control': [/no-store/],
  'x-content-type-options': [/^nosniff$/],
  'referrer-policy': [/^no-referrer$/],
};

/** Run `action` and wait until the main frame has loaded the next document (after any redirects). */
async function navigation(page, action) {
  const committed = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 30_000 });
  await action();
  await committed;
  await page.waitForLoadState('load');
}

const text = async (page, selector) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();

function assertSecurityHeaders(response, where) {
  const headers = response.headers();
  for (const [name, patterns] of Object.entries(SECURITY_HEADERS)) {
    assert.ok(headers[name], `${where}: no ${name} header`);
    for (const p of patterns) assert.match(headers[name], p, `${where}: ${name}: ${headers[name]}`);
  }
}

/** POST an MCP initialize to /mcp with `accessToken`; resolves the status and the challenge. */
async function mcpStatus(resource, accessToken) {
  const r = await mcpPost(resource, { token: accessToken });
  return { status: r.status, challenge: r.headers?.['www-authenticate'] ?? r.headers?.get?.('www-authenticate') ?? '' };
}

describe('identity broker: the applications page (/oauth/apps)', () => {
  let sandbox;
  let broker;
  let publicUrl;
  let resource;
  let browser;

  before(async () => {
    sandbox = await startSandbox();
    broker = await startBroker({ sandbox });
    publicUrl = broker.publicUrl;
    resource = broker.resource;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (process.env.BROKER_E2E_LOGS) process.stderr.write(broker?.server.stderr ?? '');
    await broker?.stop();
    await sandbox?.stop();
  });

  /** `login` authorizes `client` through Okta and our consent page; resolves the token response. */
  async function authorizeAndRedeem(client, login, { scope = 'zebrunner:read' } = {}) {
    const agent = new HeadlessAgent({ login });
    const req = authorizationRequest(publicUrl, client, { scope });
    const result = await agent.authorize(req.url, { redirectUri: req.redirectUri });
    assert.ok(result.redirect, `${login}: back at the client: ${JSON.stringify(result.page ?? result.consent?.url)}`);
    const code = result.redirect.searchParams.get('code');
    assert.ok(code, `${login}: a code: ${result.redirect}`);
    const res = await tokenRequest(publicUrl, {
      grant_type: 'authorization_code', code, client_id: client.client_id, redirect_uri: req.redirectUri, code_verifier: req.verifier, resource,
    });
    assert.equal(res.status, 200, `${login}: token: ${res.text}`);
    assert.ok(res.json.access_token && res.json.refresh_token);
    return { tokens: res.json, consentShown: result.consentShown, consentPage: result.consentPage };
  }

  /** From the signed-out page through Okta's login (and the stand-in's consent) back to /oauth/apps. */
  async function signIn(page, login) {
    const signedOut = await page.goto(`${publicUrl}/oauth/apps`);
    assert.equal(signedOut.status(), 200);
    assertSecurityHeaders(signedOut, 'GET /oauth/apps (signed out)');
    assert.equal(await page.locator(PAGE.table).count(), 0, 'no list before signing in');
    assert.match(await text(page, PAGE.signIn), /^Sign in$/);
    assert.equal(new URL(await page.locator(PAGE.signIn).getAttribute('href'), publicUrl).pathname, '/oauth/apps/sign-in');
    await screenshot(page, 'broker-apps-signed-out');
    // The signed-out page with the keyboard: the sign-in button, labelled, reached by Tab.
    assert.deepEqual(await unlabelledControls(page), []);
    await navigation(page, async () => {
      await tabTo(page, PAGE.signIn);
      await page.keyboard.press('Enter');
    });
    const atOkta = new URL(page.url());
    assert.equal(atOkta.origin, broker.okta.origin, `at Okta's login now: ${page.url()}`);
    await page.locator(OKTA.login).fill(login);
    await page.locator(OKTA.password).fill('any-password');
    await navigation(page, () => page.locator(OKTA.submit).click());
    if (page.url().startsWith(broker.okta.origin)) await navigation(page, () => page.locator(OKTA.submit).click());
    const here = new URL(page.url());
    assert.equal(here.origin + here.pathname, `${publicUrl}/oauth/apps`, `back at the applications page: ${page.url()}`);
    assert.match(await text(page, PAGE.who), new RegExp(USERS[login].email.replace(/[.]/g, '\\.')));
    const cookies = await page.context().cookies(publicUrl);
    assert.ok(cookies.some((c) => c.name === 'zmcp-apps' && c.httpOnly && c.sameSite === 'Lax'), `the session cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
    assert.ok(!cookies.some((c) => c.name === 'zmcp-apps-signin'), 'the sign-in cookie is cleared');
  }

  test('alice sees the client she authorized, revokes it with the keyboard, and its tokens stop working at once', async () => {
    // 1. The client: registered (DCR), authorized by alice (PKCE, Okta, consent), tokens, a tool call.
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    const client = await registerPublicClient(publicUrl, { redirectUris: [redirectUri], name: 'Apps Page E2E Client' });
    const alice = await authorizeAndRedeem(client, 'alice');
    assert.equal(alice.consentShown, true, 'a first-time client is shown the consent page');
    assert.match(pageText(alice.consentPage.html), /You can revoke this later at \/oauth\/apps/, 'the consent page says where to revoke');

    assert.ok((await projectKeysWithBearer(resource, alice.tokens.access_token, 'broker-apps-e2e')).includes('DEMO'), 'a tool call with the token');
    // A refresh (so the page has a "last used"); the rotated pair is what the client holds now.
    const refreshed = await refreshGrant(publicUrl, client.client_id, alice.tokens.refresh_token, { resource });
    assert.equal(refreshed.status, 200, refreshed.text);
    const aliceTokens = refreshed.json;
    assert.equal((await mcpStatus(resource, aliceTokens.access_token)).status, 200, 'the refreshed access token works');

    // Bob allows the same client, and one of his own: neither is alice's to see or revoke.
    const bob = await authorizeAndRedeem(client, 'bob');
    const bobsOwn = await registerPublicClient(publicUrl, { redirectUris: [redirectUri], name: 'Bob Only Client' });
    await authorizeAndRedeem(bobsOwn, 'bob');

    // 2. The page in Chromium.
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    try {
      await signIn(page, 'alice');
      const listed = await page.goto(`${publicUrl}/oauth/apps`);
      assertSecurityHeaders(listed, 'GET /oauth/apps (signed in)');
      const rows = page.locator(PAGE.rows);
      assert.equal(await rows.count(), 1, `one application: ${await text(page, 'main')}`);
      const row = rows.first();
      assert.equal(await text(page, `${PAGE.rows} .app-name`), 'Apps Page E2E Client');
      assert.equal(await text(page, `${PAGE.rows} .client-id`), client.client_id);
      assert.equal(await text(page, `${PAGE.rows} .redirect-hosts`), '127.0.0.1');
      assert.match(await text(page, `${PAGE.rows} .scopes`), /zebrunner:read/);
      assert.match(await text(page, `${PAGE.rows} .approved`), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
      assert.match(await text(page, `${PAGE.rows} .grants`), /1 active sign-in.*last used \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
      assert.ok(!(await page.content()).includes(bobsOwn.client_id), "bob's own client is not on alice's page");
      assert.ok(!(await page.content()).includes('Bob Only Client'));
      assert.equal(await row.locator('form.revoke-form').getAttribute('method'), 'post');
      await screenshot(page, 'broker-apps');

      // Keyboard only: every control labelled, every one reachable with Tab, in reading order.
      assert.deepEqual(await unlabelledControls(page), [], 'controls without an accessible name');
      const order = await tabOrder(page);
      // What a person could operate (links, buttons, fields), and what Tab reaches: the same.
      const stop = (d) => `${d.tag}|${d.id ?? ''}|${d.form ?? ''}|${d.href ?? ''}`;
      const controls = await page.evaluate(() =>
        [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
          .filter((el) => el.checkVisibility())
          .map((el) => `${el.tagName.toLowerCase()}|${el.id}|${el.form?.id ?? ''}|${el.getAttribute('href') ?? ''}`),
      );
      assert.deepEqual(order.map(stop), controls, 'every control is reached by Tab, once, in reading order');
      const signOut = order.findIndex((d) => d.form === 'sign-out-form' && /^Sign out$/.test(d.label ?? ''));
      const revoke = order.findIndex((d) => d.tag === 'button' && /^Revoke Apps Page E2E Client /.test(d.label ?? ''));
      assert.ok(signOut >= 0, `Sign out is reachable: ${JSON.stringify(order)}`);
      assert.ok(revoke > signOut, `Revoke (named after its application) comes after Sign out: ${JSON.stringify(order)}`);
      assert.ok(order[revoke].label.includes(client.client_id), `the Revoke button names the client id too: ${order[revoke].label}`);

      // 3. Forged POSTs: no CSRF token, a wrong one, another site. All 403; nothing revoked.
      const csrf = await page.locator(PAGE.csrf).inputValue();
      assert.ok(csrf.length >= 40, 'a CSRF token in the forms');
      const post = (form, headers) =>
        context.request.post(`${publicUrl}/oauth/apps/revoke`, { form, headers, maxRedirects: 0, failOnStatusCode: false });
      const sameOrigin = { origin: publicUrl, 'sec-fetch-site': 'same-origin' };
      const noCsrf = await post({ client_id: client.client_id }, sameOrigin);
      assert.equal(noCsrf.status(), 403, 'no csrf field');
      assert.match(pageText(await noCsrf.text()), /nothing was changed/);
      const wrongCsrf = await post({ csrf: `${csrf.slice(0, -4)}AAAA`, client_id: client.client_id }, sameOrigin);
      assert.equal(wrongCsrf.status(), 403, 'a wrong csrf value');
      const crossSite = await post({ csrf, client_id: client.client_id }, { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' });
      assert.equal(crossSite.status(), 403, 'Origin of another site');
      const nullCrossSite = await post({ csrf, client_id: client.client_id }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
      assert.equal(nullCrossSite.status(), 403, 'Origin: null from another site');
      // The same POST from a fetch without the browser's cookie: no session, 401.
      const anonymous = await fetch(`${publicUrl}/oauth/apps/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, client_id: client.client_id }),
        redirect: 'manual',
      });
      assert.equal(anonymous.status, 401, 'no session');
      assert.equal((await mcpStatus(resource, aliceTokens.access_token)).status, 200, 'after the forged POSTs the access token still works');
      await page.reload();
      assert.equal(await page.locator(PAGE.rows).count(), 1, 'the application is still listed');

      // 4. Revoke with the keyboard: Tab to the button, Enter.
      await tabTo(page, PAGE.revokeFor(client.client_id));
      const revoked = page.waitForResponse((r) => new URL(r.url()).pathname === '/oauth/apps/revoke');
      await navigation(page, () => page.keyboard.press('Enter'));
      const response = await revoked;
      assert.equal(response.status(), 200);
      assertSecurityHeaders(response, 'POST /oauth/apps/revoke');
      assert.equal(await page.locator(PAGE.problem).count(), 0, `no problem: ${await text(page, 'main')}`);
      assert.match(await text(page, PAGE.notice), /^Revoked\. Apps Page E2E Client can no longer use Zebrunner as you/);
      assert.equal(await page.locator(PAGE.notice).getAttribute('role'), 'status');
      assert.equal(await page.locator(PAGE.rows).count(), 0, 'the list is empty');
      assert.match(await text(page, PAGE.noApps), /You have not allowed any application/);
      await screenshot(page, 'broker-apps-revoked');

      // Her tokens: the access token is refused at /mcp at once, the refresh token at /token.
      const refused = await mcpStatus(resource, aliceTokens.access_token);
      assert.equal(refused.status, 401, 'the access token of a revoked grant');
      const refresh = await refreshGrant(publicUrl, client.client_id, aliceTokens.refresh_token, { resource });
      assert.equal(refresh.status, 400, refresh.text);
      assert.equal(refresh.json?.error, 'invalid_grant', refresh.text);
      assert.equal(refresh.json?.access_token, undefined);
      // The page says the same after a reload.
      await page.reload();
      assert.equal(await page.locator(PAGE.rows).count(), 0, 'still empty after a reload');

      // Bob's grant of the same client is his: untouched.
      assert.equal((await mcpStatus(resource, bob.tokens.access_token)).status, 200, "bob's access token still works");
      const bobRefresh = await refreshGrant(publicUrl, client.client_id, bob.tokens.refresh_token, { resource });
      assert.equal(bobRefresh.status, 200, `bob's refresh token still works: ${bobRefresh.text}`);

      // The approval is gone too: the client has to ask alice again.
      const again = await authorizeAndRedeem(client, 'alice');
      assert.equal(again.consentShown, true, 'after revoking, the consent page is shown again');

      // Sign out with the keyboard.
      await page.goto(`${publicUrl}/oauth/apps`);
      await navigation(page, async () => {
        await tabTo(page, PAGE.signOut);
        await page.keyboard.press('Enter');
      });
      assert.equal(new URL(page.url()).pathname, '/oauth/apps');
      assert.match(await text(page, PAGE.notice), /signed out/);
      assert.equal(await page.locator(PAGE.signIn).count(), 1);
      assert.ok(!(await context.cookies(publicUrl)).some((c) => c.name === 'zmcp-apps'), 'the session cookie is gone');
    } finally {
      await context.close();
    }
  });
});
