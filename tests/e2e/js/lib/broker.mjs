// zebrunner-mcp with identity `broker`: the server is its own OAuth 2.1
// authorization server for MCP clients (crate zebrunner-oauth). People sign in
// at the Okta stand-in (okta.mjs) as the server's confidential client
// `zmcp-connect`, returning to `<public>/oauth/callback`, then consent on the
// server's own page; the server issues its own ES256 tokens for `<public>/mcp`.
//
//   startBroker()          Okta stand-in + server (service account of the sandbox);
//                          or, for replicas, a server on a given port with a given
//                          public URL against an Okta stand-in started by the caller
//   HeadlessAgent          a cookie-jar user agent: manual redirects, cookies per
//                          HOST (not per port, as browsers do: the stand-in and the
//                          server share 127.0.0.1), Path and Max-Age honoured
//   agent.authorize(url)   an authorization URL through the stand-in's login and
//                          consent and our consent page, to the client's redirect URI
//   pkce(), register(), tokenRequest(), authorizeUrl()   raw OAuth helpers

import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startOidcServer, tempDir } from './identity.mjs';
import { CLIENTS, startOkta } from './okta.mjs';

/** The vault key ring the broker seals its signing keys with. */
export const BROKER_VAULT_KEYS = `e2e:${Buffer.alloc(32, 5).toString('base64')}`;

/**
 * Start the Okta stand-in and zebrunner-mcp with identity `broker` on a free
 * port, Zebrunner calls as the sandbox's `user` (service account).
 * Resolves `{ okta, server, publicUrl, resource, listenUrl, stop() }`.
 *
 * Replicas: pass `okta` (a stand-in the caller started, and stops), `port`
 * (where this process listens) and `publicUrl` (the address every replica
 * presents as issuer and resource, e.g. the first replica's), plus
 * `ZMCP_DATABASE_URL` in `env`. `listenUrl` is where this process answers.
 */
export async function startBroker({ sandbox, user = sandbox.users.alice, env = {}, config, okta: givenOkta, port: givenPort, publicUrl: givenPublicUrl } = {}) {
  const port = givenPort ?? (await freePort());
  const listenUrl = `http://127.0.0.1:${port}`;
  const publicUrl = givenPublicUrl ?? listenUrl;
  const okta = givenOkta ?? (await startOkta({ resource: `${publicUrl}/mcp`, connectRedirectUri: [`${publicUrl}/oauth/callback`] }));
  const stopOkta = () => (givenOkta ? undefined : okta.stop());
  const data = tempDir('zmcp-e2e-broker-');
  const secrets = tempDir('zmcp-e2e-broker-secrets-');
  const secretFile = join(secrets.dir, 'oidc-client-secret');
  writeFileSync(secretFile, `${CLIENTS.connect.secret}\n`, { mode: 0o600 });
  let server;
  try {
    server = await startOidcServer({
      sandbox,
      user,
      okta,
      port,
      dataDir: data.dir,
      ...(config ? { config } : {}),
      env: {
        ZMCP_IDENTITY: 'broker',
        ZMCP_TRANSPORT: 'http',
        ZMCP_LISTEN: `127.0.0.1:${port}`,
        ZMCP_PUBLIC_URL: publicUrl,
        ZMCP_OIDC_CLIENT_ID: CLIENTS.connect.id,
        ZMCP_OIDC_CLIENT_SECRET_FILE: secretFile,
        ZMCP_VAULT_KEYS: BROKER_VAULT_KEYS,
        ...env,
      },
    });
  } catch (err) {
    await stopOkta();
    data.cleanup();
    secrets.cleanup();
    throw err;
  }
  return {
    okta,
    server,
    publicUrl,
    listenUrl,
    resource: `${publicUrl}/mcp`,
    dataDir: data.dir,
    async stop() {
      await server?.stop();
      await stopOkta();
      data.cleanup();
      secrets.cleanup();
    },
  };
}

// ---------------------------------------------------------------------------
// PKCE and raw endpoint helpers
// ---------------------------------------------------------------------------

/** A PKCE pair: `{ verifier, challenge }` (S256). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export const randomState = () => randomBytes(12).toString('base64url');

/** POST `/register` with a JSON body; resolves `{ status, json, headers }`. */
export async function register(publicUrl, metadata) {
  const r = await fetch(`${publicUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(metadata),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: left null
  }
  return { status: r.status, json, text, headers: r.headers };
}

/** Register a public client (token_endpoint_auth_method none) or fail. */
export async function registerPublicClient(publicUrl, { redirectUris, name = 'broker e2e client' }) {
  const r = await register(publicUrl, {
    client_name: name,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${r.text}`);
  return r.json;
}

/** The `/authorize` URL for `params` (undefined values left out). */
export function authorizeUrl(publicUrl, params) {
  const url = new URL(`${publicUrl}/authorize`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) url.searchParams.set(k, v);
  return url;
}

/** The usual authorization request of a public client; resolves `{ url, verifier, state }`. */
export function authorizationRequest(publicUrl, client, { redirectUri = client.redirect_uris[0], scope, resource = `${publicUrl}/mcp`, ...extra } = {}) {
  const { verifier, challenge } = pkce();
  const state = randomState();
  const url = authorizeUrl(publicUrl, {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    state,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource,
    ...extra,
  });
  return { url, verifier, state, redirectUri };
}

/** POST `/token` (form); resolves `{ status, json }`. */
export async function tokenRequest(publicUrl, params, headers = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) body.set(k, v);
  const r = await fetch(`${publicUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, json, text, headers: r.headers };
}

/** Refresh grant for a public client. */
export function refreshGrant(publicUrl, clientId, refreshToken, extra = {}) {
  return tokenRequest(publicUrl, { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken, ...extra });
}

/** POST `/revoke` (RFC 7009); resolves `{ status, text }`. */
export async function revoke(publicUrl, params) {
  const r = await fetch(`${publicUrl}/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, text: await r.text() };
}

// ---------------------------------------------------------------------------
// A headless user agent with a browser-like cookie jar
// ---------------------------------------------------------------------------

/**
 * Cookies keyed by host (cookies do not isolate ports, RFC 6265 §8.5), with
 * Path matching and Max-Age / Expires deletion; enough of RFC 6265 for the
 * stand-in and the server.
 */
export class CookieJar {
  constructor() {
    this.cookies = []; // { host, name, value, path, expires, httpOnly, sameSite }
  }

  store(url, setCookieHeaders) {
    const u = new URL(url);
    for (const header of setCookieHeaders) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const cookie = { host: u.hostname, name, value, path: null, expires: null, httpOnly: false, sameSite: null, raw: header };
      for (const attr of attrs) {
        const [k, ...rest] = attr.split('=');
        const key = k.trim().toLowerCase();
        const v = rest.join('=').trim();
        if (key === 'path' && v.startsWith('/')) cookie.path = v;
        else if (key === 'max-age') cookie.expires = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && cookie.expires === null) cookie.expires = Date.parse(v);
        else if (key === 'httponly') cookie.httpOnly = true;
        else if (key === 'samesite') cookie.sameSite = v;
      }
      if (!cookie.path) {
        // RFC 6265 §5.1.4 default-path
        const dir = u.pathname.slice(0, u.pathname.lastIndexOf('/'));
        cookie.path = dir || '/';
      }
      this.cookies = this.cookies.filter((c) => !(c.host === cookie.host && c.name === cookie.name && c.path === cookie.path));
      if (cookie.expires === null || cookie.expires > Date.now()) this.cookies.push(cookie);
    }
  }

  /** The `Cookie` header for `url`, or undefined. */
  header(url) {
    const u = new URL(url);
    const now = Date.now();
    this.cookies = this.cookies.filter((c) => c.expires === null || c.expires > now);
    const matching = this.cookies.filter(
      (c) => c.host === u.hostname && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
    );
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** Cookies of `host` named `name`. */
  find(name) {
    return this.cookies.filter((c) => c.name === name);
  }

  /** Drop the cookies named `name`. */
  remove(name) {
    this.cookies = this.cookies.filter((c) => c.name !== name);
  }
}

const decodeEntities = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/** The forms of an HTML page: `[{ id, action, method, hidden: {name: value}, buttons: [{name, value, text}], html }]`. */
export function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = m[1];
    const body = m[2];
    const attr = (src, name) => decodeEntities(src.match(new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i'))?.[1] ?? '') || null;
    const hidden = {};
    for (const input of body.matchAll(/<input\b[^>]*>/gi)) {
      if (/type\s*=\s*"hidden"/i.test(input[0])) {
        const name = attr(input[0], 'name');
        if (name) hidden[name] = attr(input[0], 'value') ?? '';
      }
    }
    const buttons = [];
    for (const b of body.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      buttons.push({ name: attr(b[1], 'name'), value: attr(b[1], 'value'), text: b[2].replace(/<[^>]*>/g, '').trim() });
    }
    forms.push({ id: attr(attrs, 'id'), action: attr(attrs, 'action'), method: (attr(attrs, 'method') ?? 'get').toLowerCase(), hidden, buttons, html: m[0] });
  }
  return forms;
}

/**
 * A headless browser for authorization flows: one cookie jar (per host),
 * manual redirects, and forms filled the way a person would.
 */
export class HeadlessAgent {
  constructor({ login = 'alice' } = {}) {
    this.login = login;
    this.jar = new CookieJar();
    this.history = []; // every request: { method, url, status, location }
  }

  /** One request with the jar's cookies; stores what comes back. */
  async request(url, { method = 'GET', headers = {}, body } = {}) {
    const h = { ...headers };
    const cookie = this.jar.header(url);
    if (cookie) h.cookie = cookie;
    const r = await fetch(url, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    this.jar.store(url, r.headers.getSetCookie());
    this.history.push({ method, url: String(url), status: r.status, location: r.headers.get('location') });
    return r;
  }

  /** A form POST as a browser sends it from a page at `pageUrl` (Origin, Sec-Fetch-Site). */
  submit(pageUrl, action, fields, { headers = {} } = {}) {
    const target = new URL(action, pageUrl);
    const sameOrigin = new URL(pageUrl).origin === target.origin;
    return this.request(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: new URL(pageUrl).origin,
        'sec-fetch-site': sameOrigin ? 'same-origin' : 'same-site',
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /**
   * Follow `authorizationUrl` until the browser is sent to `redirectUri`
   * (compared without query; a loopback port counts) or a page needs
   * something this agent will not do. The stand-in's login is filled as
   * `this.login`, its consent granted; on our consent page `decision`
   * ('approve' / 'deny') is clicked, or with `decision: null` the agent stops
   * there. Resolves
   *   `{ redirect: URL, consentShown, consentPage }` at the redirect URI, or
   *   `{ consent: { url, html, form } }` when stopped at our consent page, or
   *   `{ page: { url, status, html } }` for any other page (an error page).
   */
  async authorize(authorizationUrl, { redirectUri, decision = 'approve', maxSteps = 30 } = {}) {
    const target = redirectUri ? new URL(redirectUri) : null;
    const atTarget = (u) => target && u.protocol === target.protocol && u.hostname === target.hostname && u.pathname === target.pathname;
    let url = new URL(authorizationUrl);
    let response = await this.request(url);
    let consentShown = false;
    let consentPage = null;
    for (let step = 0; step < maxSteps; step++) {
      if (response.status >= 300 && response.status < 400) {
        const next = new URL(response.headers.get('location'), url);
        await response.arrayBuffer();
        if (atTarget(next)) return { redirect: next, consentShown, consentPage };
        url = next;
        response = await this.request(url);
        continue;
      }
      const html = await response.text();
      const forms = parseForms(html);
      const ours = forms.find((f) => f.id === 'consent-form');
      if (response.status === 200 && ours) {
        consentShown = true;
        consentPage = { url: String(url), html, form: ours };
        if (decision === null) return { consent: consentPage, consentShown };
        response = await this.submit(url, ours.action, { ...ours.hidden, decision });
        url = new URL(ours.action, url);
        continue;
      }
      const idp = forms.find((f) => f.method === 'post');
      if (response.status === 200 && idp && url.pathname.includes('/interaction/')) {
        // The Okta stand-in (oidc-provider devInteractions): login, then consent.
        const fields = { ...idp.hidden };
        if (/name="login"/.test(idp.html)) {
          Object.assign(fields, { prompt: 'login', login: this.login, password: 'any-password' });
        } else if (!fields.prompt) {
          fields.prompt = 'consent';
        }
        const action = new URL(idp.action, url);
        response = await this.submit(url, action, fields);
        url = action;
        continue;
      }
      return { page: { url: String(url), status: response.status, html }, consentShown };
    }
    throw new Error(`authorize: more than ${maxSteps} steps: ${JSON.stringify(this.history.slice(-8), null, 1)}`);
  }
}

/** Everything a person sees of a page, as text. */
export function pageText(html) {
  return decodeEntities(html.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
}

