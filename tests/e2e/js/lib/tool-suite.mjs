// The tool checks shared by every transport: each test calls a tool through
// a real MCP client and compares the answer with what the sandbox's own REST
// API says (the oracle), computed independently here.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, resultText } from './mcp.mjs';
import { Oracle, SuiteTree, startSandbox } from './sandbox.mjs';

/** Write tools and their annotations (readOnlyHint false; openWorldHint false). */
export const WRITE_TOOLS = {
  create_test_suite: { idempotentHint: false, destructiveHint: false },
  update_test_suite: { idempotentHint: true, destructiveHint: false },
  create_test_case: { idempotentHint: false, destructiveHint: false },
  update_test_case: { idempotentHint: true, destructiveHint: false },
  create_test_run: { idempotentHint: false, destructiveHint: false },
  update_test_run: { idempotentHint: true, destructiveHint: false },
  add_test_cases_to_run: { idempotentHint: false, destructiveHint: false },
  record_test_results: { idempotentHint: false, destructiveHint: true },
  rerun_launch_failures: { idempotentHint: false, destructiveHint: true },
  start_launch: { idempotentHint: false, destructiveHint: true },
};

export const TOOL_NAMES = [
  'add_test_cases_to_run',
  'analyze_launch_failures',
  'analyze_launch_runtime',
  'analyze_test_failure',
  'coverage_report',
  'create_test_case',
  'create_test_run',
  'create_test_suite',
  'defect_analytics',
  'find_duplicate_test_cases',
  'find_flaky_tests',
  'get_launch',
  'get_project_settings',
  'get_test_artifact',
  'get_test_case',
  'get_test_case_history',
  'get_test_run',
  'get_test_suite',
  'list_launch_tests',
  'list_launches',
  'list_milestones',
  'list_projects',
  'list_test_runs',
  'list_test_suites',
  'pass_rate_report',
  'record_test_results',
  'regression_report',
  'release_readiness',
  'rerun_launch_failures',
  'review_test_case',
  'search_test_cases',
  'start_launch',
  'update_test_case',
  'update_test_run',
  'update_test_suite',
];

const keyNumber = (key) => Number(key.split('-').pop());
const sortKeys = (keys) => [...keys].sort((a, b) => keyNumber(a) - keyNumber(b));

/** Walk a search with its cursor; returns every key and the answers seen. */
export async function searchAll(client, args, limit = 100) {
  const keys = [];
  const answers = [];
  let cursor;
  for (let i = 0; i < 200; i++) {
    const answer = await callOk(client, 'search_test_cases', { ...args, limit, cursor, format: 'json' });
    answers.push(answer);
    assert.equal(answer.returned, answer.test_cases.length, 'returned must equal test_cases.length');
    assert.ok(answer.returned <= limit, `returned ${answer.returned} > limit ${limit}`);
    keys.push(...answer.test_cases.map((c) => c.key));
    if (!answer.has_more) {
      assert.equal(answer.next_cursor ?? null, null, 'no next_cursor on the last answer');
      assert.equal(answer.total_matched, keys.length, 'total_matched on the last answer = all returned');
      return { keys, answers };
    }
    assert.ok(answer.next_cursor, 'has_more without next_cursor');
    cursor = answer.next_cursor;
  }
  throw new Error('search cursor walk did not end after 200 answers');
}

/**
 * Register the full tool suite for one transport. `open(sandbox, user)`
 * resolves `{ client, close }` connected to a server for that user.
 */
export function defineToolSuite(label, open) {
  describe(label, () => {
    let sandbox;
    let oracle;
    let conn;
    let client;
    let tools;
    const cache = new Map();
    const once = (name, fn) => {
      if (!cache.has(name)) cache.set(name, fn());
      return cache.get(name);
    };
    const demoCases = () => once('demoCases', () => oracle.testCases('DEMO'));
    const liveDemoCases = async () => (await demoCases()).filter((c) => !c.deleted);
    const demoTree = () => once('demoTree', async () => new SuiteTree((await oracle.suites('DEMO')).filter((s) => !s.deleted)));

    before(async () => {
      sandbox = await startSandbox();
      oracle = new Oracle(sandbox.url, sandbox.users.alice);
      conn = await open(sandbox, sandbox.users.alice);
      client = conn.client;
      // Listing first also makes the SDK validate structuredContent against
      // each tool's outputSchema on every call below.
      tools = (await client.listTools()).tools;
    });

    after(async () => {
      await conn?.close();
      await sandbox?.stop();
    });

    test('initialize reports a server with the tools capability', () => {
      const caps = client.getServerCapabilities();
      assert.ok(caps?.tools, `server capabilities lack tools: ${JSON.stringify(caps)}`);
      assert.ok(client.getServerVersion()?.name, 'server reports no name');
    });

    test('tools/list has exactly the documented tools, each with schemas and its annotations', () => {
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);
      for (const tool of tools) {
        assert.ok(tool.description?.length > 20, `${tool.name}: description too short`);
        assert.equal(tool.inputSchema?.type, 'object', `${tool.name}: inputSchema.type`);
        assert.equal(tool.outputSchema?.type, 'object', `${tool.name}: outputSchema.type`);
        assert.ok(Object.keys(tool.outputSchema.properties ?? {}).length > 0, `${tool.name}: outputSchema has no properties`);
        const write = WRITE_TOOLS[tool.name];
        assert.equal(tool.annotations?.readOnlyHint, !write, `${tool.name}: readOnlyHint`);
        assert.equal(tool.annotations?.destructiveHint, write?.destructiveHint ?? false, `${tool.name}: destructiveHint`);
        assert.equal(tool.annotations?.idempotentHint, write?.idempotentHint ?? true, `${tool.name}: idempotentHint`);
        assert.equal(tool.annotations?.openWorldHint, false, `${tool.name}: openWorldHint`);
        assert.ok('format' in (tool.inputSchema.properties ?? {}), `${tool.name}: no format argument`);
      }
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      for (const name of TOOL_NAMES.filter((n) => !['list_projects', 'get_test_case', 'get_test_case_history', 'review_test_case', 'update_test_case'].includes(n))) {
        assert.ok(byName[name].inputSchema.required?.includes('project_key'), `${name}: project_key not required`);
      }
      assert.ok(byName.get_test_suite.inputSchema.required?.includes('suite_id'), 'get_test_suite: suite_id not required');
    });

    test('list_projects equals the non-deleted projects of /api/projects/v1/projects', async () => {
      const rest = await oracle.projects();
      assert.ok(rest.some((p) => p.deleted), 'oracle: the seed has a deleted project (OLD)');
      const expected = rest
        .filter((p) => !p.deleted)
        .map((p) => ({ id: p.id, key: p.key, name: p.name, starred: !!p.starred }))
        .sort((a, b) => a.key.localeCompare(b.key));
      const out = await callOk(client, 'list_projects');
      const actual = out.projects
        .map((p) => ({ id: p.id, key: p.key, name: p.name, starred: p.starred }))
        .sort((a, b) => a.key.localeCompare(b.key));
      assert.deepEqual(actual, expected);
      assert.equal(out.total, expected.length);
      assert.deepEqual(actual.map((p) => p.key), ['API', 'DEMO', 'MOBILE']);

      const starred = await callOk(client, 'list_projects', { starred_only: true });
      assert.deepEqual(
        starred.projects.map((p) => p.key).sort(),
        expected.filter((p) => p.starred).map((p) => p.key),
      );
    });

    test('list_projects text: markdown by default, the structured JSON with format=json', async () => {
      const md = await callTool(client, 'list_projects', {});
      assert.match(resultText(md), /\| DEMO \| Demo Web Shop \|/);
      const js = await callTool(client, 'list_projects', { format: 'json' });
      assert.deepEqual(JSON.parse(resultText(js)), js.structuredContent);
    });

    test('get_test_case DEMO-1 equals REST key:DEMO-1, with execution and change history', async () => {
      const rest = await oracle.caseByKey('DEMO-1');
      const tree = await demoTree();
      const out = await callOk(client, 'get_test_case', {
        key: 'demo-1',
        include_execution_history: true,
        include_change_history: true,
      });
      const c = out.test_case;
      assert.equal(c.key, 'DEMO-1');
      assert.equal(c.id, rest.id);
      assert.equal(c.project_key, 'DEMO');
      assert.equal(c.title, rest.title);
      assert.equal(c.description ?? null, rest.description ?? null);
      assert.equal(c.priority, rest.priority?.name);
      assert.equal(c.automation_state, rest.automationState?.name);
      assert.equal(c.draft, !!rest.draft);
      assert.equal(c.deprecated, !!rest.deprecated);
      assert.equal(c.pre_conditions ?? null, rest.preConditions ?? null);
      assert.equal(c.post_conditions ?? null, rest.postConditions ?? null);
      assert.ok(rest.steps.length > 0, 'oracle: DEMO-1 has steps');
      assert.deepEqual(
        c.steps.map((s) => ({ number: s.number, action: s.action, expected: s.expected_result })),
        rest.steps.map((s, i) => ({ number: i + 1, action: s.action, expected: s.expectedResult })),
      );
      assert.deepEqual(c.custom_fields, rest.customField ?? {});
      assert.equal(c.suite.id, rest.testSuite.id);
      assert.equal(c.suite.path, tree.path(rest.testSuite.id));
      assert.equal(c.suite.path, 'Authentication > Login');

      const executions = await oracle.executions('DEMO', rest.id);
      assert.equal(out.executions.total, executions.length);
      assert.equal(out.executions.shown, Math.min(10, executions.length));
      assert.equal(out.executions.items.length, out.executions.shown);
      const newest = [...executions].sort((a, b) => b.trackedAt.localeCompare(a.trackedAt)).slice(0, 10);
      assert.deepEqual(out.executions.items.map((e) => e.id), newest.map((e) => e.id));
      assert.deepEqual(out.executions.items.map((e) => e.status), newest.map((e) => e.status.name));

      const changes = await oracle.changes('DEMO', rest.id);
      assert.ok(changes.length >= 2, 'oracle: DEMO-1 has a change history');
      assert.equal(out.changes.shown, Math.min(20, changes.length));
      assert.deepEqual(
        out.changes.entries.map((e) => e.id),
        [...changes].sort((a, b) => b.instant.localeCompare(a.instant)).slice(0, 20).map((e) => e.id),
      );
      assert.ok(out.changes.entries.some((e) => e.kind === 'CREATE'), 'a CREATE entry is listed');
      assert.ok(
        out.changes.entries.some((e) => e.changes.some((ch) => /^steps\[\d+\]\.(action|expectedResult)$/.test(ch.field))),
        'step edits are shown as per-step diffs',
      );
    });

    test('get_test_case limits and by-id lookup agree with REST', async () => {
      const rest = await oracle.caseByKey('DEMO-2');
      const byId = await callOk(client, 'get_test_case', { id: rest.id, project_key: 'DEMO', format: 'json' });
      assert.equal(byId.test_case.key, 'DEMO-2');
      assert.equal(byId.test_case.title, rest.title);
      assert.equal(byId.executions, undefined, 'no execution history unless asked');

      const limited = await callOk(client, 'get_test_case', {
        key: 'DEMO-1',
        include_execution_history: true,
        execution_limit: 3,
        include_change_history: true,
        change_limit: 2,
      });
      assert.equal(limited.executions.shown, 3);
      assert.equal(limited.executions.items.length, 3);
      assert.equal(limited.changes.entries.length, 2);
    });

    test('search_test_cases count_only for DEMO equals the cases paged from REST', async () => {
      const all = await demoCases();
      assert.ok(all.length > 200, `oracle: DEMO has more than two pages of cases (got ${all.length})`);
      const expected = all.filter((c) => !c.deleted).length;
      const out = await callOk(client, 'search_test_cases', { project_key: 'DEMO', count_only: true });
      assert.equal(out.total_matched, expected);
      assert.equal(out.returned, 0);
      assert.equal(out.has_more, false);
      assert.ok(out.pages_scanned >= Math.ceil(all.length / 100), `pages_scanned ${out.pages_scanned}`);
    });

    test('search_test_cases cursor walk returns every DEMO case exactly once', async () => {
      const expected = sortKeys((await liveDemoCases()).map((c) => c.key));
      // 37 does not divide Zebrunner's page size, so cursors land mid-page.
      const { keys, answers } = await searchAll(client, { project_key: 'DEMO' }, 37);
      assert.equal(new Set(keys).size, keys.length, 'a key was returned twice');
      assert.deepEqual(sortKeys(keys), expected);
      assert.ok(answers.length >= Math.ceil(expected.length / 37));
      assert.equal(answers[0].total_matched ?? null, null, 'total unknown before the last answer');
      const tree = await demoTree();
      const first = answers[0].test_cases[0];
      assert.equal(first.suite_path, tree.path(first.suite_id), 'suite_path of a listed case');
    });

    test('search_test_cases refuses a foreign or forged cursor', async () => {
      const first = await callOk(client, 'search_test_cases', { project_key: 'DEMO', limit: 5 });
      assert.ok(first.next_cursor);
      const other = await callTool(client, 'search_test_cases', { project_key: 'DEMO', draft: true, cursor: first.next_cursor });
      assert.equal(other.isError, true, 'cursor replayed with other filters must fail');
      const forged = await callTool(client, 'search_test_cases', { project_key: 'DEMO', cursor: 'not-a-cursor!' });
      assert.equal(forged.isError, true, 'a forged cursor must fail');
      assert.match(resultText(forged), /cursor/);
    });

    // Each filter case: tool arguments, and the oracle's predicate over REST
    // test cases (and the suite tree).
    const filterCases = [
      ['suite with sub-suites', (t) => ({ suite_id: t.findByPath('Checkout') }), (c, t) => t.subtree(t.findByPath('Checkout')).includes(c.testSuite?.id)],
      ['suite without sub-suites', (t) => ({ suite_id: t.findByPath('Checkout > Payments'), include_sub_suites: false }), (c, t) => c.testSuite?.id === t.findByPath('Checkout > Payments')],
      ['automation state by name', () => ({ automation_states: ['Automated'] }), (c) => c.automationState?.name === 'Automated'],
      [
        'two automation states, one by name and one by id',
        async () => ({ automation_states: ['Not Automated', (await oracle.automationStates('DEMO')).find((s) => s.name === 'To Be Automated').id] }),
        (c) => ['Not Automated', 'To Be Automated'].includes(c.automationState?.name),
      ],
      ['priorities by name', () => ({ priorities: ['Critical', 'Major'] }), (c) => ['Critical', 'Major'].includes(c.priority?.name)],
      ['title_contains (case-insensitive)', () => ({ title_contains: 'LOGIN' }), (c) => c.title.toLowerCase().includes('login')],
      ['drafts only', () => ({ draft: true }), (c) => !!c.draft],
      ['deprecated only', () => ({ deprecated: true }), (c) => !!c.deprecated],
      ['neither draft nor deprecated', () => ({ draft: false, deprecated: false }), (c) => !c.draft && !c.deprecated],
      ['created range', () => ({ created_after: '2025-03-01', created_before: '2025-05-31' }), (c) => Date.parse(c.createdAt) >= Date.parse('2025-03-01T00:00:00Z') && Date.parse(c.createdAt) <= Date.parse('2025-05-31T23:59:59.999Z')],
      ['modified after', () => ({ modified_after: '2025-10-01' }), (c) => new Date(c.lastModifiedAt) >= new Date('2025-10-01T00:00:00Z')],
      ['field_path exact (case-insensitive)', () => ({ field_path: 'customField.component', field_value: 'Payments' }), (c) => String(c.customField?.component ?? '').toLowerCase() === 'payments'],
      ['field_path exists', () => ({ field_path: 'customField.jiraEpic', field_match: 'exists' }), (c) => !!c.customField?.jiraEpic],
      ['field_path regex', () => ({ field_path: 'priority.name', field_value: '^(Trivial|Minor)$', field_match: 'regex' }), (c) => ['Trivial', 'Minor'].includes(c.priority?.name)],
      [
        'suite + automation state + priority combined',
        (t) => ({ suite_id: t.findByPath('Checkout'), automation_states: ['Automated'], priorities: ['Medium'] }),
        (c, t) => t.subtree(t.findByPath('Checkout')).includes(c.testSuite?.id) && c.automationState?.name === 'Automated' && c.priority?.name === 'Medium',
      ],
    ];

    for (const [name, argsOf, predicate] of filterCases) {
      test(`search_test_cases filter agrees with the REST oracle: ${name}`, async () => {
        const tree = await demoTree();
        const args = { project_key: 'DEMO', ...(await argsOf(tree)) };
        const live = await liveDemoCases();
        const expected = sortKeys(live.filter((c) => predicate(c, tree)).map((c) => c.key));
        assert.ok(expected.length > 0, `oracle: filter ${name} matches some cases`);
        assert.ok(expected.length < live.length, `oracle: filter ${name} excludes some cases`);
        const { keys } = await searchAll(client, args);
        assert.deepEqual(sortKeys(keys), expected);
        const count = await callOk(client, 'search_test_cases', { ...args, count_only: true });
        assert.equal(count.total_matched, expected.length, 'count_only');
      });
    }

    test('suite filter with sub-suites finds more than without', async () => {
      const tree = await demoTree();
      const checkout = tree.findByPath('Checkout');
      const withSubs = await callOk(client, 'search_test_cases', { project_key: 'DEMO', suite_id: checkout, count_only: true });
      const direct = await callOk(client, 'search_test_cases', { project_key: 'DEMO', suite_id: checkout, include_sub_suites: false, count_only: true });
      assert.ok(withSubs.total_matched > direct.total_matched, `${withSubs.total_matched} > ${direct.total_matched}`);
    });

    test('list_test_suites flat lists every REST suite with its A > B > C path', async () => {
      const tree = await demoTree();
      const expected = [...tree.byId.keys()]
        .map((id) => ({ id, path: tree.path(id), depth: tree.depth(id), parent: tree.byId.get(id).parentSuiteId ?? null }))
        .sort((a, b) => a.id - b.id);
      const rows = [];
      let cursor;
      let total;
      for (let i = 0; i < 50; i++) {
        const out = await callOk(client, 'list_test_suites', { project_key: 'DEMO', limit: 7, cursor });
        assert.ok(out.suites.length <= 7);
        total = out.total;
        rows.push(...out.suites);
        cursor = out.next_cursor;
        if (!cursor) break;
      }
      assert.equal(total, expected.length);
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'a suite was listed twice');
      assert.deepEqual(
        rows.map((r) => ({ id: r.id, path: r.path, depth: r.depth, parent: r.parent_suite_id ?? null })).sort((a, b) => a.id - b.id),
        expected,
      );
      const deepest = rows.find((r) => r.path === 'Checkout > Payments > Cards > Visa > 3-D Secure');
      assert.ok(deepest, 'the depth-5 chain is listed');
      assert.equal(deepest.depth, 5);
    });

    test('list_test_suites tree respects max_depth and counts what it hides', async () => {
      const tree = await demoTree();
      const flatten = (nodes) => nodes.flatMap((n) => [n, ...flatten(n.children)]);

      const shallow = await callOk(client, 'list_test_suites', { project_key: 'DEMO', mode: 'tree', max_depth: 2 });
      const shown = flatten(shallow.tree);
      const expectedShown = [...tree.byId.keys()].filter((id) => tree.depth(id) <= 2).sort((a, b) => a - b);
      assert.deepEqual(shown.map((n) => n.id).sort((a, b) => a - b), expectedShown);
      assert.ok(shown.every((n) => n.depth <= 2));
      for (const node of shown.filter((n) => n.depth === 2)) {
        assert.equal(node.children.length, 0);
        assert.equal(node.hidden_descendants ?? 0, tree.subtree(node.id).length - 1, `hidden below ${node.path}`);
      }
      assert.equal(shallow.truncated, true);
      assert.equal(shallow.total, tree.byId.size);

      const full = await callOk(client, 'list_test_suites', { project_key: 'DEMO', mode: 'tree', max_depth: 10 });
      assert.equal(flatten(full.tree).length, tree.byId.size);
      assert.equal(full.truncated, false);

      const checkout = tree.findByPath('Checkout');
      const branch = await callOk(client, 'list_test_suites', { project_key: 'DEMO', mode: 'tree', root_suite_id: checkout, max_depth: 3 });
      assert.equal(branch.tree.length, 1);
      assert.equal(branch.tree[0].id, checkout);
      const branchNodes = flatten(branch.tree);
      const hidden = branchNodes.reduce((sum, n) => sum + (n.hidden_descendants ?? 0), 0);
      assert.equal(branchNodes.length + hidden, tree.subtree(checkout).length);
      assert.ok(!branchNodes.some((n) => n.path.endsWith('Visa')), 'level 4 is hidden at max_depth 3');
    });

    test('get_test_suite counts equal the oracle counts', async () => {
      const tree = await demoTree();
      const live = await liveDemoCases();
      const countIn = (ids) => live.filter((c) => ids.includes(c.testSuite?.id)).length;
      const checkout = tree.findByPath('Checkout');
      const out = await callOk(client, 'get_test_suite', { project_key: 'DEMO', suite_id: checkout });
      assert.equal(out.suite.id, checkout);
      assert.equal(out.suite.path, 'Checkout');
      assert.equal(out.suite.depth, 1);
      assert.equal(out.suite.descendant_suites, tree.subtree(checkout).length - 1);
      assert.equal(out.case_counts.direct, countIn([checkout]));
      assert.equal(out.case_counts.including_descendants, countIn(tree.subtree(checkout)));
      assert.ok(out.case_counts.including_descendants > 0);
      assert.deepEqual(out.children.map((c) => c.id).sort((a, b) => a - b), [...(tree.children.get(checkout) ?? [])].sort((a, b) => a - b));
      for (const child of out.children) {
        assert.equal(child.case_count, countIn(tree.subtree(child.id)), `case_count of ${child.title}`);
        assert.equal(child.descendant_suites, tree.subtree(child.id).length - 1, `descendant_suites of ${child.title}`);
      }

      const leafId = tree.findByPath('Checkout > Payments > Cards > Visa > 3-D Secure');
      const leaf = await callOk(client, 'get_test_suite', { project_key: 'DEMO', suite_id: leafId });
      assert.equal(leaf.suite.depth, 5);
      assert.equal(leaf.suite.path, 'Checkout > Payments > Cards > Visa > 3-D Secure');
      assert.equal(leaf.children.length, 0);
      assert.equal(leaf.case_counts.direct, countIn([leafId]));
      assert.equal(leaf.case_counts.including_descendants, countIn([leafId]));
    });

    test('get_project_settings sections equal the REST settings', async () => {
      const out = await callOk(client, 'get_project_settings', { project_key: 'DEMO' });
      const named = (items) => items.map((i) => ({ id: i.id, name: i.name, is_default: !!i.isDefault }));
      assert.deepEqual(out.automation_states, named(await oracle.automationStates('DEMO')));
      assert.deepEqual(out.priorities, named(await oracle.priorities('DEMO')));
      assert.deepEqual(
        out.result_statuses.map((s) => ({ id: s.id, name: s.name, is_success: s.is_success, is_failure: s.is_failure, is_completed: s.is_completed, color_hex: s.color_hex })),
        (await oracle.resultStatuses('DEMO')).map((s) => ({ id: s.id, name: s.name, is_success: !!s.isSuccess, is_failure: !!s.isFailure, is_completed: !!s.isCompleted, color_hex: s.colorHex })),
      );
      assert.deepEqual(
        out.configuration_groups,
        (await oracle.configurationGroups('DEMO')).map((g) => ({ id: g.id, name: g.name, options: g.options.map((o) => ({ id: o.id, name: o.name })) })),
      );
      const layout = await oracle.fieldsLayout('DEMO');
      assert.deepEqual(
        out.fields.map((f) => `${f.id}:${f.name}`).sort(),
        layout.fields.map((f) => `${f.id}:${f.name}`).sort(),
      );
      assert.ok(out.fields.some((f) => f.name === 'Component'), 'custom field Component is listed');

      const some = await callOk(client, 'get_project_settings', { project_key: 'mobile', sections: ['priorities'] });
      assert.equal(some.project_key, 'MOBILE');
      assert.deepEqual(some.priorities, named(await oracle.priorities('MOBILE')));
      assert.equal(some.automation_states, undefined);
      assert.equal(some.fields, undefined);
    });

    test('errors: unknown case key is an isError result with advice', async () => {
      const res = await callTool(client, 'get_test_case', { key: 'DEMO-999999' });
      assert.equal(res.isError, true);
      assert.match(resultText(res), /search_test_cases|list_test_suites/, 'advice names a tool that finds keys');
    });

    test('errors: malformed arguments are isError results that say what to fix', async () => {
      const badKey = await callTool(client, 'get_test_case', { key: 'not a key' });
      assert.equal(badKey.isError, true);
      assert.match(resultText(badKey), /DEMO-12/);

      const badProject = await callTool(client, 'search_test_cases', { project_key: '1BAD' });
      assert.equal(badProject.isError, true);
      assert.match(resultText(badProject), /list_projects/);

      const unknownProject = await callTool(client, 'list_test_suites', { project_key: 'NOSUCH' });
      assert.equal(unknownProject.isError, true);
      assert.ok(resultText(unknownProject).length > 20);

      const unknownSuite = await callTool(client, 'get_test_suite', { project_key: 'DEMO', suite_id: 987654321 });
      assert.equal(unknownSuite.isError, true);

      const unknownState = await callTool(client, 'search_test_cases', { project_key: 'DEMO', automation_states: ['Robotic'] });
      assert.equal(unknownState.isError, true);
    });

    test('errors: bob gets 403 on project API and the tools turn it into advice', async () => {
      const bob = sandbox.users.bob;
      const bobOracle = new Oracle(sandbox.url, bob);
      await assert.rejects(bobOracle.suites('API'), (err) => err.status === 403, 'oracle: bob has no access to API');

      const bobConn = await open(sandbox, bob);
      try {
        const projects = await callOk(bobConn.client, 'list_projects');
        const expected = (await bobOracle.projects()).filter((p) => !p.deleted).map((p) => p.key).sort();
        assert.deepEqual(projects.projects.map((p) => p.key).sort(), expected);
        assert.ok(!expected.includes('API'));

        const denied = await callTool(bobConn.client, 'list_test_suites', { project_key: 'API' });
        assert.equal(denied.isError, true);
        assert.match(resultText(denied), /permission/i);
        assert.match(resultText(denied), /list_projects/);

        const allowed = await callOk(bobConn.client, 'search_test_cases', { project_key: 'MOBILE', count_only: true });
        assert.equal(allowed.total_matched, (await bobOracle.testCases('MOBILE')).filter((c) => !c.deleted).length);
      } finally {
        await bobConn.close();
      }
    });
  });
}
