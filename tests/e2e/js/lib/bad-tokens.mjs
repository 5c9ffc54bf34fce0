// The table of bad (and a few good control) tokens for the identity tests.
// Validly signed-but-wrong tokens are signed with the IdP's REAL private key
// (okta.signingKey), so a refusal can only come from the claim or header
// check under test; the controls prove the minting itself is right.

import { createHmac, createPrivateKey, randomBytes, sign as cryptoSign, createPublicKey } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { CLIENTS, READ_SCOPE, USERS, newRsaKey, publicJwk } from './okta.mjs';

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Sign with RS256/RS384 (or none) by hand, so any header/payload is possible. */
export function signRaw(header, payload, key, alg = header.alg) {
  const input = `${typeof header === 'string' ? b64(header) : b64(header)}.${typeof payload === 'string' ? b64(payload) : b64(payload)}`;
  if (!alg || alg.toLowerCase() === 'none') return `${input}.`;
  if (alg.startsWith('HS')) {
    return `${input}.${createHmac(`sha${alg.slice(2)}`, key).update(input).digest('base64url')}`;
  }
  const keyObject = createPrivateKey({ key, format: 'jwk' });
  return `${input}.${cryptoSign(`sha${alg.slice(2)}`, Buffer.from(input), keyObject).toString('base64url')}`;
}

/** Okta-shaped access-token claims for `login`, valid for `okta.resource`. */
export function userClaims(okta, login = 'alice', extra = {}) {
  const u = USERS[login];
  const t = now();
  return {
    ver: 1,
    jti: `AT.${randomBytes(12).toString('base64url')}`,
    iss: okta.issuer,
    aud: okta.resource,
    iat: t,
    exp: t + 600,
    cid: CLIENTS.web.id,
    uid: u.uid,
    sub: login,
    scp: [READ_SCOPE],
    groups: u.groups,
    ...extra,
  };
}

/** A validly signed token with the IdP's current key. */
export function mint(okta, claims, header = {}) {
  const key = okta.signingKey;
  return signRaw({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...header }, claims, key);
}

const without = (obj, ...keys) => Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));

/**
 * Build the battery. `real` holds tokens obtained from the IdP's endpoints:
 * { idToken, otherAudience, batchClientCredentials, otherClient }.
 * Each row: { name, authorization?, headers?, query?, expect: { status: [..], error } , bearer? }
 * `error`: 'invalid_token' | 'invalid_request' | null (no error param) | undefined (not checked).
 * `bearer` is the raw token when one is sent as `Bearer <token>` (for the Okta cross-check).
 */
export async function buildBattery(okta, real) {
  const key = okta.signingKey;
  const pub = publicJwk(key);
  const pem = createPublicKey({ key: pub, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const base = () => userClaims(okta, 'alice');
  const t = now();
  const stranger = await newRsaKey('attacker-key');
  const strangerSameKid = { ...(await newRsaKey(key.kid)) };
  const { privateKey: ecKey } = await generateKeyPair('ES256', { extractable: true });
  const valid = mint(okta, base());
  const [vh, vp, vs] = valid.split('.');

  const rows = [];
  const bad = (name, token, expect = { status: [401], error: 'invalid_token' }) =>
    rows.push({ name, authorization: `Bearer ${token}`, bearer: token, expect });

  // --- time ---
  bad('expired an hour ago', mint(okta, { ...base(), iat: t - 4200, exp: t - 3600 }));
  bad('expired 90 s ago (beyond the default 60 s leeway)', mint(okta, { ...base(), iat: t - 690, exp: t - 90 }));
  bad('expired beyond a 60 s leeway (5 min)', mint(okta, { ...base(), iat: t - 900, exp: t - 300 }));
  bad('nbf an hour in the future', mint(okta, { ...base(), nbf: t + 3600 }));
  bad('iat an hour in the future', mint(okta, { ...base(), iat: t + 3600, exp: t + 4200 }));
  bad('exp missing', mint(okta, without(base(), 'exp')));
  bad('exp is a string', mint(okta, { ...base(), exp: String(t + 600) }));
  // --- issuer ---
  bad('wrong iss (another authorization server)', mint(okta, { ...base(), iss: okta.issuer.replace('/default', '/aus0other') }));
  bad('iss with a trailing slash', mint(okta, { ...base(), iss: `${okta.issuer}/` }));
  bad('iss is the Okta org (no /oauth2/default)', mint(okta, { ...base(), iss: okta.origin }));
  bad('iss missing', mint(okta, without(base(), 'iss')));
  // --- audience ---
  bad('wrong aud, issued by the IdP for another resource', real.otherAudience);
  bad('aud api://default (Okta default audience)', mint(okta, { ...base(), aud: 'api://default' }));
  bad('aud missing', mint(okta, without(base(), 'aud')));
  bad('aud array without this server', mint(okta, { ...base(), aud: ['api://default', 'http://127.0.0.1:9/other-mcp'] }));
  bad('aud is a number', mint(okta, { ...base(), aud: 42 }));
  bad('ID token from the IdP offered as an access token', real.idToken);
  // --- who ---
  bad('sub missing', mint(okta, without(base(), 'sub')));
  bad('client-credentials token of a non-service client (no uid)', real.batchClientCredentials);
  bad('cid not in ZMCP_OIDC_ALLOWED_CLIENT_IDS (real token of other-app)', real.otherClient);
  // --- algorithm / key ---
  bad('alg none, no signature', signRaw({ alg: 'none', typ: 'at+jwt', kid: key.kid }, base()));
  bad('alg NONE (case variant)', signRaw({ alg: 'NONE', typ: 'at+jwt', kid: key.kid }, base(), null, 'none'));
  bad('alg none with the valid signature kept', `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${vp}.${vs}`);
  bad('HS256 signed with the public key (PEM) as secret', signRaw({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, base(), pem));
  bad('HS256 signed with the public JWK JSON as secret', signRaw({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, base(), JSON.stringify(pub)));
  bad('RS384 with the real key (alg not allowed / disagrees with the JWK)', signRaw({ alg: 'RS384', typ: 'at+jwt', kid: key.kid }, base(), key));
  bad('ES256 from an unrelated key, real kid', await new CompactSign(Buffer.from(JSON.stringify(base())))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
    .sign(ecKey));
  bad('unknown kid (signed by an unrelated key)', signRaw({ alg: 'RS256', typ: 'at+jwt', kid: stranger.kid }, base(), stranger));
  bad('kid missing (real key)', signRaw({ alg: 'RS256', typ: 'at+jwt' }, base(), key));
  bad('real kid, signed by another key with the same kid', signRaw({ alg: 'RS256', typ: 'at+jwt', kid: key.kid }, base(), strangerSameKid));
  bad('jku header pointing at an attacker JWKS', signRaw({ alg: 'RS256', typ: 'at+jwt', kid: stranger.kid, jku: 'http://127.0.0.1:9/jwks.json' }, base(), stranger));
  bad('embedded jwk header with the attacker key', signRaw({ alg: 'RS256', typ: 'at+jwt', kid: stranger.kid, jwk: publicJwk(stranger) }, base(), stranger));
  bad('crit header with an unknown extension', mint(okta, base(), { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true }));
  bad('typ dpop+jwt (a DPoP proof, not an access token)', mint(okta, base(), { typ: 'dpop+jwt' }));
  bad('typ logout+jwt (a logout token)', mint(okta, base(), { typ: 'logout+jwt' }));
  // --- structure ---
  const tampered = b64({ ...JSON.parse(Buffer.from(vp, 'base64url')), groups: ['qa-admins'], scp: [READ_SCOPE, 'zebrunner:write'] });
  bad('tampered payload (groups, scp), original signature', `${vh}.${tampered}.${vs}`);
  bad('tampered header (kid changed), original signature', `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'okta-key-0' })}.${vp}.${vs}`);
  bad('truncated signature', valid.slice(0, -12));
  bad('signature stripped', `${vh}.${vp}.`);
  bad('two segments', `${vh}.${vp}`);
  bad('five segments (JWE-shaped)', `${vh}.${vp}.${vs}.AAAA.BBBB`);
  bad('not a JWT at all', 'definitely-not-a-jwt');
  bad('payload is not JSON', signRaw({ alg: 'RS256', typ: 'at+jwt', kid: key.kid }, 'hello world', key));
  bad('header is not JSON', `${b64('{"alg":"RS256",')}.${vp}.${vs}`);
  bad('payload is a JSON array', signRaw({ alg: 'RS256', typ: 'at+jwt', kid: key.kid }, [1, 2, 3], key));
  // '=' inside a token68 is a syntax error (400) or an unparsable JWT (401): both fine.
  bad('base64 padding inside the token', `${vh}==.${vp}.${vs}`, { status: [400, 401], error: undefined });
  bad('oversized header (48 KB), validly signed', mint(okta, base(), { x: 'a'.repeat(48 * 1024) }), { status: [400, 401, 431], error: undefined });

  // --- Authorization header forms ---
  const form = (name, authorization, expect, extra = {}) => rows.push({ name, authorization, expect, ...extra });
  form('"Bearer" with no token', 'Bearer', { status: [400], error: 'invalid_request' });
  form('"Bearer " with only a space', 'Bearer ', { status: [400, 401], error: undefined });
  form('two tokens after Bearer', `Bearer ${valid} ${valid}`, { status: [400], error: 'invalid_request' });
  form('token with characters outside b64token', 'Bearer abc$%^&*def', { status: [400, 401], error: undefined });
  form('two Authorization headers', [`Bearer ${valid}`, `Bearer ${valid}`], { status: [400], error: 'invalid_request' });
  // The query method is not supported (bearer_methods_supported = header): a query token is ignored (200 with
  // the header's valid token) or the request is refused as using two methods (400); never used.
  form('valid header plus a bad access_token query parameter', `Bearer ${valid}`, { status: [200, 400], error: undefined }, { query: 'access_token=not-a-token' });
  form('Basic credentials (unsupported scheme: no error code, RFC 6750 §3.1)', 'Basic ' + Buffer.from('alice:password').toString('base64'), { status: [401], error: null });
  form('access_token only in the query string (not accepted, MCP)', undefined, { status: [400, 401], error: undefined }, { query: `access_token=${valid}` });

  return rows;
}

/** Tokens that MUST be accepted (the minting and parsing controls). */
export function buildControls(okta, real) {
  const t = now();
  const base = () => userClaims(okta, 'alice');
  return [
    { name: 'minted like the IdP (typ at+jwt)', bearer: mint(okta, base()) },
    { name: 'no typ header (as Okta issues access tokens)', bearer: signRaw({ alg: 'RS256', kid: okta.signingKey.kid }, base(), okta.signingKey) },
    { name: 'real access token from the IdP (authorization code + PKCE)', bearer: real.alice },
    { name: 'expired 20 s ago (inside the default 60 s leeway)', leeway: true, bearer: mint(okta, { ...base(), iat: t - 620, exp: t - 20 }) },
    { name: 'nbf 20 s ahead (inside the leeway)', leeway: true, bearer: mint(okta, { ...base(), nbf: t + 20 }) },
    { name: 'aud as an array containing this server', bearer: mint(okta, { ...base(), aud: [okta.resource, 'api://default'] }) },
    { name: 'scheme in lower case ("bearer", RFC 7235 case-insensitive)', bearer: real.alice, authorization: `bearer ${real.alice}` },
  ];
}
