// Every tool over Streamable HTTP with a session (the SDK negotiates
// protocol 2025-11-25), driven by the TypeScript SDK.
import assert from 'node:assert/strict';
import { connectHttp, startHttpServer } from '../lib/mcp.mjs';
import { defineToolSuite } from '../lib/tool-suite.mjs';

defineToolSuite('streamable HTTP 2025-11-25 session (TypeScript SDK)', async (sandbox, user) => {
  const server = await startHttpServer(sandbox, user);
  try {
    const conn = await connectHttp(server.url);
    assert.equal(conn.transport.protocolVersion, '2025-11-25', 'negotiated protocol version');
    assert.ok(conn.transport.sessionId, 'the server assigned an Mcp-Session-Id');
    return {
      client: conn.client,
      close: async () => {
        await conn.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
});
