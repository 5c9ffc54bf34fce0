// The sandbox's `/__sandbox/` control API: request log and fault injection.

async function control(sandbox, method, path, body) {
  const res = await fetch(`${sandbox.url}/__sandbox/${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${method} /__sandbox/${path} -> ${res.status}: ${await res.text()}`);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** Logged Zebrunner requests `{method, path, query, user, status}`. */
export const requestLog = (sandbox) => control(sandbox, 'GET', 'requests');
export const clearRequestLog = (sandbox) => control(sandbox, 'DELETE', 'requests');
/** `{path_prefix, method, latency_ms, status, count, rate, retry_after_secs}` */
export const addFault = (sandbox, fault) => control(sandbox, 'POST', 'faults', fault);
export const clearFaults = (sandbox) => control(sandbox, 'DELETE', 'faults');
/** `{ids_ignore_project}`: lookups by id answer any project's object (a Zebrunner that ignores the project parameter). */
export const setBehaviour = (sandbox, behaviour) => control(sandbox, 'POST', 'behaviour', behaviour);
