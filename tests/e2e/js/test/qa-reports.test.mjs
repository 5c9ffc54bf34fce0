// The QA-loop reports through the official TypeScript SDK client over stdio,
// each checked against the sandbox's own REST answers: find_flaky_tests over
// 14 days of DEMO launches (flips recomputed from every launch's tests, and
// the requests it says it made are the ones the sandbox logged),
// analyze_launch_runtime, regression_report (TCM runs of a milestone) and
// release_readiness (its dashboard arrives as a valid PNG image block).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio } from '../lib/mcp.mjs';
import { clearRequestLog, requestLog } from '../lib/control.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const FROM = '2026-01-05';
const TO = '2026-01-18';

describe('QA-loop reports (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;
  let projectId;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    projectId = await oracle.projectId('DEMO');
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  /** Every launch of DEMO (newest first), as the launch list gives them. */
  async function launches(params = {}) {
    const all = [];
    for (let page = 1; page < 100; page++) {
      const body = await oracle.request('/api/reporting/v1/launches', {
        auth: 'bearer',
        params: { projectId, page, pageSize: 100, ...params },
      });
      all.push(...body.items);
      if (page >= body._meta.totalPages) break;
    }
    return all;
  }

  async function testsOf(launchId) {
    const all = [];
    for (let page = 1; page < 100; page++) {
      const body = await oracle.request(`/api/reporting/v1/launches/${launchId}/tests`, {
        auth: 'bearer',
        params: { projectId, page, pageSize: 100 },
      });
      all.push(...body.items);
      if (page >= body.totalPages) break;
    }
    return all;
  }

  const finished = (l) => !['IN_PROGRESS', 'QUEUED'].includes(l.status);

  test('find_flaky_tests: 14 days of launches, flips recomputed, requests as logged', async () => {
    const from = Date.parse(`${FROM}T00:00:00Z`);
    const to = Date.parse(`${TO}T23:59:59.999Z`);
    const window = (await launches())
      .filter(finished)
      .filter((l) => Number(l.startedAt) >= from && Number(l.startedAt) <= to)
      .reverse();
    assert.ok(window.length >= 5, `oracle: ${window.length} launches in 14 days`);
    const histories = new Map();
    for (const l of window) {
      for (const t of await testsOf(l.id)) {
        const key = `${t.testClass ?? ''}#${t.name}`;
        const letter = { PASSED: 'P', FAILED: 'F', SKIPPED: 'S', ABORTED: 'A' }[t.status] ?? '?';
        histories.set(key, (histories.get(key) ?? '') + letter);
      }
    }
    const flips = (h) => {
      const decided = [...h].filter((c) => c === 'P' || c === 'F');
      let n = 0;
      for (let i = 1; i < decided.length; i++) if (decided[i] !== decided[i - 1]) n++;
      return n;
    };
    const flaky = [...histories.entries()].filter(([, h]) => flips(h) >= 2);
    assert.ok(flaky.length > 0, 'oracle: some tests flip');

    await clearRequestLog(sandbox);
    const out = await callOk(client, 'find_flaky_tests', {
      project_key: 'DEMO', from: FROM, to: TO, limit: 100, accept_cost: true, format: 'json',
    });
    const log = (await requestLog(sandbox)).filter((r) => r.path.startsWith('/api/reporting'));
    assert.equal(out.launches, window.length);
    assert.equal(out.total, flaky.length);
    const got = new Map(out.tests.map((t) => [`${t.test_class ?? ''}#${t.name}`, t]));
    for (const [key, history] of flaky.slice(0, 100)) {
      if (!got.has(key)) continue; // beyond the page; the total above covers them
      assert.equal(got.get(key).history, history, key);
      assert.equal(got.get(key).flips, flips(history), key);
    }
    assert.equal(got.size, Math.min(flaky.length, 100));
    // The fewest requests that can answer: the launch-list pages, and each launch's tests at
    // Zebrunner's largest page (100).
    const testPages = window.reduce((n, l) => n + Math.max(1, Math.ceil(Number(l.total) / 100)), 0);
    const listPages = log.filter((r) => r.path === '/api/reporting/v1/launches').length;
    assert.equal(log.filter((r) => r.path.endsWith('/tests')).length, testPages);
    assert.equal(out.requests, listPages + testPages);
  });

  test('analyze_launch_runtime: durations and tests per launch as REST gives them', async () => {
    const newest = (await launches()).filter(finished).slice(0, 5);
    const out = await callOk(client, 'analyze_launch_runtime', { project_key: 'DEMO', last: 5, format: 'json' });
    assert.deepEqual(out.launches.map((l) => l.id), newest.map((l) => l.id));
    for (const [row, l] of out.launches.map((r, i) => [r, newest[i]])) {
      assert.equal(row.duration_secs, l.duration ?? null, `launch ${l.id}`);
      const body = await oracle.request(`/api/reporting/v1/launches/${l.id}/tests`, {
        auth: 'bearer', params: { projectId, page: 1, pageSize: 1 },
      });
      assert.equal(row.tests, body.totalElements, `tests of launch ${l.id}`);
      const attempts = await oracle.request(`/api/reporting/v1/launches/${l.id}/attempts`, {
        auth: 'bearer', params: { projectId },
      });
      assert.equal(row.attempts, Math.max(1, attempts.items.length), `attempts of launch ${l.id}`);
    }
  });

  test('regression_report: a milestone’s TCM runs recounted', async () => {
    const milestones = await oracle.request('/api/reporting/v1/milestones', {
      auth: 'bearer', params: { projectId, page: 1, pageSize: 100 },
    });
    const milestone = milestones.items.find((m) => m.name === 'Release 1.2');
    const runs = await oracle.pageAll('/api/public/v1/test-runs', {
      projectKey: 'DEMO', filter: `milestone.id = ${milestone.id}`,
    });
    assert.ok(runs.length > 0, 'oracle: Release 1.2 has runs');
    const out = await callOk(client, 'regression_report', {
      project_key: 'DEMO', milestone: 'Release 1.2', limit: 100, format: 'json',
    });
    assert.deepEqual(out.runs.map((r) => r.id).sort(), runs.map((r) => r.id).sort());
    let failed = 0;
    let unlinked = 0;
    for (const row of out.runs) {
      const body = await oracle.request(`/api/public/v1/test-runs/${row.id}/test-cases`, { params: { projectKey: 'DEMO' } });
      const cases = body.items;
      assert.equal(row.cases, cases.length);
      assert.equal(row.executed, cases.filter((c) => c.result).length);
      const fails = cases.filter((c) => c.result?.status?.name === 'Failed');
      assert.equal(row.failed, fails.length, `run ${row.id}`);
      assert.equal(row.unlinked, fails.filter((c) => !c.result.issue).length, `run ${row.id}`);
      failed += fails.length;
      unlinked += row.unlinked;
    }
    assert.equal(out.totals.failed, failed);
    assert.equal(out.unlinked_failures.length, unlinked);
    assert.equal(out.previous, 'milestone Release 1.1');
    const bySuite = out.defects_per_suite.reduce((n, s) => n + s.failures, 0);
    assert.equal(bySuite, failed);
  });

  test('release_readiness: the pass rate of each job’s newest launch, and a PNG dashboard', async () => {
    const inMilestone = (await launches({ milestone: 'Release 1.5' })).filter(finished);
    const newest = [];
    for (const l of inMilestone) if (!newest.some((n) => n.name.trim() === l.name.trim())) newest.push(l);
    const result = await callTool(client, 'release_readiness', {
      project_key: 'DEMO', milestone: 'Release 1.5', chart: 'png', format: 'json',
    });
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    const out = result.structuredContent;
    assert.deepEqual([...out.launch_ids].sort(), newest.map((l) => l.id).sort());
    const passed = newest.reduce((n, l) => n + Number(l.passed), 0);
    const executed = newest.reduce((n, l) => n + Number(l.passed) + Number(l.failed) + Number(l.skipped) + Number(l.aborted), 0);
    const rate = out.checks.find((c) => c.name === 'pass rate');
    assert.equal(rate.value, Math.round((passed * 1000) / executed) / 10);
    assert.equal(out.verdict, out.checks.every((c) => c.pass) ? 'GO' : 'NO-GO');
    const image = result.content.find((c) => c.type === 'image');
    assert.equal(image.mimeType, 'image/png');
    const png = Buffer.from(image.data, 'base64');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [800, 400]);
  });
});
