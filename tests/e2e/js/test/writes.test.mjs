// Every write tool through the official TypeScript SDK over Streamable HTTP,
// checked against the sandbox's own REST answers: dry_run and preview change
// nothing (and the preview's diff matches REST), confirm changes REST exactly
// as previewed, and replayed, different-arguments and expired tokens are
// refused. Confirms alternate between two server processes sharing one SQLite
// file (replicas). Also: toolsets from configuration and the
// X-Zebrunner-Toolsets header, in tools/list and tools/call.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { callOk, callTool, resultText, serverEnv, withTimeout } from '../lib/mcp.mjs';
import { binaryPath, startProcess } from '../lib/procs.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';
import { WRITE_TOOLS } from '../lib/tool-suite.mjs';

const PUBLIC = '/api/public/v1';

async function startServer(sandbox, user, env = {}) {
  const proc = await startProcess(binaryPath(), ['serve', '--transport', 'http', '--listen', '127.0.0.1:0'], {
    env: { ...serverEnv(sandbox, user), ...env },
    ready: /^mcp listening on (http:\/\/\S+\/mcp)$/,
    label: 'mcp http server',
  });
  return { url: proc.match[1], stop: proc.stop };
}

async function connect(url, headers = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'zebrunner-mcp-e2e-writes', version: '1.0.0' }, { capabilities: {} });
  await withTimeout(client.connect(transport), 30_000, 'http connect');
  return client;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A refused confirm: an isError result whose text says `why`. */
async function refused(client, tool, args, why) {
  const result = await callTool(client, tool, args);
  assert.equal(result.isError, true, `${tool}: expected a refusal (${why}), got ${resultText(result).slice(0, 300)}`);
  assert.match(resultText(result), why, `${tool}: refusal text`);
  assert.match(resultText(result), /Not written|without `confirm` first/, `${tool}: says nothing was written`);
}

describe('write tools: preview, confirm, refusals, replicas (http)', () => {
  let sandbox;
  let oracle;
  let dataDir;
  let servers = [];
  let a; // replica 1
  let b; // replica 2 (same SQLite file)
  let short; // replica with a 1-second token lifetime
  const created = {};
  let confirms = 0;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    dataDir = mkdtempSync(join(tmpdir(), 'zmcp-writes-'));
    const env = { ZMCP_DATA_DIR: dataDir };
    const s1 = await startServer(sandbox, sandbox.users.alice, env);
    const s2 = await startServer(sandbox, sandbox.users.alice, env);
    const s3 = await startServer(sandbox, sandbox.users.alice, { ...env, ZMCP_CONFIRMATION_TTL_SECS: '1' });
    servers = [s1, s2, s3];
    [a, b, short] = await Promise.all(servers.map((s) => connect(s.url)));
  });

  after(async () => {
    for (const c of [a, b, short]) await c?.close().catch(() => {});
    for (const s of servers) await s.stop();
    await sandbox?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * The whole protocol for one write: `state()` reads REST; `checkPreview`
   * checks the diff against the state before; `checkWritten` checks REST
   * after the confirm against the previewed request.
   */
  async function protocol(tool, args, otherArgs, { state, checkPreview, checkWritten }) {
    const before0 = await state();

    const dry = await callOk(a, tool, { ...args, dry_run: true, format: 'json' });
    assert.equal(dry.stage, 'dry_run');
    assert.equal(dry.confirmation_token, null, `${tool}: dry_run issued a token`);
    assert.ok(dry.request.method && dry.request.path.startsWith(PUBLIC), `${tool}: dry_run request`);
    assert.deepEqual(await state(), before0, `${tool}: dry_run changed the sandbox`);

    const preview = await callOk(a, tool, args);
    assert.equal(preview.stage, 'preview');
    assert.match(preview.confirmation_token, /^[0-9a-f]{64}$/);
    assert.deepEqual(preview.request, dry.request, `${tool}: preview and dry_run requests differ`);
    assert.deepEqual(await state(), before0, `${tool}: preview changed the sandbox`);
    checkPreview?.(preview, before0);
    const token = preview.confirmation_token;

    await refused(a, tool, { ...otherArgs, confirm: true, confirmation_token: token }, /different arguments/);
    await refused(a, tool, { ...args, confirm: true, confirmation_token: 'f'.repeat(64) }, /not one this server issued/);
    await refused(a, tool, { ...args, confirm: true }, /confirmation_token/);
    assert.deepEqual(await state(), before0, `${tool}: a refused confirm changed the sandbox`);

    // Confirm on one replica or the other: the token lives in the shared database.
    const replica = confirms++ % 2 === 0 ? b : a;
    const written = await callOk(replica, tool, { ...args, confirm: true, confirmation_token: token, format: 'json' });
    assert.equal(written.stage, 'written');
    assert.deepEqual(written.request, preview.request, `${tool}: the write sent another request than previewed`);
    const after1 = await state();
    checkWritten(written, before0, after1);

    await refused(a, tool, { ...args, confirm: true, confirmation_token: token }, /already used/);
    await refused(b, tool, { ...args, confirm: true, confirmation_token: token }, /already used/);
    assert.deepEqual(await state(), after1, `${tool}: a replayed token wrote again`);

    const expiring = await callOk(short, tool, args);
    await sleep(1_100);
    await refused(short, tool, { ...args, confirm: true, confirmation_token: expiring.confirmation_token }, /expired/);
    assert.deepEqual(await state(), after1, `${tool}: an expired token wrote`);
    return written;
  }

  const suites = async () =>
    (await oracle.pageAll(`${PUBLIC}/test-suites`, { projectKey: 'DEMO' })).map((s) => [s.id, s.title, s.description ?? null]);
  const one = async (path) => (await oracle.request(`${PUBLIC}${path}`, { params: { projectKey: 'DEMO' } })).data;
  const runCases = async (runId) =>
    (await oracle.request(`${PUBLIC}/test-runs/${runId}/test-cases`, { params: { projectKey: 'DEMO' } })).items
      .map((c) => [c.testCase.key, c.result?.status?.name ?? 'Untested', c.result?.details ?? null])
      .sort();
  const diffOf = (preview) => Object.fromEntries(preview.diff.map((c) => [c.field, c]));

  test('annotations of the write tools', async () => {
    const { tools } = await a.listTools();
    for (const [name, hints] of Object.entries(WRITE_TOOLS)) {
      const tool = tools.find((t) => t.name === name);
      assert.ok(tool, `${name} is listed`);
      assert.equal(tool.annotations.readOnlyHint, false, name);
      assert.equal(tool.annotations.destructiveHint, hints.destructiveHint, name);
      assert.equal(tool.annotations.idempotentHint, hints.idempotentHint, name);
      assert.equal(tool.annotations.openWorldHint, false, name);
    }
  });

  test('create_test_suite', async () => {
    const args = { project_key: 'DEMO', title: 'E2E writes suite', description: 'made by the e2e test' };
    const out = await protocol('create_test_suite', args, { ...args, title: 'Another title' }, {
      state: suites,
      checkPreview: (p) => {
        assert.equal(p.diff, null);
        assert.deepEqual(p.request, {
          method: 'POST',
          path: `${PUBLIC}/test-suites?projectKey=DEMO`,
          body: { title: 'E2E writes suite', description: 'made by the e2e test' },
        });
      },
      checkWritten: (w, before0, after1) => {
        assert.equal(after1.length, before0.length + 1);
        const made = after1.find((s) => !before0.some((o) => o[0] === s[0]));
        assert.deepEqual(made, [w.result.id, 'E2E writes suite', 'made by the e2e test']);
        created.suite = w.result.id;
      },
    });
    assert.ok(out.result.id);
  });

  test('update_test_suite (fields not given are kept)', async () => {
    const id = created.suite;
    const args = { project_key: 'DEMO', suite_id: id, title: 'E2E writes suite, renamed' };
    await protocol('update_test_suite', args, { ...args, title: 'Else' }, {
      state: () => one(`/test-suites/${id}`),
      checkPreview: (p, before0) => {
        assert.equal(p.request.method, 'PUT');
        const d = diffOf(p);
        assert.deepEqual([d.title.before, d.title.after, d.title.changed], [before0.title, 'E2E writes suite, renamed', true]);
        assert.deepEqual([d.description.before, d.description.changed], [before0.description, false]);
        assert.equal(d.parentSuiteId.changed, false);
      },
      checkWritten: (w, before0, after1) => {
        assert.equal(after1.title, 'E2E writes suite, renamed');
        assert.equal(after1.description, before0.description, 'description kept');
        assert.equal(after1.parentSuiteId ?? null, before0.parentSuiteId ?? null);
      },
    });
  });

  test('create_test_case (a draft by default)', async () => {
    const priorities = (await oracle.request(`${PUBLIC}/test-case-settings/priorities`, { params: { projectKey: 'DEMO' } })).items;
    const priority = priorities[priorities.length - 1].name;
    const cases = async () =>
      (await oracle.pageAll(`${PUBLIC}/test-cases`, { projectKey: 'DEMO', filter: `testSuite.id = ${created.suite}` })).map((c) => c.key);
    const args = {
      project_key: 'DEMO',
      suite_id: created.suite,
      title: 'E2E case',
      priority,
      steps: [{ action: 'Open the app', expected_result: 'It opens' }],
    };
    await protocol('create_test_case', args, { ...args, steps: [] }, {
      state: cases,
      checkPreview: (p) => {
        assert.equal(p.request.body.draft, true);
        assert.deepEqual(p.request.body.priority, { name: priority });
      },
      checkWritten: async () => {},
    });
    const keys = await cases();
    assert.equal(keys.length, 1);
    created.caseKey = keys[0];
    const made = await one(`/test-cases/key:${created.caseKey}`);
    assert.equal(made.title, 'E2E case');
    assert.equal(made.draft, true);
    assert.equal(made.priority.name, priority);
    assert.deepEqual(made.steps.map((s) => [s.action, s.expectedResult]), [['Open the app', 'It opens']]);
  });

  test('update_test_case (partial, by key)', async () => {
    const key = created.caseKey;
    const args = { key, title: 'E2E case v2', draft: false };
    await protocol('update_test_case', args, { key, title: 'E2E case v3', draft: false }, {
      state: () => one(`/test-cases/key:${key}`),
      checkPreview: (p, before0) => {
        assert.equal(p.request.method, 'PATCH');
        assert.equal(p.request.path, `${PUBLIC}/test-cases/key:${key}?projectKey=DEMO`);
        assert.deepEqual(p.diff.map((c) => [c.field, c.before, c.after, c.changed]), [
          ['draft', before0.draft, false, true],
          ['title', before0.title, 'E2E case v2', true],
        ]);
      },
      checkWritten: (w, before0, after1) => {
        assert.equal(after1.title, 'E2E case v2');
        assert.equal(after1.draft, false);
        assert.deepEqual(after1.steps, before0.steps, 'steps untouched');
        assert.deepEqual(after1.priority, before0.priority, 'priority untouched');
      },
    });
  });

  test('create_test_run', async () => {
    const runs = async () => (await oracle.pageAll(`${PUBLIC}/test-runs`, { projectKey: 'DEMO' })).map((r) => [r.id, r.title]);
    const args = { project_key: 'DEMO', title: 'E2E run', description: 'release check' };
    await protocol('create_test_run', args, { ...args, description: 'other' }, {
      state: runs,
      checkPreview: (p) => assert.deepEqual(p.request.body, { title: 'E2E run', description: 'release check' }),
      checkWritten: (w, before0, after1) => {
        assert.equal(after1.length, before0.length + 1);
        assert.ok(after1.some(([id, title]) => id === w.result.id && title === 'E2E run'));
        created.run = w.result.id;
      },
    });
  });

  test('update_test_run', async () => {
    const id = created.run;
    const args = { project_key: 'DEMO', run_id: id, title: 'E2E run v2' };
    await protocol('update_test_run', args, { ...args, run_id: id, title: 'E2E run v3' }, {
      state: () => one(`/test-runs/${id}`),
      checkPreview: (p, before0) =>
        assert.deepEqual(p.diff, [{ field: 'title', before: before0.title, after: 'E2E run v2', changed: true }]),
      checkWritten: (w, before0, after1) => {
        assert.equal(after1.title, 'E2E run v2');
        assert.equal(after1.description, before0.description);
      },
    });
  });

  test('add_test_cases_to_run (by keys)', async () => {
    const id = created.run;
    const args = { project_key: 'DEMO', run_id: id, test_case_keys: [created.caseKey, 'DEMO-1'] };
    await protocol('add_test_cases_to_run', args, { ...args, test_case_keys: ['DEMO-1'] }, {
      state: () => runCases(id),
      checkPreview: (p) => {
        assert.deepEqual(p.request.body, { items: [{ key: created.caseKey }, { key: 'DEMO-1' }] });
        assert.deepEqual(p.diff.map((c) => [c.field, c.before, c.changed]), [
          [created.caseKey, 'not in run', true],
          ['DEMO-1', 'not in run', true],
        ]);
      },
      checkWritten: (w, before0, after1) => {
        assert.deepEqual(before0, []);
        assert.deepEqual(after1, [[created.caseKey, 'Untested', null], ['DEMO-1', 'Untested', null]].sort());
      },
    });
  });

  test('record_test_results (a list; destructive)', async () => {
    const id = created.run;
    const args = {
      project_key: 'DEMO',
      run_id: id,
      results: [
        { key: created.caseKey, status: 'failed', details: 'boom' },
        { key: 'DEMO-1', status: 'Passed' },
      ],
    };
    await protocol('record_test_results', args, { ...args, results: [{ key: 'DEMO-1', status: 'Failed' }] }, {
      state: () => runCases(id),
      checkPreview: (p) => {
        assert.equal(p.request.path, `${PUBLIC}/test-runs/${id}/test-cases:import?projectKey=DEMO&skipErrors=true&addMissingTestCases=false`);
        assert.deepEqual(p.diff.map((c) => [c.field, c.before, c.after, c.changed]), [
          [created.caseKey, 'Untested', 'Failed', true],
          ['DEMO-1', 'Untested', 'Passed', true],
        ]);
        assert.equal(p.request.body.items[0].result.executionType, 'MANUAL');
      },
      checkWritten: (w, before0, after1) => {
        assert.ok(w.result.items.every((i) => i.succeeded), JSON.stringify(w.result));
        assert.deepEqual(after1, [[created.caseKey, 'Failed', 'boom'], ['DEMO-1', 'Passed', null]].sort());
      },
    });
  });

  test('record_test_results from a launch maps statuses of linked cases (preview only)', async () => {
    const projectId = await oracle.projectId('DEMO');
    const tests = [];
    for (let page = 1; ; page++) {
      const body = await oracle.request(`/api/reporting/v1/launches/1041/tests`, {
        auth: 'bearer',
        params: { projectId, page, pageSize: 100 },
      });
      tests.push(...(body.results ?? body.items ?? []));
      if (page >= (body.totalPages ?? 1)) break;
    }
    const mapping = { PASSED: 'Passed', FAILED: 'Failed', SKIPPED: 'Skipped', ABORTED: 'Blocked' };
    const expected = new Map();
    for (const t of tests) {
      const status = mapping[t.status];
      if (!status) continue;
      for (const ref of t.testCases ?? []) {
        const key = ref.testCaseId;
        if (!key?.startsWith('DEMO-')) continue;
        if (!expected.has(key) || expected.get(key) === 'Passed') expected.set(key, status);
      }
    }
    assert.ok(expected.size > 0, 'the big launch links DEMO cases');
    const preview = await callOk(a, 'record_test_results', {
      project_key: 'DEMO',
      run_id: created.run,
      launch_id: 1041,
      add_missing_test_cases: true,
      format: 'json',
    });
    const items = preview.request.body.items;
    assert.deepEqual(new Map(items.map((i) => [i.testCase.key, i.result.status.name])), expected);
    assert.ok(items.every((i) => i.result.executionType === 'AUTOMATED'));
    assert.match(preview.request.path, /addMissingTestCases=true/);
  });

  test('a read-only server offers no write tool and refuses one like an unknown tool', async () => {
    const ro = await startServer(sandbox, sandbox.users.alice, { ZMCP_DATA_DIR: dataDir, ZMCP_READ_ONLY: 'true' });
    const client = await connect(ro.url);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      for (const name of Object.keys(WRITE_TOOLS)) assert.ok(!names.includes(name), name);
      await assert.rejects(callTool(client, 'create_test_suite', { project_key: 'DEMO', title: 'x' }), /tool not found/i);
    } finally {
      await client.close().catch(() => {});
      await ro.stop();
    }
  });
});

describe('toolsets: configuration and the X-Zebrunner-Toolsets header', () => {
  let sandbox;
  let server;
  let dataDir;

  before(async () => {
    sandbox = await startSandbox();
    dataDir = mkdtempSync(join(tmpdir(), 'zmcp-toolsets-'));
    server = await startServer(sandbox, sandbox.users.alice, { ZMCP_DATA_DIR: dataDir, ZMCP_TOOLSETS: 'cases,writes' });
  });

  after(async () => {
    await server?.stop();
    await sandbox?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const names = async (client) => (await client.listTools()).tools.map((t) => t.name).sort();

  test('configured toolsets: cases and writes offer case reads and case writes only', async () => {
    const client = await connect(server.url);
    try {
      const list = await names(client);
      assert.deepEqual(
        list.filter((n) => WRITE_TOOLS[n]),
        ['create_test_case', 'update_test_case'],
      );
      for (const n of ['get_test_case', 'search_test_cases', 'list_projects']) assert.ok(list.includes(n), n);
      for (const n of ['list_test_runs', 'get_launch', 'list_test_suites', 'create_test_run']) assert.ok(!list.includes(n), n);
      await assert.rejects(callTool(client, 'list_test_runs', { project_key: 'DEMO' }), /tool not found/i);
      await callOk(client, 'get_test_case', { key: 'DEMO-1' });
    } finally {
      await client.close().catch(() => {});
    }
  });

  test('the header narrows (cases drops the writes) but never widens (launches stays off)', async () => {
    const client = await connect(server.url, { 'X-Zebrunner-Toolsets': 'cases,launches' });
    try {
      const list = await names(client);
      assert.ok(list.includes('get_test_case'));
      assert.ok(!list.includes('create_test_case'), 'writes narrowed away');
      assert.ok(!list.includes('get_launch'), 'the header cannot add launches');
      await assert.rejects(callTool(client, 'create_test_case', { project_key: 'DEMO', suite_id: 1, title: 'x' }), /tool not found/i);
      await callOk(client, 'get_test_case', { key: 'DEMO-1' });
    } finally {
      await client.close().catch(() => {});
    }
  });
});
