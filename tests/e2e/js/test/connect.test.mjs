// The connect page (`<public>/connect`) in a real browser (Debian's Chromium via
// playwright-core): people sign in with Okta (the server is a confidential OIDC
// client: auth code + PKCE + nonce) and store their own Zebrunner credentials in
// the server's encrypted vault, by pasting login + API token or the address
// Zebrunner's browser lands on after SSO (`<zebrunner>/sso?refresh-token=...`).
// Then MCP calls (TypeScript SDK) reach Zebrunner as each person, with
// Zebrunner's own permissions (bob has no access to the API project there).
//
// Screenshots of every step: tests/e2e/artifacts/screenshots/connect-*.png
//
// The scenarios build on each other (alice connects, then tries a wrong token,
// ...), so they run in order in one suite.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitationCompleteNotificationSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { focusIndicator, launchBrowser, screenshot, tabOrder, tabTo, unlabelledControls } from '../lib/browser.mjs';
import { clearRequestLog, requestLog } from '../lib/control.mjs';
import { freePort, readTree, startOidcServer, tempDir } from '../lib/identity.mjs';
import { callTool, resultText } from '../lib/mcp.mjs';
import { CLIENTS, USERS, startOkta } from '../lib/okta.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

// ---------------------------------------------------------------------------
// The page's contract: selectors and texts (the Rust side renders exactly these).
// ---------------------------------------------------------------------------
const SUBMIT = ':is(button:not([type]), button[type=submit], input[type=submit])';
const PAGE = {
  heading: 'h1',
  signIn: 'a#sign-in',
  who: '#who',
  status: '#status',
  notice: '#notice',
  problem: '#problem',
  tokenForm: '#token-form',
  login: '#login',
  token: '#token',
  tokenSubmit: `#token-form ${SUBMIT}`,
  ssoForm: '#sso-form',
  ssoUrl: '#sso_url',
  ssoSubmit: `#sso-form ${SUBMIT}`,
  disconnectForm: '#disconnect-form',
  disconnect: `#disconnect-form ${SUBMIT}`,
  signOutForm: '#sign-out-form',
  signOut: `#sign-out-form ${SUBMIT}`,
  csrf: (form) => `${form} input[type=hidden][name=csrf]`,
};
const TEXT = {
  heading: /Connect your Zebrunner account/,
  signIn: /Sign in with Okta/,
  notConnected: /Not connected/,
  connectedAs: (login) => new RegExp(`Connected as\\s+${login.replace(/[.@]/g, '\\$&')}`),
  lastChecked: /last checked/i,
  tokenLabel: /Zebrunner login/,
  apiTokenLabel: /API token/,
  ssoLabel: /Address/,
  save: /Check and save/,
  disconnect: /Disconnect/,
  signOut: /Sign out/,
  // A wrong token: it belongs to someone else, or Zebrunner refuses it...
  someoneElse: /someone else|belongs to|another (?:person|user|account|login)|not (?:yours|your own)|does not match|may (?:\w+ ){0,2}only|only the Zebrunner login|refus|reject|not accept/i,
  // ...and not a refusal of the form itself (CSRF, cross-site, signed out).
  formRefused: /another site|out of date|not sent from this page|sign in again/i,
  noPermission: /no permission/i,
};
// The Okta stand-in's (oidc-provider devInteractions) login and consent forms.
const OKTA = {
  login: 'input[name=login]',
  password: 'input[name=password]',
  submit: 'button[type=submit]',
};
const SECURITY_HEADERS = {
  'content-security-policy': [/frame-ancestors 'none'/, /default-src 'none'/],
  'cache-control': [/no-store/],
  'x-content-type-options': [/^nosniff$/],
  'referrer-policy': [/^no-referrer$/],
};

const VAULT_KEYS = `e2e:${Buffer.alloc(32, 7).toString('base64')}`;
// bob is in Okta group `dev` (read-only); the policy lets dev use DEMO and API, so
// anything bob cannot do on API is Zebrunner's (the sandbox's) own refusal.
const POLICY = `
[policy]
read_scope = "zebrunner:read"
write_scope = "zebrunner:write"
allowed_groups = ["qa", "dev"]
read_only_groups = ["dev"]
admin_groups = ["qa-admins"]

[[policy.project_access]]
group = "dev"
projects = ["DEMO", "API"]

[audit]
sinks = ["database", "stdout"]
`;

// ---------------------------------------------------------------------------
// Browser steps
// ---------------------------------------------------------------------------

/** Run `action` and wait until the main frame has loaded the next document (after any redirects). */
async function navigation(page, action) {
  const committed = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 30_000 });
  await action();
  await committed;
  await page.waitForLoadState('load');
}

const text = async (page, selector) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();

/** The page reports success: a #notice (role=status) and no #problem. */
async function assertSaved(page, where) {
  if (await page.locator(PAGE.problem).count()) assert.fail(`${where}: the page shows a problem: ${await text(page, PAGE.problem)}`);
  assert.equal(await page.locator(PAGE.notice).count(), 1, `${where}: a notice (#notice) says what happened`);
  assert.equal(await page.locator(PAGE.notice).getAttribute('role'), 'status');
  assert.ok((await text(page, PAGE.notice)).length > 0, `${where}: the notice is not empty`);
}

const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? null);

function assertSecurityHeaders(response, where) {
  const headers = response.headers();
  for (const [name, patterns] of Object.entries(SECURITY_HEADERS)) {
    assert.ok(headers[name], `${where}: no ${name} header`);
    for (const p of patterns) assert.match(headers[name], p, `${where}: ${name}: ${headers[name]}`);
  }
}

/** Page HTML and address must not carry any of `secrets`. */
async function assertNotEchoed(page, secrets, where) {
  const html = await page.content();
  for (const s of secrets) {
    assert.ok(!html.includes(s), `${where}: a secret is in the page HTML`);
    // (The messages never print the address or HTML: they would show the secret.)
    assert.ok(!page.url().includes(s) && !decodeURIComponent(page.url()).includes(s), `${where}: a secret is in the address`);
  }
}

describe('connect page: sign in with Okta, store your own Zebrunner credentials, use them', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let secretsDir;
  let browser;
  let publicUrl;
  let connectUrl;
  const pages = {};
  const serverCookies = new Set(); // names of cookies the server (not Okta) set
  const authorizeRequests = [];
  const mcp = {};
  let bobSso; // { url, refresh_token } from the sandbox

  before(async () => {
    sandbox = await startSandbox();
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    connectUrl = `${publicUrl}/connect`;
    okta = await startOkta({ resource: `${publicUrl}/mcp`, connectRedirectUri: `${publicUrl}/connect/callback` });
    data = tempDir();
    // The client secret goes in a file outside the data directory (never on argv).
    secretsDir = tempDir('zmcp-e2e-secrets-');
    const secretFile = join(secretsDir.dir, 'oidc-client-secret');
    writeFileSync(secretFile, `${CLIENTS.connect.secret}\n`, { mode: 0o600 });
    const config = `${POLICY}
[zebrunner.logins]
"uid:${USERS.alice.uid}" = "${sandbox.users.alice.login}"
"uid:${USERS.bob.uid}" = "${sandbox.users.bob.login}"
`;
    server = await startOidcServer({
      sandbox,
      // No service account: every Zebrunner call must use a person's stored token.
      user: { login: undefined, token: undefined },
      okta,
      port,
      dataDir: data.dir,
      config,
      env: {
        ZMCP_CREDENTIALS: 'vault',
        ZMCP_VAULT_KEYS: VAULT_KEYS,
        ZMCP_OIDC_CLIENT_ID: CLIENTS.connect.id,
        ZMCP_OIDC_CLIENT_SECRET_FILE: secretFile,
        ZMCP_PUBLIC_URL: publicUrl,
      },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const [who, page] of Object.entries(pages)) {
      await screenshot(page, `connect-last-${who}`).catch(() => {});
    }
    for (const c of Object.values(mcp)) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
    secretsDir?.cleanup();
  });

  /** A page in its own browser context (own cookies) that records what the server and Okta see. */
  async function newPerson(who) {
    const context = who === 'alice' ? browser.context : await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('response', async (r) => {
      if (new URL(r.url()).origin !== publicUrl) return;
      for (const c of await r.headerValues('set-cookie')) serverCookies.add(c.split('=')[0].trim());
    });
    page.on('request', (r) => {
      // The authorization request itself, not oidc-provider's /v1/authorize/<uid> resume step.
      const url = new URL(r.url());
      if (url.origin + url.pathname === `${okta.issuer}/v1/authorize`) authorizeRequests.push(url);
    });
    pages[who] = page;
    return page;
  }

  /** From the signed-out page through Okta's login and consent back to /connect. */
  async function signIn(page, login, { keyboard = false, shots = false } = {}) {
    const signedOut = await page.goto(connectUrl);
    assert.equal(signedOut.status(), 200);
    assertSecurityHeaders(signedOut, 'GET /connect (signed out)');
    assert.match(await text(page, PAGE.heading), TEXT.heading);
    assert.match(await text(page, PAGE.signIn), TEXT.signIn);
    assert.equal(new URL(await page.locator(PAGE.signIn).getAttribute('href'), connectUrl).pathname, '/connect/sign-in');
    if (shots) await screenshot(page, 'connect-1-signed-out');

    await navigation(page, async () => {
      if (keyboard) {
        await tabTo(page, PAGE.signIn);
        await page.keyboard.press('Enter');
      } else {
        await page.locator(PAGE.signIn).click();
      }
    });
    assert.ok(page.url().startsWith(okta.origin), `at Okta's login now: ${page.url()}`);
    if (shots) await screenshot(page, 'connect-2-okta-login');
    await page.locator(OKTA.login).fill(login);
    await page.locator(OKTA.password).fill('any-password');
    await navigation(page, () => page.locator(OKTA.submit).click());
    // Consent (the stand-in asks every time a client first gets a grant).
    if (page.url().startsWith(okta.origin)) {
      if (shots) await screenshot(page, 'connect-2b-okta-consent');
      await navigation(page, () => page.locator(OKTA.submit).click());
    }
    const here = new URL(page.url());
    assert.equal(here.origin + here.pathname, connectUrl, `back at the connect page: ${page.url()}`);
    assert.match(await text(page, PAGE.who), new RegExp(`${USERS[login].email}|${USERS[login].name}`));
  }

  /** Reload /connect and check its headers; resolves the #status text. */
  async function reloadStatus(page, where) {
    const response = await page.goto(connectUrl);
    assert.equal(response.status(), 200, where);
    assertSecurityHeaders(response, where);
    return text(page, PAGE.status);
  }

  async function mcpClient(login, capabilities = {}) {
    const token = (await okta.authorizationCode({ login })).access_token;
    const client = new Client({ name: `connect-e2e-${login}`, version: '1' }, { capabilities });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    return client;
  }

  test('alice signs in with Okta and connects with an API token, keyboard only', async () => {
    const alice = sandbox.users.alice;
    const page = await newPerson('alice');
    await signIn(page, 'alice', { keyboard: true, shots: true });

    // The server asked Okta for an auth code with PKCE and a nonce, as the connect client.
    const authorize = authorizeRequests.at(-1);
    assert.ok(authorize, 'the browser went to Okta /v1/authorize');
    const q = Object.fromEntries(authorize.searchParams);
    assert.equal(q.client_id, CLIENTS.connect.id);
    assert.equal(q.response_type, 'code');
    assert.equal(q.redirect_uri, `${publicUrl}/connect/callback`);
    assert.equal(q.code_challenge_method, 'S256');
    assert.ok(q.code_challenge && q.state && q.nonce, `PKCE, state and nonce: ${authorize}`);
    assert.match(q.scope, /\bopenid\b/);
    assert.ok(!authorize.href.includes(CLIENTS.connect.secret), 'no client secret in the address');

    // Signed in, not connected yet.
    assertSecurityHeaders(await page.goto(connectUrl), 'GET /connect (signed in)');
    assert.match(await text(page, PAGE.status), TEXT.notConnected);
    assert.equal(await page.locator(PAGE.disconnectForm).count(), 0, 'nothing to disconnect yet');
    await screenshot(page, 'connect-3-signed-in');

    // Cookies: no __Host- prefix on plain-http loopback (the documented fallback), HttpOnly, SameSite=Lax.
    const cookies = (await page.context().cookies(connectUrl)).filter((c) => serverCookies.has(c.name));
    assert.ok(cookies.length > 0, `the server set a session cookie (saw ${[...serverCookies]})`);
    for (const c of cookies) {
      assert.ok(!c.name.startsWith('__Host-'), `${c.name}: no __Host- prefix over plain http`);
      assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
      assert.equal(c.sameSite, 'Lax', `${c.name} is SameSite=Lax`);
      assert.ok(!c.value.includes(alice.token));
    }

    // Every control is labelled, and Tab reaches them in reading order.
    assert.deepEqual(await unlabelledControls(page), [], 'controls without an accessible name');
    const order = await tabOrder(page);
    const isSubmit = (d) => (d.tag === 'button' && (d.type ?? 'submit') === 'submit') || (d.tag === 'input' && d.type === 'submit');
    const at = (what, pred) => {
      const i = order.findIndex(pred);
      assert.ok(i >= 0, `${what} is reachable with Tab; tab order: ${JSON.stringify(order, null, 1)}`);
      return i;
    };
    const stops = [
      at('sign out', (d) => d.form === 'sign-out-form' && isSubmit(d) && TEXT.signOut.test(d.label)),
      at('Zebrunner login', (d) => d.id === 'login' && TEXT.tokenLabel.test(d.label)),
      at('API token', (d) => d.id === 'token' && d.type === 'password' && TEXT.apiTokenLabel.test(d.label)),
      at('Check and save', (d) => d.form === 'token-form' && isSubmit(d) && TEXT.save.test(d.label)),
      at('SSO address', (d) => d.id === 'sso_url' && TEXT.ssoLabel.test(d.label)),
      at('SSO submit', (d) => d.form === 'sso-form' && isSubmit(d)),
    ];
    assert.deepEqual([...stops].sort((a, b) => a - b), stops, `tab order: ${JSON.stringify(order, null, 1)}`);

    // Fill and send the token form with the keyboard only.
    await tabTo(page, PAGE.login);
    assert.ok((await focusIndicator(page)).visible, 'the focused login field is visibly marked');
    await page.keyboard.press('ControlOrMeta+A'); // the field may come pre-filled
    await page.keyboard.type(alice.login);
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'token');
    assert.ok((await focusIndicator(page)).visible, 'the focused token field is visibly marked');
    await page.keyboard.type(alice.token);
    await navigation(page, () => page.keyboard.press('Enter'));

    await assertNotEchoed(page, [alice.token], 'after saving');
    await assertSaved(page, "alice's API token");
    const status = await text(page, PAGE.status);
    assert.match(status, TEXT.connectedAs(alice.login));
    assert.match(status, TEXT.lastChecked);
    assert.equal(await page.locator(PAGE.disconnect).count(), 1, 'a Disconnect button once connected');
    assert.match(await text(page, PAGE.disconnect), TEXT.disconnect);
    await screenshot(page, 'connect-4-saved');
  });

  test("a token that is not alice's (or a login she may not use) is refused and nothing is stored", async () => {
    const page = pages.alice;
    const { alice, bob } = sandbox.users;
    const attempts = [
      { why: "bob's token with alice's login", login: alice.login, token: bob.token, shot: 'connect-5-wrong-token' },
      { why: "bob's own login and token (alice may use only her login)", login: bob.login, token: bob.token, shot: 'connect-5b-other-login' },
    ];
    for (const a of attempts) {
      await page.goto(connectUrl);
      await page.locator(PAGE.login).fill(a.login);
      await page.locator(PAGE.token).fill(a.token);
      await navigation(page, () => page.locator(PAGE.tokenSubmit).click());
      await screenshot(page, a.shot);
      assert.equal(await page.locator(PAGE.problem).count(), 1, `${a.why}: a problem is shown`);
      assert.equal(await page.locator(PAGE.problem).getAttribute('role'), 'alert');
      const problem = await text(page, PAGE.problem);
      assert.match(problem, TEXT.someoneElse, a.why);
      assert.doesNotMatch(problem, TEXT.formRefused, `${a.why}: the token was judged, not the form`);
      await assertNotEchoed(page, [a.token], a.why);
      assert.match(await reloadStatus(page, a.why), TEXT.connectedAs(alice.login), `${a.why}: alice's stored token is unchanged`);
    }
  });

  test('POSTs without the CSRF token or from another site are refused (403)', async () => {
    const page = pages.alice;
    const { alice } = sandbox.users;
    await page.goto(connectUrl);
    const csrf = await page.locator(PAGE.csrf(PAGE.tokenForm)).inputValue();
    assert.ok(csrf.length >= 16, 'a CSRF token in the form');
    // The context's request API sends the browser's session cookie.
    const post = (form, headers) => page.context().request.post(`${publicUrl}/connect/token`, { form, headers, maxRedirects: 0, failOnStatusCode: false });
    const sameSite = { origin: publicUrl, referer: connectUrl };

    const control = await post({ csrf, login: alice.login, token: alice.token }, sameSite);
    assert.ok(control.status() < 400, `control: the same POST with the CSRF token works (${control.status()})`);

    const noCsrf = await post({ login: alice.login, token: alice.token }, sameSite);
    assert.equal(noCsrf.status(), 403, 'no csrf field');
    const wrongCsrf = await post({ csrf: `${csrf.slice(0, -4)}AAAA`, login: alice.login, token: alice.token }, sameSite);
    assert.equal(wrongCsrf.status(), 403, 'a wrong csrf value');
    // What a browser sends for a form on another site that posts here (SameSite=Lax keeps the
    // cookie off such a POST anyway; the server must not rely on that alone).
    const crossSite = await post(
      { csrf, login: alice.login, token: alice.token },
      { origin: 'https://attacker.example', referer: 'https://attacker.example/', 'sec-fetch-site': 'cross-site' },
    );
    assert.equal(crossSite.status(), 403, 'Origin of another site');
    // Under Referrer-Policy: no-referrer a browser sends `Origin: null`, with Sec-Fetch-Site telling where from.
    const nullCrossSite = await post({ csrf, login: alice.login, token: alice.token }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
    assert.equal(nullCrossSite.status(), 403, 'Origin: null from another site');
    for (const r of [noCsrf, wrongCsrf, crossSite, nullCrossSite]) {
      assert.ok(!(await r.text()).includes(alice.token), 'the refusal does not echo the token');
    }
  });

  test('bob signs in in his own browser and connects with the SSO address', async () => {
    const { bob } = sandbox.users;
    // Bob's assistant calls first: no token yet, so it is asked (URL elicitation) to send him to
    // the connect page (the URL the server derives: <public>/connect), and it accepts.
    const asked = [];
    const completed = [];
    const assistant = await mcpClient('bob', { elicitation: { url: {} } });
    assistant.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: 'accept' };
    });
    assistant.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) => {
      completed.push(notification.params.elicitationId);
    });
    const first = await callTool(assistant, 'list_projects', {});
    assert.equal(first.isError, true);
    assert.ok(resultText(first).includes(connectUrl), resultText(first));
    assert.equal(asked.length, 1, 'one URL elicitation');
    assert.equal(asked[0].mode, 'url');
    assert.equal(asked[0].url, connectUrl);

    const page = await newPerson('bob');
    await signIn(page, 'bob');
    assert.match(await text(page, PAGE.status), TEXT.notConnected);

    // Zebrunner's SSO ends at <zebrunner>/sso?refresh-token=<single-use>; the sandbox's control API plays the IdP.
    const res = await fetch(`${sandbox.url}/__sandbox/sso`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: bob.login }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    bobSso = await res.json();
    assert.ok(bobSso.url.includes(`refresh-token=${bobSso.refresh_token}`), bobSso.url);
    // As a person would: the browser lands there, the address is copied from the address bar.
    const zebrunnerTab = await page.context().newPage();
    await zebrunnerTab.goto(bobSso.url);
    await screenshot(zebrunnerTab, 'connect-6-zebrunner-sso-landing');
    const copied = zebrunnerTab.url();
    await zebrunnerTab.close();

    await page.locator(PAGE.ssoUrl).fill(copied);
    await navigation(page, () => page.locator(PAGE.ssoSubmit).click());
    await screenshot(page, 'connect-7-bob-sso-saved');
    await assertNotEchoed(page, [bobSso.refresh_token], 'after the SSO address');
    await assertSaved(page, "bob's SSO address");
    assert.match(await text(page, PAGE.status), TEXT.connectedAs(bob.login));

    // The assistant hears that the elicitation it accepted is complete, and its retry works.
    for (let i = 0; i < 50 && completed.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(completed, [asked[0].elicitationId], 'notifications/elicitation/complete for that elicitation');
    const retry = await callTool(assistant, 'list_projects', {});
    assert.equal(retry.isError, false, resultText(retry));
    await assistant.close();

    // The server redeemed the single-use token: it is spent now.
    const again = await fetch(`${sandbox.url}/api/iam/v1/auth/refresh`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: bobSso.refresh_token }),
    });
    assert.equal(again.status, 401, 'the temp token works only once');
  });

  test("MCP calls reach Zebrunner as each person, with Zebrunner's own permissions", async () => {
    const { alice, bob } = sandbox.users;
    const runAs = async (login, calls) => {
      await clearRequestLog(sandbox);
      mcp[login] = await mcpClient(login);
      const results = [];
      for (const [name, args] of calls) results.push(await callTool(mcp[login], name, args));
      return { results, log: await requestLog(sandbox) };
    };
    const calls = [['list_projects', { format: 'json' }], ['list_test_suites', { project_key: 'API' }]];

    const a = await runAs('alice', calls);
    assert.equal(a.results[0].isError, false, resultText(a.results[0]));
    assert.ok(a.results[0].structuredContent.projects.some((p) => p.key === 'API'), 'alice sees API');
    assert.equal(a.results[1].isError, false, resultText(a.results[1]));
    const aUsers = new Set(a.log.map((r) => r.user).filter(Boolean));
    assert.deepEqual([...aUsers], [alice.login], `alice's calls as alice: ${JSON.stringify(a.log)}`);
    assert.ok(a.log.some((r) => r.user === alice.login && r.status === 200 && /test-suites/.test(r.path)), JSON.stringify(a.log));

    const b = await runAs('bob', calls);
    assert.equal(b.results[0].isError, false, resultText(b.results[0]));
    const bobKeys = b.results[0].structuredContent.projects.map((p) => p.key);
    assert.ok(bobKeys.includes('DEMO') && !bobKeys.includes('API'), `bob's projects: ${bobKeys}`);
    assert.equal(b.results[1].isError, true, `bob on API: ${resultText(b.results[1])}`);
    assert.match(resultText(b.results[1]), TEXT.noPermission);
    const bUsers = new Set(b.log.map((r) => r.user).filter(Boolean));
    assert.deepEqual([...bUsers], [bob.login], `bob's calls as bob: ${JSON.stringify(b.log)}`);
    assert.ok(b.log.some((r) => r.user === bob.login && r.status === 403), `Zebrunner refused bob: ${JSON.stringify(b.log)}`);
  });

  test('bob disconnects: the page says so and his next call names the connect page', async () => {
    const page = pages.bob;
    await page.goto(connectUrl);
    assert.equal(await page.locator(PAGE.disconnect).count(), 1, 'a Disconnect button');
    await navigation(page, () => page.locator(PAGE.disconnect).click());
    await screenshot(page, 'connect-8-bob-disconnected');
    assert.match(await text(page, PAGE.status), TEXT.notConnected);
    assert.match(await reloadStatus(page, 'after disconnect'), TEXT.notConnected);
    assert.equal(await page.locator(PAGE.disconnectForm).count(), 0);

    const result = await callTool(mcp.bob, 'list_projects', {});
    assert.equal(result.isError, true, resultText(result));
    assert.ok(resultText(result).includes(connectUrl), resultText(result));
  });

  test('no token or secret in the logs, the data directory or the command line', () => {
    const { alice, bob } = sandbox.users;
    const logs = server.stdout + server.stderr;
    const disk = readTree(data.dir);
    const argv = readFileSync(`/proc/${server.child.pid}/cmdline`, 'latin1');
    const secrets = {
      "alice's API token": alice.token,
      "bob's API token (pasted as a wrong token)": bob.token,
      "bob's SSO temp token": bobSso?.refresh_token,
      'the connect client secret': CLIENTS.connect.secret,
    };
    for (const [what, s] of Object.entries(secrets)) {
      assert.ok(s, `${what} is known`);
      assert.ok(!logs.includes(s), `${what} in the server's output`);
      assert.ok(!disk.includes(s), `${what} in the data directory`);
      assert.ok(!argv.includes(s), `${what} on the command line`);
    }
    // The long-lived token Zebrunner gave for bob's SSO address is not visible to the test; its shape is.
    const longLived = /zbr_sso_[0-9a-f]{40}/;
    assert.doesNotMatch(logs, longLived, "a long-lived SSO token in the server's output");
    assert.doesNotMatch(disk, longLived, 'a long-lived SSO token in the data directory');
  });

  test('signing out ends the session', async () => {
    const page = pages.alice;
    await page.goto(connectUrl);
    assert.equal(await page.locator(PAGE.signOut).count(), 1, 'a Sign out button');
    await navigation(page, () => page.locator(PAGE.signOut).click());
    await page.goto(connectUrl);
    assert.equal(await page.locator(PAGE.signIn).count(), 1, 'the sign-in link again');
    assert.equal(await page.locator(PAGE.tokenForm).count(), 0, 'no token form when signed out');
    await screenshot(page, 'connect-9-signed-out-again');
  });
});
