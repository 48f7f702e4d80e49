/** What the bench scripts share: building a bench guest, timing a process. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../src/paths.js';

function cacheDir(): string {
  const d = process.env.XSTATE_LAB_CACHE ?? join(homedir() || tmpdir(), '.cache', 'xstate-lab');
  mkdirSync(d, { recursive: true });
  return d;
}

/** A bench guest (bench/<name>.c) built with `musl-gcc -static -O2`, cached by source hash. */
export function buildGuest(name = 'guest-xsave-loop'): string {
  const src = join(PACKAGE_ROOT, 'bench', `${name}.c`);
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 16);
  const out = join(cacheDir(), `bench-${name}-${hash}`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.${threadId}.tmp`;
  const r = spawnSync('musl-gcc', ['-static', '-O2', '-o', tmp, src], { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('musl-gcc not found: apt-get install -y musl-tools');
  if (r.status !== 0) throw new Error(`musl-gcc ${src} failed:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

export interface Timed { ns: number; cpuNs: number; stdout: string; status: number }

/**
 * One run: wall time, and the CPU time (user + system) of the process and its children as bash's
 * `times` reports it (10 ms resolution), which a loaded 2-core machine disturbs less than wall time.
 */
export function timed(cmd: string, args: string[]): Timed {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@"; s=$?; times >&2; exit $s', 'bash', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const ns = Number(process.hrtime.bigint() - t0);
  if (r.error) throw r.error;
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const cpuNs = secs.length === 2 ? (secs[0]! + secs[1]!) * 1e9 : NaN;
  return { ns, cpuNs, stdout: r.stdout, status: r.status ?? -1 };
}
