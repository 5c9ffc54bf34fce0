// defect_analytics through the official TypeScript SDK client over stdio, checked
// against the sandbox's own REST answers (launches and their tests), never against
// the widget rows the tool reads: failures per defect, the failure groups of the
// review, one group's failures and launches, and results per platform.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio, resultText } from '../lib/mcp.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const DAY_MS = 86_400_000;

describe('defect_analytics (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;
  let projectId;
  /** DEMO's launches, each with `tests`, and the sandbox clock (newest launch start). */
  let launches;
  let now;

  async function allLaunches(pid) {
    const items = [];
    for (let page = 1; page < 100; page++) {
      const body = await oracle.request('/api/reporting/v1/launches', {
        auth: 'bearer', params: { projectId: pid, page, pageSize: 100 },
      });
      items.push(...body.items);
      if (page >= body._meta.totalPages) break;
    }
    return items;
  }

  async function testsOf(launchId) {
    const items = [];
    for (let page = 1; page < 100; page++) {
      const body = await oracle.request(`/api/reporting/v1/launches/${launchId}/tests`, {
        auth: 'bearer', params: { projectId, page, pageSize: 100 },
      });
      items.push(...body.items);
      if (page >= body.totalPages) break;
    }
    return items;
  }

  /** Failed tests of the launches started within `days` of the clock (all when null). */
  function failures(days) {
    return launches
      .filter((l) => days === null || Number(l.startedAt) >= now - days * DAY_MS)
      .flatMap((l) => l.tests.filter((t) => t.status === 'FAILED').map((t) => ({ launch: l, test: t })));
  }

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    projectId = await oracle.projectId('DEMO');
    now = -Infinity;
    for (const p of await oracle.projects()) {
      const pid = await oracle.projectId(p.key).catch(() => null);
      if (pid === null) continue;
      for (const l of await allLaunches(pid).catch(() => [])) now = Math.max(now, Number(l.startedAt));
    }
    launches = await allLaunches(projectId);
    for (const l of launches) l.tests = await testsOf(l.id);
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('top_defects: failures per linked defect over the last 7 days', async () => {
    const failed = failures(7);
    assert.ok(failed.length > 0, 'oracle: the seed fails tests in its last week');
    const per = new Map();
    for (const { test: t } of failed) {
      const key = t.issueReferences?.[0]?.value ?? 'TO REVIEW';
      per.set(key, (per.get(key) ?? 0) + 1);
    }
    const out = await callOk(client, 'defect_analytics', { project_key: 'DEMO', view: 'top_defects', limit: 100, format: 'json' });
    assert.equal(out.period, 'Last 7 Days', 'the default period');
    assert.equal(out.total, failed.length);
    assert.equal(out.rows.length, per.size);
    assert.deepEqual(new Map(out.rows.map((r) => [r.name, r.failures])), per);
    assert.ok(!JSON.stringify(out).includes('<a'), 'no HTML reaches the model');
    for (const r of out.rows.filter((r) => r.name !== 'TO REVIEW')) {
      assert.ok(r.url.endsWith(`/browse/${r.name}`), r.url);
    }
  });

  test('defect_review and defect: failure groups and one group\'s failures', async () => {
    const failed = failures(14);
    const groups = new Map();
    for (const f of failed) {
      const h = f.test.messageHashCode;
      groups.set(h, [...(groups.get(h) ?? []), f]);
    }
    const review = await callOk(client, 'defect_analytics', {
      project_key: 'DEMO', view: 'defect_review', period: 'Last 14 Days', limit: 100, format: 'json',
    });
    assert.equal(review.rows.length, groups.size);
    for (const r of review.rows) {
      assert.equal(r.failures, groups.get(r.hashcode)?.length, `hashcode ${r.hashcode}`);
    }
    const hash = review.rows[0].hashcode;
    const one = await callOk(client, 'defect_analytics', {
      project_key: 'DEMO', view: 'defect', hashcode: hash, period: 'Last 14 Days', limit: 100, format: 'json',
    });
    const expected = groups.get(hash);
    assert.equal(one.total, expected.length);
    assert.equal(one.launches, new Set(expected.map((f) => f.launch.id)).size);
    assert.deepEqual(
      one.rows.map((r) => `${r.launch_id}/${r.test_id}`).sort(),
      expected.map((f) => `${f.launch.id}/${f.test.id}`).sort(),
    );
    assert.ok(expected[0].test.message.startsWith(one.reason.replace(/…$/, '')));
  });

  test('platforms: results and pass rate per platform for the whole history', async () => {
    const per = new Map();
    for (const l of launches) {
      const { data } = await oracle.request(`/api/reporting/v1/launches/${l.id}`, { auth: 'bearer', params: { projectId } });
      const c = per.get(data.platform) ?? { passed: 0, failed: 0, known_issues: 0, skipped: 0, aborted: 0 };
      for (const t of l.tests) {
        if (t.status === 'PASSED') c.passed++;
        else if (t.status === 'FAILED' && t.knownIssue) c.known_issues++;
        else if (t.status === 'FAILED') c.failed++;
        else if (t.status === 'SKIPPED') c.skipped++;
        else if (t.status === 'ABORTED') c.aborted++;
      }
      per.set(data.platform, c);
    }
    const out = await callOk(client, 'defect_analytics', { project_key: 'DEMO', view: 'platforms', period: 'Total', format: 'json' });
    assert.equal(out.rows.length, per.size);
    for (const r of out.rows) {
      const c = per.get(r.name);
      assert.deepEqual(
        { passed: r.passed, failed: r.failed, known_issues: r.known_issues, skipped: r.skipped, aborted: r.aborted },
        c,
        r.name,
      );
      const executed = Object.values(c).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(r.pct - (100 * c.passed) / executed) < 0.06, `${r.name}: ${r.pct}`);
    }
  });

  test('markdown by default, and refusals that say what to send', async () => {
    const md = resultText(await callTool(client, 'defect_analytics', { project_key: 'DEMO', view: 'top_defects', period: 'Total', limit: 2 }));
    assert.match(md, /\| Defect \| Failures \| Share \|/);
    assert.ok(!md.includes('<a '), md);

    const noHash = await callTool(client, 'defect_analytics', { project_key: 'DEMO', view: 'defect' });
    assert.equal(noHash.isError, true);
    assert.match(resultText(noHash), /hashcode.*defect_review/);

    const badPeriod = await callTool(client, 'defect_analytics', { project_key: 'DEMO', view: 'platforms', period: 'Last 8 Days' });
    assert.equal(badPeriod.isError, true);
    assert.match(resultText(badPeriod), /Last 7 Days/);

    const badView = await callTool(client, 'defect_analytics', { project_key: 'DEMO', view: 'bugs' });
    assert.equal(badView.isError, true);
    assert.match(resultText(badView), /top_defects/);

    const unknown = await callTool(client, 'defect_analytics', { project_key: 'DEMO', view: 'defect', hashcode: 12345, period: 'Total' });
    assert.equal(unknown.isError, true);
    assert.match(resultText(unknown), /no failure with hashcode 12345/);
  });
});
