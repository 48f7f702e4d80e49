/**
 * Bad input never breaks the loaders (issue 14, "Bad input"): seeded, reproducible mutations of
 * committed profiles, fixture CPUID dumps and a small static ELF built here. Each case must load
 * or throw the project's InputError naming the file and a place, on one line, quickly; never
 * another exception, never a hang. A sample of the refused cases goes through the built CLI,
 * which must exit 2 with exactly one line on stderr and no stack trace.
 *
 * Reproduce a run: XSTATE_FUZZ_SEED=<seed printed below> npx vitest run test/input-fuzz.test.ts
 * (XSTATE_FUZZ_SEED=random draws a new seed; XSTATE_FUZZ_CASES sets the cases per kind).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setCpuidWarningSink } from '../emulator/cpuid-consistency.js';
import { builtinProfileIds, builtinProfilePath, resolveCpu } from '../emulator/profile.js';
import { InputError } from '../src/errors.js';
import { layoutProcess, parseElf } from '../src/loader/elf.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
/** Fixed by default so that CI is deterministic; any seed reproduces its own run. */
const DEFAULT_SEED = 0x14f022;
const SEED = ((): number => {
  const s = process.env.XSTATE_FUZZ_SEED;
  if (s === 'random') return Math.floor(Math.random() * 2 ** 31);
  return s ? Number(s) >>> 0 : DEFAULT_SEED;
})();
/** The issue asks for at least 1,000 malformed inputs per kind per run. */
const CASES = Math.max(1000, Number(process.env.XSTATE_FUZZ_CASES ?? 1000));
/** A loader that takes longer than this on one small input has a hang or a blow-up. */
const MAX_MS_PER_CASE = 2000;
/** Refused cases per kind that also go through the built CLI. */
const CLI_SAMPLE = 20;

/** mulberry32: a small seeded generator, enough for test inputs. */
function rng(seed: number): { int(n: number): number; pick<T>(a: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

interface Outcome { loaded: number; refused: number; failures: string[]; maxMs: number; refusedFiles: string[]; loadedFiles: string[]; impossibleCpus: number }

/** Run one case: it loads, or throws an InputError naming `file` and a place on one line. */
function runCase(o: Outcome, what: string, file: string, load: () => void): void {
  const t0 = performance.now();
  try {
    load();
    o.loaded++;
    o.loadedFiles.push(file);
  } catch (e) {
    if (!(e instanceof InputError)) {
      o.failures.push(`${what}: ${(e as Error)?.constructor?.name ?? typeof e} instead of InputError: ${(e as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}`);
    } else if (e.file !== file) {
      o.failures.push(`${what}: the error names '${e.file}', not the file: ${e.message}`);
    } else if (!e.place) {
      o.failures.push(`${what}: no place in the error: ${e.message}`);
    } else if (!e.message.startsWith(`${file}: `) || !e.message.includes(': ', file.length + 2) || /[\r\n\u2028\u2029]/.test(e.message)) {
      o.failures.push(`${what}: not one 'file: place: detail' line: ${JSON.stringify(e.message)}`);
    } else {
      o.refused++;
      o.refusedFiles.push(file);
      // Refused by a rule of emulator/cpuid-consistency.ts (each cites the SDM section).
      if (/Intel SDM Vol\. [12]A? ?[0-9.]*|CPUID\.\(0DH/.test(e.detail) && !/disagrees/.test(e.detail)) o.impossibleCpus++;
    }
  }
  const ms = performance.now() - t0;
  o.maxMs = Math.max(o.maxMs, ms);
  if (ms > MAX_MS_PER_CASE) o.failures.push(`${what}: took ${ms.toFixed(0)} ms`);
}

const newOutcome = (): Outcome => ({ loaded: 0, refused: 0, failures: [], maxMs: 0, refusedFiles: [], loadedFiles: [], impossibleCpus: 0 });
const report = (kind: string, o: Outcome): string =>
  `${kind}: ${o.loaded + o.refused + o.failures.length} cases (seed ${SEED}): ${o.loaded} loaded, ${o.refused} refused with file and place (${o.impossibleCpus} as impossible CPUs), ${o.failures.length} failures; slowest ${o.maxMs.toFixed(1)} ms`;

/** The built CLI on `args`: exit status and stderr. */
function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (status) => { clearTimeout(timer); resolve({ status, stderr }); });
  });
}

/** Up to CLI_SAMPLE refused files, spread over the run, through the CLI, two at a time. */
async function cliSample(o: Outcome, argsFor: (file: string, k: number) => string[]): Promise<string[]> {
  const step = Math.max(1, Math.floor(o.refusedFiles.length / CLI_SAMPLE));
  const files = o.refusedFiles.filter((_, k) => k % step === 0).slice(0, CLI_SAMPLE);
  const bad: string[] = [];
  for (let k = 0; k < files.length; k += 2) {
    const runs = await Promise.all(files.slice(k, k + 2).map(async (f, j) => ({ args: argsFor(f, k + j), r: await cli(argsFor(f, k + j)) })));
    for (const { args, r } of runs) {
      const lines = r.stderr.replace(/\n$/, '').split('\n');
      const file = args.find((x) => x.startsWith(tmp))!;
      if (r.status !== 2 || lines.length !== 1 || /\n\s+at /.test(r.stderr) || !lines[0].includes(file)) {
        bad.push(`xstate-lab ${args.join(' ')}: exit ${r.status}, stderr ${JSON.stringify(r.stderr.slice(0, 400))}`);
      }
    }
  }
  expect(files.length).toBeGreaterThan(0);
  return bad;
}

const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-fuzz-'));
let profileFiles: string[] = [];
let dumpFiles: string[] = [];
let elfOutcome: Outcome | undefined;
const warnings: string[] = [];
beforeAll(() => {
  console.log(`input fuzz: seed ${SEED}, ${CASES} cases per kind (XSTATE_FUZZ_SEED=${SEED} reproduces this run)`);
  setCpuidWarningSink((l) => warnings.push(l));
});
afterAll(() => {
  setCpuidWarningSink((l) => process.stderr.write(l + '\n'));
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Profiles
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type R = ReturnType<typeof rng>;

/** Every [container, key] in a JSON value, for picking what to break. */
function slots(v: Json, out: [Json[] | { [k: string]: Json }, string | number][] = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, k) => { out.push([v, k]); slots(x, out); });
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([v, k]); slots(x, out); }
  return out;
}
const set = (c: Json[] | { [k: string]: Json }, k: string | number, v: Json): void => { (c as Record<string | number, Json>)[k] = v; };

const WRONG_VALUES: Json[] = [42, -1, 1.5, 0, 'x', '', null, true, false, [], {}, [1, 2, 3, 4], '0x00000000', { a: 1 }, ['0x0', '0x1']];
const BAD_HEX = ['0x1', '0X00000000', '0x0000000G', '00000000', '0x000000000', '0xFFFFFFFF', '-0x1', ' 0x00000000', '0x00000000 ', '0x', '', '0x0000 000', '１２３'];
const HUGE: Json[] = [1e300, 2 ** 53, 2 ** 64, -1, 1.5, 1e-300, Number.MAX_SAFE_INTEGER, -(2 ** 63), 4294967296];
const BAD_KEYS = ['D', '0000000d.', '0000000D', '0000000d.123456789', '0000000d.zz', '', '0000000d.00.00', 'ffffffff.ffffffff', '0000000d.0'];

function mutateProfile(r: R, base: { [k: string]: Json }): { json: Json; what: string[] } {
  const p = structuredClone(base) as { [k: string]: Json };
  const cpuid = p.cpuid as { [k: string]: string[] };
  const what: string[] = [];
  const xsaveKeys = (): string[] => Object.keys(cpuid).filter((k) => /^0000000(0|1|7|d)/.test(k));
  // A quarter of the cases only contradict leaf 0DH (valid JSON, valid hex): the consistency rules' share.
  const onlyLeafD = r.chance(0.25);
  const n = 1 + r.int(3);
  for (let m = 0; m < n; m++) {
    const all = slots(p);
    switch (onlyLeafD ? 3 : r.int(10)) {
      case 0: { const [c, k] = r.pick(all); const v = r.pick(WRONG_VALUES); set(c, k, structuredClone(v)); what.push(`${k}=${JSON.stringify(v)}`); break; }
      case 1: { const [c, k] = r.pick(all); if (Array.isArray(c)) c.splice(k as number, 1); else delete c[k]; what.push(`delete ${k}`); break; }
      case 2: { const k = r.pick(Object.keys(cpuid)); const i = r.int(4); const v = r.pick(BAD_HEX); if (Array.isArray(cpuid[k])) cpuid[k][i] = v; what.push(`${k}[${i}]=${v}`); break; }
      case 3:
      case 4: {
        // Contradictory leaves: valid hex, flipped bits in the leaves the rules read.
        const keys = xsaveKeys().filter((k) => !onlyLeafD || k.startsWith('0000000d'));
        if (keys.length === 0 || !Array.isArray(cpuid[keys[0]])) break;
        const k = r.pick(keys); const i = r.int(4);
        const old = parseInt(String(cpuid[k]?.[i]), 16) >>> 0;
        const flip = r.chance(0.7) ? 1 << r.int(32) : r.int(2 ** 32);
        if (Array.isArray(cpuid[k])) cpuid[k][i] = '0x' + ((old ^ flip) >>> 0).toString(16).padStart(8, '0');
        what.push(`${k}[${i}]^=${flip >>> 0}`);
        break;
      }
      case 5: { const c = r.pick([p, p.source, p.kernel ?? p, p.measured ?? p]) as { [k: string]: Json }; const k = r.pick(['family', 'model', 'stepping', 'logical_cpu', 'context_size', 'minsigstksz', 'xstate_regset_size']); if (c && typeof c === 'object') c[k] = r.pick(HUGE); what.push(`${k}=huge`); break; }
      case 6: { const k = r.pick(BAD_KEYS); cpuid[k] = ['0x00000000', '0x00000000', '0x00000000', '0x00000000']; what.push(`cpuid key ${k}`); break; }
      case 7: { const objs = all.map(([c, k]) => (c as Record<string | number, Json>)[k]).filter((v) => v && typeof v === 'object' && !Array.isArray(v)) as { [k: string]: Json }[]; const o = objs.length ? r.pick(objs) : p; o[r.pick(['extra', 'Id', 'cpuid2', '0000000d.99', '__proto__x'])] = 1; what.push('unknown key'); break; }
      case 8: { const sub = r.int(20).toString(16).padStart(2, '0'); const key = `0000000d.${sub}`; if (r.chance(0.5)) delete cpuid[key]; else cpuid[key] = [0, 1, 2, 3].map(() => '0x' + r.int(2 ** 32).toString(16).padStart(8, '0')); what.push(`sub-leaf ${sub}`); break; }
      default: { p.quirks = r.chance(0.5) ? [{ id: 'made-up', evidence: 'e' }] : [{ id: 1 } as unknown as Json]; what.push('quirks'); break; }
    }
  }
  return { json: p, what };
}

/** Text-level damage after serialising: truncation, stray bytes, a lost brace. */
function damageText(r: R, text: string, what: string[]): string {
  const c = r.int(20);
  if (c < 3) { const at = r.int(text.length); what.push(`truncated at ${at}`); return text.slice(0, at); }
  if (c < 4) { const at = r.int(text.length); what.push(`garbage at ${at}`); return text.slice(0, at) + r.pick(['\u0000', '}', ',', '"', '\\', 'NaN', '\uFFFD', '{{']) + text.slice(at); }
  if (c < 5) { what.push('no opening brace'); return text.replace('{', ''); }
  return text;
}

describe('malformed profiles', () => {
  it(`${CASES} mutations of committed profiles: each loads or gets an InputError with file and JSON pointer or line`, () => {
    const r = rng(SEED ^ 0x9e3779b9);
    const bases = builtinProfileIds().map((id) => JSON.parse(readFileSync(builtinProfilePath(id), 'utf8')) as { [k: string]: Json });
    expect(bases.length).toBeGreaterThan(5);
    const o = newOutcome();
    for (let i = 0; i < CASES; i++) {
      const { json, what } = mutateProfile(r, r.pick(bases));
      const text = damageText(r, JSON.stringify(json, null, r.chance(0.5) ? 2 : undefined), what);
      const file = join(tmp, `profile-${i}.json`);
      writeFileSync(file, text);
      runCase(o, `profile case ${i} (${what.join('; ')})`, file, () => {
        const cpu = resolveCpu(file);
        // What `layout` and `cpu show` compute next must not break on an accepted profile.
        cpu.standardSize(cpu.xcr0Supported);
        cpu.compactedLayout((cpu.xcr0Supported | cpu.xssSupported) >>> 0);
      });
    }
    console.log(report('profiles', o));
    expect(o.failures.slice(0, 10)).toEqual([]);
    expect(o.impossibleCpus).toBeGreaterThan(50); // the contradictory-leaf mutations reach the rules
    expect(o.refused).toBeGreaterThan(CASES / 2); // the mutations do break things
  });
});

// ---------------------------------------------------------------------------------------------
// CPUID dumps
// ---------------------------------------------------------------------------------------------

const DUMP_DIRS = ['cpuid-r', 'instlatx64', 'old-format'];
const GARBAGE_LINES = ['CPUID zz', 'CPUID 0000000D: 1-2-3-4', '0x0000000d 0x00: eax=0x1', 'CPU 0:', 'CPU:', '------[ Logical CPU #0 ]------', '------[ CPUID Registers / Logical CPU #1 ]------',
  '\u0000\u0001\u0002', 'eax=0x00000000', '   0xffffffff 0xffffffff: eax=0xffffffff ebx=0xffffffff ecx=0xffffffff edx=0xffffffff', 'CPUID FFFFFFFF: FFFFFFFF-FFFFFFFF-FFFFFFFF-FFFFFFFF [SL FFFFFFFF]', '#', '', ' '.repeat(10_000)];

function mutateDump(r: R, text: string): { text: string; what: string[] } {
  let lines = text.split('\n');
  const what: string[] = [];
  const regIdx = (): number => { const c = lines.map((l, k) => (/(CPUID [0-9A-Fa-f]{8}:|0x[0-9a-f]{8} 0x)/.test(l) ? k : -1)).filter((k) => k >= 0); return c.length ? r.pick(c) : r.int(lines.length); };
  const onlyLeafD = r.chance(0.25); // as for profiles: only bit flips in leaf 0DH lines
  const n = 1 + r.int(3);
  for (let m = 0; m < n; m++) {
    switch (onlyLeafD ? 5 : r.int(9)) {
      case 0: { const at = r.int(lines.length + 1); lines = lines.slice(0, at); what.push(`cut at line ${at}`); break; }
      case 1: { const at = r.int(lines.length + 1); const g = r.pick(GARBAGE_LINES); lines.splice(at, 0, g); what.push(`garbage line ${at}`); break; }
      case 2: {
        // Bad hex: a digit replaced, removed or doubled.
        const k = regIdx(); const l = lines[k] ?? ''; const hexAt = [...l.matchAll(/[0-9A-Fa-f]/g)].map((x) => x.index!);
        if (hexAt.length) { const at = r.pick(hexAt); lines[k] = l.slice(0, at) + r.pick(['G', '', 'ff', 'x', '-', ' ']) + l.slice(at + 1); }
        what.push(`bad hex line ${k + 1}`); break;
      }
      case 3: { const k = regIdx(); lines.splice(k + 1 + r.int(5), 0, lines[k] ?? ''); what.push(`duplicate line ${k + 1}`); break; }
      case 4: {
        // Duplicate leaf with another value: a conflicting second answer.
        const k = regIdx(); const l = lines[k] ?? ''; const hexAt = [...l.matchAll(/(?<=[-=]0x|[-=:] ?)[0-9A-Fa-f]/g)].map((x) => x.index!);
        const copy = hexAt.length ? (() => { const at = r.pick(hexAt); return l.slice(0, at) + (l[at] === '0' ? '1' : '0') + l.slice(at + 1); })() : l;
        lines.splice(k + 1, 0, copy); what.push(`conflicting duplicate of line ${k + 1}`); break;
      }
      case 5: {
        // Contradictory leaves: flip a bit in a leaf 0, 1, 7 or 0xD register.
        const cands = lines.map((l, k) => ((onlyLeafD ? /(CPUID 0000000D:|0x0000000d 0x)/i : /(CPUID 0000000[017D]:|0x0000000[017d] 0x)/i).test(l) ? k : -1)).filter((k) => k >= 0);
        if (!cands.length) break;
        const k = r.pick(cands); const l = lines[k]; const hexAt = [...l.matchAll(/[0-9A-Fa-f]/g)].map((x) => x.index!).filter((x) => x > 20);
        if (hexAt.length) { const at = r.pick(hexAt); lines[k] = l.slice(0, at) + (parseInt(l[at], 16) ^ (1 << r.int(4))).toString(16).toUpperCase() + l.slice(at + 1); }
        what.push(`bit flip line ${k + 1}`); break;
      }
      case 6: { const k = r.int(lines.length); lines.splice(k, 1); what.push(`delete line ${k + 1}`); break; }
      case 7: { const a = r.int(lines.length), b = r.int(lines.length); [lines[a], lines[b]] = [lines[b], lines[a]]; what.push(`swap ${a + 1} ${b + 1}`); break; }
      default: { const at = r.int(Math.max(1, lines.join('\n').length)); const t = lines.join('\n'); lines = (t.slice(0, at) + r.pick(['\r\n', '\uFEFF', '\u0000', '[SL ', ']', ':']) + t.slice(at)).split('\n'); what.push(`byte at ${at}`); break; }
    }
  }
  return { text: lines.join('\n'), what };
}

describe('malformed CPUID dumps', () => {
  it(`${CASES} mutations of the fixture dumps: each loads or gets an InputError with file and line`, () => {
    const r = rng(SEED ^ 0x85ebca6b);
    const bases = DUMP_DIRS.flatMap((d) => readdirSync(join(ROOT, 'test/fixtures/dumps', d)).map((f) => readFileSync(join(ROOT, 'test/fixtures/dumps', d, f), 'utf8')));
    expect(bases.length).toBeGreaterThan(5);
    const o = newOutcome();
    for (let i = 0; i < CASES; i++) {
      const { text, what } = mutateDump(r, r.pick(bases));
      const file = join(tmp, `dump-${i}.txt`);
      writeFileSync(file, text);
      runCase(o, `dump case ${i} (${what.join('; ')})`, file, () => {
        const cpu = resolveCpu(file);
        cpu.standardSize(cpu.xcr0Supported);
        cpu.compactedLayout((cpu.xcr0Supported | cpu.xssSupported) >>> 0);
      });
    }
    console.log(report('dumps', o));
    expect(o.failures.slice(0, 10)).toEqual([]);
    expect(o.impossibleCpus).toBeGreaterThan(50);
    expect(o.refused).toBeGreaterThan(CASES / 4);
  });
});

// ---------------------------------------------------------------------------------------------
// ELF files
// ---------------------------------------------------------------------------------------------

const PT_LOAD = 1, PT_INTERP = 3, PT_TLS = 7, PT_GNU_STACK = 0x6474e551;
const PF_X = 1, PF_W = 2, PF_R = 4;
const EHDR = 64, PHDR = 56;

/**
 * A small static x86-64 program, byte by byte (gABI "ELF Header", "Program Header"): text at
 * 0x400000 (exit(0)), data+bss at 0x401000 with a TLS image, and PT_GNU_STACK. `pie` makes it
 * ET_DYN at address 0.
 */
function smallElf(pie: boolean): Buffer {
  const base = pie ? 0n : 0x400000n;
  const size = 0x1020;
  const b = Buffer.alloc(size);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, SYSV
  b.writeUInt16LE(pie ? 3 : 2, 16); // e_type ET_DYN / ET_EXEC
  b.writeUInt16LE(62, 18); // e_machine EM_X86_64
  b.writeUInt32LE(1, 20); // e_version
  b.writeBigUInt64LE(base + 0x100n, 24); // e_entry
  b.writeBigUInt64LE(BigInt(EHDR), 32); // e_phoff
  b.writeUInt16LE(EHDR, 52); // e_ehsize
  b.writeUInt16LE(PHDR, 54); // e_phentsize
  b.writeUInt16LE(4, 56); // e_phnum
  const ph = (k: number, type: number, flags: number, offset: bigint, vaddr: bigint, filesz: bigint, memsz: bigint, align: bigint): void => {
    const at = EHDR + k * PHDR;
    b.writeUInt32LE(type, at); b.writeUInt32LE(flags, at + 4);
    b.writeBigUInt64LE(offset, at + 8); b.writeBigUInt64LE(vaddr, at + 16); b.writeBigUInt64LE(vaddr, at + 24);
    b.writeBigUInt64LE(filesz, at + 32); b.writeBigUInt64LE(memsz, at + 40); b.writeBigUInt64LE(align, at + 48);
  };
  ph(0, PT_LOAD, PF_R | PF_X, 0n, base, 0x110n, 0x110n, 0x1000n);
  ph(1, PT_LOAD, PF_R | PF_W, 0x1000n, base + 0x1000n, 0x20n, 0x3000n, 0x1000n);
  ph(2, PT_TLS, PF_R, 0x1000n, base + 0x1000n, 0x10n, 0x40n, 0x10n);
  ph(3, PT_GNU_STACK, PF_R | PF_W, 0n, 0n, 0n, 0n, 0x10n);
  b.set([0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05], 0x100); // mov $60,%eax; xor %edi,%edi; syscall
  return b;
}

const INTERESTING64 = [0n, 1n, 0x38n, 0x40n, 0xfffn, 0x1000n, 0x1020n, 0x7fffffffn, 0xffffffffn, 1n << 32n, 1n << 40n, (1n << 47n) - 0x1000n, 1n << 47n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 0x1000n];
const PHDR_FIELDS: [string, number, 4 | 8][] = [['p_type', 0, 4], ['p_flags', 4, 4], ['p_offset', 8, 8], ['p_vaddr', 16, 8], ['p_filesz', 32, 8], ['p_memsz', 40, 8], ['p_align', 48, 8]];
const EHDR_FIELDS: [string, number, 1 | 2 | 4 | 8][] = [['EI_CLASS', 4, 1], ['EI_DATA', 5, 1], ['EI_VERSION', 6, 1], ['e_type', 16, 2], ['e_machine', 18, 2], ['e_version', 20, 4], ['e_entry', 24, 8], ['e_phoff', 32, 8], ['e_phentsize', 54, 2], ['e_phnum', 56, 2]];

function writeField(b: Buffer, at: number, size: number, v: bigint): void {
  if (at + size > b.length) return;
  const m = (1n << BigInt(size * 8)) - 1n;
  if (size === 8) b.writeBigUInt64LE(v & m, at);
  else if (size === 4) b.writeUInt32LE(Number(v & m), at);
  else if (size === 2) b.writeUInt16LE(Number(v & m), at);
  else b.writeUInt8(Number(v & m), at);
}

function mutateElf(r: R, base: Buffer): { bytes: Buffer; what: string[] } {
  let b = Buffer.from(base);
  const what: string[] = [];
  const phnum = (): number => (b.length >= 58 ? b.readUInt16LE(56) : 0);
  const phAt = (k: number): number => EHDR + k * PHDR;
  const value = (size: number): bigint => (r.chance(0.6) ? r.pick(INTERESTING64) : BigInt(r.int(2 ** 32)) * (size === 8 && r.chance(0.3) ? BigInt(r.int(2 ** 32)) : 1n));
  const onlyLeafD = r.chance(0.25); // as for profiles: only bit flips in leaf 0DH lines
  const n = 1 + r.int(3);
  for (let m = 0; m < n; m++) {
    switch (onlyLeafD ? 5 : r.int(9)) {
      case 0: { const len = r.chance(0.6) ? r.int(EHDR + 4 * PHDR + 1) : r.int(b.length + 1); b = b.subarray(0, len); what.push(`truncated to ${len}`); break; }
      case 1: { const k = 1 + r.int(8); for (let j = 0; j < k; j++) { const at = r.int(Math.min(b.length, EHDR + 4 * PHDR)); if (at < b.length) b[at] = r.int(256); } what.push(`${k} bytes flipped`); break; }
      case 2: { const [name, at, size] = r.pick(EHDR_FIELDS); const v = name === 'e_machine' && r.chance(0.5) ? BigInt(r.pick([0, 3, 40, 183, 243, 0xffff])) : value(size); writeField(b, at, size, v); what.push(`${name}=${v}`); break; }
      case 3:
      case 4: {
        const k = r.int(Math.max(1, Math.min(phnum(), 4))); const [name, off, size] = r.pick(PHDR_FIELDS);
        const v = name === 'p_type' ? BigInt(r.pick([0, PT_LOAD, 2, PT_INTERP, 4, 6, PT_TLS, PT_GNU_STACK, 0x6474e552, r.int(2 ** 32)])) : value(size);
        writeField(b, phAt(k) + off, size, v); what.push(`ph${k}.${name}=${v}`); break;
      }
      case 5: {
        // Overlapping segments: the second PT_LOAD starts inside the first.
        const v = 0x400000n + BigInt(r.int(0x2000)); writeField(b, phAt(1) + 16, 8, v); what.push(`ph1.p_vaddr=${v} (overlap)`); break;
      }
      case 6: { const k = r.int(2); const v = r.pick([1n << 32n, 1n << 36n, (1n << 32n) - 0x1000n, (1n << 30n) + 1n, (1n << 47n) - 0x402000n, (1n << 64n) - 1n]); writeField(b, phAt(k) + 40, 8, v); what.push(`ph${k}.p_memsz=${v} (huge)`); break; }
      case 7: { const v = BigInt(r.pick([5, 8, 100, 1170, 0xffff])); writeField(b, 56, 2, v); what.push(`e_phnum=${v}`); break; }
      default: { const extra = Buffer.alloc(r.int(200)); for (let j = 0; j < extra.length; j++) extra[j] = r.int(256); b = Buffer.concat([b, extra]); what.push(`+${extra.length} bytes`); break; }
    }
  }
  return { bytes: b, what };
}

describe('malformed ELF files', () => {
  it('the unmutated small ELF files load (the fuzz starts from valid programs)', () => {
    for (const pie of [false, true]) {
      const img = parseElf(smallElf(pie), 'small');
      expect(img.type).toBe(pie ? 'pie' : 'exec');
      expect(layoutProcess(img).mappings.length).toBeGreaterThan(1);
    }
  });
  it(`${CASES} mutations of a small static ELF: each loads or gets an InputError with file and field`, () => {
    const r = rng(SEED ^ 0xc2b2ae35);
    const bases = [smallElf(false), smallElf(true)];
    const o = newOutcome();
    for (let i = 0; i < CASES; i++) {
      const { bytes, what } = mutateElf(r, r.pick(bases));
      const file = join(tmp, `elf-${i}`);
      writeFileSync(file, bytes);
      runCase(o, `ELF case ${i} (${what.join('; ')})`, file, () => {
        // What `exec` does before the first instruction: parse, then lay out the process.
        layoutProcess(parseElf(new Uint8Array(readFileSync(file)), file));
      });
    }
    console.log(report('ELF files', o));
    expect(o.failures.slice(0, 10)).toEqual([]);
    expect(o.refused).toBeGreaterThan(CASES / 2);
    elfOutcome = o;
  });
});

describe('the CLI on a sample of the refused inputs: exit 2, one line, no stack trace', () => {
  beforeAll(() => {
    // The refused files of the runs above, found again by loading (cheap), so each `it` stands alone.
    const refused = (prefix: string, load: (f: string) => void): string[] =>
      readdirSync(tmp).filter((f) => f.startsWith(prefix)).map((f) => join(tmp, f)).filter((f) => { try { load(f); return false; } catch (e) { return e instanceof InputError; } });
    profileFiles = refused('profile-', (f) => resolveCpu(f));
    dumpFiles = refused('dump-', (f) => resolveCpu(f));
  });
  it('profiles: cpu show FILE and layout --cpu FILE', async () => {
    const o = { ...newOutcome(), refusedFiles: profileFiles };
    expect(await cliSample(o, (f, k) => (k % 2 ? ['layout', '--cpu', f] : ['cpu', 'show', f]))).toEqual([]);
  }, 120_000);
  it('dumps: layout --cpu FILE and cpu show FILE', async () => {
    const o = { ...newOutcome(), refusedFiles: dumpFiles };
    expect(await cliSample(o, (f, k) => (k % 2 ? ['cpu', 'show', f] : ['layout', '--cpu', f]))).toEqual([]);
  }, 120_000);
  it('ELF files: exec FILE', async () => {
    const o = elfOutcome ?? { ...newOutcome(), refusedFiles: readdirSync(tmp).filter((f) => f.startsWith('elf-')).map((f) => join(tmp, f)) };
    expect(await cliSample(o, (f) => ['exec', f])).toEqual([]);
  }, 120_000);
  it('ELF files the loader accepted: exec runs them to an exit or a signal, never a crash of the tool', async () => {
    // The largest images first: a layout the loader accepts must also map (uc_mem_write refused 2 GiB once).
    const size = (f: string): bigint => layoutProcess(parseElf(new Uint8Array(readFileSync(f)), f)).mappings.reduce((n, m) => n + m.size, 0n);
    const loaded = elfOutcome?.loadedFiles ?? readdirSync(tmp).filter((f) => f.startsWith('elf-')).map((f) => join(tmp, f)).filter((f) => { try { size(f); return true; } catch { return false; } });
    const files = loaded.map((f) => ({ f, n: size(f) })).sort((a, b) => (a.n < b.n ? 1 : a.n > b.n ? -1 : 0)).slice(0, 3);
    expect(files.length).toBe(3);
    // A mutated entry point may loop: a small instruction budget ends it with SIGXCPU.
    for (const { f } of files) {
      const r = await cli(['exec', '--max-insns', '1000000', f]);
      expect(r.status, `exec ${f}: ${r.stderr.slice(0, 400)}`).not.toBeNull();
      expect(r.stderr, `exec ${f}`).not.toMatch(/\n\s+at |Error:/);
    }
  }, 120_000);
});
