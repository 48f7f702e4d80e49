/**
 * The scenario corpus, the run/diff commands and scenario errors. The corpus is the project's
 * main job: every scenario must pass on every CPU and kernel it names.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFiles, scenarioFiles } from '../src/commands/run.js';
import { passed } from '../src/scenario/report.js';
import { guestExecutable } from '../src/scenario/guest.js';
import { closestVariantTo } from '../kernel-model/variants.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-scen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ stdout: string; stderr: string; status: number }> {
  return runProc(process.execPath, [CLI, ...args]);
}

function runProc(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; status: number }> {
  return new Promise((done) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d: Buffer) => err.push(d));
    c.on('close', (code) => done({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), status: code ?? -1 }));
  });
}

describe('the scenario corpus', () => {
  it('has at least 15 scenarios, each citing a source, and every run passes', async () => {
    const files = scenarioFiles([]);
    expect(files.length).toBeGreaterThanOrEqual(15);
    const { outcomes, errors } = await runFiles(files, { jobs: 2 });
    expect(errors).toEqual([]);
    const bad = outcomes.filter((o) => !passed(o)).map((o) => `${o.scenario} ${o.cpu} ${o.variant}: ${o.error ?? o.checks.filter((c) => !c.pass).map((c) => `${c.name} expected ${String(c.expected)} observed ${String(c.observed)}`).join('; ')}`);
    expect(bad).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(30);
  });
  it('gives the same observations on every run (determinism)', async () => {
    const files = scenarioFiles([]);
    const a = await runFiles(files, { jobs: 2 });
    const b = await runFiles(files, { jobs: 1 });
    expect(JSON.stringify(a.outcomes.map((o) => o.observations))).toBe(JSON.stringify(b.outcomes.map((o) => o.observations)));
  });
});

describe('run and diff on the command line', () => {
  it('run prints a table ending in the counts, and TAP and JSON for CI', async () => {
    const t = await cli(['run', '--kernel', 'linux-6.18']);
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    const tap = await cli(['run', '--tap', 'scenarios/pkru-ptrace-write.yaml']);
    expect(tap.stdout).toMatch(/^1\.\.5$/m);
    expect(tap.stdout).not.toMatch(/^not ok/m);
    const j = JSON.parse((await cli(['run', '--json', 'scenarios/pkru-ptrace-write.yaml'])).stdout) as { format: string; runs: { pass: boolean }[] };
    expect(j.format).toBe('xstate-lab.run/1');
    expect(j.runs.every((r) => r.pass)).toBe(true);
  });
  it('a failed expectation makes run exit 1 and shows observed against expected', async () => {
    const f = join(tmp, 'wrong.yaml');
    writeFileSync(f, `name: wrong\nabout: a deliberately wrong expectation\nsource: test\ncpu: intel-skylake-sp\nkernels: [linux-5.14]\ntasks: { t: { state: { pkru: 0x55555550 } } }\nsteps:\n  - stop: t\n  - getregset: { task: t, into: b }\n  - poke: { buf: b, field: pkru, value: 0x2a, xstate-bv: set }\n  - setregset: { task: t, from: b, as: s }\n  - resume: t\n  - read: { task: t, field: pkru, as: t.pkru }\nexpect:\n  linux-5.14: { t.pkru: 0x2a }\n`);
    const r = await cli(['run', f]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAIL t.pkru: expected 0x2a (42), observed 0x55555550 (1431655760)');
  });
  it('diff linux-5.13 -> linux-5.14 reports the PKRU change; a variant against itself reports nothing', async () => {
    const d = await cli(['diff', '--base', 'linux-5.13', '--with', 'linux-5.14']);
    expect(d.stdout).toContain('pkru-ptrace-write on intel-skylake-sp:\n  tracee.pkru: base 0x2a (42), with 0x55555550 (1431655760)');
    const same = await cli(['diff', '--base', 'linux-6.18', '--with', 'linux-6.18']);
    expect(same.stdout.trim().split('\n')).toHaveLength(1);
    expect(same.stdout).toMatch(/0 with user-visible differences/);
  });
  it('a patch module switches behaviours: the 6.2 fix as a patch on 5.14 changes exactly the PKRU scenarios', async () => {
    const d = await cli(['diff', '--base', 'linux-5.14', '--with', 'patches/pkru-fix-on-5.14.ts']);
    expect(d.status).toBe(0);
    expect(d.stdout).toContain('pkru-ptrace-write on intel-skylake-sp:\n  tracee.pkru: base 0x55555550 (1431655760), with 0x2a (42)');
    // Only PKRU scenarios change, and every one of them that writes PKRU through ptrace or KVM does.
    const changed = [...d.stdout.matchAll(/^(\S+) on \S+:$/gm)].map((m) => m[1]);
    expect(changed.length).toBeGreaterThanOrEqual(3);
    expect(changed.every((n) => n.includes('pkru'))).toBe(true);
    expect(changed).toEqual(expect.arrayContaining(['pkru-ptrace-write', 'pkru-ptrace-bit-clear', 'pkru-ptrace-guest']));
    const bad = join(tmp, 'bad-patch.ts');
    writeFileSync(bad, "export default { id: 'x', base: 'linux-6.18', about: '', on: ['no-such-behaviour'] };\n");
    const e = await cli(['diff', '--base', 'linux-6.18', '--with', bad]);
    expect(e.status).toBe(2);
    expect(e.stderr).toContain("unknown behaviour 'no-such-behaviour'");
  });
});

describe('scenario guests are natively-equal on this host', () => {
  const guests = readdirSync(join(import.meta.dirname, '..', 'scenarios', 'guests')).filter((f) => f.endsWith('.c'));
  for (const g of guests) {
    it(`${g}: the same stdout and exit status natively and under exec --cpu host`, async () => {
      const exe = guestExecutable(join(import.meta.dirname, '..', 'scenarios', 'guests', g));
      const native = await runProc(exe, []);
      const sandbox = await runProc(process.execPath, [CLI, 'exec', '--cpu', 'host', '--kernel', closestVariantTo(release()).id, '--', exe]);
      expect(sandbox.stdout).toBe(native.stdout);
      expect(sandbox.status).toBe(native.status);
      expect(native.stdout.length).toBeGreaterThan(0);
    });
  }
});

describe('bad scenarios get one clear line with file, line and column', () => {
  const cases: [string, string, RegExp][] = [
    ['yaml-syntax', 'name: x\nabout: [unclosed\n', /yaml-syntax\.yaml:\d+:\d+: YAML:/],
    ['unknown-step', 'name: x\nabout: a\nsource: s\ncpu: intel-skylake-sp\nkernels: [linux-6.18]\ntasks: { t: {} }\nsteps:\n  - jump: t\nexpect: {}\n', /unknown-step\.yaml:8:5: .*unknown key 'jump'/],
    ['unknown-cpu', 'name: x\nabout: a\nsource: s\ncpu: pentium-9000\nkernels: [linux-6.18]\ntasks: {}\nsteps: []\nexpect: {}\n', /unknown-cpu\.yaml:4:6: unknown CPU 'pentium-9000'/],
    ['unknown-task', 'name: x\nabout: a\nsource: s\ncpu: intel-skylake-sp\nkernels: [linux-6.18]\ntasks: { t: {} }\nsteps:\n  - stop: u\nexpect: {}\n', /unknown-task\.yaml:8:\d+: no task 'u'/],
    ['unknown-kernel', 'name: x\nabout: a\nsource: s\ncpu: intel-skylake-sp\nkernels: [linux-9.9]\ntasks: {}\nsteps: []\nexpect: {}\n', /unknown-kernel\.yaml:5:\d+: unknown kernel variant 'linux-9\.9'/],
  ];
  for (const [name, text, want] of cases) {
    it(name, async () => {
      const f = join(tmp, `${name}.yaml`);
      writeFileSync(f, text);
      const r = await cli(['run', f]);
      expect(r.status, r.stderr + r.stdout).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    });
  }
});
