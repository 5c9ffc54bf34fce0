// TCM test runs, automation launches, milestones and test case history,
// through the official TypeScript SDK client over stdio, each checked against
// the sandbox's own REST answers (Basic for the Public API, Bearer for the
// reporting and TCM-internal APIs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio, resultText, withTimeout } from '../lib/mcp.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const BIG_LAUNCH = 1041;

/** Follow `next_cursor` until `has_more` is false; returns the answers. */
async function walk(client, name, args, pick, max = 100) {
  const answers = [];
  let cursor;
  for (let i = 0; i < max; i++) {
    const answer = await callOk(client, name, { ...args, cursor, format: 'json' });
    answers.push(answer);
    const { hasMore, next } = pick(answer);
    if (!hasMore) {
      assert.equal(next ?? null, null, `${name}: next_cursor on the last answer`);
      return answers;
    }
    assert.ok(next, `${name}: has_more without next_cursor`);
    cursor = next;
  }
  throw new Error(`${name}: cursor walk did not end after ${max} answers`);
}

const topLevel = (a) => ({ hasMore: a.has_more, next: a.next_cursor });

describe('runs, launches, milestones and history (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;
  let projectId;

  // Reporting lists (page paging, `_meta.total`), straight from REST.
  const reportingAll = async (path, params = {}) => {
    const items = [];
    for (let page = 1; page < 1000; page++) {
      const body = await oracle.request(path, { auth: 'bearer', params: { projectId, page, pageSize: 100, ...params } });
      items.push(...body.items);
      const totalPages = body._meta?.totalPages ?? body.totalPages;
      if (page >= totalPages || body.items.length === 0) return { items, body };
    }
    throw new Error(`${path}: paging never ends`);
  };
  const restRuns = (filter) => oracle.pageAll('/api/public/v1/test-runs', { projectKey: 'DEMO', filter });

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    // Listing first makes the SDK validate structuredContent against each outputSchema.
    await client.listTools();
    projectId = await oracle.projectId('DEMO');
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('list_milestones: open, completed, overdue and all agree with /milestones', async () => {
    const { items: rest } = await reportingAll('/api/reporting/v1/milestones');
    assert.ok(rest.some((m) => m.completed) && rest.some((m) => !m.completed), 'oracle: both kinds seeded');
    const all = await callOk(client, 'list_milestones', { project_key: 'DEMO', status: 'all' });
    assert.equal(all.total, rest.length);
    assert.deepEqual(all.milestones.map((m) => m.id).sort(), rest.map((m) => m.id).sort());
    const open = await callOk(client, 'list_milestones', { project_key: 'DEMO' });
    assert.deepEqual(open.milestones.map((m) => m.id).sort(), rest.filter((m) => !m.completed).map((m) => m.id).sort());
    const done = await callOk(client, 'list_milestones', { project_key: 'demo', status: 'completed' });
    assert.deepEqual(done.milestones.map((m) => m.id).sort(), rest.filter((m) => m.completed).map((m) => m.id).sort());
    const now = Date.now();
    const overdue = await callOk(client, 'list_milestones', { project_key: 'DEMO', status: 'overdue' });
    const expected = rest.filter((m) => !m.completed && m.dueDate && Date.parse(m.dueDate) < now).map((m) => m.id);
    assert.deepEqual(overdue.milestones.map((m) => m.id).sort(), expected.sort());
    // Paging the small list: limit 3 walks every milestone exactly once.
    const answers = await walk(client, 'list_milestones', { project_key: 'DEMO', status: 'all', limit: 3 }, topLevel);
    const ids = answers.flatMap((a) => a.milestones.map((m) => m.id));
    assert.equal(new Set(ids).size, rest.length);
  });

  test('list_launches: total is _meta.total, page and cursor walks cover every launch once', async () => {
    const first = await oracle.request('/api/reporting/v1/launches', { auth: 'bearer', params: { projectId, page: 1, pageSize: 20 } });
    assert.equal(first._meta.total, 48, 'oracle: DEMO has 48 launches');
    const page1 = await callOk(client, 'list_launches', { project_key: 'DEMO' });
    assert.equal(page1.total, first._meta.total);
    assert.equal(page1.total_pages, first._meta.totalPages);
    assert.deepEqual(page1.launches.map((l) => l.id), first.items.map((l) => l.id));
    assert.ok(page1.has_more && page1.next_cursor);

    const page3 = await callOk(client, 'list_launches', { project_key: 'DEMO', page: 3, page_size: 20 });
    const rest3 = await oracle.request('/api/reporting/v1/launches', { auth: 'bearer', params: { projectId, page: 3, pageSize: 20 } });
    assert.deepEqual(page3.launches.map((l) => l.id), rest3.items.map((l) => l.id));
    assert.equal(page3.has_more, false);

    const answers = await walk(client, 'list_launches', { project_key: 'DEMO', page_size: 7 }, topLevel);
    const ids = answers.flatMap((a) => a.launches.map((l) => l.id));
    assert.equal(ids.length, 48);
    assert.equal(new Set(ids).size, 48, 'a launch was returned twice');

    const md = resultText(await callTool(client, 'list_launches', { project_key: 'DEMO', page_size: 5 }));
    assert.match(md, /more remain\. Call again with `cursor`/);
  });

  test('list_launches: status, milestone, query and date filters agree with the oracle', async () => {
    const { items: rest } = await reportingAll('/api/reporting/v1/launches');
    const failed = rest.filter((l) => l.status === 'FAILED').map((l) => l.id);
    assert.ok(failed.length > 5, 'oracle: many failed launches');
    const answers = await walk(client, 'list_launches', { project_key: 'DEMO', statuses: ['failed'], page_size: 5 }, topLevel);
    const ids = answers.flatMap((a) => a.launches.map((l) => l.id));
    assert.deepEqual(ids, failed, 'FAILED launches in Zebrunner order, each once');
    assert.equal(answers.at(-1).total, failed.length);

    const milestone = rest.find((l) => l.milestone)?.milestone;
    assert.ok(milestone, 'oracle: launches have milestones');
    const { items: inMilestone, body } = await reportingAll('/api/reporting/v1/launches', { milestone: milestone.name });
    const byName = await callOk(client, 'list_launches', { project_key: 'DEMO', milestone: milestone.name, page_size: 100 });
    assert.equal(byName.total, body._meta.total);
    assert.deepEqual(byName.launches.map((l) => l.id), inMilestone.map((l) => l.id));
    const byId = await callOk(client, 'list_launches', { project_key: 'DEMO', milestone: milestone.id, page_size: 100 });
    assert.deepEqual(byId.launches.map((l) => l.id), inMilestone.map((l) => l.id));

    const build = rest[3].buildNumber;
    const { items: byBuildRest } = await reportingAll('/api/reporting/v1/launches', { query: build });
    const byBuild = await callOk(client, 'list_launches', { project_key: 'DEMO', query: build, page_size: 100 });
    assert.deepEqual(byBuild.launches.map((l) => l.id), byBuildRest.map((l) => l.id));

    const starts = rest.map((l) => Number(l.startedAt)).sort((a, b) => a - b);
    const lo = starts[10];
    const hi = starts[30];
    const inRange = rest.filter((l) => Number(l.startedAt) >= lo && Number(l.startedAt) <= hi).map((l) => l.id);
    const dated = await walk(
      client,
      'list_launches',
      { project_key: 'DEMO', started_after: new Date(lo).toISOString(), started_before: new Date(hi).toISOString(), page_size: 100 },
      topLevel,
    );
    assert.deepEqual(dated.flatMap((a) => a.launches.map((l) => l.id)), inRange);

    const bad = await callTool(client, 'list_launches', { project_key: 'DEMO', page: 2, statuses: ['FAILED'] });
    assert.equal(bad.isError, true);
    assert.match(resultText(bad), /next_cursor/);
  });

  test('get_launch 1041: counts, environment, labels, artifacts and attempts equal the REST launch', async () => {
    const rest = (await oracle.request(`/api/reporting/v1/launches/${BIG_LAUNCH}`, { auth: 'bearer', params: { projectId } })).data;
    const attempts = (await oracle.request(`/api/reporting/v1/launches/${BIG_LAUNCH}/attempts`, { auth: 'bearer', params: { projectId } })).items;
    const out = await callOk(client, 'get_launch', { project_key: 'DEMO', launch_id: BIG_LAUNCH });
    assert.equal(out.id, BIG_LAUNCH);
    assert.equal(out.name, rest.name);
    assert.equal(out.status, rest.status);
    assert.equal(out.counts.total, 500, 'launch 1041 has 500 tests');
    assert.equal(out.counts.passed, rest.passed);
    assert.equal(out.counts.failed, rest.failed);
    assert.equal(out.counts.known_issues, rest.failedAsKnown);
    assert.equal(out.environment, rest.environment);
    assert.equal(out.platform, rest.platform);
    assert.equal(out.duration_secs, rest.elapsed);
    assert.equal(out.started_at, new Date(rest.startedAt).toISOString().replace('.000Z', 'Z'));
    assert.deepEqual(out.labels.map((l) => [l.key, l.value]), rest.labels.map((l) => [l.key, l.value]));
    assert.deepEqual(out.artifacts.map((l) => [l.key, l.value]), rest.artifacts.map((l) => [l.name, l.value]));
    assert.equal(out.attempts.length, attempts.length);
    assert.deepEqual(out.attempts.map((a) => a.failed), attempts.map((a) => a.finishFailed));

    const missing = await callTool(client, 'get_launch', { project_key: 'DEMO', launch_id: 999999 });
    assert.equal(missing.isError, true);
  });

  test('list_launch_tests: the cursor walk over launch 1041 returns all 500 tests exactly once', async () => {
    const { items: rest } = await reportingAll(`/api/reporting/v1/launches/${BIG_LAUNCH}/tests`);
    assert.equal(rest.length, 500);
    const answers = await walk(client, 'list_launch_tests', { project_key: 'DEMO', launch_id: BIG_LAUNCH, limit: 33 }, topLevel);
    const ids = answers.flatMap((a) => a.tests.map((t) => t.id));
    assert.equal(ids.length, 500);
    assert.equal(new Set(ids).size, 500, 'a test was returned twice');
    assert.deepEqual(ids, rest.map((t) => t.id), 'in Zebrunner order');
    assert.ok(answers.every((a) => a.launch_total === 500));
    assert.equal(answers.at(-1).total_matched, 500);

    // Linked case keys, known issues and issue links as REST has them.
    const byId = new Map(answers.flatMap((a) => a.tests).map((t) => [t.id, t]));
    for (const t of rest) {
      const mine = byId.get(t.id);
      assert.deepEqual(mine.test_case_keys, t.testCases.map((c) => c.testCaseId));
      assert.equal(mine.known_issue, t.knownIssue);
      assert.deepEqual(mine.issues, t.issueReferences.map((r) => `${r.type} ${r.value}`));
      assert.equal(mine.status, t.status);
    }
  });

  test('list_launch_tests: status and known-issue filters agree with the oracle; messages are cut', async () => {
    const { items: rest } = await reportingAll(`/api/reporting/v1/launches/${BIG_LAUNCH}/tests`);
    const failed = rest.filter((t) => t.status === 'FAILED');
    assert.ok(failed.length > 0);
    const answers = await walk(client, 'list_launch_tests', { project_key: 'DEMO', launch_id: BIG_LAUNCH, statuses: ['FAILED'], limit: 40 }, topLevel);
    assert.deepEqual(answers.flatMap((a) => a.tests.map((t) => t.id)), failed.map((t) => t.id));
    assert.equal(answers.at(-1).total_matched, failed.length);

    const known = await walk(
      client,
      'list_launch_tests',
      { project_key: 'DEMO', launch_id: BIG_LAUNCH, statuses: ['FAILED'], known_issue: true, limit: 100 },
      topLevel,
    );
    assert.deepEqual(known.flatMap((a) => a.tests.map((t) => t.id)), failed.filter((t) => t.knownIssue).map((t) => t.id));

    const cut = await callOk(client, 'list_launch_tests', { project_key: 'DEMO', launch_id: BIG_LAUNCH, statuses: ['FAILED'], limit: 5, message_chars: 20 });
    for (const t of cut.tests) {
      const full = rest.find((r) => r.id === t.id).message ?? '';
      assert.equal(t.message_truncated, full.length > 20);
      assert.ok((t.message ?? '').length <= 20);
    }
  });

  test('list_launch_tests: progress notifications while scanning many pages', async () => {
    // Zebrunner filters by status itself (one request); `known_issue` is filtered here, so
    // all five pages of the 500 tests are read.
    const progress = [];
    const result = await withTimeout(
      client.callTool(
        { name: 'list_launch_tests', arguments: { project_key: 'DEMO', launch_id: BIG_LAUNCH, known_issue: true, limit: 100, format: 'json' } },
        undefined,
        { timeout: 60_000, onprogress: (p) => progress.push(p) },
      ),
      65_000,
      'list_launch_tests with progress',
    );
    assert.ok(!result.isError, resultText(result));
    assert.ok(progress.length >= 1, 'at least one progress notification for a 5-page scan');
    assert.ok(progress.every((p) => p.total === 500));
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress, 'progress increases');
  });

  test('list_test_runs: cursor walk, closed, milestone and build filters equal the REST runs', async () => {
    const rest = await restRuns();
    assert.deepEqual(rest.map((r) => r.id).sort(), [801, 802, 803, 804, 805, 806, 807, 808, 809, 810, 811, 812]);
    const answers = await walk(client, 'list_test_runs', { project_key: 'DEMO', limit: 5 }, topLevel);
    assert.equal(answers.length, 3, 'three answers of 5');
    const runs = answers.flatMap((a) => a.test_runs);
    assert.deepEqual(runs.map((r) => r.id).sort(), rest.map((r) => r.id).sort());
    const created = runs.map((r) => r.created_at);
    assert.deepEqual(created, [...created].sort().reverse(), 'newest first by default');

    const byTitle = await walk(client, 'list_test_runs', { project_key: 'DEMO', sort_by: 'title', limit: 100 }, topLevel);
    const titles = byTitle.flatMap((a) => a.test_runs.map((r) => r.title));
    assert.deepEqual(titles, [...titles].sort());

    const closed = await callOk(client, 'list_test_runs', { project_key: 'DEMO', closed: true, limit: 100 });
    assert.deepEqual(closed.test_runs.map((r) => r.id).sort(), rest.filter((r) => r.closed).map((r) => r.id).sort());

    const withMilestone = rest.find((r) => r.milestone);
    assert.ok(withMilestone, 'oracle: some run has a milestone');
    const m = withMilestone.milestone;
    const expected = rest.filter((r) => r.milestone?.id === m.id).map((r) => r.id).sort();
    for (const milestone of [m.name, m.id, m.name.toUpperCase()]) {
      const out = await callOk(client, 'list_test_runs', { project_key: 'DEMO', milestone, limit: 100 });
      assert.deepEqual(out.test_runs.map((r) => r.id).sort(), expected, `milestone ${milestone}`);
    }
    const unknown = await callTool(client, 'list_test_runs', { project_key: 'DEMO', milestone: 'No such milestone' });
    assert.equal(unknown.isError, true);
    assert.match(resultText(unknown), /list_milestones/);

    const option = rest.flatMap((r) => r.configurations).find(Boolean)?.option?.name;
    assert.ok(option, 'oracle: runs have configurations');
    const buildFilter = `(configurations.optionName ~= '${option}' OR title ~= '${option}' OR description ~= '${option}')`;
    const byBuildRest = await restRuns(buildFilter);
    const byBuild = await callOk(client, 'list_test_runs', { project_key: 'DEMO', build: option, limit: 100 });
    assert.equal(byBuild.filter, buildFilter);
    assert.deepEqual(byBuild.test_runs.map((r) => r.id).sort(), byBuildRest.map((r) => r.id).sort());
    assert.ok(byBuild.test_runs.every((r) => r.configurations.some((c) => c.endsWith(`: ${option}`)) || r.title.includes(option)));
  });

  test('get_test_run: summary and every case with result, assignee and issue, paged with the cursor', async () => {
    for (const id of [801, 809]) {
      const rest = (await oracle.request(`/api/public/v1/test-runs/${id}`, { params: { projectKey: 'DEMO' } })).data;
      const cases = (await oracle.request(`/api/public/v1/test-runs/${id}/test-cases`, { params: { projectKey: 'DEMO' } })).items;
      const answers = await walk(client, 'get_test_run', { project_key: 'DEMO', run_id: id, limit: 7 }, topLevel);
      const first = answers[0];
      assert.equal(first.title, rest.title);
      assert.equal(first.closed, rest.closed);
      assert.equal(first.total_cases, cases.length);
      assert.deepEqual(
        first.summary.map((s) => [s.status, s.count]),
        rest.executionSummaries.map((s) => [s.status.name, s.testCasesCount]),
      );
      assert.deepEqual(first.configurations, rest.configurations.map((c) => `${c.group.name}: ${c.option.name}`));
      const mine = answers.flatMap((a) => a.test_cases);
      assert.deepEqual(mine.map((c) => c.key), cases.map((c) => c.testCase.key), `run ${id}: every case once, in order`);
      for (const [i, c] of cases.entries()) {
        assert.equal(mine[i].status, c.result?.status?.name ?? 'Untested');
        assert.equal(mine[i].assignee, c.assignee?.username ?? c.assignee?.email ?? null);
        assert.equal(mine[i].issue, c.result?.issue ? `${c.result.issue.type} ${c.result.issue.id}` : null);
      }
      const status = cases.find((c) => c.result)?.result.status.name;
      if (status) {
        const filtered = await callOk(client, 'get_test_run', { project_key: 'DEMO', run_id: id, statuses: [status.toLowerCase()], limit: 200 });
        assert.deepEqual(filtered.test_cases.map((c) => c.key), cases.filter((c) => c.result?.status?.name === status).map((c) => c.testCase.key));
        assert.equal(filtered.matched_cases, filtered.test_cases.length);
      }
    }
    const missing = await callTool(client, 'get_test_run', { project_key: 'DEMO', run_id: 424242 });
    assert.equal(missing.isError, true);
  });

  test('get_test_case_history DEMO-1: 120 executions newest first, filters and change log', async () => {
    const rest = await oracle.executions('DEMO', 10001);
    assert.equal(rest.length, 120);
    const answers = await walk(client, 'get_test_case_history', { key: 'DEMO-1', limit: 50, changes: 'none' }, (a) => ({
      hasMore: a.executions.has_more,
      next: a.executions.next_cursor,
    }));
    assert.equal(answers[0].executions.total, 120);
    assert.equal(answers[0].executions.matched, 120);
    const items = answers.flatMap((a) => a.executions.items);
    assert.equal(items.length, 120);
    assert.equal(new Set(items.map((e) => e.id)).size, 120, 'an execution was returned twice');
    const times = items.map((e) => e.at);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');

    const restStatus = rest[0].status.name;
    const byStatus = rest.filter((e) => e.status?.name === restStatus);
    const filtered = await callOk(client, 'get_test_case_history', { key: 'demo-1', statuses: [restStatus], limit: 100, changes: 'none' });
    assert.equal(filtered.executions.matched, byStatus.length);
    assert.equal(answers[0].executions.by_status[restStatus], byStatus.length);
    const manual = await callOk(client, 'get_test_case_history', { key: 'DEMO-1', execution_type: 'MANUAL', limit: 100, changes: 'none' });
    assert.equal(manual.executions.matched, rest.filter((e) => e.type === 'MANUAL').length);
    const sorted = rest.map((e) => e.trackedAt).sort();
    const since = sorted[60];
    const recent = await callOk(client, 'get_test_case_history', { key: 'DEMO-1', executed_after: since, limit: 100, changes: 'none' });
    assert.equal(recent.executions.matched, rest.filter((e) => Date.parse(e.trackedAt) >= Date.parse(since)).length);

    const changes = await oracle.changes('DEMO', 10001);
    const all = await callOk(client, 'get_test_case_history', { key: 'DEMO-1', limit: 1, change_limit: 100 });
    assert.equal(all.changes.scanned, changes.length);
    assert.equal(all.changes.matched, changes.filter((c) => c.type !== 'LAYOUT_UPDATE').length);
    const steps = await callOk(client, 'get_test_case_history', { key: 'DEMO-1', limit: 1, changes: 'steps_only', change_limit: 100 });
    assert.ok(steps.changes.entries.length > 0, 'DEMO-1 has step edits');
    assert.ok(steps.changes.entries.every((e) => e.changes.length > 0 && e.changes.every((c) => c.field.startsWith('steps['))));
    const events = await callOk(client, 'get_test_case_history', { key: 'DEMO-1', limit: 1, changes: 'events_only', change_limit: 100 });
    assert.ok(events.changes.entries.every((e) => e.changes.every((c) => !c.field.startsWith('steps['))));

    const md = resultText(await callTool(client, 'get_test_case_history', { key: 'DEMO-1', limit: 5 }));
    assert.match(md, /120 recorded/);
    assert.match(md, /older ones remain\. Call again with `cursor`/);
  });

  test('bob may not read API runs or launches; bad cursors are refused', async () => {
    const bobConn = await connectStdio(sandbox, sandbox.users.bob);
    try {
      for (const [name, args] of [
        ['list_test_runs', { project_key: 'API' }],
        ['list_launches', { project_key: 'API' }],
        ['list_milestones', { project_key: 'API' }],
      ]) {
        const r = await callTool(bobConn.client, name, args);
        assert.equal(r.isError, true, `${name} for bob on API`);
      }
    } finally {
      await bobConn.close();
    }
    const first = await callOk(client, 'list_launch_tests', { project_key: 'DEMO', launch_id: BIG_LAUNCH, limit: 10 });
    const other = await callTool(client, 'list_launch_tests', { project_key: 'DEMO', launch_id: BIG_LAUNCH, statuses: ['FAILED'], cursor: first.next_cursor });
    assert.equal(other.isError, true);
    assert.match(resultText(other), /different query/);
  });
});
