/**
 * `run --matrix` on a pool of long-lived workers fed one file on one CPU at a time
 * (src/commands/run.ts runMatrix): the same bytes on every run and for any number of workers,
 * cells in file, CPU, kernel order, and a file that cannot be loaded reported once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinProfileIds } from '../emulator/profile.js';
import { KERNEL_VARIANTS } from '../kernel-model/variants.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-matrix-pool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    p.on('error', fail);
    p.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** A guest-program scenario (its 104 cells run in the workers), model-level ones, a NetBSD one. */
const FILES = ['pkru-ptrace-guest.yaml', 'regset-size-by-cpu.yaml', 'xsave-boot-options.yaml', 'netbsd-core-note.yaml', 'amx-sigframe-size.yaml'].map((f) => join(ROOT, 'scenarios', f));

describe('run --matrix on a worker pool', () => {
  it('the same bytes twice on 2 workers and once on 1, every cell in file, CPU, kernel order', async () => {
    const [a, b, one] = [await cli(['run', '--matrix', '--json', '--jobs', '2', ...FILES]), await cli(['run', '--matrix', '--json', '--jobs', '2', ...FILES]), await cli(['run', '--matrix', '--json', '--jobs', '1', ...FILES])];
    expect(a.code, a.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(one.stdout).toBe(a.stdout);
    const m = JSON.parse(a.stdout) as { cells: { file: string; cpu: string; kernel: string; result: string }[]; counts: Record<string, number> };
    const cpus = builtinProfileIds();
    const kernels = KERNEL_VARIANTS.map((v) => v.id);
    expect(m.cells).toHaveLength(FILES.length * cpus.length * kernels.length);
    const want = FILES.flatMap((f) => cpus.flatMap((c) => kernels.map((k) => `${f} ${c} ${k}`)));
    expect(m.cells.map((c) => `${c.file} ${c.cpu} ${c.kernel}`)).toEqual(want);
    // The guest's cells ran (observed or judged), not only "not applicable".
    expect(m.cells.filter((c) => c.file.endsWith('pkru-ptrace-guest.yaml') && c.result !== 'n/a').length).toBeGreaterThan(cpus.length);
  }, 600_000);
  it('the table is the same bytes twice but for its timing line', async () => {
    const args = ['run', '--matrix', '--kernel', 'linux-6.2,linux-6.18', ...FILES];
    const [a, b] = [await cli(args), await cli(args)];
    const body = (s: string): string => s.replace(/cells in [0-9.]+ s\n$/, 'cells in T s\n');
    expect(a.code, a.stderr).toBe(0);
    expect(body(b.stdout)).toBe(body(a.stdout));
    expect(a.stdout).toMatch(/5 scenario files x 13 CPUs x 2 kernel variants, 130 cells in [0-9.]+ s\n$/);
  }, 600_000);
  it('a file that cannot be loaded is one error line (not one per CPU); the other files still run; exit 2', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'name: x\nabout: [unclosed\n');
    const r = await cli(['run', '--matrix', '--json', '--kernel', 'linux-6.18', bad, FILES[1]]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('xstate-lab:') && !l.includes('warning'))).toEqual([expect.stringMatching(/^xstate-lab: .*bad\.yaml:\d+:\d+: YAML:/)]);
    expect((JSON.parse(r.stdout) as { cells: unknown[] }).cells).toHaveLength(builtinProfileIds().length);
  }, 600_000);
});
