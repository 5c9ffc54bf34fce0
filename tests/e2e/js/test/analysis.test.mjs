// Analysis tools (computed by us from Zebrunner data), through the official
// TypeScript SDK client over stdio, checked against the sandbox's own REST
// answers: launch 1041's failures, known issues and test histories.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio, resultText } from '../lib/mcp.mjs';
import { clearRequestLog, requestLog } from '../lib/control.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';
import { runCli } from '../lib/identity.mjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIG_LAUNCH = 1041;

describe('analysis tools (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;
  let projectId;
  let restTests;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    await client.listTools();
    projectId = await oracle.projectId('DEMO');
    restTests = [];
    for (let page = 1; page < 100; page++) {
      const body = await oracle.request(`/api/reporting/v1/launches/${BIG_LAUNCH}/tests`, {
        auth: 'bearer',
        params: { projectId, page, pageSize: 100 },
      });
      restTests.push(...body.items);
      if (page >= body.totalPages) break;
    }
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('analyze_launch_failures: groups, known issues and histories agree with REST', async () => {
    assert.equal(restTests.length, 500, 'oracle: launch 1041 has 500 tests');
    const failed = restTests.filter((t) => t.status === 'FAILED');
    assert.ok(failed.length > 0, 'oracle: launch 1041 has failures');
    await clearRequestLog(sandbox);
    const out = await callOk(client, 'analyze_launch_failures', {
      project_key: 'DEMO', launch_id: BIG_LAUNCH, limit: 50, tests_per_group: 100, format: 'json',
    });
    // Requests: the launch (is it DEMO's?), 5 pages of 100 tests, one history
    // request per failing test.
    const log = (await requestLog(sandbox)).filter((r) => r.path.startsWith('/api/reporting'));
    const pages = log.filter((r) => r.path === `/api/reporting/v1/launches/${BIG_LAUNCH}/tests`);
    const histories = log.filter((r) => r.path.endsWith('/history'));
    assert.equal(pages.length, 5);
    assert.ok(pages.every((r) => r.query.includes('pageSize=100')));
    assert.equal(histories.length, failed.length);
    const launches = log.filter((r) => r.path === `/api/reporting/v1/launches/${BIG_LAUNCH}`);
    assert.equal(launches.length, 1);
    assert.equal(out.zebrunner_requests, 1 + 5 + failed.length);
    assert.equal(out.summary.total_tests, 500);
    assert.equal(out.summary.failed, failed.length);
    assert.equal(out.groups.reduce((n, g) => n + g.count, 0), failed.length, 'group counts sum to the failed tests');
    const distinctMessages = new Set(failed.map((t) => t.message));
    assert.equal(out.summary.signatures, distinctMessages.size, 'one group per recurring message');
    assert.equal(out.has_more, false);

    const listed = out.groups.flatMap((g) => g.tests);
    assert.deepEqual(listed.map((t) => t.id).sort(), failed.map((t) => t.id).sort());
    const knownRest = failed.filter((t) => t.knownIssue).map((t) => t.id).sort();
    assert.ok(knownRest.length > 0, 'oracle: known issues seeded');
    assert.deepEqual(listed.filter((t) => t.known_issue).map((t) => t.id).sort(), knownRest);
    assert.equal(out.summary.known_issue, knownRest.length);
    const issues = new Set(out.groups.flatMap((g) => g.issues));
    assert.ok(issues.has('JIRA SHOP-142') && issues.has('JIRA SHOP-157'), [...issues].join(', '));
    // Every group's tests share its message in REST.
    for (const g of out.groups) {
      const messages = new Set(g.tests.map((t) => failed.find((f) => f.id === t.id).message));
      assert.equal(messages.size, 1, `group ${g.signature} mixes messages`);
    }
    // TCM links are those REST gives.
    for (const t of listed) {
      const rest = failed.find((f) => f.id === t.id);
      assert.deepEqual(t.test_case_keys, rest.testCases.map((c) => c.testCaseId));
    }

    // Categories, recomputed from R10 for each failing test.
    let flaky = 0;
    for (const t of listed) {
      const body = await oracle.request(`/api/reporting/v1/launches/${BIG_LAUNCH}/tests/${t.id}/history`, {
        auth: 'bearer', params: { projectId, limit: 10 },
      });
      const decided = body.items.map((h) => h.status).filter((s) => s === 'PASSED' || s === 'FAILED');
      let flips = 0;
      for (let i = 1; i < decided.length; i++) if (decided[i] !== decided[i - 1]) flips++;
      assert.equal(t.flips, flips, `flips of test ${t.id}`);
      const expected = t.known_issue ? 'known_issue' : flips >= 2 ? 'flaky' : decided[1] === 'FAILED' ? 'recurring' : 'new';
      assert.equal(t.category, expected, `category of test ${t.id}`);
      if (expected === 'flaky') flaky++;
      const lastPass = body.items.slice(1).find((h) => h.status === 'PASSED');
      assert.equal(t.last_pass?.launch_id ?? null, lastPass?.testRunId ?? null, `last pass of ${t.id}`);
      if (lastPass) assert.equal(t.last_pass.duration_ms, lastPass.elapsed);
    }
    assert.equal(out.summary.flaky, flaky);

  });

  test('analyze_launch_failures: cursor over groups, no history, markdown', async () => {
    const seen = [];
    let cursor;
    let total;
    for (let i = 0; i < 10; i++) {
      const out = await callOk(client, 'analyze_launch_failures', {
        project_key: 'DEMO', launch_id: BIG_LAUNCH, limit: 2, history: false, cursor, format: 'json',
      });
      total = out.summary.signatures;
      assert.ok(out.returned <= 2);
      seen.push(...out.groups.map((g) => g.signature));
      assert.ok(out.groups.every((g) => g.tests.every((t) => t.category === 'known_issue' || t.category === 'unchecked')));
      if (!out.has_more) break;
      cursor = out.next_cursor;
    }
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total);

    const md = resultText(await callTool(client, 'analyze_launch_failures', { project_key: 'DEMO', launch_id: BIG_LAUNCH }));
    assert.match(md, /Launch 1041 \(DEMO\): \d+ of 500 tests failed in 5 signatures/);
    assert.match(md, /\*\*Next:\*\*/);

    const bad = await callTool(client, 'analyze_launch_failures', { project_key: 'DEMO', launch_id: 424242 });
    assert.equal(bad.isError, true);
  });
});

describe('find_duplicate_test_cases (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    await client.listTools();
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('a near-identical pair made through REST is one cluster; other cases stay out', async () => {
    const post = (path, body) => oracle.request(path, { method: 'POST', params: { projectKey: 'DEMO' }, body });
    const suite = (await post('/api/public/v1/test-suites', { title: 'Duplicate check' })).data;
    const child = (await post('/api/public/v1/test-suites', { title: 'Nested', parentSuiteId: suite.id })).data;
    const steps = [
      { action: 'Open the cart page with two items', expectedResult: 'Both items are listed with prices' },
      { action: 'Apply the coupon SAVE10', expectedResult: 'The total drops by ten percent' },
      { action: 'Press Checkout', expectedResult: 'The payment form opens' },
    ];
    const make = (title, s, suiteId = suite.id) =>
      post('/api/public/v1/test-cases', { testSuite: { id: suiteId }, title, steps: s }).then((r) => r.data);
    const a = await make('Coupon reduces the cart total', steps);
    const b = await make('Coupon lowers the cart total', steps.map((x) => ({ ...x })), child.id);
    const c = await make('Guest can browse the catalogue', [
      { action: 'Open the home page as a guest', expectedResult: 'Featured products are shown' },
      { action: 'Open a category', expectedResult: 'Its products are listed' },
    ]);

    await clearRequestLog(sandbox);
    const out = await callOk(client, 'find_duplicate_test_cases', { project_key: 'DEMO', suite_id: suite.id, format: 'json' });
    assert.equal(out.cases_compared, 3, 'suite and its sub-suite');
    assert.equal(out.total_clusters, 1);
    const [cluster] = out.clusters;
    assert.deepEqual(cluster.members.map((m) => m.key).sort(), [a.key, b.key].sort());
    assert.ok(!cluster.members.some((m) => m.key === c.key));
    assert.ok(cluster.min_similarity >= 0.8 && cluster.min_similarity < 1, `similarity ${cluster.min_similarity}`);
    assert.ok([a.key, b.key].includes(cluster.representative));
    // One list page and one read per case.
    const log = (await requestLog(sandbox)).filter((r) => r.path.startsWith('/api/public/v1/test-cases'));
    assert.equal(log.filter((r) => r.path !== '/api/public/v1/test-cases').length, 3);
    assert.equal(out.case_requests, log.length);

    // At threshold 1.0 titles differ, so no cluster; without titles the steps are identical.
    const strict = await callOk(client, 'find_duplicate_test_cases', { project_key: 'DEMO', suite_id: suite.id, threshold: 1.0, format: 'json' });
    assert.equal(strict.total_clusters, 0);
    const stepsOnly = await callOk(client, 'find_duplicate_test_cases', {
      project_key: 'DEMO', suite_id: suite.id, threshold: 1.0, include_title: false, format: 'json',
    });
    assert.equal(stepsOnly.total_clusters, 1);
    assert.equal(stepsOnly.clusters[0].min_similarity, 1);
  });

  test('bounded work: a project above max_cases is refused with advice; bad threshold refused', async () => {
    const big = await callTool(client, 'find_duplicate_test_cases', { project_key: 'DEMO', max_cases: 50 });
    assert.equal(big.isError, true);
    assert.match(resultText(big), /more than 50 cases.*suite_id/s);
    const bad = await callTool(client, 'find_duplicate_test_cases', { project_key: 'DEMO', threshold: 0.3 });
    assert.equal(bad.isError, true);
    assert.match(resultText(bad), /threshold/);
  });
});

describe('review_test_case (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let custom;
  let dir;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    await conn.client.listTools();
    dir = mkdtempSync(join(tmpdir(), 'zmcp-review-'));
    writeFileSync(join(dir, 'rules.toml'), 'require_preconditions = false\nmax_steps = 1\ndisabled = ["title_vague"]\n[severity]\nstep_count = "critical"\n');
    writeFileSync(join(dir, 'bad.toml'), 'disabled = ["no_such_rule"]\n');
    writeFileSync(join(dir, 'server.toml'), `review_rules_file = ${JSON.stringify(join(dir, 'rules.toml'))}\n`);
    custom = await connectStdio(sandbox, sandbox.users.alice, ['--config', join(dir, 'server.toml')]);
  });

  after(async () => {
    await conn?.close();
    await custom?.close();
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a deliberately poor case made through REST gets issues by severity with rewrites', async () => {
    const suites = await oracle.publicItems('/api/public/v1/test-suites', 'DEMO');
    const poor = (await oracle.request('/api/public/v1/test-cases', {
      method: 'POST', params: { projectKey: 'DEMO' },
      body: {
        testSuite: { id: suites[0].id },
        title: 'test',
        steps: [
          { action: 'Log in and then open the cart', expectedResult: 'It works properly' },
          { action: 'Pay as in the previous test', expectedResult: '' },
          { action: '', expectedResult: 'Order shown' },
        ],
      },
    })).data;
    const rest = (await oracle.request(`/api/public/v1/test-cases/key:${poor.key}`, { params: { projectKey: 'DEMO' } })).data;
    assert.equal(rest.title, 'test', 'oracle: the poor case is stored as sent');

    const out = await callOk(conn.client, 'review_test_case', { key: poor.key, format: 'json' });
    const rules = out.issues.map((i) => i.rule);
    for (const r of ['title_length', 'preconditions_missing', 'step_missing_action', 'step_missing_expected', 'step_compound', 'vague_words', 'independence']) {
      assert.ok(rules.includes(r), `${r} missing from ${rules}`);
    }
    const order = { critical: 0, major: 1, minor: 2 };
    assert.deepEqual(out.issues.map((i) => order[i.severity]), [...out.issues.map((i) => order[i.severity])].sort());
    assert.equal(out.issues.find((i) => i.rule === 'step_compound').suggestion, 'Split it: 1.1 Log in / 1.2 Open the cart');
    assert.match(out.issues.find((i) => i.rule === 'title_length').suggestion, /^Rename to "Log in and then open the cart: order shown"$/);
    assert.equal(out.issues.find((i) => i.rule === 'step_missing_expected').location, 'steps[2].expectedResult');
    assert.equal(out.automation_ready, false);
    assert.ok(out.score < 50 && out.rating === 'poor', `${out.score} ${out.rating}`);
    assert.equal(out.counts.major, out.issues.filter((i) => i.severity === 'major').length);
    assert.equal(out.custom_rules, false);

    // The same case under the rules file: preconditions not required, step_count critical.
    const withRules = await callOk(custom.client, 'review_test_case', { key: poor.key, format: 'json' });
    assert.equal(withRules.custom_rules, true);
    const hit = withRules.issues.map((i) => i.rule);
    assert.ok(!hit.includes('preconditions_missing') && !hit.includes('title_vague'), hit.join(','));
    assert.equal(withRules.issues.find((i) => i.rule === 'step_count')?.severity, 'critical');

    const md = resultText(await callTool(conn.client, 'review_test_case', { key: poor.key }));
    assert.match(md, new RegExp(`Review of ${poor.key} "test": \\d+/100 \\(poor\\)`));
    const missing = await callTool(conn.client, 'review_test_case', { key: 'DEMO-999999' });
    assert.equal(missing.isError, true);
  });

  test('an invalid rules file fails config check and start-up with a clear message', async () => {
    const env = { ZMCP_REVIEW_RULES_FILE: join(dir, 'bad.toml') };
    const check = await runCli(['config', 'check'], env);
    assert.notEqual(check.code, 0);
    assert.match(check.stdout + check.stderr, /review_rules_file: .*bad\.toml: unknown rule id "no_such_rule"/);
    const serve = await runCli(['serve', '--transport', 'stdio', '--skip-credential-check'], env);
    assert.notEqual(serve.code, 0);
    assert.match(serve.stderr, /review_rules_file/);
  });
});
