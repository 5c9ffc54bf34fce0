// The large sandbox (5,000 DEMO cases): exact counts and a complete cursor
// walk across 50 Zebrunner pages.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, connectStdio } from '../lib/mcp.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';
import { searchAll } from '../lib/tool-suite.mjs';

describe('large sandbox (5,000 DEMO cases)', () => {
  let sandbox;
  let oracle;
  let conn;

  before(async () => {
    sandbox = await startSandbox({ scale: 'large' });
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
  });
  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  test('count_only and the cursor walk both equal the REST oracle', async () => {
    const all = await oracle.testCases('DEMO');
    assert.equal(all.length, 5000, 'oracle: the large seed has 5,000 DEMO cases');
    const live = all.filter((c) => !c.deleted).map((c) => c.key);
    const count = await callOk(conn.client, 'search_test_cases', { project_key: 'DEMO', count_only: true });
    assert.equal(count.total_matched, live.length);
    assert.equal(count.pages_scanned, 50);
    const { keys } = await searchAll(conn.client, { project_key: 'DEMO' }, 100);
    assert.equal(new Set(keys).size, keys.length, 'a key was returned twice');
    assert.deepEqual([...keys].sort(), [...live].sort());
  });
});
