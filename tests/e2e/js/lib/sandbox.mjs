// The bundled fake Zebrunner (`zebrunner-mcp sandbox`) and a plain REST
// client for it, used as the ORACLE the MCP tools are checked against.

import { binaryPath, startProcess } from './procs.mjs';

const BANNER = /^sandbox listening on (http:\/\/\S+)$/;
const USER_LINE = /^user (\S+) token (\S+) projects (\S*)$/;

/**
 * Start a sandbox on an ephemeral port (`args`: more `sandbox` options). Resolves
 * `{ url, users: {alice, bob, ...by login}, stop }`.
 */
export async function startSandbox({ scale = 'small', seed = 42, args = [] } = {}) {
  const ready = (lines) => {
    const banner = lines[0]?.match(BANNER);
    // A wrong first line is reported by the time-out, with all the output.
    if (!banner) return null;
    const users = lines.slice(1).map((l) => l.match(USER_LINE)).filter(Boolean);
    // The contract seeds alice and bob; wait until both are printed.
    return users.length >= 2 ? { url: banner[1], users } : null;
  };
  const proc = await startProcess(
    binaryPath(),
    ['sandbox', '--listen', '127.0.0.1:0', '--scale', scale, '--seed', String(seed), ...args],
    { ready, label: 'sandbox', timeoutMs: 30_000 },
  );
  const users = {};
  for (const [, login, token, projects] of proc.match.users) {
    const user = { login, token, projects: projects ? projects.split(',') : [] };
    users[login] = user;
    users[login.split('@')[0]] = user;
  }
  return { url: proc.match.url, users, stop: proc.stop, process: proc };
}

/** A failed REST call, with its status for tests that expect errors. */
export class RestError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path} -> ${status}: ${body.slice(0, 300)}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * Direct REST access to the sandbox as one user: Basic auth for the Public
 * API, Bearer (from the IAM refresh) for internal APIs.
 */
export class Oracle {
  constructor(baseUrl, { login, token }) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.login = login;
    this.token = token;
    this.bearer = null;
  }

  async request(path, { params = {}, auth = 'basic', method = 'GET', body } = {}) {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    }
    const headers = { accept: 'application/json' };
    if (auth === 'basic') {
      headers.authorization = 'Basic ' + Buffer.from(`${this.login}:${this.token}`).toString('base64');
    } else if (auth === 'bearer') {
      headers.authorization = 'Bearer ' + (await this.bearerToken());
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (!res.ok) throw new RestError(method, url.pathname + url.search, res.status, text);
    return text ? JSON.parse(text) : null;
  }

  async bearerToken() {
    if (!this.bearer) {
      const auth = await this.request('/api/iam/v1/auth/refresh', {
        method: 'POST',
        auth: 'none',
        body: { refreshToken: this.token },
      });
      this.bearer = auth.authToken;
    }
    return this.bearer;
  }

  /** Every item of a token-paged Public API list (pages of `pageSize`). */
  async pageAll(path, params, pageSize = 100) {
    const items = [];
    let pageToken;
    for (let pages = 0; ; pages++) {
      if (pages > 1000) throw new Error(`${path}: more than 1000 pages, paging never ends`);
      const page = await this.request(path, { params: { ...params, maxPageSize: pageSize, pageToken } });
      if (!Array.isArray(page.items)) throw new Error(`${path}: no items array in ${JSON.stringify(page).slice(0, 200)}`);
      if (page.items.length > pageSize) throw new Error(`${path}: page of ${page.items.length} > maxPageSize ${pageSize}`);
      items.push(...page.items);
      pageToken = page._meta?.nextPageToken;
      if (!pageToken) return items;
    }
  }

  /** `/api/projects/v1/projects` (internal, Bearer). */
  async projects() {
    const body = await this.request('/api/projects/v1/projects', { auth: 'bearer', params: { extraFields: 'starred' } });
    return body.items ?? body.data ?? body;
  }

  async projectId(key) {
    const body = await this.request(`/api/projects/v1/projects/${key}`, { auth: 'bearer' });
    return (body.data ?? body).id;
  }

  /** All test cases of a project, straight from the Public API, deleted ones too. */
  testCases(projectKey, filter) {
    return this.pageAll('/api/public/v1/test-cases', { projectKey, filter });
  }

  suites(projectKey) {
    return this.pageAll('/api/public/v1/test-suites', { projectKey });
  }

  async caseByKey(key) {
    const projectKey = key.split('-')[0];
    return (await this.request(`/api/public/v1/test-cases/key:${key}`, { params: { projectKey } })).data;
  }

  async publicItems(path, projectKey) {
    const body = await this.request(path, { params: { projectKey } });
    return body.items ?? body.data ?? body;
  }

  automationStates(projectKey) {
    return this.publicItems('/api/public/v1/test-case-settings/automation-states', projectKey);
  }

  priorities(projectKey) {
    return this.publicItems('/api/public/v1/test-case-settings/priorities', projectKey);
  }

  resultStatuses(projectKey) {
    return this.publicItems('/api/public/v1/test-run-settings/result-statuses', projectKey);
  }

  configurationGroups(projectKey) {
    return this.publicItems('/api/public/v1/test-run-settings/configuration-groups', projectKey);
  }

  async fieldsLayout(projectKey) {
    const projectId = await this.projectId(projectKey);
    const body = await this.request('/api/tcm/v1/test-case-settings/fields-layout', { auth: 'bearer', params: { projectId } });
    return body.data ?? body;
  }

  async executions(projectKey, caseId) {
    const projectId = await this.projectId(projectKey);
    const body = await this.request(`/api/tcm/v1/test-cases/${caseId}/executions`, { auth: 'bearer', params: { projectId } });
    const inner = body.data ?? body;
    return inner.items ?? inner;
  }

  async changes(projectKey, caseId) {
    const projectId = await this.projectId(projectKey);
    const body = await this.request(`/api/tcm/v1/test-cases/${caseId}/changes`, {
      auth: 'bearer',
      params: { projectId, maxPageSize: 100 },
    });
    const inner = body.data ?? body;
    return inner.items ?? inner;
  }
}

/** Suite helpers computed from the REST suite list (the oracle's view). */
export class SuiteTree {
  constructor(suites) {
    this.byId = new Map(suites.map((s) => [s.id, s]));
    this.children = new Map();
    for (const s of suites) {
      const parent = s.parentSuiteId ?? null;
      if (!this.children.has(parent)) this.children.set(parent, []);
      this.children.get(parent).push(s.id);
    }
  }

  title(id) {
    const s = this.byId.get(id);
    return s.title ?? s.name;
  }

  /** `Root > Child > Leaf` */
  path(id) {
    const parts = [];
    for (let cur = this.byId.get(id), guard = 0; cur && guard < 100; cur = this.byId.get(cur.parentSuiteId), guard++) {
      parts.unshift(cur.title ?? cur.name);
    }
    return parts.join(' > ');
  }

  depth(id) {
    return this.path(id).split(' > ').length;
  }

  /** The suite and all its descendants. */
  subtree(id) {
    const out = [id];
    for (let i = 0; i < out.length; i++) out.push(...(this.children.get(out[i]) ?? []));
    return out;
  }

  findByPath(path) {
    return [...this.byId.keys()].find((id) => this.path(id) === path);
  }
}
