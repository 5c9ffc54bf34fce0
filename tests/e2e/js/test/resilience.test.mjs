// What the server sends to Zebrunner (read from the sandbox's request log)
// and how it copes with Zebrunner failures (sandbox fault injection).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { addFault, clearFaults, clearRequestLog, requestLog } from '../lib/control.mjs';
import { callOk, callTool, connectStdio, resultText } from '../lib/mcp.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

describe('Zebrunner traffic and failures', () => {
  let sandbox;
  let oracle;
  let conn;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
  });
  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });
  beforeEach(async () => {
    await clearFaults(sandbox);
    await clearRequestLog(sandbox);
  });

  test('count_only pages test cases at 100 per request, one request per page', async () => {
    const out = await callOk(conn.client, 'search_test_cases', { project_key: 'DEMO', count_only: true });
    const pages = (await requestLog(sandbox)).filter((r) => r.method === 'GET' && r.path === '/api/public/v1/test-cases');
    assert.equal(pages.length, out.pages_scanned, 'one Zebrunner request per scanned page');
    const all = await oracle.testCases('DEMO');
    assert.equal(out.pages_scanned, Math.ceil(all.length / 100));
    for (const r of pages) {
      assert.equal(new URLSearchParams(r.query).get('maxPageSize'), '100', `query ${r.query}`);
      assert.equal(r.status, 200);
      assert.equal(r.user, sandbox.users.alice.login);
    }
  });

  test('filters are sent to Zebrunner as RQL with names resolved to ids', async () => {
    const states = await oracle.automationStates('DEMO');
    const automated = states.find((s) => s.name === 'Automated').id;
    const out = await callOk(conn.client, 'search_test_cases', { project_key: 'DEMO', automation_states: ['Automated'], count_only: true });
    assert.match(out.filter, new RegExp(`automationState\\.id\\s*=\\s*${automated}\\b`));
    const sent = (await requestLog(sandbox)).filter((r) => r.path === '/api/public/v1/test-cases');
    assert.ok(sent.length > 0);
    for (const r of sent) {
      assert.equal(new URLSearchParams(r.query).get('filter'), out.filter, 'the RQL reported is the RQL sent');
    }
  });

  test('transient 503s are retried and the tool succeeds', async () => {
    await addFault(sandbox, { path_prefix: '/api/public/v1/test-suites', status: 503, count: 2 });
    const out = await callOk(conn.client, 'list_test_suites', { project_key: 'MOBILE' });
    assert.equal(out.total, (await oracle.suites('MOBILE')).length);
    const statuses = (await requestLog(sandbox)).filter((r) => r.path === '/api/public/v1/test-suites').map((r) => r.status);
    assert.deepEqual(statuses.slice(0, 3), [503, 503, 200]);
  });

  test('429 with Retry-After is waited out', async () => {
    await addFault(sandbox, { path_prefix: '/api/public/v1/test-cases', status: 429, count: 1, retry_after_secs: 1 });
    const started = Date.now();
    const out = await callOk(conn.client, 'search_test_cases', { project_key: 'API', count_only: true });
    assert.equal(out.total_matched, (await oracle.testCases('API')).filter((c) => !c.deleted).length);
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
  });

  test('a persistent server error becomes an isError result with advice', async () => {
    // API's suites were never fetched (and cached) by this server before.
    await addFault(sandbox, { path_prefix: '/api/public/v1/test-suites', status: 500 });
    const res = await callTool(conn.client, 'list_test_suites', { project_key: 'API' });
    assert.equal(res.isError, true);
    assert.match(resultText(res), /500|server error|Zebrunner/i);
    assert.match(resultText(res), /retry|administrator/i);
  });
});
