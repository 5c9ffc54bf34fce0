// Raw HTTP for transport-level checks the SDK hides: exact headers (Host,
// Origin), oversize bodies, session ids, and hand-written JSON-RPC.

import http from 'node:http';

/** One HTTP request with node:http (so Host can be set); resolves `{status, headers, body}`. */
export function rawRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 15_000 } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, timeout: timeoutMs },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => {
      // A server may answer 413 and close before reading the whole body.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') reject(Object.assign(err, { connectionClosed: true }));
      else reject(err);
    });
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** The JSON-RPC messages in a response body, whether JSON or SSE. */
export function jsonRpcMessages(res) {
  const type = String(res.headers['content-type'] ?? '');
  if (type.includes('text/event-stream')) {
    return res.body
      .split(/\r?\n\r?\n/)
      .map((event) =>
        event
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n'),
      )
      .filter((data) => data.trim().startsWith('{'))
      .map((data) => JSON.parse(data));
  }
  if (!res.body.trim()) return [];
  const parsed = JSON.parse(res.body);
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** The response to JSON-RPC request `id` in `res`, or throw with the body. */
export function responseFor(res, id) {
  const msg = jsonRpcMessages(res).find((m) => m.id === id && ('result' in m || 'error' in m));
  if (!msg) throw new Error(`no JSON-RPC response with id ${id} (HTTP ${res.status}): ${res.body.slice(0, 500)}`);
  return msg;
}

/** `initialize` params for a legacy (session) protocol version. */
export function initializeBody(id, protocolVersion = '2025-11-25') {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-e2e', version: '1.0.0' } },
  };
}
