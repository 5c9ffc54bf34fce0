// A real OpenID Provider (`oidc-provider`) on loopback, shaped like an Okta
// custom authorization server, for the identity (`oidc`) e2e tests:
//
//   issuer   http://127.0.0.1:PORT/oauth2/default
//   routes   {issuer}/v1/authorize|token|keys|introspect|revoke|userinfo|logout
//   tokens   RS256 JWT access tokens (RFC 9068 via RFC 8707 resource
//            indicators), audience = the MCP resource URL, Okta claims
//            `ver`, `cid`, `uid` (users only), `scp` (array), `groups`;
//            oidc-provider's own `scope`/`client_id` claims are removed.
//   clients  see CLIENTS; with `connectRedirectUri`, also the server's own
//            confidential client for its /connect page (`okta.clients.connect`):
//            auth code + PKCE (+ nonce), client_secret_basic; without a
//            `resource` parameter its access token is still the JWT for the
//            MCP resource (defaultResource), and the ID token carries the
//            nonce, e-mail and name (the access token is not for userinfo).
//
// The provider runs behind a plain node:http server that strips the
// `/oauth2/default` prefix (Okta's layout) and counts requests per route, so
// tests can see how often the resource server fetches discovery and keys.
// Key rotation builds a new Provider instance with the new key set and swaps
// it in behind the same port and issuer (in-memory grants are module-level,
// so sessions and grants survive), i.e. no restart of the server under test.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

export const READ_SCOPE = 'zebrunner:read';
export const WRITE_SCOPE = 'zebrunner:write';
export const PREFIX = '/oauth2/default';

/** A stable Okta-like user id (`00u` + 17 characters) for a login. */
export function oktaUid(login) {
  const digest = createHash('sha256').update(`okta-user:${login}`).digest();
  let out = '';
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  for (let i = 0; out.length < 17; i++) out += alphabet[digest[i % digest.length] % alphabet.length];
  return `00u${out}`;
}

/** The directory: login -> profile and Okta groups. */
export const USERS = {
  alice: { groups: ['qa'], name: 'Alice Example' },
  bob: { groups: ['dev'], name: 'Bob Example' },
  mallory: { groups: ['contractors'], name: 'Mallory Example' },
  ada: { groups: ['qa-admins'], name: 'Ada Admin' },
};
for (const [login, u] of Object.entries(USERS)) {
  u.login = login;
  u.email = `${login}@example.test`;
  u.uid = oktaUid(login);
}

export const CLIENTS = {
  // client credentials, allowed as a service client by the server under test
  svc: { id: 'svc', secret: 'svc-secret-7d1f0c2a9b' },
  // client credentials, NOT in ZMCP_OIDC_SERVICE_CLIENTS
  batch: { id: 'batch-job', secret: 'batch-secret-55e2a1' },
  // public client, authorization code + PKCE (an MCP client such as Claude Code)
  web: { id: 'mcp-web', redirectUri: 'http://127.0.0.1:53682/callback' },
  // a confidential auth-code client that the server does not list in ZMCP_OIDC_ALLOWED_CLIENT_IDS
  other: { id: 'other-app', secret: 'other-secret-93b0', redirectUri: 'http://127.0.0.1:53683/callback' },
  // The server's own confidential client for its /connect page (auth code + PKCE + nonce,
  // client_secret_basic). Registered only when startOkta gets `connectRedirectUri`; its
  // redirect URI depends on the server's port, so use `okta.clients.connect` (with it).
  connect: { id: 'zmcp-connect', secret: 'connect-secret-4b1d9e', tokenEndpointAuth: 'client_secret_basic' },
};

/** An RSA signing key as a private JWK with `kid`, `alg`, `use`. */
export async function newRsaKey(kid = `k-${randomBytes(6).toString('hex')}`) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

/** The public half of a private JWK. */
export function publicJwk({ d, p, q, dp, dq, qi, ...pub }) {
  return pub;
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

/**
 * Start the Okta stand-in. `resource` is the MCP server's canonical URL (the
 * only audience the provider issues for, besides `otherResources`).
 * Resolves an object with `issuer`, token helpers, key rotation and `stop()`.
 */
export async function startOkta({
  resource, otherResources = [], accessTokenTTL = 600, jwksMaxAge = 2,
  // Okta binds `aud` to the authorization server's configured Audience, not to
  // `resource`: set `audience` to issue every token with that fixed value.
  audience = null,
  groupsClaim = 'groups',
  // The server's own callback(s) at the IdP: the connect page's (`<public>/connect/callback`)
  // and/or the authorization server's (`<public>/oauth/callback`, identity `broker`); a
  // string or an array of them. Registers CLIENTS.connect.
  connectRedirectUri = null,
} = {}) {
  if (!resource) throw new Error('startOkta: resource (the MCP URL) is required');
  const hits = new Map();
  let current = null;
  let outage = false;
  // Requests that arrived during an outage, by path: what the server tried while the issuer was down.
  const outageHits = new Map();
  const server = http.createServer((req, res) => {
    if (outage) {
      const path = new URL(req.url, 'http://x').pathname;
      outageHits.set(path, (outageHits.get(path) ?? 0) + 1);
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
      return;
    }
    const url = new URL(req.url, 'http://x');
    let path = url.pathname;
    // RFC 8414 path-inserted metadata, as Okta also serves it.
    for (const wk of ['oauth-authorization-server', 'openid-configuration']) {
      if (path === `/.well-known/${wk}${PREFIX}`) path = `${PREFIX}/.well-known/${wk}`;
    }
    if (!path.startsWith(PREFIX + '/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    path = path.slice(PREFIX.length);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    // oidc-provider derives its mount path from originalUrl minus url.
    req.originalUrl = PREFIX + path + url.search;
    req.url = path + url.search;
    if (path === '/v1/keys') {
      // Okta sends Cache-Control on its keys; a short max-age makes retirement observable.
      res.setHeader('cache-control', `public, max-age=${jwksMaxAge}`);
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) => (String(name).toLowerCase() === 'cache-control' ? res : setHeader(name, value));
    }
    current.callback()(req, res);
  });
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}${PREFIX}`;
  const audiences = new Set([resource, ...otherResources]);

  const connectRedirectUris = [connectRedirectUri].flat().filter(Boolean);
  // `redirectUri` is the first one (what connect.test.mjs uses); `redirectUris` all of them.
  const connectClient = connectRedirectUris.length
    ? { ...CLIENTS.connect, redirectUri: connectRedirectUris[0], redirectUris: connectRedirectUris }
    : null;

  let keys = [await newRsaKey('okta-key-1')];
  let signingKid = keys[0].kid;

  const build = () => {
    const provider = new Provider(issuer, {
      jwks: { keys },
      clients: [
        {
          client_id: CLIENTS.svc.id, client_secret: CLIENTS.svc.secret, grant_types: ['client_credentials'],
          redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic',
          scope: `${READ_SCOPE} ${WRITE_SCOPE}`,
        },
        {
          client_id: CLIENTS.batch.id, client_secret: CLIENTS.batch.secret, grant_types: ['client_credentials'],
          redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic',
          scope: `${READ_SCOPE} ${WRITE_SCOPE}`,
        },
        {
          client_id: CLIENTS.web.id, grant_types: ['authorization_code', 'refresh_token'], application_type: 'native',
          redirect_uris: [CLIENTS.web.redirectUri], response_types: ['code'], token_endpoint_auth_method: 'none',
        },
        {
          client_id: CLIENTS.other.id, client_secret: CLIENTS.other.secret, grant_types: ['authorization_code'],
          redirect_uris: [CLIENTS.other.redirectUri], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post',
        },
        ...(connectClient
          ? [{
            client_id: connectClient.id, client_secret: connectClient.secret, grant_types: ['authorization_code'],
            redirect_uris: connectClient.redirectUris, response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
            scope: `openid email profile ${READ_SCOPE} ${WRITE_SCOPE}`,
          }]
          : []),
      ],
      scopes: ['openid', 'email', 'profile', 'offline_access', READ_SCOPE, WRITE_SCOPE],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
      findAccount: async (ctx, sub) => {
        const user = USERS[sub];
        if (!user) return undefined;
        return {
          accountId: sub,
          claims: async () => ({ sub, email: user.email, email_verified: true, name: user.name, preferred_username: user.email }),
        };
      },
      routes: {
        authorization: '/v1/authorize', token: '/v1/token', jwks: '/v1/keys', introspection: '/v1/introspect',
        revocation: '/v1/revoke', userinfo: '/v1/userinfo', end_session: '/v1/logout', registration: '/v1/clients',
      },
      features: {
        devInteractions: { enabled: true },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => resource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (ctx, indicator) => {
            if (!audiences.has(indicator)) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
            return {
              scope: `${READ_SCOPE} ${WRITE_SCOPE}`,
              audience: audience ?? indicator,
              accessTokenTTL,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256', kid: signingKid } },
            };
          },
        },
      },
      extraTokenClaims: async (ctx, token) => {
        const claims = { ver: 1, cid: token.clientId, scp: token.scope ? token.scope.split(' ') : [] };
        const user = token.accountId ? USERS[token.accountId] : null;
        if (user) Object.assign(claims, { uid: user.uid, [groupsClaim]: user.groups });
        return claims;
      },
      formats: {
        customizers: {
          jwt: async (ctx, token, jwt) => {
            // Okta has `cid` and `scp` instead.
            delete jwt.payload.scope;
            delete jwt.payload.client_id;
          },
        },
      },
      pkce: { required: () => true },
      ttl: { AccessToken: accessTokenTTL, ClientCredentials: accessTokenTTL, IdToken: 3600 },
    });
    provider.on('server_error', (ctx, err) => {
      process.stderr.write(`okta stand-in server_error: ${err.stack}\n`);
    });
    current = provider;
  };
  build();

  const okta = {
    issuer,
    origin,
    port,
    resource,
    hits,
    /** Clients with their redirect URIs; `connect` only with `connectRedirectUri`. */
    clients: { ...CLIENTS, ...(connectClient ? { connect: connectClient } : {}) },
    /** Every private key the provider holds, newest first. */
    get keys() {
      return keys;
    },
    get signingKey() {
      return keys.find((k) => k.kid === signingKid);
    },
    /** Public JWKS as published at {issuer}/v1/keys. */
    jwks() {
      return { keys: keys.map(publicJwk) };
    },
    /** Publish a new key and sign with it from now on; the old keys stay published. */
    async rotate(kid) {
      const key = await newRsaKey(kid);
      keys = [key, ...keys];
      signingKid = key.kid;
      build();
      return key;
    },
    /** Stop publishing (and using) a key. */
    retire(kid) {
      if (kid === signingKid) throw new Error('retire: rotate to a new signing key first');
      keys = keys.filter((k) => k.kid !== kid);
      build();
    },

    /** While on, every IdP request answers 503 (the issuer is unreachable). */
    setOutage(on) {
      outage = on;
    },
    /** Requests to `path` (e.g. `${PREFIX}/v1/keys`) refused during outages so far. */
    outageHits(path) {
      return outageHits.get(path) ?? 0;
    },

    /** Client-credentials grant at {issuer}/v1/token. */
    async clientCredentials({ client = CLIENTS.svc, scope = READ_SCOPE, resource: res = resource } = {}) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope });
      if (res) body.set('resource', res);
      const r = await fetch(`${issuer}/v1/token`, {
        method: 'POST',
        headers: {
          authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64'),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const json = await r.json();
      if (!r.ok) throw Object.assign(new Error(`client_credentials for ${client.id}: ${r.status} ${JSON.stringify(json)}`), { status: r.status, body: json });
      return json;
    },

    /**
     * Authorization code + PKCE, driven headlessly through the real
     * authorization endpoint and the devInteractions login/consent forms.
     * Returns the token response (access_token, id_token, refresh_token?).
     */
    async authorizationCode({ login, scope = `openid email profile ${READ_SCOPE}`, client = CLIENTS.web, resource: res = resource, nonce } = {}) {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const state = randomBytes(8).toString('hex');
      const authorize = new URL(`${issuer}/v1/authorize`);
      authorize.search = new URLSearchParams({
        client_id: client.id, response_type: 'code', redirect_uri: client.redirectUri, scope, state,
        code_challenge: challenge, code_challenge_method: 'S256', ...(res ? { resource: res } : {}),
        ...(nonce ? { nonce } : {}),
      }).toString();
      const redirect = await okta.authorizeHeadless(authorize.toString(), login, client.redirectUri);
      const code = redirect.searchParams.get('code');
      if (redirect.searchParams.get('state') !== state) throw new Error(`state mismatch in ${redirect}`);
      if (!code) throw new Error(`no code in ${redirect}`);
      return okta.exchangeCode({ code, verifier, client, resource: res });
    },

    async exchangeCode({ code, verifier, client = CLIENTS.web, resource: res = resource }) {
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier });
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      if (client.secret && client.tokenEndpointAuth === 'client_secret_basic') {
        headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
      } else {
        body.set('client_id', client.id);
        if (client.secret) body.set('client_secret', client.secret);
      }
      if (res) body.set('resource', res);
      const r = await fetch(`${issuer}/v1/token`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      const json = await r.json();
      if (!r.ok) throw new Error(`authorization_code token exchange: ${r.status} ${JSON.stringify(json)}`);
      return json;
    },

    /**
     * Follow an authorization URL headlessly (cookie jar, manual redirects),
     * log in as `login` and grant consent; resolves the redirect URL (with
     * `code`) at `redirectUri`. Usable for URLs built by an MCP client SDK.
     */
    async authorizeHeadless(authorizationUrl, login, redirectUri) {
      if (!USERS[login]) throw new Error(`authorizeHeadless: unknown user ${login}`);
      const jar = new Map();
      const send = async (url, init = {}) => {
        const headers = { ...(init.headers ?? {}) };
        if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
        const r = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
        for (const c of r.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const eq = pair.indexOf('=');
          const name = pair.slice(0, eq).trim();
          const value = pair.slice(eq + 1).trim();
          if (/expires=Thu, 01 Jan 1970/i.test(c) || value === '') jar.delete(name);
          else jar.set(name, value);
        }
        return r;
      };
      let url = new URL(authorizationUrl);
      let response = await send(url);
      for (let step = 0; step < 20; step++) {
        if (response.status >= 300 && response.status < 400) {
          const next = new URL(response.headers.get('location'), url);
          await response.arrayBuffer();
          if (redirectUri && next.toString().startsWith(redirectUri)) {
            if (next.searchParams.get('error')) throw new Error(`authorization error: ${next}`);
            return next;
          }
          url = next;
          response = await send(url);
          continue;
        }
        const html = await response.text();
        if (response.status !== 200) throw new Error(`authorize: HTTP ${response.status} at ${url}: ${html.slice(0, 500)}`);
        const form = html.match(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i);
        if (!form) throw new Error(`authorize: no form at ${url}: ${html.slice(0, 500)}`);
        const fields = new URLSearchParams();
        for (const input of form[2].matchAll(/<input[^>]*>/gi)) {
          const name = input[0].match(/name="([^"]+)"/)?.[1];
          const value = input[0].match(/value="([^"]*)"/)?.[1] ?? '';
          if (name && /type="hidden"/i.test(input[0])) fields.set(name, value);
        }
        if (/name="login"/.test(form[2])) {
          fields.set('prompt', 'login');
          fields.set('login', login);
          fields.set('password', 'any-password');
        } else if (!fields.has('prompt')) {
          fields.set('prompt', 'consent');
        }
        url = new URL(form[1].replace(/&amp;/g, '&'), url);
        response = await send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
      }
      throw new Error('authorize: too many steps');
    },

    async discovery() {
      const r = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
      return r.json();
    },

    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
  return okta;
}

/** Decode a JWT's header and payload without verifying (for assertions). */
export function decodeJwt(token) {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}
