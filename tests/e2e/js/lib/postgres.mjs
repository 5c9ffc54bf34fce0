// A PostgreSQL schema of its own for one e2e test, through `psql` (no Node
// driver needed): created up front, handed to the server as
// ZMCP_DATABASE_URL with the schema as search_path, dropped afterwards.
//
// The server is the one at ZEBRUNNER_MCP_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test, trust auth), as for the Rust
// storage tests (crates/zebrunner-storage/tests/common/mod.rs), which build
// the URL the same way: `options[search_path]=<schema>` (sqlx). Without that
// server a test fails, unless ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 (postgresSkip).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const POSTGRES_DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The base URL of the test PostgreSQL server. */
export const postgresBaseUrl = () => process.env.ZEBRUNNER_MCP_TEST_POSTGRES_URL ?? POSTGRES_DEFAULT_URL;

/** Run `sql` with `psql` against `url`; resolves the unaligned, tuples-only output (trimmed). */
export function psql(url, sql, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    execFile(
      'psql',
      [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-c', sql],
      { timeout: timeoutMs, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`psql ${sql}: ${err.message}\n${stderr}`));
        else resolve(stdout.trim());
      },
    );
  });
}

/** Whether `psql` reaches the server at `base` (a `SELECT 1`). */
export async function postgresReachable(base = postgresBaseUrl()) {
  try {
    return (await psql(base, 'SELECT 1', 10_000)) === '1';
  } catch {
    return false;
  }
}

/**
 * Why a PostgreSQL test is skipped, or false to run it: as in the Rust tests, only when the
 * server is unreachable AND ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 (otherwise the test fails).
 */
export async function postgresSkip(base = postgresBaseUrl()) {
  if (process.env.ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS !== '1' || (await postgresReachable(base))) return false;
  return `PostgreSQL is not reachable at ${base} and ZEBRUNNER_MCP_SKIP_POSTGRES_TESTS=1 is set`;
}

/**
 * Create schema `zmcp_e2e_<label>_<pid>_<random>`. Resolves
 * `{ schema, url, base, tables(), drop() }`: `url` is the base URL with the
 * schema as search_path (for ZMCP_DATABASE_URL), `tables()` the names of the
 * tables in the schema, `drop()` drops it with everything in it.
 */
export async function createSchema(label, base = postgresBaseUrl()) {
  const schema = `zmcp_e2e_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z0-9_]+$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  try {
    await psql(base, `CREATE SCHEMA "${schema}"`);
  } catch (err) {
    throw new Error(
      `PostgreSQL is required at ${base} (start it with: pg_ctlcluster 15 main start; or set ZEBRUNNER_MCP_TEST_POSTGRES_URL): ${err.message}`,
    );
  }
  const separator = base.includes('?') ? '&' : '?';
  return {
    schema,
    base,
    url: `${base}${separator}options[search_path]=${schema}`,
    async tables() {
      const out = await psql(base, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' ORDER BY 1`);
      return out ? out.split('\n') : [];
    },
    drop: () => psql(base, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  };
}
