// coverage_report, pass_rate_report and the MCP prompts, through the official
// TypeScript SDK client over stdio. Counts are checked against numbers
// computed here from the sandbox's own REST answers; charts must be real PNGs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio, resultText } from '../lib/mcp.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';
import { clearRequestLog, requestLog } from '../lib/control.mjs';

const PROMPTS = ['launch-triage', 'release-readiness', 'daily-qa-standup', 'review-test-case', 'find-duplicates', 'flaky-review'];

/** Width and height of a PNG, after checking its signature. */
function pngSize(base64) {
  const bytes = Buffer.from(base64, 'base64');
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), bytes: bytes.length };
}

const pct = (part, whole) => (whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10);
const num = (v) => Number(v ?? 0);

describe('reports and prompts (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;
  let projectId;
  let launches; // every DEMO launch from REST, newest first

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    await client.listTools(); // the SDK then validates structuredContent against outputSchema
    projectId = await oracle.projectId('DEMO');
    launches = [];
    for (let page = 1; page < 100; page++) {
      const body = await oracle.request('/api/reporting/v1/launches', { auth: 'bearer', params: { projectId, page, pageSize: 100 } });
      launches.push(...body.items);
      if (page >= body._meta.totalPages) break;
    }
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('coverage_report: per root suite and TOTAL equal counts from REST, in one pass over the cases', async () => {
    const [cases, suites] = await Promise.all([oracle.testCases('DEMO'), oracle.suites('DEMO')]);
    const counted = cases.filter((c) => !c.deleted && !c.deprecated && !c.draft);
    const suiteById = new Map(suites.map((s) => [s.id, s]));
    const root = (id) => {
      let s = suiteById.get(id);
      if (!s) return null;
      while (s.parentSuiteId && suiteById.has(s.parentSuiteId)) s = suiteById.get(s.parentSuiteId);
      return s.id;
    };
    const expected = new Map();
    for (const c of counted) {
      const r = root(c.testSuite?.id) ?? 'none';
      const e = expected.get(r) ?? { total: 0, automated: 0 };
      e.total += 1;
      if (c.automationState?.name === 'Automated') e.automated += 1;
      expected.set(r, e);
    }

    await clearRequestLog(sandbox);
    const out = await callOk(client, 'coverage_report', { project_key: 'DEMO', format: 'json' });
    const log = await requestLog(sandbox);
    const casePages = log.filter((r) => r.path.endsWith('/test-cases'));
    assert.equal(casePages.length, Math.ceil(cases.length / 100), 'cases read once, 100 per page');
    assert.ok(casePages.every((r) => /maxPageSize=100/.test(r.query ?? '')), 'pages of 100');
    assert.equal(log.filter((r) => r.path.endsWith('/test-suites')).length <= Math.ceil(suites.length / 100), true);

    assert.deepEqual(out.automated_states, ['Automated']);
    const got = new Map(out.rows.map((r) => [r.suite_id ?? 'none', { total: r.total, automated: r.automated }]));
    assert.deepEqual(got, expected);
    const total = counted.length;
    const automated = counted.filter((c) => c.automationState?.name === 'Automated').length;
    assert.equal(out.total.total, total);
    assert.equal(out.total.automated, automated);
    assert.equal(out.total.coverage_pct, pct(automated, total));
    assert.equal(out.excluded.deprecated + out.excluded.drafts + out.excluded.deleted, cases.length - total);
    assert.ok(out.excluded.deprecated > 0 && out.excluded.drafts > 0, 'sandbox seeds both');

    // Including deprecated and drafts counts every case that is not deleted.
    const all = await callOk(client, 'coverage_report', { project_key: 'DEMO', include_deprecated: true, include_drafts: true, depth: 2 });
    assert.equal(all.total.total, cases.filter((c) => !c.deleted).length);
    assert.equal(all.depth, 2);
    assert.ok(all.rows.some((r) => r.suite.includes(' > ')), 'depth 2 rows are child suites');
    const text = resultText(await callTool(client, 'coverage_report', { project_key: 'DEMO' }));
    assert.match(text, /TOTAL/);
  });

  test('coverage_report: chart=png returns a PNG image block beside the text', async () => {
    const result = await callTool(client, 'coverage_report', { project_key: 'DEMO', chart: 'png' });
    assert.ok(!result.isError, JSON.stringify(result.content).slice(0, 300));
    assert.equal(result.content[0].type, 'text');
    const images = result.content.filter((c) => c.type === 'image');
    assert.equal(images.length, 1);
    assert.equal(images[0].mimeType, 'image/png');
    const size = pngSize(images[0].data);
    assert.deepEqual([size.width, size.height], [800, 400]);
    assert.ok(size.bytes < 200_000, `small image: ${size.bytes} bytes`);
    const none = await callTool(client, 'coverage_report', { project_key: 'DEMO' });
    assert.ok(none.content.every((c) => c.type === 'text'), 'no image by default');
  });

  test('coverage_report: bad arguments are refused with advice', async () => {
    const bad = await callTool(client, 'coverage_report', { project_key: 'DEMO', depth: 0 });
    assert.ok(bad.isError);
    assert.match(resultText(bad), /depth/);
    const state = await callTool(client, 'coverage_report', { project_key: 'DEMO', automated_states: ['Robotic'] });
    assert.ok(state.isError);
    assert.match(resultText(state), /Automated/);
  });

  test('pass_rate_report: per milestone over the newest launches equals the REST launch list', async () => {
    const finished = launches.filter((l) => !['IN_PROGRESS', 'QUEUED'].includes(l.status));
    const newest = finished.slice(0, 30);
    const expected = new Map();
    for (const l of newest) {
      const k = l.milestone?.name ?? '(none)';
      const e = expected.get(k) ?? { launches: 0, passed: 0, failed: 0, known: 0, skipped: 0, aborted: 0 };
      e.launches += 1;
      e.passed += num(l.passed);
      e.failed += num(l.failed);
      e.known += num(l.failedAsKnown);
      e.skipped += num(l.skipped);
      e.aborted += num(l.aborted);
      expected.set(k, e);
    }
    const out = await callOk(client, 'pass_rate_report', { project_key: 'DEMO', last: 30, format: 'json' });
    assert.equal(out.total.launches, 30);
    assert.equal(out.unfinished_skipped, launches.slice(0, launches.indexOf(newest[29]) + 1).length - 30);
    const got = new Map(
      out.groups.map((g) => [g.group, { launches: g.launches, passed: g.passed, failed: g.failed, known: g.known_issues, skipped: g.skipped, aborted: g.aborted }]),
    );
    assert.deepEqual(got, expected);
    for (const g of out.groups) {
      assert.equal(g.pass_rate_pct, pct(g.passed, g.passed + g.failed + g.skipped + g.aborted));
    }
    const sum = (f) => newest.reduce((a, l) => a + num(l[f]), 0);
    const executed = sum('passed') + sum('failed') + sum('skipped') + sum('aborted');
    assert.equal(out.total.pass_rate_pct, pct(sum('passed'), executed));
    assert.equal(out.total.pass_rate_without_known_pct, pct(sum('passed'), executed - sum('failedAsKnown')));
  });

  test('pass_rate_report: per day over a date range, and per platform', async () => {
    const starts = launches.map((l) => Number(l.startedAt)).sort((a, b) => a - b);
    const from = new Date(starts[Math.floor(starts.length / 3)]).toISOString().slice(0, 10);
    const to = new Date(starts[Math.floor((starts.length * 2) / 3)]).toISOString().slice(0, 10);
    const lo = Date.parse(`${from}T00:00:00Z`);
    const hi = Date.parse(`${to}T23:59:59.999Z`);
    const inRange = launches.filter((l) => Number(l.startedAt) >= lo && Number(l.startedAt) <= hi && !['IN_PROGRESS', 'QUEUED'].includes(l.status));
    assert.ok(inRange.length > 3, 'oracle: a range with launches');
    const byDay = new Map();
    for (const l of inRange) {
      const d = new Date(Number(l.startedAt)).toISOString().slice(0, 10);
      byDay.set(d, (byDay.get(d) ?? 0) + num(l.passed));
    }
    const out = await callOk(client, 'pass_rate_report', { project_key: 'DEMO', group_by: 'day', from, to });
    assert.equal(out.total.launches, inRange.length);
    assert.deepEqual(new Map(out.groups.map((g) => [g.group, g.passed])), byDay);
    assert.deepEqual(out.groups.map((g) => g.group), [...byDay.keys()].sort());

    const platform = await callOk(client, 'pass_rate_report', { project_key: 'DEMO', group_by: 'platform', last: 10 });
    const details = await Promise.all(
      launches
        .filter((l) => !['IN_PROGRESS', 'QUEUED'].includes(l.status))
        .slice(0, 10)
        .map((l) => oracle.request(`/api/reporting/v1/launches/${l.id}`, { auth: 'bearer', params: { projectId } })),
    );
    const perPlatform = new Map();
    for (const d of details.map((x) => x.data ?? x)) perPlatform.set(d.platform, (perPlatform.get(d.platform) ?? 0) + 1);
    assert.deepEqual(new Map(platform.groups.map((g) => [g.group, g.launches])), perPlatform);
  });

  test('pass_rate_report: chart=png image block; bad ranges refused', async () => {
    const result = await callTool(client, 'pass_rate_report', { project_key: 'DEMO', group_by: 'week', last: 40, chart: 'png' });
    assert.ok(!result.isError, resultText(result));
    const image = result.content.find((c) => c.type === 'image');
    assert.equal(image?.mimeType, 'image/png');
    assert.deepEqual(Object.values(pngSize(image.data)).slice(0, 2), [800, 400]);
    const bad = await callTool(client, 'pass_rate_report', { project_key: 'DEMO', from: '2026-02-01', to: '2026-01-01' });
    assert.ok(bad.isError);
    assert.match(resultText(bad), /from/);
    const ms = await callTool(client, 'pass_rate_report', { project_key: 'DEMO', milestone: 'No Such Release' });
    assert.ok(ms.isError);
    assert.match(resultText(ms), /list_milestones/);
  });

  test('prompts/list has the six prompts with their arguments', async () => {
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), [...PROMPTS].sort());
    const triage = prompts.find((p) => p.name === 'launch-triage');
    assert.deepEqual(
      triage.arguments.map((a) => [a.name, a.required]),
      [
        ['project_key', true],
        ['launch_id', true],
      ],
    );
  });

  test('prompts/get renders with arguments, names only registered tools, refuses missing ones', async () => {
    const tools = new Set((await client.listTools()).tools.map((t) => t.name));
    const samples = {
      'launch-triage': { project_key: 'demo', launch_id: '1041' },
      'release-readiness': { project_key: 'DEMO', milestone: 'Release 1.7' },
      'daily-qa-standup': { project_key: 'DEMO', days: '3' },
      'review-test-case': { case_key: 'DEMO-1' },
      'find-duplicates': { project_key: 'DEMO', suite_id: '102' },
      'flaky-review': { project_key: 'DEMO' },
    };
    for (const [name, args] of Object.entries(samples)) {
      const r = await client.getPrompt({ name, arguments: args });
      assert.equal(r.messages.length, 1);
      const text = r.messages[0].content.text;
      for (const v of Object.values(args)) assert.ok(text.includes(v) || text.includes(v.toUpperCase()), `${name}: ${v} in ${text}`);
      const named = text.split('`').filter((_, i) => i % 2 === 1).filter((w) => /^[a-z_]+$/.test(w));
      assert.ok(named.length >= 2, `${name} names tools`);
      for (const t of named) assert.ok(tools.has(t), `${name} names ${t}, which is not a registered tool`);
      assert.ok(!/[{}]|\[\?|\[!/.test(text), `${name}: no placeholders left: ${text}`);
    }
    await assert.rejects(client.getPrompt({ name: 'launch-triage', arguments: { project_key: 'DEMO' } }), /launch_id/);
    await assert.rejects(client.getPrompt({ name: 'review-test-case', arguments: {} }), /case_key/);
    await assert.rejects(client.getPrompt({ name: 'launch-triage', arguments: { project_key: 'DEMO', launch_id: 'x' } }), /launch_id/);
    await assert.rejects(client.getPrompt({ name: 'no-such-prompt', arguments: {} }), /no prompt/);
  });
});
