// `zebrunner-mcp demo`: sandbox and HTTP server in one process; a client
// configured from its printed endpoint can use the tools at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectHttp, callOk } from '../lib/mcp.mjs';
import { binaryPath, startProcess } from '../lib/procs.mjs';

test('demo prints a working MCP endpoint', async () => {
  const demo = await startProcess(binaryPath(), ['demo', '--listen', '127.0.0.1:0'], {
    ready: /^MCP endpoint \(Streamable HTTP\): (http:\/\/\S+\/mcp)$/,
    label: 'demo',
  });
  try {
    const conn = await connectHttp(demo.match[1]);
    try {
      const out = await callOk(conn.client, 'list_projects');
      assert.deepEqual(out.projects.map((p) => p.key).sort(), ['API', 'DEMO', 'MOBILE']);
    } finally {
      await conn.close();
    }
  } finally {
    await demo.stop();
  }
});
