// A private PostgreSQL cluster for one test: the machine's own PostgreSQL
// binaries (initdb, pg_ctl), a data directory under /tmp, a free loopback port.
// A test may stop and start it (a PostgreSQL restart) without touching the
// shared server other tests use at 127.0.0.1:5432.
//
// PostgreSQL refuses to run as root: when the test runs as root (CI does), the
// cluster's commands run as the `postgres` system user (runuser), which owns
// the data directory. The binaries are found under /usr/lib/postgresql/<v>/bin
// (Debian's layout) or at ZEBRUNNER_MCP_TEST_PG_BINDIR.

import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './identity.mjs';

function bindir() {
  const given = process.env.ZEBRUNNER_MCP_TEST_PG_BINDIR;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/<version>/bin; ' +
        'install Debian\'s postgresql package or set ZEBRUNNER_MCP_TEST_PG_BINDIR',
    );
  }
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

function run(file, args, { asUser, timeoutMs = 60_000 } = {}) {
  const [cmd, argv] = asUser ? ['runuser', ['-u', asUser, '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Numeric uid/gid of a system user, from `id`. */
async function ids(user) {
  const uid = Number((await run('id', ['-u', user])).trim());
  const gid = Number((await run('id', ['-g', user])).trim());
  return { uid, gid };
}

/**
 * Create and start a cluster. Resolves `{ url, port, stop(), start(), restart(), destroy() }`;
 * `url` is `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication).
 */
export async function startCluster() {
  const bin = bindir();
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'zmcp-pg-'));
  const data = join(dir, 'data');
  if (asUser) {
    const { uid, gid } = await ids(asUser);
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], { asUser });
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=on`;
  const pgctl = (...args) => run(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', ...args], { asUser });
  const cluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => pgctl('-o', options, '-l', join(dir, 'server.log'), 'start'),
    // Fast shutdown: open connections are closed, as in a real restart.
    stop: () => pgctl('-m', 'fast', 'stop'),
    async destroy() {
      try {
        await pgctl('-m', 'immediate', 'stop');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
