// Run the official MCP conformance suite (@modelcontextprotocol/conformance,
// a Node >= 22 program) against `zebrunner-mcp serve --transport http`.
//
// Usage: CONFORMANCE_NODE=/path/to/node24 node conformance.mjs
//
// Only the generic server scenarios are run: the others call fixture tools,
// prompts and resources of the reference "everything" server by name
// (test_simple_text, test_image_content, ...), which a Zebrunner server
// rightly does not have. Exit status is non-zero if any scenario fails.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHttpServer } from './lib/mcp.mjs';
import { REPO_ROOT } from './lib/procs.mjs';
import { startSandbox } from './lib/sandbox.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(HERE, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const OUT = resolve(REPO_ROOT, 'tests/e2e/.out/conformance');

const SCENARIOS = [
  'server-initialize', // initialize handshake, capabilities, serverInfo
  'ping', // ping in a session
  'tools-list', // tools/list shape (names, schemas)
  'dns-rebinding-protection', // bad Host / Origin refused
  'server-session-lifecycle', // Mcp-Session-Id, DELETE, 404 afterwards (alpha)
  'server-stateless', // 2026-07-28 stateless requests (alpha)
  'http-header-validation', // 2026-07-28 MCP-Protocol-Version header checks (alpha)
];

function run(command, args, timeoutMs) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      output += d;
      process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      output += `\n[timed out after ${timeoutMs} ms]\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, signal: null, output: String(err) });
    });
  });
}

/** Pass/fail counts from the CLI's summary lines, e.g. "Total: 7 passed, 0 failed". */
function summary(output) {
  const m = output.match(/(\d+)\s+passed,\s*(\d+)\s+failed/gi);
  if (!m) return null;
  const [, passed, failed] = m[m.length - 1].match(/(\d+)\s+passed,\s*(\d+)\s+failed/i);
  return { passed: Number(passed), failed: Number(failed) };
}

async function main() {
  const node = process.env.CONFORMANCE_NODE;
  if (!node || !existsSync(node)) {
    throw new Error(`set CONFORMANCE_NODE to a Node >= 22 binary (got ${node ?? 'nothing'})`);
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} missing; run npm ci in tests/e2e/js`);
  mkdirSync(OUT, { recursive: true });

  const sandbox = await startSandbox();
  let server;
  const failures = [];
  let passed = 0;
  try {
    server = await startHttpServer(sandbox, sandbox.users.alice);
    for (const scenario of SCENARIOS) {
      console.log(`\n=== conformance scenario ${scenario} against ${server.url}`);
      const result = await run(
        node,
        [CLI, 'server', '--url', server.url, '--scenario', scenario, '-o', resolve(OUT, scenario), '--timeout', '30000'],
        120_000,
      );
      const counts = summary(result.output);
      const ok = result.code === 0 && (!counts || counts.failed === 0) && !/\bFAIL(ED)?\b/.test(result.output.replace(/0 failed/gi, ''));
      if (ok) {
        passed++;
      } else {
        failures.push(`${scenario} (exit ${result.code}${result.signal ? `, ${result.signal}` : ''}${counts ? `, ${counts.failed} checks failed` : ''})`);
      }
    }
  } finally {
    await server?.stop();
    await sandbox.stop();
  }
  console.log(`\nconformance: ${passed} passed, ${failures.length} failed`);
  if (failures.length > 0) {
    console.error(`FAILED conformance scenarios:\n  ${failures.join('\n  ')}\nDetails: ${OUT}`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
