// Start zebrunner-mcp against a sandbox and connect the official MCP
// TypeScript SDK client to it, over stdio or Streamable HTTP.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { binaryPath, startProcess } from './procs.mjs';

const pidsToKill = new Set();
process.on('exit', () => {
  for (const pid of pidsToKill) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Environment that points the server at the sandbox as `user`. */
export function serverEnv(sandbox, user) {
  return {
    ZEBRUNNER_URL: sandbox.url,
    ZEBRUNNER_LOGIN: user.login,
    ZEBRUNNER_TOKEN: user.token,
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
  };
}

function newClient() {
  return new Client({ name: 'zebrunner-mcp-e2e-js', version: '1.0.0' }, { capabilities: {} });
}

/** `serve --transport stdio` driven by the SDK's StdioClientTransport. */
export async function connectStdio(sandbox, user, extraArgs = []) {
  const transport = new StdioClientTransport({
    command: binaryPath(),
    args: ['serve', '--transport', 'stdio', ...extraArgs],
    env: { ...process.env, ...serverEnv(sandbox, user) },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const client = newClient();
  try {
    await withTimeout(client.connect(transport), 30_000, 'stdio connect');
  } catch (err) {
    await client.close().catch(() => {});
    throw new Error(`${err.message}\nserver stderr:\n${stderr}`);
  }
  if (transport.pid) pidsToKill.add(transport.pid);
  return {
    client,
    transport,
    get stderr() {
      return stderr;
    },
    close: async () => {
      await client.close().catch(() => {});
      if (transport.pid) pidsToKill.delete(transport.pid);
    },
  };
}

/**
 * `serve --transport http --listen 127.0.0.1:0`; resolves once it prints
 * `mcp listening on <url>`, with `{ url, origin, stop }`.
 */
export async function startHttpServer(sandbox, user, extraArgs = [], env = {}) {
  const proc = await startProcess(
    binaryPath(),
    ['serve', '--transport', 'http', '--listen', '127.0.0.1:0', ...extraArgs],
    { env: { ...serverEnv(sandbox, user), ...env }, ready: /^mcp listening on (http:\/\/\S+\/mcp)$/, label: 'mcp http server' },
  );
  const url = proc.match[1];
  return { url, origin: new URL(url).origin, stop: proc.stop, process: proc };
}

/** The SDK's Streamable HTTP client against a running server. */
export async function connectHttp(url) {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = newClient();
  await withTimeout(client.connect(transport), 30_000, 'http connect');
  return {
    client,
    transport,
    close: async () => {
      await client.close().catch(() => {});
    },
  };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Call a tool and return the raw result (time-limited). */
export function callTool(client, name, args = {}, timeoutMs = 60_000) {
  return withTimeout(client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs }), timeoutMs + 5_000, `tools/call ${name}`);
}

/** Call a tool that must succeed; returns its structuredContent. */
export async function callOk(client, name, args = {}) {
  const result = await callTool(client, name, args);
  if (result.isError) {
    throw new Error(`${name}(${JSON.stringify(args)}) failed: ${JSON.stringify(result.content)}`);
  }
  if (!result.structuredContent) {
    throw new Error(`${name}(${JSON.stringify(args)}) returned no structuredContent`);
  }
  return result.structuredContent;
}

/**
 * Connect to `mcpUrl` over Streamable HTTP with `Authorization: Bearer <token>`, call
 * `list_projects` (which must succeed) and return the project keys it lists, sorted.
 */
export async function projectKeysWithBearer(mcpUrl, token, name = 'e2e-bearer') {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  await withTimeout(client.connect(transport), 30_000, 'connect with the access token');
  try {
    const { projects } = await callOk(client, 'list_projects', { format: 'json' });
    return projects.map((p) => p.key).sort();
  } finally {
    await client.close().catch(() => {});
  }
}

/** The text of a result's text content blocks. */
export function resultText(result) {
  return (result.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}
