// Failure forensics through the official TypeScript SDK client over stdio:
// analyze_test_failure's screenshots arrive as image content blocks holding
// valid, downscaled PNGs of the files the sandbox serves, and
// get_test_artifact returns one of them at the size asked for.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callOk, callTool, connectStdio } from '../lib/mcp.mjs';
import { Oracle, startSandbox } from '../lib/sandbox.mjs';

const LAUNCH = 1041;

/** Width, height and size of a PNG, after checking its signature and header chunk. */
function png(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), bytes: bytes.length };
}

describe('failure forensics (stdio)', () => {
  let sandbox;
  let oracle;
  let conn;
  let client;
  let failed;

  before(async () => {
    sandbox = await startSandbox();
    oracle = new Oracle(sandbox.url, sandbox.users.alice);
    conn = await connectStdio(sandbox, sandbox.users.alice);
    client = conn.client;
    const projectId = await oracle.projectId('DEMO');
    const body = await oracle.request(`/api/reporting/v1/launches/${LAUNCH}/tests`, {
      auth: 'bearer',
      params: { projectId, page: 1, pageSize: 100, status: 'FAILED' },
    });
    failed = body.items[0];
    assert.ok(failed, 'oracle: launch 1041 has a failed test');
  });

  after(async () => {
    await conn?.close();
    await sandbox?.stop();
  });

  /** A file the sandbox serves, with the bearer. */
  async function served(reference) {
    const res = await fetch(sandbox.url + reference, {
      headers: { authorization: 'Bearer ' + (await oracle.bearerToken()) },
    });
    assert.equal(res.status, 200, reference);
    return Buffer.from(await res.arrayBuffer());
  }

  test('analyze_test_failure: screenshots are image blocks with valid, downscaled PNGs', async () => {
    const result = await callTool(client, 'analyze_test_failure', {
      project_key: 'DEMO', launch_id: LAUNCH, test_id: failed.id, max_images: 2, image_px: 640, format: 'json',
    });
    assert.ok(!result.isError, JSON.stringify(result.content));
    const images = result.content.filter((c) => c.type === 'image');
    assert.equal(images.length, 2);
    const shown = result.structuredContent.screenshots.filter((s) => s.shown);
    assert.equal(shown.length, 2);
    for (const [i, image] of images.entries()) {
      assert.equal(image.mimeType, 'image/png');
      const size = png(Buffer.from(image.data, 'base64'));
      const original = png(await served(shown[i].reference));
      assert.deepEqual([original.width, original.height], [1280, 800]);
      assert.deepEqual([size.width, size.height], [640, 400]);
      assert.equal(size.bytes, shown[i].bytes);
    }
    // The log window keeps levels and ends just after the failure's stack trace.
    const error = result.structuredContent.log.lines.find((l) => l.level === 'ERROR');
    assert.ok(error.text.startsWith(failed.message), error.text);
    assert.match(error.text, /\n\tat /);
  });

  test('get_test_artifact: one screenshot by reference, at the size asked for', async () => {
    const out = await callOk(client, 'analyze_test_failure', {
      project_key: 'DEMO', launch_id: LAUNCH, test_id: failed.id, max_images: 0, format: 'json',
    });
    const reference = out.screenshots[0].reference;
    const result = await callTool(client, 'get_test_artifact', {
      project_key: 'DEMO', launch_id: LAUNCH, test_id: failed.id, reference, image_px: 320,
    });
    assert.ok(!result.isError, JSON.stringify(result.content));
    const image = result.content.find((c) => c.type === 'image');
    assert.equal(image?.mimeType, 'image/png');
    assert.deepEqual(png(Buffer.from(image.data, 'base64')).width, 320);
  });
});
