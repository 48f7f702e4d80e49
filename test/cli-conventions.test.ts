/**
 * The command line's conventions (issue 14, "What a new user hit"): one exit-code rule for every
 * command (0 ok, 1 an expectation failed, 2 bad input or usage, one line on stderr), --version,
 * JSON lists, `run`'s CPU and variant selection and its matrix mode, and `explain CORE` reading
 * the CPU from the core's own notes. Everything runs the built CLI as a user does.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinProfileIds, resolveCpu } from '../emulator/profile.js';
import { defaultProfileId, parseDump } from '../emulator/cpuid-dump.js';
import { ALL_KERNEL_VARIANTS, behaviourInfo } from '../kernel-model/variants.js';
import { NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE } from '../src/explain/abi.js';
import { readCoreNotes, writeNotesCore } from '../src/explain/elf-notes.js';
import { encodeLayoutNote, parseLayoutNote } from '../src/readers/layout-note.js';
import { profileFileText } from '../src/commands/cpu.js';
import { PROFILES_DIR } from '../src/paths.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../src/exit-codes.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
/** Run the built CLI (asynchronously: a blocked vitest worker misses its own RPC deadlines). */
const runAsync = (...args: string[]): Promise<{ code: number; out: string; err: string }> => new Promise((done) => {
  execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT }, (e, out, err) => done({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }));
});
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-conv-'));

/** A usage or input error: exit 2, exactly one line on stderr, no stack trace, nothing on stdout. */
function expectOneLineError(r: { code: number; out: string; err: string }, mentions: (string | RegExp)[]): void {
  expect(r.code, r.err).toBe(EXIT_USAGE);
  const lines = r.err.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^xstate-lab: /);
  expect(r.err).not.toMatch(/\n\s+at .*\.js/);
  expect(r.out).toBe('');
  for (const m of mentions) expect(lines[0]).toMatch(m);
}

/** Every command path, read from --help so a new command is covered the day it is added. */
async function commandPaths(prefix: string[] = []): Promise<string[][]> {
  const help = (await runAsync(...prefix, '--help')).out;
  const section = help.split('\nCommands:\n')[1];
  if (section === undefined) return [prefix];
  const names = [...section.split('\n\n')[0]!.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const out: string[][] = [];
  for (const n of names) out.push(...await commandPaths([...prefix, n]));
  return out;
}

describe('one exit-code rule: usage errors exit 2 with one line', () => {
  let paths: string[][] = [];
  it('--help lists every command and documents the rule', async () => {
    paths = await commandPaths();
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['cpu list', 'cpu import', 'layout', 'explain', 'readers', 'run', 'diff', 'kernel show', 'selfcheck cpu', 'selfcheck getregset', 'exec']));
    const h = (await runAsync('--help'));
    expect(h.code).toBe(EXIT_OK);
    expect(h.out).toContain(`Exit status: ${EXIT_OK} ok; ${EXIT_FAILED} an expectation failed or mismatches were found; ${EXIT_USAGE} bad input or usage`);
    // afterAll: the rule is in every command's help.
    expect((await runAsync('run', '--help')).out).toContain('Exit status:');
  });
  it('an unknown option, for every command, names the option and the command', async () => {
    expect(paths.length).toBeGreaterThan(15);
    for (const p of paths) {
      const r = await runAsync(...p, '--no-such-option');
      // Commander checks required options (layout --cpu) before unknown ones: both are usage errors.
      expectOneLineError(r, [p.join(' '), /unknown option '--no-such-option'|required option '--\S+ <\w+>' not specified/]);
    }
  });
  it('a misspelt option keeps its suggestion on the same line', async () => {
    expectOneLineError((await runAsync('run', '--cpuu', 'x')), [/unknown option '--cpuu'.*Did you mean --cpu\?/]);
  });
  it('a missing argument, a missing option value, a missing required option, an invalid number, too many arguments', async () => {
    expectOneLineError((await runAsync('cpu', 'show')), ['cpu show', "missing required argument 'cpu'"]);
    expectOneLineError((await runAsync('kernel', 'show')), ['kernel show', "missing required argument 'variant'"]);
    expectOneLineError((await runAsync('exec')), ['exec', "missing required argument 'program'"]);
    expectOneLineError((await runAsync('layout', '--cpu')), ["option '--cpu <cpu>' argument missing"]);
    expectOneLineError((await runAsync('layout')), ["required option '--cpu <cpu>' not specified"]);
    expectOneLineError((await runAsync('run', '--jobs', 'many')), ['--jobs', 'expected a whole number']);
    expectOneLineError((await runAsync('cpu', 'list', 'extra')), ['too many arguments']);
  });
  it('an unknown command and a missing command', async () => {
    expectOneLineError((await runAsync('nope')), ["unknown command 'nope'"]);
    expectOneLineError((await runAsync('cpu', 'nope')), ['cpu: ', "unknown command 'nope'"]);
    expectOneLineError((await runAsync('selfcheck', 'nope')), ["unknown command 'nope'"]);
    expectOneLineError((await runAsync()), ['missing command', 'xstate-lab --help']);
    expectOneLineError((await runAsync('kernel')), ['missing command', 'xstate-lab kernel --help']);
    // Help asked for is success, on stdout; help for a command that does not exist is not.
    for (const asked of [['help'], ['help', 'cpu'], ['cpu', '--help'], ['-h']]) {
      const r = await runAsync(...asked);
      expect(r.code, asked.join(' ')).toBe(EXIT_OK);
      expect(r.out).toMatch(/^Usage: xstate-lab/);
    }
    expectOneLineError((await runAsync('help', 'nope')), ["unknown command 'nope'"]);
  });
  it('bad input is 2 as well, a failed expectation 1 (run), success 0', async () => {
    expectOneLineError((await runAsync('layout', '--cpu', 'pentium-pro')), ['pentium-pro']);
    const f = join(tmp, 'wrong.yaml');
    writeFileSync(f, 'name: wrong\nabout: a deliberately wrong expectation\nsource: test\ncpu: intel-skylake-sp\nkernels: [linux-6.18]\ntasks: { t: {} }\nsteps:\n  - read: { task: t, field: xcr0, as: t.xcr0 }\nexpect:\n  all: { t.xcr0: 0x7 }\n');
    expect((await runAsync('run', f)).code).toBe(EXIT_FAILED);
    expect((await runAsync('cpu', 'quirks')).code).toBe(EXIT_OK);
  });
});

describe('--version and JSON lists', () => {
  it('--version prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = (await runAsync(flag));
      expect(r.code).toBe(EXIT_OK);
      expect(r.out.trim()).toBe(pkg.version);
    }
  });
  it('cpu list --json: every built-in profile with the documented fields', async () => {
    const j = JSON.parse((await runAsync('cpu', 'list', '--json')).out) as { format: string; cpus: Record<string, unknown>[] };
    expect(j.format).toBe('xstate-lab.cpu-list/1');
    expect(j.cpus.map((c) => c.id)).toEqual(builtinProfileIds());
    for (const c of j.cpus) {
      expect(Object.keys(c).sort()).toEqual(['cpuidWarnings', 'family', 'id', 'model', 'name', 'source', 'stepping', 'vendor', 'xcr0Supported', 'xssSupported']);
      const m = resolveCpu(c.id as string);
      expect(c).toMatchObject({ vendor: m.profile.vendor, family: m.profile.family, model: m.profile.model, xcr0Supported: `0x${m.xcr0Supported.toString(16)}`, xssSupported: `0x${m.xssSupported.toString(16)}` });
    }
    // The text list is the same list, and warns on stderr about none of the CPUs it merely lists.
    const text = await runAsync('cpu', 'list');
    expect(text.out.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual(builtinProfileIds());
    expect(text.err).toBe('');
    // Each row's warning count is what `cpu show ID` prints when the user names that CPU.
    for (const c of j.cpus.filter((x) => (x.cpuidWarnings as number) > 0).concat(j.cpus.filter((x) => x.cpuidWarnings === 0).slice(0, 1))) {
      const shown = await runAsync('cpu', 'show', c.id as string);
      expect(shown.err.split('\n').filter((l) => l.startsWith('xstate-lab: warning:')), c.id as string).toHaveLength(c.cpuidWarnings as number);
      const row = text.out.split('\n').find((l) => l.split(/\s+/)[0] === c.id)!;
      expect(row.includes('CPUID warning'), row).toBe((c.cpuidWarnings as number) > 0);
    }
  });
  it('kernel list --json: every variant (x86-64 and arm64) with its release, behaviours and their sources', async () => {
    const j = JSON.parse((await runAsync('kernel', 'list', '--json')).out) as { format: string; kernels: { id: string; release: string; proposal: boolean; about: string; behaviours: string[] }[] };
    expect(j.format).toBe('xstate-lab.kernel-list/1');
    expect(j.kernels).toEqual(ALL_KERNEL_VARIANTS.map((v) => ({
      id: v.id, release: v.release, proposal: v.proposal, about: v.about, behaviours: [...v.behaviours], arch: v.arch, personality: v.personality,
      sources: v.sources.length ? [...v.sources] : v.behaviours.map((b) => behaviourInfo(b).source),
    })));
  });
});

describe('run: what is selected, and the matrix', () => {
  const pkru = 'scenarios/pkru-ptrace-write.yaml';
  const sizes = 'scenarios/regset-size-by-cpu.yaml';
  it('an unknown --cpu or --kernel is exit 2 naming it', async () => {
    expectOneLineError((await runAsync('run', '--cpu', 'nope')), ['--cpu', "'nope'"]);
    expectOneLineError((await runAsync('run', '--kernel', 'linux-9')), ['--kernel', "'linux-9'"]);
    expectOneLineError((await runAsync('run', '--matrix', '--kernel', 'linux-6.18,linux-9', pkru)), ["'linux-9'"]);
  });
  it('an empty selection is exit 2, not "0 runs"', async () => {
    // amd-zen1 is a known CPU, but not one of this scenario's.
    expectOneLineError((await runAsync('run', '--cpu', 'amd-zen1', pkru)), ['nothing to run', 'amd-zen1', '--matrix']);
    expectOneLineError((await runAsync('run', '--kernel', 'arch-set-xcr0-v2', pkru)), ['nothing to run', 'arch-set-xcr0-v2']);
    // A CPU without PKRU: no cell of the PKRU scenario can be carried out.
    expectOneLineError((await runAsync('run', '--matrix', '--cpu', 'intel-sandy-bridge', pkru)), ['nothing to run']);
  });
  it('--matrix: scenario x CPU x variant, judged on the scenario own cells, observed elsewhere, n/a saying what is needed', async () => {
    const cpus = ['amd-zen4', 'intel-sandy-bridge', 'intel-skylake-sp'];
    const kernels = ['linux-5.13', 'linux-6.18'];
    const r = (await runAsync('run', '--matrix', '--json', '--cpu', cpus.join(','), '--kernel', kernels.join(','), pkru, sizes));
    expect(r.code, r.err).toBe(EXIT_OK);
    const j = JSON.parse(r.out) as { format: string; cpus: string[]; kernels: string[]; counts: Record<string, number>; cells: { scenario: string; cpu: string; kernel: string; result: string; reason?: string; checks: unknown[]; observations: Record<string, string> }[] };
    expect(j.format).toBe('xstate-lab.matrix/1');
    expect([j.cpus, j.kernels]).toEqual([cpus, kernels]);
    expect(j.cells).toHaveLength(2 * cpus.length * kernels.length);
    const cell = (s: string, c: string, k: string) => j.cells.find((x) => x.scenario === s && x.cpu === c && x.kernel === k)!;
    // Own cells are judged as `run` judges them.
    expect(cell('pkru-ptrace-write', 'intel-skylake-sp', 'linux-5.13')).toMatchObject({ result: 'pass' });
    expect(cell('pkru-ptrace-write', 'intel-skylake-sp', 'linux-5.13').checks.length).toBeGreaterThan(0);
    expect(cell('regset-size-by-cpu', 'amd-zen4', 'linux-6.18')).toMatchObject({ result: 'pass' });
    // Elsewhere: observed, not judged; the observation is the model's (Zen 4's regset size).
    const zen4Old = cell('regset-size-by-cpu', 'amd-zen4', 'linux-5.13');
    expect(zen4Old).toMatchObject({ result: 'observed', checks: [] });
    expect(Number(zen4Old.observations['buf.len'])).toBe(resolveCpu('amd-zen4').standardSize(0x2e7));
    expect(cell('pkru-ptrace-write', 'amd-zen4', 'linux-6.18')).toMatchObject({ result: 'observed' });
    // A CPU without the component the scenario names: not applicable, and why.
    const sandy = cell('pkru-ptrace-write', 'intel-sandy-bridge', 'linux-6.18');
    expect(sandy.result).toBe('n/a');
    expect(sandy.reason).toMatch(/pkru.*PKRU.*intel-sandy-bridge/);
    expect(j.counts).toEqual({ pass: 5, fail: 0, observed: 5, notApplicable: 2 });
    // The table and TAP say the same.
    const t = (await runAsync('run', '--matrix', '--cpu', cpus.join(','), '--kernel', kernels.join(','), pkru, sizes));
    expect(t.out).toMatch(/^pkru-ptrace-write\s+intel-sandy-bridge\s+linux-6\.18\s+n\/a/m);
    expect(t.out).toContain('5 passed, 0 failed');
    const tap = (await runAsync('run', '--matrix', '--tap', '--cpu', cpus.join(','), '--kernel', kernels.join(','), pkru, sizes));
    expect(tap.out).toMatch(/^1\.\.12$/m);
    expect(tap.out).toMatch(/^ok \d+ - pkru-ptrace-write on intel-sandy-bridge with linux-6\.18 # SKIP not applicable: /m);
  });
  it('a scenario file that cannot be loaded is exit 2, and the other files are still reported', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'name: [broken\n');
    for (const matrix of [[], ['--matrix', '--cpu', 'amd-zen4', '--kernel', 'linux-6.18']]) {
      const r = await runAsync('run', ...matrix, bad, sizes);
      expect(r.code).toBe(EXIT_USAGE);
      expect(r.err).toMatch(new RegExp(`^xstate-lab: ${bad.replace(/[.]/g, '\\.')}:\\d+:\\d+: YAML`));
      expect(r.out).toMatch(/^regset-size-by-cpu\s+amd-zen4\s+linux-6\.18\s+pass/m);
    }
  });
  it('--matrix: a failed expectation in an own cell is exit 1; a CPU may be a profile file', async () => {
    const f = join(tmp, 'wrong-matrix.yaml');
    writeFileSync(f, 'name: wrong-matrix\nabout: a deliberately wrong expectation\nsource: test\ncpu: intel-skylake-sp\nkernels: [linux-6.18]\ntasks: { t: {} }\nsteps:\n  - read: { task: t, field: xcr0, as: t.xcr0 }\nexpect:\n  all: { t.xcr0: 0x7 }\n');
    expect((await runAsync('run', '--matrix', '--cpu', 'intel-skylake-sp,amd-zen4', '--kernel', 'linux-6.18', f)).code).toBe(EXIT_FAILED);
    const copy = join(tmp, 'zen4-copy.json');
    copyFileSync(join(PROFILES_DIR, 'amd-zen4.json'), copy);
    const r = (await runAsync('run', '--matrix', '--json', '--cpu', copy, '--kernel', 'linux-6.18', sizes));
    expect(r.code, r.err).toBe(EXIT_OK);
    const cells = (JSON.parse(r.out) as { cells: { cpu: string; result: string; observations: Record<string, string> }[] }).cells;
    expect(cells).toHaveLength(1);
    expect(cells[0]).toMatchObject({ cpu: copy, result: 'observed' });
    expect(cells[0]!.observations['word464']).toBe('0x2e7');
  });
});

describe('smaller items', () => {
  it('readers --runs-on names --runs-on', async () => {
    expectOneLineError((await runAsync('readers', '--cpu', 'amd-zen4', '--runs-on', 'nope')), ['--runs-on:', "'nope'"]);
    expectOneLineError((await runAsync('cpu', 'show', 'nope')), [/<command line>: CPU: 'nope'/]);
  });
  it('an empty mask, file name or environment variable is an error, never a default', async () => {
    expectOneLineError((await runAsync('layout', '--cpu', 'amd-zen4', '--xcr0', '')), ['--xcr0', "got ''"]);
    expectOneLineError((await runAsync('layout', '--cpu', 'amd-zen4', '--compacted', '--xss', '')), ['--xss', "got ''"]);
    expectOneLineError((await runAsync('explain', '--cpu', 'amd-zen4', '--xcr0', '')), ['--xcr0']);
    expectOneLineError((await runAsync('readers', '--cpu', 'amd-zen4', '--xcr0', '')), ['--xcr0']);
    expectOneLineError((await runAsync('cpu', 'import', join(__dirname, 'fixtures', 'dumps', 'cpuid-r', 'host-zen5.txt'), '-o', '')), ['-o', 'empty']);
    expectOneLineError((await runAsync('explain', '--cpu', 'amd-zen4', '--html', '')), ['--html', 'empty']);
    expectOneLineError((await runAsync('exec', '--core', '', '/bin/true')), ['--core', 'empty']);
    expectOneLineError((await runAsync('exec', '-E', 'FOO', '/bin/true')), ['-E', "'FOO'", 'VAR=VALUE']);
    expectOneLineError((await runAsync('exec', '-E', '=x', '/bin/true')), ["'=x'"]);
    expectOneLineError((await runAsync('kernel', 'show', 'linux-6.18', '--cpu', '')), ['--cpu']);
  });
  it('one id rule for a dump: from its content, through cpu import and through --cpu DUMP', async () => {
    const dump = join(tmp, 'some-name.txt');
    copyFileSync(join(__dirname, 'fixtures', 'dumps', 'cpuid-r', 'host-zen5.txt'), dump);
    const id = defaultProfileId(parseDump(readFileSync(dump, 'utf8'), dump));
    const imported = JSON.parse((await runAsync('cpu', 'import', dump)).out) as { id: string; $schema?: string };
    expect(imported.id).toBe(id);
    expect((await runAsync('cpu', 'show', dump)).out.split(':')[0]).toBe(id);
    expect(JSON.parse((await runAsync('layout', '--cpu', dump, '--json')).out).cpu).toBe(id);
    // --id still chooses another.
    expect(JSON.parse((await runAsync('cpu', 'import', dump, '--id', 'mine')).out).id).toBe('mine');
  });
  it('$schema is written only where its relative path resolves (emulator/profiles)', async () => {
    const dump = join(__dirname, 'fixtures', 'dumps', 'cpuid-r', 'host-zen5.txt');
    expect(JSON.parse((await runAsync('cpu', 'import', dump)).out).$schema).toBeUndefined();
    const out = join(tmp, 'imported.json');
    expect((await runAsync('cpu', 'import', dump, '-o', out)).code).toBe(EXIT_OK);
    const p = JSON.parse(readFileSync(out, 'utf8'));
    expect(p.$schema).toBeUndefined();
    expect((await runAsync('cpu', 'show', out)).code).toBe(EXIT_OK);
    // Into emulator/profiles (not written here: other tests list that folder).
    const inside = JSON.parse(profileFileText(p, join(PROFILES_DIR, 'x.json')));
    expect(inside.$schema).toBe('../schema/profile.schema.json');
    expect(readFileSync(join(PROFILES_DIR, inside.$schema), 'utf8')).toContain('"$id"');
  });
});

describe('explain CORE without --cpu: the CPU from the core\'s notes', () => {
  const crash = join(tmp, 'crash.s');
  writeFileSync(crash, '.globl _start\n_start:\n  movq $0, %rax\n  movq (%rax), %rax\n');
  const core = async (cpu: string, kernel: string): Promise<string> => {
    const f = join(tmp, `${cpu}-${kernel}.core`);
    const r = (await runAsync('exec', '--cpu', cpu, '--kernel', kernel, '--core', f, crash));
    expect(r.code, r.err).toBe(128 + 11);
    return f;
  };
  it('a 6.12+ core names its layout: decoded as with --cpu of a CPU with that layout', async () => {
    const f = await core('intel-skylake-sp', 'linux-6.18');
    const r = (await runAsync('explain', f));
    expect(r.code, r.err).toBe(EXIT_OK);
    const [head, ...body] = r.out.split('\n');
    expect(head).toMatch(/^CPU from the core's notes: XCR0 word 0x2ff, 2696 bytes, NT_X86_XSAVE_LAYOUT 2@576\+256 .*9@2688\+8; the built-in CPUs with this layout: .*intel-skylake-sp/);
    const used = /decoded as (\S+)\)$/.exec(head!)![1]!;
    expect(body.join('\n')).toBe((await runAsync('explain', f, '--cpu', used)).out);
    const j = JSON.parse((await runAsync('explain', f, '--json')).out) as { cpu: string; cpuFromCore: { fits: string[]; used: string; xcr0Word: string } };
    expect(j.cpuFromCore).toMatchObject({ used, xcr0Word: '0x2ff' });
    expect(j.cpu).toBe(used);
    // Every CPU that fits lays the image out alike; one that does not (AMD) is not listed.
    expect(j.cpuFromCore.fits).not.toContain('amd-zen4');
  });
  it('a core without NT_X86_XSAVE_LAYOUT (before 6.12), a layout no CPU has, a file that is no core: --cpu is needed', async () => {
    expectOneLineError((await runAsync('explain', await core('amd-zen4', 'linux-6.1'))), ['NT_X86_XSAVE_LAYOUT', '--cpu']);
    const good = readFileSync(await core('amd-zen4', 'linux-6.18'));
    const notes = readCoreNotes(new Uint8Array(good), 'core').notes;
    const image = notes.find((n) => n.type === NT_X86_XSTATE)!.desc;
    const layout = parseLayoutNote(notes.find((n) => n.type === NT_X86_XSAVE_LAYOUT)!.desc);
    layout[layout.length - 1]!.offset += 64;
    const odd = join(tmp, 'odd-layout.core');
    writeFileSync(odd, writeNotesCore([{ name: 'LINUX', type: NT_X86_XSTATE, desc: image }, { name: 'LINUX', type: NT_X86_XSAVE_LAYOUT, desc: encodeLayoutNote(layout) }]));
    expectOneLineError((await runAsync('explain', odd)), [odd, 'NT_X86_XSAVE_LAYOUT', 'no built-in CPU', '--cpu']);
    expectOneLineError((await runAsync('explain', crash)), ['--cpu']);
    expectOneLineError((await runAsync('explain')), ['--cpu']);
  });
});
