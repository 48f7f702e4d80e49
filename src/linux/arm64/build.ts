/**
 * Building AArch64 guests: a C file compiled once (per hash of its sources) with Debian's
 * cross compiler, `aarch64-linux-gnu-gcc -static -O1` (gcc-aarch64-linux-gnu and
 * libc6-dev-arm64-cross: static glibc). A file that is not C is taken as an ELF as it is.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';

export const AARCH64_CC = 'aarch64-linux-gnu-gcc';
const BUILD_KEY = `${AARCH64_CC} -static -O1 v1`;

function cacheDir(): string {
  const d = process.env.XSTATE_LAB_CACHE ?? join(homedir() || tmpdir(), '.cache', 'xstate-lab', 'guests');
  mkdirSync(d, { recursive: true });
  return d;
}

const missing = (e: Error): Error => new Error(`${AARCH64_CC} not found (apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross): ${e.message}`);

/** The executable for an AArch64 guest source (C is compiled and cached; anything else is returned as is). */
export function arm64GuestExecutable(path: string): string {
  if (extname(path) !== '.c') return path;
  const dep = spawnSync(AARCH64_CC, ['-MM', basename(path)], { cwd: dirname(path), encoding: 'utf8' });
  if (dep.error) throw missing(dep.error);
  if (dep.status !== 0) throw new Error(`${AARCH64_CC} -MM ${path} failed:\n${dep.stderr}`);
  const files = dep.stdout.replace(/\\\n/g, ' ').replace(/^[^:]*:/, '').split(/\s+/).filter(Boolean).map((d) => realpathSync(resolve(dirname(path), d)));
  const hash = createHash('sha256').update(BUILD_KEY);
  for (const f of files) hash.update(`\0${basename(f)}\0`).update(readFileSync(f));
  const out = join(cacheDir(), `a64-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(out)) return out;
  // Per process and thread: scenario workers are threads of one process and may build the same guest at once.
  const tmp = `${out}.${process.pid}.${threadId}.tmp`;
  const r = spawnSync(AARCH64_CC, ['-static', '-O1', '-o', tmp, path], { encoding: 'utf8' });
  if (r.error) throw missing(r.error);
  if (r.status !== 0) throw new Error(`${AARCH64_CC} ${path} failed:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}
