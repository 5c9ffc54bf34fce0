// The launch writes through the official TypeScript SDK over stdio, checked
// against the sandbox's own REST answers and its request log:
// rerun_launch_failures (the batch the preview lists is what REST says
// qualifies; the confirm reruns each exactly once; bob, who lacks
// reporting:test-runs:rerun, gets a refusal naming it) and start_launch
// (overrides checked against the live job parameters; the confirm posts
// every parameter once and the new launch is the newest REST lists).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio, resultText } from '../lib/mcp.mjs';
import { clearRequestLog, requestLog } from '../lib/control.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const LAUNCHES = '/api/reporting/v1/launches';
const num = (v) => Number(v ?? 0);

const confirmOf = (args, preview) => ({ ...args, confirm: true, confirmation_token: preview.confirmation_token, format: 'json' });

/** Launch ids of the preview's diff rows that change (true) or are skipped (false). */
const rowIds = (preview, changed) =>
  preview.diff
    .filter((r) => r.changed === changed)
    .map((r) => Number(r.field.replace('launch ', '')))
    .sort((a, b) => a - b);

async function posts(sandbox, suffix) {
  return (await requestLog(sandbox)).filter((r) => r.method === 'POST' && r.path.endsWith(suffix));
}

async function refusal(client, tool, args) {
  const result = await callTool(client, tool, { ...args, format: 'json' });
  assert.equal(result.isError, true, `${tool}: expected a refusal, got ${resultText(result).slice(0, 300)}`);
  return resultText(result);
}

describe('launch writes (stdio)', () => {
  let sandbox;
  let oracle;
  let alice;
  let bob;
  let demoId;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    demoId = await oracle.projectId('DEMO');
    alice = await connectStdio(sandbox, sandbox.users.alice);
    bob = await connectStdio(sandbox, sandbox.users.bob);
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    await sandbox?.stop();
  });

  const rest = (path, params = {}) => oracle.request(path, { auth: 'bearer', params: { projectId: demoId, ...params } });

  test('both tools are annotated destructive writes', async () => {
    const { tools } = await alice.client.listTools();
    for (const name of ['rerun_launch_failures', 'start_launch']) {
      const tool = tools.find((t) => t.name === name);
      assert.ok(tool, name);
      assert.equal(tool.annotations.readOnlyHint, false, name);
      assert.equal(tool.annotations.destructiveHint, true, name);
    }
  });

  test('rerun_launch_failures: the preview lists what REST says qualifies; the confirm reruns each once', async () => {
    const listed = await rest(LAUNCHES, { query: 'Web Regression', page: 1, pageSize: 100 });
    const eligible = [];
    const skipped = [];
    for (const l of listed.items) {
      const finished = !['IN_PROGRESS', 'QUEUED'].includes(l.status);
      const failures = num(l.failed) + num(l.aborted);
      (finished && l.isRelaunchPossible !== false && failures >= 1 ? eligible : skipped).push(num(l.id));
    }
    eligible.sort((a, b) => a - b);
    skipped.sort((a, b) => a - b);
    assert.ok(eligible.length > 1 && skipped.length > 0, 'the seed has launches of both kinds');

    await clearRequestLog(sandbox);
    const args = { project_key: 'DEMO', query: 'Web Regression', max_launches: 50 };
    const dry = await callOk(alice.client, 'rerun_launch_failures', { ...args, dry_run: true, format: 'json' });
    assert.equal(dry.stage, 'dry_run');
    const preview = await callOk(alice.client, 'rerun_launch_failures', { ...args, format: 'json' });
    assert.equal(preview.stage, 'preview');
    assert.deepEqual(rowIds(preview, true), eligible);
    assert.deepEqual(rowIds(preview, false), skipped);
    assert.match(preview.request.path, new RegExp(`^${LAUNCHES}/\\d+:rerun\\?projectId=${demoId}&rerunFailures=true$`));
    assert.equal(preview.request.body, null);
    assert.deepEqual(await posts(sandbox, ':rerun'), [], 'a preview writes nothing');

    const first = eligible[0];
    const attemptsBefore = (await rest(`${LAUNCHES}/${first}/attempts`)).items.length;
    const written = await callOk(alice.client, 'rerun_launch_failures', confirmOf(args, preview));
    assert.equal(written.stage, 'written');
    assert.equal(written.result.length, eligible.length);
    const reruns = (await posts(sandbox, ':rerun')).map((r) => Number(r.path.split('/').pop().replace(':rerun', '')));
    assert.deepEqual(reruns.sort((a, b) => a - b), eligible, 'each previewed launch rerun exactly once');
    assert.equal((await rest(`${LAUNCHES}/${first}/attempts`)).items.length, attemptsBefore + 1);
    const after = await rest(`${LAUNCHES}/${first}`);
    assert.equal(after.data.status, 'QUEUED');

    const again = await refusal(alice.client, 'rerun_launch_failures', confirmOf(args, preview));
    assert.match(again, /not finished \(QUEUED\)/);
    assert.equal((await posts(sandbox, ':rerun')).length, eligible.length, 'nothing rerun twice');
  });

  test('rerun_launch_failures as bob: the 403 names the IAM permission', async () => {
    await clearRequestLog(sandbox);
    const args = { project_key: 'DEMO', launch_id: 1047, min_failed: 0 };
    const preview = await callOk(bob.client, 'rerun_launch_failures', { ...args, format: 'json' });
    const text = await refusal(bob.client, 'rerun_launch_failures', confirmOf(args, preview));
    assert.match(text, /reporting:test-runs:rerun/);
    assert.match(text, /nothing was rerun/);
    assert.deepEqual((await posts(sandbox, ':rerun')).map((r) => r.status), [403]);
  });

  test('start_launch: overrides checked, every parameter posted once, the new launch listed', async () => {
    const base = { project_key: 'DEMO', template_query: 'Web Smoke' };
    assert.match(await refusal(alice.client, 'start_launch', { ...base, parameters: { nope: 'x' } }), /suite, build, locale, test_run_rules, rerun_failures/);
    assert.match(await refusal(alice.client, 'start_launch', { ...base, parameters: { suite: 'x.xml' } }), /hidden/);
    assert.match(await refusal(alice.client, 'start_launch', { ...base, parameters: { rerun_failures: 'maybe' } }), /true or false/);

    const template = num((await rest(LAUNCHES, { query: 'Web Smoke', page: 1, pageSize: 1 })).items[0].id);
    const live = await rest(`${LAUNCHES}/${template}/job/parameters`);
    const expected = Object.fromEntries(live.items.map((p) => [p.name, p.value]));
    Object.assign(expected, { build: '4.2.0', rerun_failures: true });

    await clearRequestLog(sandbox);
    const args = { ...base, parameters: { build: '4.2.0', rerun_failures: true } };
    const preview = await callOk(alice.client, 'start_launch', { ...args, format: 'json' });
    assert.equal(preview.request.path, `${LAUNCHES}/${template}/job:build?projectId=${demoId}`);
    assert.deepEqual(preview.request.body, expected);
    const build = preview.diff.find((r) => r.field === 'build');
    assert.equal(build.after, '4.2.0');
    assert.equal(build.changed, true);

    const written = await callOk(alice.client, 'start_launch', confirmOf(args, preview));
    const newId = written.result.id;
    assert.match(written.next_step, new RegExp(`get_launch with launch_id ${newId}`));
    assert.equal((await posts(sandbox, '/job:build')).length, 1);
    const newest = await rest(LAUNCHES, { page: 1, pageSize: 1 });
    assert.equal(num(newest.items[0].id), newId);
    assert.equal(newest.items[0].status, 'QUEUED');
    const posted = await rest(`${LAUNCHES}/${newId}/job/parameters`);
    assert.deepEqual(Object.fromEntries(posted.items.map((p) => [p.name, p.value])), expected);

    assert.match(await refusal(alice.client, 'start_launch', confirmOf(args, preview)), /already used/);
    assert.equal((await posts(sandbox, '/job:build')).length, 1, 'a used token builds nothing');
  });
});
