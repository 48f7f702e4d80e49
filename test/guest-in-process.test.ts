/**
 * Scenario guests run inside the worker (src/scenario/guest-in-process.ts) give the same bytes as
 * the child `xstate-lab exec` they replaced (runGuestSpawned): stdout, stderr and the status, and
 * so the same observations. Every guest-program scenario of the corpus on its own cells and across
 * the matrix (every built-in CPU with its first kernel, every Linux variant with its first CPU),
 * and a guest that writes both streams, opens a handed file by its relative name, is refused one it
 * was not handed and dies of a signal (the tool's own line on stderr).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinProfileIds } from '../emulator/profile.js';
import { KERNEL_VARIANTS, KernelPersonality, resolveLinuxVariant } from '../kernel-model/variants.js';
import { guestExecArgs, guestRequest, guestResult, type GuestRequest, type GuestRun } from '../src/scenario/guest.js';
import { runGuestInProcess } from '../src/scenario/guest-in-process.js';
import { loadScenario, type Scenario } from '../src/scenario/load.js';

const CORPUS = join(import.meta.dirname, '..', 'scenarios');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-guest-in-process-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The exec steps of a scenario: program, arguments and handed files. */
function execSteps(s: Scenario): { program: string; args: string[]; files: string[] }[] {
  // As src/scenario/run.ts gives them to World.exec: the program's real path when the loader checked it.
  return s.steps.flatMap((st, i) => {
    const e = (st as { exec?: { program: string; args?: unknown[]; files?: string[] } }).exec;
    return e ? [{ program: s.stepFiles[i] ?? e.program, args: (e.args ?? []).map(String), files: e.files ?? [] }] : [];
  });
}

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');

/**
 * src/scenario/guest.ts runGuestSpawned without blocking the test's event loop (vitest's own
 * messages time out under a minute of spawnSync): the same command line, folder and decoding.
 */
function spawned(r: GuestRequest): Promise<GuestRun> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [CLI, 'exec', ...guestExecArgs(r)], { cwd: r.folder });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.stdin.end();
    p.on('error', fail);
    p.on('close', (status) => done({ status: status ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

async function bothWays(r: GuestRequest): Promise<void> {
  const here = runGuestInProcess(r);
  const child = await spawned(r);
  const cell = `${r.exec.cpu} ${r.exec.kernel}${r.exec.kernelBehaviours !== undefined ? ` (${r.exec.kernelBehaviours})` : ''}`;
  expect(here.stdout, `${cell}: stdout`).toBe(child.stdout);
  expect(here.stderr, `${cell}: stderr`).toBe(child.stderr);
  expect(here.status, `${cell}: status`).toBe(child.status);
  expect(guestResult(here)).toEqual(guestResult(child));
}

const guestScenarios = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).map((f) => join(CORPUS, f))
  .map((f) => loadScenario(f)).filter((s) => execSteps(s).length > 0);

describe('a scenario guest run in-process gives the bytes of a child exec', () => {
  it('the corpus has guest-program scenarios', () => {
    expect(guestScenarios.map((s) => s.name)).toEqual(expect.arrayContaining(['pkru-ptrace-guest', 'sigaltstack-too-small']));
  });
  const linux = KERNEL_VARIANTS.filter((v) => v.personality === KernelPersonality.Linux).map((v) => v.id);
  for (const s of guestScenarios) {
    it(`${s.name}: its own cells, every built-in CPU with ${s.kernels[0]}, every Linux variant with ${s.cpus[0]}`, async () => {
      const cells = new Map<string, [string, string]>();
      for (const c of s.cpus) for (const k of s.kernels) cells.set(`${c} ${k}`, [c, k]);
      for (const c of builtinProfileIds()) cells.set(`${c} ${s.kernels[0]}`, [c, s.kernels[0]]);
      for (const k of linux) cells.set(`${s.cpus[0]} ${k}`, [s.cpus[0], k]);
      const outputs = new Set<string>();
      for (const [cpu, k] of cells.values()) {
        for (const e of execSteps(s)) {
          const r = guestRequest(s.file, e.program, e.args, s.cpuSpecs[cpu] ?? cpu, s.kernelVariants[k] ?? resolveLinuxVariant(k), e.files);
          await bothWays(r);
          outputs.add(runGuestInProcess(r).stdout);
        }
      }
      // The cells differ in what the guest sees (else the comparison would say little).
      expect(outputs.size).toBeGreaterThan(1);
    }, 600_000);
  }
});

describe('the in-process guest keeps exec\'s confinement and reports', () => {
  const folder = join(tmp, 'scen');
  mkdirSync(join(folder, 'guests'), { recursive: true });
  mkdirSync(join(folder, 'data'), { recursive: true });
  writeFileSync(join(folder, 'data', 'in.txt'), 'handed-in\n');
  writeFileSync(join(folder, 'data', 'other.txt'), 'not-handed\n');
  writeFileSync(join(folder, 'guests', 'two-streams.c'), [
    '#include <stdio.h>',
    '#include <unistd.h>',
    'int main(int argc, char **argv) {',
    '  char b[64] = ""; FILE *f = fopen("data/in.txt", "r");',
    '  printf("handed: %s\\n", f && fgets(b, sizeof b, f) ? "read" : "refused");',
    '  printf("other: %s\\n", fopen("data/other.txt", "r") ? "read" : "refused");',
    '  printf("passwd: %s\\n", fopen("/etc/passwd", "r") ? "read" : "refused");',
    '  printf("stdin: %zd\\n", read(0, b, sizeof b));',
    '  printf("args: %d %s\\n", argc, argc > 1 ? argv[1] : "-");',
    '  fflush(stdout);',
    '  fprintf(stderr, "to stderr\\n");',
    '  if (argc > 1) *(volatile int *)0 = 1;',
    '  return 3;',
    '}',
    '',
  ].join('\n'));
  const scenarioFile = join(folder, 's.yaml');
  writeFileSync(scenarioFile, '');
  it('files by relative name from the scenario folder, only the handed one; stdin at end of file; exit status', async () => {
    const r = guestRequest(scenarioFile, 'guests/two-streams.c', [], 'intel-skylake-sp', resolveLinuxVariant('linux-6.18'), ['data/in.txt']);
    await bothWays(r);
    const g = guestResult(runGuestInProcess(r));
    expect(g.lines).toEqual({ handed: 'read', other: 'refused', passwd: 'refused', stdin: '0', args: '1 -' });
    expect(g.exit).toBe('3');
    expect(g.stderr).toBe('to stderr\n');
  }, 120_000);
  it('a guest killed by a signal: the same status and the tool\'s line on stderr, and the worker goes on', async () => {
    const r = guestRequest(scenarioFile, 'guests/two-streams.c', ['crash'], 'amd-zen4', resolveLinuxVariant('linux-6.18'));
    await bothWays(r);
    const g = guestResult(runGuestInProcess(r));
    expect(g.exit).toBe('SIGSEGV');
    expect(g.stderr).toMatch(/^to stderr\nxstate-lab: .*: killed by SIGSEGV: /);
    // The next run in this process is unaffected.
    expect(guestResult(runGuestInProcess(guestRequest(scenarioFile, 'guests/two-streams.c', [], 'amd-zen4', resolveLinuxVariant('linux-6.18')))).exit).toBe('3');
  }, 120_000);
});
