// zebrunner-mcp with identity `oidc` against the Okta stand-in (okta.mjs):
// start the server on a pre-picked free port (its public URL must be known
// before it starts, and the IdP needs it as the token audience), raw MCP
// requests with a bearer token, `WWW-Authenticate` parsing, and the `audit`
// CLI.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverEnv } from './mcp.mjs';
import { binaryPath, stopProcess, track } from './procs.mjs';
import { MCP_HEADERS, initializeBody, rawRequest } from './raw.mjs';

/** A free loopback TCP port (bound then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const POLICY_TOML = `
[policy]
read_scope = "zebrunner:read"
write_scope = "zebrunner:write"
allowed_groups = ["qa", "dev"]
read_only_groups = ["dev"]
admin_groups = ["qa-admins"]

[[policy.project_access]]
group = "dev"
projects = ["DEMO"]

[audit]
sinks = ["database", "stdout"]
`;

/** A temporary directory removed by `cleanup()`. */
export function tempDir(prefix = 'zmcp-e2e-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const VERBOSE_LOG = 'info,zebrunner_mcp=debug,zebrunner_mcp_server=debug,zebrunner_client=debug';

/**
 * Start `serve --transport http` with identity `oidc`. `port` and `publicUrl`
 * come from the caller (who gave the IdP the resource URL already).
 * Resolves `{ url, origin, publicUrl, env, stdoutLines, stderr, stop, child }`;
 * ready = `/healthz` answers 200 (the server must keep it open).
 */
export async function startOidcServer({ sandbox, user, okta, port, dataDir, config = POLICY_TOML, env = {}, timeoutMs = 30_000 }) {
  const publicUrl = `http://127.0.0.1:${port}`;
  const configPath = join(dataDir, 'config.toml');
  writeFileSync(configPath, config);
  const fullEnv = {
    ...serverEnv(sandbox, user),
    RUST_LOG: process.env.RUST_LOG ?? VERBOSE_LOG,
    ZMCP_IDENTITY: 'oidc',
    ZMCP_OIDC_ISSUER: okta.issuer,
    ZMCP_PUBLIC_URL: publicUrl,
    ZMCP_DATA_DIR: dataDir,
    ZMCP_CONFIG: configPath,
    ...env,
  };
  const child = track(
    spawn(binaryPath(), ['serve', '--transport', 'http', '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, ...fullEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (c) => (out.stdout += c));
  child.stderr.on('data', (c) => (out.stderr += c));
  let exited = null;
  child.once('exit', (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      throw new Error(
        `zebrunner-mcp (identity oidc) exited early (code ${exited.code}, signal ${exited.signal}); ` +
          `does this binary support ZMCP_IDENTITY=oidc?\nstdout:\n${out.stdout.slice(-5000)}\nstderr:\n${out.stderr.slice(-5000)}`,
      );
    }
    try {
      const res = await rawRequest(`${publicUrl}/healthz`, { timeoutMs: 2_000 });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`zebrunner-mcp (identity oidc): /healthz not 200 within ${timeoutMs} ms\nstderr:\n${out.stderr.slice(-5000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `${publicUrl}/mcp`,
    origin: publicUrl,
    publicUrl,
    env: fullEnv,
    child,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    stop: () => stopProcess(child),
  };
}

/** POST a JSON-RPC body to /mcp with an optional bearer token / session. */
export function mcpPost(url, { token, authorization, session, protocolVersion, body = initializeBody(1), headers = {} } = {}) {
  const h = { ...MCP_HEADERS, ...headers };
  if (authorization !== undefined) h.authorization = authorization;
  else if (token) h.authorization = `Bearer ${token}`;
  if (session) {
    h['mcp-session-id'] = session;
    h['mcp-protocol-version'] = protocolVersion ?? '2025-11-25';
  }
  return rawRequest(url, { method: 'POST', headers: h, body });
}

/**
 * Parse `WWW-Authenticate: Bearer k="v", k2=v2` (RFC 7235 auth-params,
 * quoted strings with escapes). Returns `{ scheme, params }` or null.
 */
export function parseChallenge(header) {
  if (!header) return null;
  const value = Array.isArray(header) ? header.join(', ') : header;
  const m = value.match(/^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+([\s\S]*))?$/);
  if (!m) return null;
  const params = {};
  const rest = m[2] ?? '';
  const re = /\s*([A-Za-z0-9_!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let pm;
  let consumed = 0;
  while ((pm = re.exec(rest)) !== null) {
    if (pm[0] === '') break;
    params[pm[1].toLowerCase()] = pm[2] !== undefined ? pm[2].replace(/\\(.)/g, '$1') : pm[3];
    consumed = re.lastIndex;
  }
  if (rest.slice(consumed).trim()) params.__unparsed = rest.slice(consumed);
  return { scheme: m[1], params };
}

/** Run the binary (e.g. `audit export`) with `env`; resolves `{ code, stdout, stderr }`. */
export function runCli(args, env, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(binaryPath(), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zebrunner-mcp ${args.join(' ')}: timed out after ${timeoutMs} ms\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file under `dir` as one latin1 string (SQLite pages, WAL, logs). */
export function readTree(dir) {
  let all = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) all += readTree(p);
    else if (st.isFile()) all += readFileSync(p).toString('latin1');
  }
  return all;
}

/** Which of `secrets` (strings) occur in `text`; a JWT also counts if its signature does. */
export function leakedSecrets(text, secrets) {
  const found = [];
  for (const s of secrets) {
    if (!s) continue;
    const parts = s.split('.');
    const needles = parts.length === 3 && parts[2].length > 20 ? [s, parts[2]] : [s];
    if (needles.some((n) => text.includes(n))) found.push(s.length > 40 ? `${s.slice(0, 20)}…${s.slice(-12)}` : s);
  }
  return found;
}

/** Parse JSON lines, ignoring non-JSON lines (e.g. a banner). */
export function jsonLines(text) {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

/** All primitive values in a JSON value, as strings (for field-name-agnostic checks). */
export function flatValues(value, out = []) {
  if (value === null || value === undefined) return out;
  if (Array.isArray(value)) value.forEach((v) => flatValues(v, out));
  else if (typeof value === 'object') Object.values(value).forEach((v) => flatValues(v, out));
  else out.push(String(value));
  return out;
}

/** The first value whose key matches `re` (depth-first), or undefined. */
export function findKey(value, re) {
  if (!value || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (re.test(k)) return v;
  }
  for (const v of Object.values(value)) {
    const f = findKey(v, re);
    if (f !== undefined) return f;
  }
  return undefined;
}
