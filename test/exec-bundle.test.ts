/**
 * The exec bundle and its code cache (src/exec-bundle.ts, src/build-exec-bundle.ts) change nothing
 * but time: `exec` gives the same status, stdout and stderr from the modules, from the bundle
 * without a code cache and with one; a code-cache entry that is altered, truncated, refused by V8
 * or cannot be written is ignored (and rewritten); a bundle whose inputs changed after the build,
 * or that is missing, is not used; and each bundled module keeps its own file's URL (the sweep's
 * rule identity, read from ownership.js's own source, is the modules' one: both share sweep entries).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess, type Run } from '../bench/program-corpus.js';
import { muslProgram } from './helpers.js';
import { CODE_CACHE_SUBDIR, EXEC_BUNDLE_FILE, EXEC_BUNDLE_MANIFEST, EXEC_GUEST_RAN_NAME } from '../src/exec-bundle.js';
import { EXEC_GUEST_RAN } from '../src/commands/exec.js';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-exec-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TRACE_PREFIX = 'xstate-lab: start-up: ';

/** A static musl program from C text, in this file's folder. */
const musl = (name: string, source: string): string => muslProgram(tmp, name, source);

/** One `exec` of the CLI at `root` with the start-up trace on: its outcome without the trace lines, and the trace lines. */
async function exec(root: string, args: string[], env: Record<string, string>): Promise<{ outcome: string; trace: string[] }> {
  const r: Run = await runProcess(process.execPath, [join(root, 'dist/src/cli.js'), 'exec', ...args], 120_000, { env: { ...process.env, XSTATE_LAB_STARTUP_TRACE: '1', ...env } });
  const lines = r.stderr.split('\n');
  const trace = lines.filter((l) => l.startsWith(TRACE_PREFIX)).map((l) => l.slice(TRACE_PREFIX.length));
  const stderr = lines.filter((l) => !l.startsWith(TRACE_PREFIX)).join('\n');
  return { outcome: JSON.stringify({ status: r.status, stdout: r.stdout, stderr }), trace };
}

describe('exec from the bundle gives what the modules give', () => {
  it('the launcher and exec name the same guest-ran symbol', () => expect(EXEC_GUEST_RAN).toBe(Symbol.for(EXEC_GUEST_RAN_NAME)));
  const hash = musl('hash', readFileSync(join(ROOT, 'bench', 'guest-plain-hash.c'), 'utf8'));
  // ran: a guest ran (the code cache is written only then).
  const cases: { name: string; args: string[]; ran?: false }[] = [
    { name: 'a trivial program', args: ['--cpu', 'intel-alder-lake', hash, '0'] },
    {
      name: 'x87, SSE and XSAVE under --trace',
      args: ['--cpu', 'intel-alder-lake', '--trace', musl('owned', '#include <stdio.h>\nstatic char area[4096] __attribute__((aligned(64)));\nint main(void){volatile long double x=1.5L;volatile double d=2.25;for(int i=0;i<3;i++){x=x*x+1;d=d/3;}\n__asm__ volatile("xor %%edx,%%edx; mov $3,%%eax; xsave64 %0; xrstor64 %0" : "+m"(area) :: "eax","edx","memory");\nprintf("%.6Lf %.6f %u\\n",x,d,(unsigned)area[512]);return 0;}\n')],
    },
    { name: 'a guest killed by SIGSEGV', args: ['--cpu', 'amd-zen4', musl('segv', '#include <stdio.h>\nint main(void){puts("before");fflush(stdout);*(volatile int*)8=1;return 0;}\n')] },
    { name: 'an unknown option', args: ['--bogus', hash], ran: false },
    { name: 'an unknown CPU', args: ['--cpu', 'no-such-cpu', hash], ran: false },
    { name: 'a missing program', args: ['--cpu', 'intel-alder-lake', join(tmp, 'missing')], ran: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const cache = join(tmp, `cache-${c.name.replace(/\W+/g, '-')}`);
      const modules = await exec(ROOT, c.args, { XSTATE_LAB_NO_EXEC_BUNDLE: '1', XSTATE_LAB_CACHE: cache });
      expect(modules.trace).toEqual([]);
      const cold = await exec(ROOT, c.args, { XSTATE_LAB_CACHE: cache });
      const written = c.ran === false ? 'code cache not written: no guest ran' : 'code cache written';
      expect(cold.trace).toEqual(['exec bundle; code cache absent', written]);
      const warm = await exec(ROOT, c.args, { XSTATE_LAB_CACHE: cache });
      expect(warm.trace).toEqual(c.ran === false ? cold.trace : ['exec bundle; code cache used']);
      const off = await exec(ROOT, c.args, { XSTATE_LAB_CACHE: cache, XSTATE_LAB_NO_CODE_CACHE: '1' });
      expect(off.trace).toEqual(['exec bundle; code cache off']);
      for (const r of [cold, warm, off]) expect(r.outcome).toBe(modules.outcome);
    }, 300_000);
  }

  it('the bundled modules keep their own URLs: the sweep entries of the modules are the bundle\'s', async () => {
    const cache = join(tmp, 'cache-identity');
    const args = ['--cpu', 'intel-alder-lake', hash, '0'];
    await exec(ROOT, args, { XSTATE_LAB_NO_EXEC_BUNDLE: '1', XSTATE_LAB_CACHE: cache });
    const before = readdirSync(join(cache, 'sweep')).sort();
    expect(before.length).toBeGreaterThan(0);
    const bundled = await exec(ROOT, args, { XSTATE_LAB_CACHE: cache });
    expect(bundled.trace[0]).toMatch(/^exec bundle/);
    expect(readdirSync(join(cache, 'sweep')).sort()).toEqual(before);
  }, 300_000);
});

describe('a code-cache entry that is bad is ignored and rewritten', () => {
  const hash = musl('hash2', readFileSync(join(ROOT, 'bench', 'guest-plain-hash.c'), 'utf8'));
  const args = ['--cpu', 'intel-alder-lake', hash, '0'];
  const cache = join(tmp, 'cache-spoiled');
  const entry = (): string => {
    const files = readdirSync(join(cache, CODE_CACHE_SUBDIR)).filter((f) => f.endsWith('.v8'));
    expect(files).toHaveLength(1);
    return join(cache, CODE_CACHE_SUBDIR, files[0]!);
  };
  const spoils: { name: string; spoil: (b: Buffer) => Buffer; trace: string }[] = [
    { name: 'one byte altered', spoil: (b) => { const c = Buffer.from(b); c[c.length >> 1] ^= 1; return c; }, trace: 'absent' },
    { name: 'truncated', spoil: (b) => b.subarray(0, b.length >> 1), trace: 'absent' },
    { name: 'empty', spoil: () => Buffer.alloc(0), trace: 'absent' },
    // A sound digest over bytes that are no V8 code cache: V8's own check refuses it.
    { name: 'sound digest, not V8\'s', spoil: () => { const p = Buffer.from('not a code cache'.repeat(64)); return Buffer.concat([createHash('sha256').update(p).digest(), p]); }, trace: 'refused by V8' },
  ];
  it('each spoiled entry', async () => {
    const reference = await exec(ROOT, args, { XSTATE_LAB_NO_EXEC_BUNDLE: '1', XSTATE_LAB_CACHE: cache });
    const first = await exec(ROOT, args, { XSTATE_LAB_CACHE: cache });
    expect(first.trace).toEqual(['exec bundle; code cache absent', 'code cache written']);
    for (const s of spoils) {
      const f = entry();
      writeFileSync(f, s.spoil(readFileSync(f)));
      const r = await exec(ROOT, args, { XSTATE_LAB_CACHE: cache });
      expect(r.trace, s.name).toEqual([`exec bundle; code cache ${s.trace}`, 'code cache written']);
      expect(r.outcome, s.name).toBe(reference.outcome);
      const again = await exec(ROOT, args, { XSTATE_LAB_CACHE: cache });
      expect(again.trace, s.name).toEqual(['exec bundle; code cache used']);
    }
    // A cache folder that cannot be made (a file in its path) costs time only.
    writeFileSync(join(tmp, 'a-file'), '');
    const unwritable = await exec(ROOT, args, { XSTATE_LAB_CACHE: join(tmp, 'a-file', 'cache') });
    expect(unwritable.trace).toEqual(['exec bundle; code cache unavailable']);
    expect(unwritable.outcome).toBe(reference.outcome);
  }, 600_000);
});

describe('a bundle is used only while current', () => {
  it('inputs changed after the build, or no bundle: the modules run', async () => {
    // A copy of the package whose dist/ this test may change: the build step run there makes its bundle.
    const pkg = join(tmp, 'package');
    mkdirSync(pkg);
    cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    for (const d of ['emulator', 'src', 'node_modules', 'bench']) symlinkSync(join(ROOT, d), join(pkg, d));
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true, filter: (s) => s !== join(ROOT, 'dist', 'exec-bundle') });
    expect(existsSync(join(pkg, 'dist', 'exec-bundle'))).toBe(false);
    const hash = musl('hash3', readFileSync(join(ROOT, 'bench', 'guest-plain-hash.c'), 'utf8'));
    const args = ['--cpu', 'intel-alder-lake', hash, '0'];
    const env = { XSTATE_LAB_CACHE: join(tmp, 'cache-stale') };
    const none = await exec(pkg, args, env);
    expect(none.trace).toEqual(['no exec bundle (modules)']);
    const b = spawnSync(process.execPath, [join(pkg, 'dist/src/generate-validators.js')], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    expect(existsSync(join(pkg, 'dist', 'exec-bundle', EXEC_BUNDLE_FILE))).toBe(true);
    const current = await exec(pkg, args, env);
    expect(current.trace[0]).toMatch(/^exec bundle; code cache/);
    expect(current.outcome).toBe(none.outcome);
    // A module rewritten (as tsc does) after the build: its time changed, and the bundle is stale.
    const machine = join(pkg, 'dist', 'emulator', 'machine.js');
    writeFileSync(machine, readFileSync(machine));
    const later = new Date(Date.now() + 5000);
    utimesSync(machine, later, later);
    const stale = await exec(pkg, args, env);
    expect(stale.trace).toEqual(['exec bundle stale: ../emulator/machine.js changed since the build (modules)']);
    expect(stale.outcome).toBe(none.outcome);
    // The bundle itself altered.
    expect(spawnSync(process.execPath, [join(pkg, 'dist/src/generate-validators.js')]).status).toBe(0);
    expect((await exec(pkg, args, env)).trace[0]).toMatch(/^exec bundle; code cache/);
    const script = join(pkg, 'dist', 'exec-bundle', EXEC_BUNDLE_FILE);
    writeFileSync(script, `${readFileSync(script, 'utf8')}\n`);
    expect((await exec(pkg, args, env)).trace).toEqual([`exec bundle stale: ${EXEC_BUNDLE_FILE} changed since the build (modules)`]);
    rmSync(join(pkg, 'dist', 'exec-bundle', EXEC_BUNDLE_MANIFEST));
    expect((await exec(pkg, args, env)).trace).toEqual(['no exec bundle (modules)']);
  }, 600_000);
});
