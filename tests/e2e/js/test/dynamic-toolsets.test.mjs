// Dynamic toolsets through the TypeScript SDK over Streamable HTTP: a session starts with the
// start set and the toolset tools; enable_toolset grows it and the SDK client hears
// notifications/tools/list_changed; another session keeps its start set; a stateless
// (2026-07-28) request, which has no session to remember it in, is told to use the header.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { callOk, callTool, connectHttp, resultText, startHttpServer } from '../lib/mcp.mjs';
import { MCP_HEADERS, rawRequest, responseFor } from '../lib/raw.mjs';
import { startSandbox } from '../lib/sandbox.mjs';

const STATELESS = '2026-07-28';
const toolNames = async (client) => (await client.listTools()).tools.map((t) => t.name).sort();

describe('dynamic toolsets (Streamable HTTP, TypeScript SDK)', () => {
  let sandbox;
  let server;

  before(async () => {
    sandbox = await startSandbox();
    server = await startHttpServer(sandbox, sandbox.users.alice, [], {
      ZMCP_DYNAMIC_TOOLSETS: 'true',
      ZMCP_START_TOOLSETS: 'cases',
    });
  });
  after(async () => {
    await server?.stop();
    await sandbox?.stop();
  });

  test('enable_toolset grows this session, notifies the client, and leaves other sessions alone', async () => {
    const one = await connectHttp(server.url);
    const two = await connectHttp(server.url);
    try {
      assert.equal(one.client.getServerCapabilities().tools?.listChanged, true);
      let changed = 0;
      const heard = new Promise((resolve) => {
        one.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
          changed += 1;
          resolve();
        });
      });
      const start = await toolNames(one.client);
      assert.ok(start.includes('search_test_cases') && start.includes('enable_toolset'), start.join());
      assert.ok(!start.includes('list_launches'), start.join());

      const refused = await callTool(one.client, 'list_launches', { project_key: 'DEMO' }).catch((e) => e);
      assert.match(String(refused?.message ?? resultText(refused)), /not found|unknown tool/i, 'a tool outside the session is refused');

      const out = await callOk(one.client, 'enable_toolset', { toolset: 'launches' });
      assert.ok(out.added.includes('list_launches'), JSON.stringify(out));
      await heard;
      assert.equal(changed, 1);
      const grown = await toolNames(one.client);
      assert.ok(grown.includes('list_launches') && grown.includes('list_launch_tests'), grown.join());
      const launches = await callOk(one.client, 'list_launches', { project_key: 'DEMO' });
      assert.ok(launches.total > 0, 'the new tool works');

      assert.deepEqual(await toolNames(two.client), start, 'another session keeps its start set');
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('a stateless request cannot enable a toolset and is told to use the header', async () => {
    const call = (id, params, headers = {}) => rawRequest(server.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-protocol-version': STATELESS, 'mcp-method': 'tools/call', 'mcp-name': params.name, ...headers },
      body: {
        jsonrpc: '2.0', id, method: 'tools/call',
        params: { ...params, _meta: {
          'io.modelcontextprotocol/protocolVersion': STATELESS,
          'io.modelcontextprotocol/clientInfo': { name: 'raw-e2e', version: '1.0.0' },
          'io.modelcontextprotocol/clientCapabilities': {},
        } },
      },
    });
    const res = await call(1, { name: 'enable_toolset', arguments: { toolset: 'runs' } });
    assert.equal(res.status, 200, res.body);
    const result = responseFor(res, 1).result;
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /X-Zebrunner-Toolsets/);
    const withHeader = await call(2, { name: 'list_test_runs', arguments: { project_key: 'DEMO' } }, { 'x-zebrunner-toolsets': 'runs' });
    assert.notEqual(responseFor(withHeader, 2).result?.isError, true, withHeader.body);
  });
});
