// MCP resources with the official TypeScript SDK client: listing, templates,
// reads checked against the sandbox's own REST answers, project-key
// completion, unknown URIs, and the access policy (identity oidc: bob, group
// dev, is limited to DEMO).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { clearRequestLog, requestLog } from '../lib/control.mjs';
import { freePort, jsonLines, startOidcServer, tempDir } from '../lib/identity.mjs';
import { connectStdio, withTimeout } from '../lib/mcp.mjs';
import { USERS, startOkta } from '../lib/okta.mjs';
import { Oracle, SuiteTree, startSandbox } from '../lib/sandbox.mjs';

const FAMILIES = ['suites', 'automation-states', 'priorities', 'result-statuses', 'configuration-groups', 'milestones', 'fields'];
const TEMPLATES = FAMILIES.map((f) => `zebrunner://projects/{project_key}/${f}`);
const RESOURCE_NOT_FOUND = -32002;

/** Read a resource that must succeed; its one JSON content, parsed. */
async function readJson(client, uri) {
  const result = await withTimeout(client.readResource({ uri }), 60_000, `resources/read ${uri}`);
  assert.equal(result.contents.length, 1, `${uri}: one content`);
  const [content] = result.contents;
  assert.equal(content.uri, uri);
  assert.equal(content.mimeType, 'application/json');
  return JSON.parse(content.text);
}

/** Read a resource that must fail; the JSON-RPC error. */
async function readError(client, uri) {
  try {
    const result = await withTimeout(client.readResource({ uri }), 60_000, `resources/read ${uri}`);
    assert.fail(`${uri}: expected an error, got ${JSON.stringify(result).slice(0, 300)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

function completeKey(client, value, family = 'suites') {
  return withTimeout(
    client.complete({ ref: { type: 'ref/resource', uri: `zebrunner://projects/{project_key}/${family}` }, argument: { name: 'project_key', value } }),
    30_000,
    'completion/complete',
  );
}

/** Every milestone of a project from the reporting API, all pages. */
async function oracleMilestones(oracle, key) {
  const projectId = await oracle.projectId(key);
  const items = [];
  for (let page = 1; page < 1000; page++) {
    const body = await oracle.request('/api/reporting/v1/milestones', { auth: 'bearer', params: { projectId, page, pageSize: 10 } });
    items.push(...body.items);
    if (body.items.length === 0 || items.length >= body._meta.total) return items;
  }
  throw new Error('milestone paging never ends');
}

const byId = (a, b) => a.id - b.id;
const idName = (items) => items.map(({ id, name }) => ({ id, name })).sort(byId);

describe('resources (identity none, stdio): lists, reads against the REST oracle, completion', () => {
  let sandbox;
  let oracle;
  let conn;
  let keys;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    keys = (await oracle.projects()).filter((p) => !p.deleted).map((p) => p.key).sort();
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('capabilities announce resources and completions', () => {
    const caps = conn.client.getServerCapabilities();
    assert.ok(caps.resources, 'resources capability');
    assert.ok(caps.completions, 'completions capability');
  });

  test('resources/list: zebrunner://projects and, for these few projects, each one\'s resources', async () => {
    assert.ok(keys.length > 0 && keys.length <= 5, `the sandbox has few projects: ${keys}`);
    const { resources } = await conn.client.listResources();
    const uris = resources.map((r) => r.uri).sort();
    const expected = ['zebrunner://projects', ...keys.flatMap((k) => FAMILIES.map((f) => `zebrunner://projects/${k}/${f}`))].sort();
    assert.deepEqual(uris, expected);
    for (const r of resources) assert.equal(r.mimeType, 'application/json', r.uri);
  });

  test('resources/templates/list: one template per family', async () => {
    const { resourceTemplates } = await conn.client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate).sort(), [...TEMPLATES].sort());
    for (const t of resourceTemplates) {
      assert.equal(t.mimeType, 'application/json');
      assert.ok(t.name && t.description, `${t.uriTemplate} has a name and description`);
    }
  });

  test('zebrunner://projects = the REST project list without deleted projects', async () => {
    const body = await readJson(conn.client, 'zebrunner://projects');
    const rest = (await oracle.projects()).filter((p) => !p.deleted);
    assert.equal(body.total, rest.length);
    assert.deepEqual(
      body.projects.map(({ id, key, name }) => ({ id, key, name })).sort(byId),
      rest.map(({ id, key, name }) => ({ id, key, name })).sort(byId),
    );
  });

  test('suites: every suite once, depth-first, with the REST parents and paths', async () => {
    const body = await readJson(conn.client, 'zebrunner://projects/DEMO/suites');
    const rest = await oracle.suites('DEMO');
    const tree = new SuiteTree(rest);
    assert.equal(body.project_key, 'DEMO');
    assert.equal(body.total, rest.length);
    assert.equal(body.suites.length, rest.length, 'no suite left out (more than one internal page is fine)');
    assert.deepEqual(body.suites.map((s) => s.id).sort((a, b) => a - b), rest.map((s) => s.id).sort((a, b) => a - b));
    const seen = new Set();
    for (const s of body.suites) {
      assert.equal(s.path, tree.path(s.id), `path of ${s.id}`);
      assert.equal(s.depth, tree.depth(s.id), `depth of ${s.id}`);
      assert.equal(s.parent_suite_id ?? null, tree.byId.get(s.id).parentSuiteId ?? null, `parent of ${s.id}`);
      if (s.parent_suite_id != null) assert.ok(seen.has(s.parent_suite_id), `parent of ${s.id} listed before it`);
      seen.add(s.id);
    }
  });

  test('automation states and priorities = the REST settings', async () => {
    const states = await readJson(conn.client, 'zebrunner://projects/DEMO/automation-states');
    assert.deepEqual(Object.keys(states).sort(), ['automation_states', 'project_key']);
    assert.deepEqual(idName(states.automation_states), idName(await oracle.automationStates('DEMO')));
    const priorities = await readJson(conn.client, 'zebrunner://projects/DEMO/priorities');
    assert.deepEqual(Object.keys(priorities).sort(), ['priorities', 'project_key']);
    assert.deepEqual(idName(priorities.priorities), idName(await oracle.priorities('DEMO')));
  });

  test('result statuses and configuration groups = the REST settings', async () => {
    const statuses = await readJson(conn.client, 'zebrunner://projects/DEMO/result-statuses');
    assert.deepEqual(idName(statuses.result_statuses), idName(await oracle.resultStatuses('DEMO')));
    const groups = await readJson(conn.client, 'zebrunner://projects/DEMO/configuration-groups');
    const rest = await oracle.configurationGroups('DEMO');
    assert.deepEqual(idName(groups.configuration_groups), idName(rest));
    for (const g of groups.configuration_groups) {
      const r = rest.find((x) => x.id === g.id);
      assert.deepEqual(idName(g.options), idName(r.options), `options of group ${g.name}`);
    }
  });

  test('milestones (all pages) and fields = the REST answers', async () => {
    const milestones = await readJson(conn.client, 'zebrunner://projects/DEMO/milestones');
    const rest = await oracleMilestones(oracle, 'DEMO');
    assert.ok(rest.length > 0, 'the sandbox seeds milestones in DEMO');
    assert.equal(milestones.total, rest.length);
    assert.deepEqual(
      milestones.milestones.map(({ id, name, completed }) => ({ id, name, completed })).sort(byId),
      rest.map(({ id, name, completed }) => ({ id, name, completed })).sort(byId),
    );
    const fields = await readJson(conn.client, 'zebrunner://projects/DEMO/fields');
    const layout = await oracle.fieldsLayout('DEMO');
    assert.deepEqual(fields.fields.map((f) => f.id).sort((a, b) => a - b), layout.fields.map((f) => f.id).sort((a, b) => a - b));
  });

  test('a lower-case key reads the same project', async () => {
    const lower = await readJson(conn.client, 'zebrunner://projects/demo/priorities');
    assert.equal(lower.project_key, 'DEMO');
  });

  test('completion of project_key: prefix, case-insensitive', async () => {
    const expectD = keys.filter((k) => k.startsWith('D'));
    assert.ok(expectD.includes('DEMO'));
    assert.deepEqual((await completeKey(conn.client, 'D')).completion.values, expectD);
    assert.deepEqual((await completeKey(conn.client, 'de', 'milestones')).completion.values, keys.filter((k) => k.startsWith('DE')));
    assert.deepEqual((await completeKey(conn.client, '')).completion.values, keys);
    assert.deepEqual((await completeKey(conn.client, 'ZZZ')).completion.values, []);
  });

  test('unknown URIs, injection attempts and unknown projects: resource not found', async () => {
    for (const uri of [
      'zebrunner://projects/DEMO/cases',
      'zebrunner://projects/DEMO/../API/suites',
      'zebrunner://projects/DEMO%2F..%2FAPI/suites',
      'zebrunner://projects/DEMO/suites?projectKey=API',
      'file:///etc/passwd',
    ]) {
      const err = await readError(conn.client, uri);
      assert.equal(err.code, RESOURCE_NOT_FOUND, `${uri}: ${err.message}`);
      assert.match(err.message, /Unknown resource/);
    }
    const missing = await readError(conn.client, 'zebrunner://projects/NOPE/priorities');
    assert.equal(missing.code, RESOURCE_NOT_FOUND, missing.message);
    assert.match(missing.message, /NOPE/);
  });
});

describe('resources with identity oidc and policy: bob (group dev) sees only DEMO', () => {
  let sandbox;
  let okta;
  let server;
  let data;
  let client;

  before(async () => {
    sandbox = await startSandbox();
    const port = await freePort();
    okta = await startOkta({ resource: `http://127.0.0.1:${port}/mcp` });
    const bob = (await okta.authorizationCode({ login: 'bob' })).access_token;
    data = tempDir();
    server = await startOidcServer({ sandbox, user: sandbox.users.alice, okta, port, dataDir: data.dir });
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { Authorization: `Bearer ${bob}` } } });
    client = new Client({ name: 'zebrunner-mcp-e2e-resources', version: '1.0.0' }, { capabilities: {} });
    await withTimeout(client.connect(transport), 30_000, 'connect');
  });

  after(async () => {
    await client?.close().catch(() => {});
    await server?.stop();
    await okta?.stop();
    await sandbox?.stop();
    data?.cleanup();
  });

  test('resources/list and zebrunner://projects name only DEMO', async () => {
    const { resources } = await client.listResources();
    const keys = new Set(resources.map((r) => r.uri.match(/^zebrunner:\/\/projects\/([^/]+)\//)?.[1]).filter(Boolean));
    assert.deepEqual([...keys], ['DEMO']);
    const projects = await readJson(client, 'zebrunner://projects');
    assert.deepEqual(projects.projects.map((p) => p.key), ['DEMO']);
    assert.equal(projects.total, 1);
    const demo = await readJson(client, 'zebrunner://projects/DEMO/priorities');
    assert.ok(demo.priorities.length > 0);
  });

  test('other projects are refused before Zebrunner is asked, the same whether or not they exist', async () => {
    await clearRequestLog(sandbox);
    const api = await readError(client, 'zebrunner://projects/API/priorities');
    const apiLower = await readError(client, 'zebrunner://projects/api/suites');
    const nope = await readError(client, 'zebrunner://projects/NOPE/priorities');
    for (const err of [api, apiLower, nope]) {
      assert.match(err.message, /access policy/, err.message);
      assert.match(err.message, /DEMO/, 'the refusal names the projects bob may use');
      assert.notEqual(err.code, RESOURCE_NOT_FOUND, 'a refusal is not "not found"');
    }
    assert.equal(api.code, nope.code);
    assert.equal(api.message.replace('API', 'X'), nope.message.replace('NOPE', 'X'), 'existing and missing projects are refused alike');
    const leaked = (await requestLog(sandbox)).filter((r) => /\bAPI\b|NOPE/.test(`${r.path} ${JSON.stringify(r.query)}`));
    assert.deepEqual(leaked, [], 'refused reads never reach Zebrunner');
  });

  test('completion offers only DEMO', async () => {
    assert.deepEqual((await completeKey(client, '')).completion.values, ['DEMO']);
    assert.deepEqual((await completeKey(client, 'd')).completion.values, ['DEMO']);
    assert.deepEqual((await completeKey(client, 'A')).completion.values, []);
  });

  test('audit: each read is recorded with its template, outcome and Zebrunner requests', async () => {
    // The stdout sink writes as records are made; give the pipe a moment.
    await new Promise((r) => setTimeout(r, 300));
    const records = jsonLines(server.stdout).filter((r) => r.user_key === `uid:${USERS.bob.uid}` && String(r.tool).startsWith('resource:'));
    const ok = records.find((r) => r.tool === 'resource:zebrunner://projects/{project_key}/priorities' && r.outcome === 'ok');
    assert.ok(ok, `an ok record of bob's DEMO priorities read: ${JSON.stringify(records).slice(0, 1500)}`);
    assert.equal(ok.arguments.project_key, 'DEMO');
    assert.ok(ok.zebrunner_requests.some((q) => /priorities/.test(q.path)), `requests counted: ${JSON.stringify(ok.zebrunner_requests)}`);
    const denied = records.filter((r) => r.outcome === 'denied');
    assert.ok(denied.some((r) => r.arguments.project_key === 'API' && r.tool.endsWith('/priorities')), 'the API read is recorded as denied');
    assert.ok(denied.every((r) => r.zebrunner_requests.length === 0), 'denied reads made no Zebrunner request');
    assert.ok(records.some((r) => r.tool === 'resource:zebrunner://projects' && r.outcome === 'ok'));
  });
});
