/**
 * Builds the small C helpers that run real instructions on the host (CPUID capture, the
 * selfcheck probe) with the system compiler, once per source version, into a cache folder.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from './paths.js';
import { threadId } from 'node:worker_threads';
import { cacheDir } from '../emulator/cache-dir.js';

export class NativeBuildError extends Error {}

/** A host probe could not do its job (no XSAVE on this CPU, a refused system call, ...). */
export class HostProbeError extends Error {}

/** Compile `src/<relSource>` (C) and return the executable's path. */
export function buildNative(relSource: string, extraFlags: string[] = []): string {
  const src = join(PACKAGE_ROOT, 'src', relSource);
  const text = readFileSync(src);
  const h = createHash('sha256').update(text).update(extraFlags.join(' '));
  // Local headers (#include "x.h") are part of the build's identity too.
  for (const m of text.toString('latin1').matchAll(/^#include "([^"]+)"/gm)) h.update(readFileSync(join(dirname(src), m[1])));
  const hash = h.digest('hex').slice(0, 16);
  const out = join(cacheDir(), `${relSource.replace(/[\/.]/g, '_')}-${hash}`);
  if (existsSync(out)) return out;
  const cc = process.env.CC ?? 'gcc';
  // Worker threads share the pid: the thread id keeps two builds of one source apart.
  const tmp = `${out}.${process.pid}.${threadId}.tmp`;
  try {
    execFileSync(cc, ['-O1', '-Wall', '-o', tmp, src, ...extraFlags], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT') throw new NativeBuildError(`the C compiler '${cc}' was not found; install it with: apt-get install -y gcc`);
    throw new NativeBuildError(`compiling ${src} failed:\n${err.stderr?.toString() ?? e}`);
  }
  renameSync(tmp, out);
  return out;
}
