/**
 * Malformed scenarios (issue 14): seeded mutations of the corpus files, each loaded through the
 * entry the CLI's workers use (loadScenario, then runAll), must give one InputError line that
 * starts with the file and line:col, never a stack trace, never a hang; a sample goes through the
 * whole CLI (exit 2, one line). And determinism: the same scenario run 100 times gives the same bytes.
 * XSTATE_FUZZ_SEED=N reproduces a run; XSTATE_FUZZ_CASES=N changes the count (at least 1,000 in the suite).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { loadScenario } from '../src/scenario/load.js';
import { runAll } from '../src/scenario/run.js';
import { formatJson, formatTable, formatTap } from '../src/scenario/report.js';
import { breather } from './yield.js';

const ROOT = join(import.meta.dirname, '..');
const CORPUS = join(ROOT, 'scenarios');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const SEED = Number(process.env.XSTATE_FUZZ_SEED ?? 0x14c0ffee);
const CASES = Math.max(1000, Number(process.env.XSTATE_FUZZ_CASES ?? 1200));
/** Per case: loading a scenario takes milliseconds; anything near this is a hang. */
const CASE_LIMIT_MS = 3000;
const CLI_SAMPLE = 20;
const CLI_PARALLEL = 5;

function cliRun(file: string): Promise<{ status: number; stderr: string }> {
  return new Promise((done) => {
    const c = spawn(process.execPath, [CLI, 'run', '--jobs', '1', file], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    const err: Buffer[] = [];
    c.stderr.on('data', (d: Buffer) => err.push(d));
    c.on('close', (code) => done({ status: code ?? -1, stderr: Buffer.concat(err).toString() }));
  });
}

/** mulberry32: a small seeded generator, so a failing case can be reproduced from the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'xstate-scen-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// The cases live in a copy of the corpus folder, so guests/ exists beside them, plus a link out of it.
cpSync(join(CORPUS, 'guests'), join(tmp, 'guests'), { recursive: true });
symlinkSync('/etc/passwd', join(tmp, 'guests', 'link-out'));
const corpus = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ name: f, text: readFileSync(join(CORPUS, f), 'utf8') }));

/** A mutation: new text, or undefined when it does not apply to this text. `mayPass`: the result can be a valid scenario. */
interface Mutation { kind: string; mayPass?: boolean; apply: (text: string, r: () => number) => string | undefined }

const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)];
/** Replace one random regex match (group 1 is kept, the rest replaced by `by`). */
function replaceOne(text: string, re: RegExp, r: () => number, by: (m: RegExpExecArray) => string, before = text.length, after = 0): string | undefined {
  const ms = [...text.matchAll(re)].filter((m) => m.index! < before && m.index! >= after);
  if (!ms.length) return undefined;
  const m = pick(ms, r) as RegExpExecArray;
  return text.slice(0, m.index) + by(m) + text.slice(m.index! + m[0].length);
}
const expectAt = (t: string): number => t.search(/^expect:/m);
/** Where the tasks begin: numbers before are prose (about, source). */
const tasksAt = (t: string): number => Math.max(0, t.search(/^tasks:/m));
const bigPow = (n: number): string => (1n << BigInt(n)).toString();
/** A field value or argument out of every range: below 0, not an integer, or wider than the widest field (a 1024-byte tile). */
const HUGE = ['-1', '1e300', '1.5', bigPow(8200), `0x1${'0'.repeat(2060)}`, '-0x1', '.inf', '.nan'];
const BAD_PATHS = ['../../../../../../etc/passwd', '/dev/zero', '/etc/passwd', 'guests/link-out', 'guests', 'guests/no-such.c', '..', './', '"../guests/pkru-tracer.c"', '/proc/self/mem'];
const BAD_FIELDS = ['zmm16_h', 'zmm32', 'xmm16', 'st8', 'k8', 'pkru.q1', 'zmm3.o1', 'bytes@5', 'bytes@0:0', 'tmm8', 'ymm3.ymm_h', 'banana', '""'];

const MUTATIONS: Mutation[] = [
  // Truncation may leave a valid scenario (cut after the last expectation): then it must run without a crash.
  { kind: 'truncate', mayPass: true, apply: (t, r) => t.slice(0, Math.floor(r() * t.length)) },
  // A short regset (8 bytes, a legacy region without header, ...): valid, and every later step that needs more says so at its place.
  { kind: 'short-buffer', mayPass: true, apply: (t, r) => replaceOne(t, /(getregset: \{ )((?:task: [\w-]+, )?)(len: \d+, )?/g, r, (m) => `${m[1]}${m[2]}len: ${pick([0, 8, 16, 512, 520, 576, 1024, 2048], r)}, `) },
  { kind: 'wrong-type', apply: (t, r) => replaceOne(t, /(\b[\w.-]+: )(?!>)([^\s,{}[\]#][^,{}[\]\n#]*)/g, r, (m) => `${m[1]}${pick(['[[1]]', '{ zz9: [[1]] }', '[{ a: [] }]'], r)}`, t.length, tasksAt(t)) },
  { kind: 'wrong-top-type', apply: (t, r) => { const k = pick(['name', 'about', 'source', 'cpu', 'kernels', 'tasks', 'steps', 'expect'], r); return replaceOne(t, new RegExp(`^(${k}:)[^\\n]*(\\n[ -][^\\n]*)*`, 'mg'), r, (m) => `${m[1]} ${pick(k === 'kernels' || k === 'steps' ? ['linux-6.18', '42', '{ a: 1 }'] : k === 'tasks' || k === 'expect' ? ['[]', '42', 'text'] : ['42', '{ a: 1 }', '[]', '[[1]]'], r)}`); } },
  { kind: 'unknown-key-top', apply: (t, r) => { const lines = t.split('\n'); const tops = lines.map((l, i) => (/^[a-z]+:/.test(l) ? i : -1)).filter((i) => i >= 0); const i = pick(tops, r); lines.splice(i, 0, `${pick(['bogus', 'cpus', 'kernel', 'step', 'Name'], r)}: 1`); return lines.join('\n'); } },
  { kind: 'unknown-key-step', apply: (t, r) => replaceOne(t, /^(\s+- [\w-]+: \{ )/gm, r, (m) => `${m[1]}${pick(['bogus', 'lenght', 'xstate_bv', 'Task'], r)}: 1, `) },
  { kind: 'unknown-step', apply: (t, r) => replaceOne(t, /^(\s+- )([\w-]+)(:)/gm, r, (m) => `${m[1]}${pick(['jump', 'wait', 'cont', 'pokes', 'getregsets'], r)}${m[3]}`) },
  { kind: 'huge-number', apply: (t, r) => replaceOne(t, /(: |\[|, )(-?(?:0x[0-9a-f]+|\d+))(?=[\s,}\]])/gi, r, (m) => `${m[1]}${pick(HUGE, r)}`, expectAt(t), tasksAt(t)) },
  // A bad program or cpu: path, or (exec steps) a bad file handed to the guest.
  { kind: 'bad-path', apply: (t, r) => (t.includes('program:') && r() < 0.5
    ? replaceOne(t, /(program: [^\s,}]+)/g, r, (m) => `${m[1]}, files: [${pick(BAD_PATHS, r)}]`)
    : replaceOne(t, /((?:program|^cpu): )([^\s,}]+)/gm, r, (m) => `${m[1]}${pick(BAD_PATHS, r)}`)) },
  { kind: 'bad-field', apply: (t, r) => replaceOne(t, /((?:field|state|fields): \{? ?)([a-z][\w.@:]*)/g, r, (m) => `${m[1]}${pick(BAD_FIELDS, r)}`) },
  { kind: 'bad-reference', apply: (t, r) => replaceOne(t, /(\b(?:task|buf|from|frame|vcpu): )([\w-]+)/g, r, (m) => `${m[1]}zz_${m[2]}_nope`) },
  { kind: 'bad-kernel-or-cpu', apply: (t, r) => replaceOne(t, /(\b(?:linux-\d+\.\d+)|\bintel-[\w-]+|\bamd-zen\d)(?=[\],\s])/g, r, (m) => `${m[1]}9`, expectAt(t)) },
  { kind: 'yaml-break', apply: (t, r) => {
    const i = t.indexOf('\n', Math.floor(r() * t.length)) + 1;
    const junk = pick(['zz: { a: [\n', '"unclosed\n', '\tname: tab\n', 'name: twice\n', '---\nname: second\n', 'x: @at\n', 'x: `tick\n', ': :\n', 'x: &a 1\ny: *b\n', '- a\nb: c\n', '%YAML 9.9\n'], r);
    // A duplicate or a second document anywhere; the others at the start of a line outside block scalars (top level).
    return junk.startsWith('name: twice') || junk.startsWith('---') ? `${t}${t.endsWith('\n') ? '' : '\n'}${junk}` : i > 0 && !/^\s/.test(t.slice(i)) ? t.slice(0, i) + junk + t.slice(i) : `${junk}${t}`;
  } },
  { kind: 'alias-bomb', apply: (t, r) => {
    const width = 10 + Math.floor(r() * 10), depth = 3 + Math.floor(r() * 4);
    const lines = [`zz0: &z0 [${Array(width).fill('lol').join(', ')}]`];
    for (let d = 1; d < depth; d++) lines.push(`zz${d}: &z${d} [${Array(width).fill(`*z${d - 1}`).join(', ')}]`);
    return `${lines.join('\n')}\n${t}`;
  } },
];

interface Case { id: number; kind: string; source: string; file: string; mayPass: boolean }

function makeCases(): Case[] {
  const r = rng(SEED);
  const cases: Case[] = [];
  for (let id = 0; cases.length < CASES; id++) {
    const src = pick(corpus, r);
    const m = MUTATIONS[id % MUTATIONS.length];
    const text = m.apply(src.text, r);
    if (text === undefined || text === src.text) continue;
    const file = join(tmp, `case-${id}.yaml`);
    writeFileSync(file, text);
    cases.push({ id, kind: m.kind, source: src.name, file, mayPass: m.mayPass === true });
  }
  return cases;
}

const ONE_LINE_WITH_PLACE = (file: string): RegExp => new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: [^\\n]+$`);

describe(`malformed scenarios (seed ${SEED})`, () => {
  const cases = makeCases();
  const rejected: Case[] = [];
  it(`${CASES} mutants: each an InputError at file:line:col, or (a truncation) a valid scenario that runs`, async () => {
    const breathe = breather();
    const bad: string[] = [];
    const kinds = new Map<string, number>();
    let accepted = 0, runErrors = 0;
    for (const c of cases) {
      await breathe();
      const t0 = performance.now();
      const what = `case ${c.id} (${c.kind} of ${c.source}, seed ${SEED})`;
      try {
        const s = loadScenario(c.file);
        // A valid scenario: it must run (no guests, exec or arm64 spawn: they take seconds) with errors at their step's place.
        if (!c.mayPass) { bad.push(`${what}: accepted`); continue; }
        accepted++;
        if (!s.steps.some((st) => 'exec' in st || 'spawn' in st)) {
          for (const o of runAll(s)) {
            if (!o.error) continue;
            runErrors++;
            if (!ONE_LINE_WITH_PLACE(c.file).test(o.error)) bad.push(`${what}: run error without a place: ${o.error}`);
          }
        }
      } catch (e) {
        if (!(e instanceof InputError)) bad.push(`${what}: ${(e as Error).stack}`);
        else if (!ONE_LINE_WITH_PLACE(c.file).test(e.message)) bad.push(`${what}: ${e.message}`);
        else { rejected.push(c); kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1); }
      }
      const ms = performance.now() - t0;
      if (ms > CASE_LIMIT_MS) bad.push(`${what}: took ${ms.toFixed(0)} ms`);
    }
    expect(bad.slice(0, 20)).toEqual([]);
    // Every kind of mutation was tried and rejected many times; truncations that stay valid are few.
    for (const m of MUTATIONS.filter((x) => !x.mayPass)) expect(kinds.get(m.kind) ?? 0, m.kind).toBeGreaterThanOrEqual(Math.floor(CASES / MUTATIONS.length / 2));
    expect(accepted).toBeLessThanOrEqual(cases.filter((c) => c.mayPass).length);
    expect(runErrors).toBeGreaterThan(0); // the short buffers did reach steps that need more
    expect(rejected.length).toBeGreaterThanOrEqual(CASES - accepted);
  }, 300_000);
  it(`a sample of ${CLI_SAMPLE} through the CLI: exit 2, one line naming file:line:col, no stack trace`, async () => {
    const r = rng(SEED ^ 0x5a5a);
    const sample = Array.from({ length: CLI_SAMPLE }, () => pick(rejected, r));
    // A few at a time: each CLI start mostly waits on module loading.
    const results: { c: Case; p: { status: number; stderr: string } }[] = [];
    for (let i = 0; i < sample.length; i += CLI_PARALLEL) {
      results.push(...await Promise.all(sample.slice(i, i + CLI_PARALLEL).map(async (c) => ({ c, p: await cliRun(c.file) }))));
    }
    for (const { c, p } of results) {
      const what = `case ${c.id} (${c.kind} of ${c.source}, seed ${SEED}): ${p.stderr}`;
      expect(p.status, what).toBe(2);
      const lines = p.stderr.trim().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0].replace(/^xstate-lab: /, ''), what).toMatch(ONE_LINE_WITH_PLACE(c.file));
      expect(p.stderr, what).not.toMatch(/^\s+at /m);
    }
  }, 300_000);
});

describe('determinism', () => {
  // Scenarios whose steps cover tasks, regsets, signal frames, cores, readers, KVM and ARCH_SET_XCR0.
  const chosen = ['pkru-ptrace-write', 'core-pkru-is-thread-pkru', 'sigframe-missing-magic2', 'gdb-reads-amd-layout', 'kvm-pkru-rule', 'arch-set-xcr0-user-view'];
  it('each scenario loaded and run 100 times gives identical report bytes and buffers', async () => {
    const breathe = breather();
    for (const name of chosen) {
      const file = join(CORPUS, `${name}.yaml`);
      const report = (): string => {
        const out = runAll(loadScenario(file));
        const bufs = out.map((o) => Object.entries(o.buffers).map(([k, b]) => `${k}=${Buffer.from(b).toString('hex')}`).join(';'));
        return [formatJson(out), formatTable(out, true), formatTap(out), ...bufs].join('\n');
      };
      const first = report();
      expect(first).toContain('"pass": true');
      for (let i = 1; i < 100; i++) {
        await breathe();
        const again = report();
        if (again !== first) expect(again, `${name}: run ${i + 1} differs`).toBe(first);
      }
    }
  }, 120_000);
});
