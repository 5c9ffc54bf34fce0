// Streamable HTTP transport behaviour, checked with raw HTTP: the session
// lifecycle (2025-11-25), stateless 2026-07-28 requests (no initialize; the
// TS SDK 1.32 cannot speak that revision), DNS-rebinding protection (Host
// and Origin), the body limit, and /healthz.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHttpServer } from '../lib/mcp.mjs';
import { MCP_HEADERS, initializeBody, jsonRpcMessages, rawRequest, responseFor } from '../lib/raw.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';
import { TOOL_NAMES } from '../lib/tool-suite.mjs';

const STATELESS = '2026-07-28';

/** `_meta` that a 2026-07-28 request carries instead of a handshake. */
const statelessMeta = () => ({
  'io.modelcontextprotocol/protocolVersion': STATELESS,
  'io.modelcontextprotocol/clientInfo': { name: 'raw-e2e', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
});

/**
 * A 2026-07-28 request: no session, the version in a header and in `_meta`,
 * and the SEP-2243 routing headers (`Mcp-Method`, `Mcp-Name` for tools/call).
 */
function statelessCall(url, id, method, params = {}, { routingHeaders = true } = {}) {
  const headers = { ...MCP_HEADERS, 'mcp-protocol-version': STATELESS };
  if (routingHeaders) {
    headers['mcp-method'] = method;
    if (params.name) headers['mcp-name'] = params.name;
  }
  return rawRequest(url, {
    method: 'POST',
    headers,
    body: { jsonrpc: '2.0', id, method, params: { ...params, _meta: statelessMeta() } },
  });
}

describe('streamable HTTP transport', () => {
  let sandbox;
  let oracle;
  let server;
  let limited;
  let hosts;
  const MAX_BODY = 4096;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    server = await startHttpServer(sandbox, sandbox.users.alice);
    limited = await startHttpServer(sandbox, sandbox.users.alice, ['--max-body-bytes', String(MAX_BODY)]);
    hosts = await startHttpServer(sandbox, sandbox.users.alice, [
      '--allowed-host',
      'mcp.example.test',
      '--allowed-origin',
      'https://app.example.test',
    ]);
  });

  after(async () => {
    await server?.stop();
    await limited?.stop();
    await hosts?.stop();
    await sandbox?.stop();
  });

  test('GET /healthz answers 200', async () => {
    const res = await rawRequest(`${server.origin}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'ok');
  });

  test('session lifecycle: initialize gives a session, DELETE ends it, then 404', async () => {
    const init = await rawRequest(server.url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody(1) });
    assert.equal(init.status, 200, init.body);
    const sessionId = init.headers['mcp-session-id'];
    assert.ok(sessionId, 'initialize response carries Mcp-Session-Id');
    const initResult = responseFor(init, 1).result;
    assert.equal(initResult.protocolVersion, '2025-11-25');
    assert.ok(initResult.capabilities.tools);

    const sessionHeaders = { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
    const initialized = await rawRequest(server.url, {
      method: 'POST',
      headers: sessionHeaders,
      body: { jsonrpc: '2.0', method: 'notifications/initialized' },
    });
    assert.equal(initialized.status, 202);

    const list = await rawRequest(server.url, { method: 'POST', headers: sessionHeaders, body: { jsonrpc: '2.0', id: 2, method: 'tools/list' } });
    assert.equal(list.status, 200, list.body);
    assert.deepEqual(responseFor(list, 2).result.tools.map((t) => t.name).sort(), TOOL_NAMES);

    const del = await rawRequest(server.url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } });
    // 204: the Python SDK counts anything but 200, 204 or 405 as a failed termination.
    assert.equal(del.status, 204, `DELETE answered ${del.status}: ${del.body}`);
    assert.equal(del.body, '', 'no body with 204');

    const afterDelete = await rawRequest(server.url, { method: 'POST', headers: sessionHeaders, body: { jsonrpc: '2.0', id: 3, method: 'tools/list' } });
    assert.equal(afterDelete.status, 404, `request on a deleted session: ${afterDelete.status} ${afterDelete.body}`);
  });

  test('an unknown session id gets 404', async () => {
    const res = await rawRequest(server.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-11-25' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    });
    assert.equal(res.status, 404);
  });

  test('2026-07-28 stateless: tools/list and tools/call without initialize or session', async () => {
    const list = await statelessCall(server.url, 10, 'tools/list');
    assert.equal(list.status, 200, list.body);
    assert.equal(list.headers['mcp-session-id'], undefined, 'no session in stateless mode');
    const tools = responseFor(list, 10).result.tools;
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOL_NAMES);

    const call = await statelessCall(server.url, 11, 'tools/call', {
      name: 'search_test_cases',
      arguments: { project_key: 'MOBILE', count_only: true },
    });
    assert.equal(call.status, 200, call.body);
    const result = responseFor(call, 11).result;
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    const expected = (await oracle.testCases('MOBILE')).filter((c) => !c.deleted).length;
    assert.equal(result.structuredContent.total_matched, expected);

    const noRouting = await statelessCall(server.url, 13, 'tools/list', {}, { routingHeaders: false });
    assert.equal(noRouting.status, 400, 'a 2026-07-28 request without Mcp-Method is refused');

    const getCase = await statelessCall(server.url, 12, 'tools/call', { name: 'get_test_case', arguments: { key: 'DEMO-1' } });
    const caseResult = responseFor(getCase, 12).result;
    assert.equal(caseResult.structuredContent.test_case.title, (await oracle.caseByKey('DEMO-1')).title);
  });

  test('a bad Origin is refused with 403, a loopback one accepted', async () => {
    const bad = await rawRequest(server.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, origin: 'http://evil.example' },
      body: initializeBody(1),
    });
    assert.equal(bad.status, 403);
    const good = await rawRequest(server.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, origin: server.origin },
      body: initializeBody(1),
    });
    assert.equal(good.status, 200, good.body);
  });

  test('a bad Host is refused with 403 (DNS rebinding)', async () => {
    const bad = await rawRequest(server.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, host: 'evil.example' },
      body: initializeBody(1),
    });
    assert.equal(bad.status, 403);
    const badWithPort = await rawRequest(server.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, host: `evil.example:${new URL(server.url).port}` },
      body: initializeBody(1),
    });
    assert.equal(badWithPort.status, 403);
  });

  test('--allowed-host and --allowed-origin admit exactly what they name', async () => {
    const post = (headers) => rawRequest(hosts.url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: initializeBody(1) });
    const host = await post({ host: 'mcp.example.test' });
    assert.equal(host.status, 200, host.body);
    const loopback = await post({});
    assert.equal(loopback.status, 403, 'a configured host list replaces the loopback default');
    const origin = await post({ host: 'mcp.example.test', origin: 'https://app.example.test' });
    assert.equal(origin.status, 200, origin.body);
    const otherOrigin = await post({ host: 'mcp.example.test', origin: 'https://other.example.test' });
    assert.equal(otherOrigin.status, 403);
  });

  test('a body over --max-body-bytes is refused with 413', async () => {
    const small = await rawRequest(limited.url, { method: 'POST', headers: MCP_HEADERS, body: initializeBody(1) });
    assert.equal(small.status, 200, small.body);
    const big = initializeBody(2);
    big.params.clientInfo.padding = 'x'.repeat(MAX_BODY * 3);
    let status;
    try {
      status = (await rawRequest(limited.url, { method: 'POST', headers: MCP_HEADERS, body: big })).status;
    } catch (err) {
      if (!err.connectionClosed) throw err;
      status = 'connection closed without a response';
    }
    assert.equal(status, 413);
  });

  test('JSON-RPC errors: unknown method is a protocol error, not a crash', async () => {
    const res = await statelessCall(server.url, 20, 'no/such/method');
    const msg = jsonRpcMessages(res).find((m) => m.id === 20);
    assert.ok(msg?.error, `expected a JSON-RPC error, got HTTP ${res.status} ${res.body}`);
    assert.equal(msg.error.code, -32601);
  });
});
