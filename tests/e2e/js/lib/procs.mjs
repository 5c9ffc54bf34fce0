// Child processes for the e2e tests: start a command, wait (with a time-out)
// for a readiness line on its stdout, and make sure it dies with the test
// process whatever happens.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The zebrunner-mcp binary under test (override with ZEBRUNNER_MCP_BIN; honours CARGO_TARGET_DIR). */
export function binaryPath() {
  const targetDir = resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
  const bin = process.env.ZEBRUNNER_MCP_BIN ?? resolve(targetDir, 'debug/zebrunner-mcp');
  if (!existsSync(bin)) {
    throw new Error(`zebrunner-mcp binary not found at ${bin}; run cargo build -p zebrunner-mcp`);
  }
  return bin;
}

const running = new Set();

function killAll() {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Register a child started elsewhere (e.g. by an SDK transport) for cleanup. */
export function track(child) {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/**
 * Start `command args` and resolve once stdout is ready: `ready` is a RegExp
 * tested on each line (the match is returned), or a function given all
 * lines so far that returns a truthy value once ready.
 * Resolves `{ child, match, lines, stderr, stop }`; rejects with the
 * process output if it exits first or `timeoutMs` passes.
 */
export function startProcess(command, args, { env = {}, ready, timeoutMs = 30_000, label = command } = {}) {
  const child = track(
    spawn(command, args, {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lines = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const stop = () => stopProcess(child);
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    let settled = false;
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${label}: ${why}\nstdout:\n${lines.join('\n')}${buffer}\nstderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no readiness line matching ${ready} within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        const match = settled ? null : typeof ready === 'function' ? ready(lines) : line.match(ready);
        if (match) {
          settled = true;
          clearTimeout(timer);
          // Keep draining stdout so the child never blocks on a full pipe.
          resolvePromise({ child, match, lines, get stderr() { return stderr; }, stop });
        }
      }
    });
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when it has exited. */
export function stopProcess(child, graceMs = 3_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}
