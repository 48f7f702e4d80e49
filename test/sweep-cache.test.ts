/**
 * The sweep cache (emulator/sweep-cache.ts) is an optimisation whose absence or corruption changes
 * nothing but time: a cached sweep equals sweepOwned, a block count equals the decoder's, entries
 * that are truncated, altered, of another key or hand-made with a sound digest over a bad payload
 * are ignored and rewritten, an unwritable folder is harmless; and `exec` gives the same status,
 * stdout and stderr (and --trace) with no cache, a cold one, a warm one and a corrupted one,
 * including where the instruction counts decide the outcome (--max-insns).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepOwned, type SweepResult } from '../emulator/ownership.js';
import { CodeCache, SWEEP_CACHE_FORMAT, cachedSweepOwned, sweepEntryFile, sweepKey } from '../emulator/sweep-cache.js';
import { countInstructions } from '../emulator/machine.js';
import { muslProgram, randomCode } from './helpers.js';
import { runProcess, type Run } from '../bench/program-corpus.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/src/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-sweep-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const BASE = 0x401000n;

const shown = (r: SweepResult): string => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v));


/** A static musl program from C text, in this file's folder. */
const musl = (name: string, source: string): string => muslProgram(tmp, name, source);

/** The text of a static program: the bytes of its first executable PT_LOAD segment (ELF64 program headers). */
function executableSegment(exe: string): { bytes: Uint8Array; base: bigint } {
  const f = readFileSync(exe);
  const phoff = Number(f.readBigUInt64LE(0x20)), phentsize = f.readUInt16LE(0x36), phnum = f.readUInt16LE(0x38);
  const PT_LOAD = 1, PF_X = 1;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (f.readUInt32LE(p) !== PT_LOAD || !(f.readUInt32LE(p + 4) & PF_X)) continue;
    const off = Number(f.readBigUInt64LE(p + 8)), vaddr = f.readBigUInt64LE(p + 16), filesz = Number(f.readBigUInt64LE(p + 32));
    return { bytes: new Uint8Array(f.subarray(off, off + filesz)), base: vaddr };
  }
  throw new Error(`${exe}: no executable segment`);
}


/** Ways an entry goes bad; each must be ignored (and the entry rewritten). */
const CORRUPTIONS: { name: string; spoil: (text: string, key: string) => string }[] = [
  { name: 'empty', spoil: () => '' },
  { name: 'truncated', spoil: (t) => t.slice(0, Math.floor(t.length * 0.7)) },
  { name: 'one payload byte altered', spoil: (t) => { const i = t.length - 5; return t.slice(0, i) + (t[i] === '1' ? '2' : '1') + t.slice(i + 1); } },
  { name: 'another key', spoil: (t, key) => t.replace(key, key.replace(/^./, (c) => (c === '0' ? '1' : '0'))) },
  { name: 'another format', spoil: (t) => t.replace(SWEEP_CACHE_FORMAT, 'xstate-lab.sweep/0') },
  { name: 'garbage', spoil: () => '\u0000\u0001not json at all' },
  {
    // A sound digest over a payload that is not a sweep (hand-made): checked field by field.
    name: 'sound digest, bad payload',
    spoil: (t, key) => {
      const payload = JSON.stringify({ owned: ['not hex'], invalidAt: [], x87: [] });
      const header = JSON.parse(t.slice(0, t.indexOf('\n'))) as { key: string };
      expect(header.key).toBe(key);
      return `${JSON.stringify({ format: SWEEP_CACHE_FORMAT, key, digest: createHash('sha256').update(payload).digest('hex') })}\n${payload}`;
    },
  },
];

describe('cachedSweepOwned equals sweepOwned', () => {
  const hash = musl('hash', readFileSync(join(ROOT, 'bench', 'guest-plain-hash.c'), 'utf8'));
  const inputs: { name: string; bytes: Uint8Array; base: bigint }[] = [
    { name: 'a static program', ...executableSegment(hash) },
    { name: '64 KiB of random code', bytes: randomCode(1 << 16, 0x5eed), base: BASE },
  ];

  for (const input of inputs) {
    it(`${input.name}: cold, warm, and after each corruption`, () => {
      const dir = join(tmp, `cache-${input.name.replace(/\W+/g, '-')}`);
      const fresh = shown(sweepOwned(input.bytes, input.base));
      expect(JSON.parse(fresh).owned.length + JSON.parse(fresh).x87.length).toBeGreaterThan(0);
      // The random code holds legacy SSE writes, so the stored SSE write sites are compared too.
      if (input.base === BASE) expect(JSON.parse(fresh).sseWrites.length).toBeGreaterThan(0);
      expect(shown(cachedSweepOwned(input.bytes, input.base, dir))).toBe(fresh);
      const key = sweepKey(input.bytes, input.base);
      const file = sweepEntryFile(dir, key);
      const sound = readFileSync(file, 'utf8');
      expect(shown(cachedSweepOwned(input.bytes, input.base, dir))).toBe(fresh);
      for (const c of CORRUPTIONS) {
        writeFileSync(file, c.spoil(sound, key));
        expect(shown(cachedSweepOwned(input.bytes, input.base, dir)), c.name).toBe(fresh);
        // Rewritten: the entry is the sound one again.
        expect(readFileSync(file, 'utf8'), c.name).toBe(sound);
      }
    });
  }

  it('a warm entry is read, not recomputed: an entry with a sound digest and other content is what comes back', () => {
    // Proof that the cache is consulted at all (else the tests above would pass with no cache).
    const dir = join(tmp, 'cache-consulted');
    const bytes = randomCode(4096, 7);
    cachedSweepOwned(bytes, BASE, dir);
    const key = sweepKey(bytes, BASE);
    const payload = JSON.stringify({ owned: ['401234'], invalidAt: [], x87: [], sse: [] });
    writeFileSync(sweepEntryFile(dir, key), `${JSON.stringify({ format: SWEEP_CACHE_FORMAT, key, digest: createHash('sha256').update(payload).digest('hex') })}\n${payload}`);
    expect(cachedSweepOwned(bytes, BASE, dir).owned).toEqual([0x401234n]);
  });

  it('the key covers the bytes and the base', () => {
    const bytes = randomCode(256, 3);
    const other = bytes.slice();
    other[100]! ^= 1;
    expect(sweepKey(bytes, BASE)).not.toBe(sweepKey(other, BASE));
    expect(sweepKey(bytes, BASE)).not.toBe(sweepKey(bytes, BASE + 0x1000n));
  });

  it('a folder that cannot be made or written costs nothing but time', () => {
    const blocker = join(tmp, 'a-file');
    writeFileSync(blocker, 'x');
    const bytes = randomCode(2048, 11);
    expect(shown(cachedSweepOwned(bytes, BASE, join(blocker, 'sub')))).toBe(shown(sweepOwned(bytes, BASE)));
  });
});

describe('CodeCache block counts', () => {
  it('equal the decoder\'s, persist across machines, and a corrupted file is ignored', () => {
    const dir = join(tmp, 'blocks');
    const program = randomCode(8192, 21);
    const blocks = Array.from({ length: 200 }, (_, i) => randomCode(1 + (i * 37) % 120, 100 + i));
    const first = new CodeCache(dir);
    first.sweep(program, BASE);
    let calls = 0;
    const counting = (b: Uint8Array): number => { calls++; return countInstructions(b); };
    const counts = blocks.map((b) => first.instructionCount(b, counting));
    expect(counts).toEqual(blocks.map(countInstructions));
    expect(calls).toBe(new Set(blocks.map((b) => Buffer.from(b).toString('hex'))).size);
    first.save();
    const file = readdirSync(dir).find((n) => n.endsWith('.blocks.json'))!;
    expect(file).toBeDefined();

    const second = new CodeCache(dir);
    second.sweep(program, BASE);
    calls = 0;
    expect(blocks.map((b) => second.instructionCount(b, counting))).toEqual(counts);
    expect(calls).toBe(0);

    // A count out of range under a sound digest (hand-made), and a truncated file: ignored.
    const text = readFileSync(join(dir, file), 'utf8');
    const header = JSON.parse(text.slice(0, text.indexOf('\n'))) as { format: string; key: string };
    const bad = JSON.stringify([[Buffer.from(blocks[0]!).toString('base64'), 9999]]);
    for (const spoiled of [`${JSON.stringify({ ...header, digest: createHash('sha256').update(bad).digest('hex') })}\n${bad}`, text.slice(0, text.length >> 1)]) {
      writeFileSync(join(dir, file), spoiled);
      const third = new CodeCache(dir);
      third.sweep(program, BASE);
      expect(blocks.map((b) => third.instructionCount(b, countInstructions))).toEqual(counts);
    }
  });

  it('without a folder, counts come from the decoder', () => {
    const c = new CodeCache(undefined);
    c.sweep(randomCode(1024, 5), BASE);
    const b = randomCode(50, 9);
    expect(c.instructionCount(b, countInstructions)).toBe(countInstructions(b));
    c.save();
  });
});

describe('exec gives the same results with no cache, a cold, a warm and a corrupted one', () => {
  const programs: { name: string; args: string[] }[] = [
    { name: 'trivial program', args: [musl('hash0', readFileSync(join(ROOT, 'bench', 'guest-plain-hash.c'), 'utf8')), '0'] },
    // The budget ends inside the loop: how far it got shows in stdout (write(2) per line, unbuffered).
    {
      name: 'instruction budget',
      args: ['--max-insns', '300000', musl('budget', '#include <unistd.h>\n#include <stdio.h>\nint main(void){char b[32];for(unsigned i=0;;i++){int n=snprintf(b,sizeof b,"%u %.3f\\n",i,i*0.5);write(1,b,n);}}\n')],
    },
    // x87 (observed sites and the modelled instructions), SSE and XSAVE owned instructions, traced.
    {
      name: 'x87, SSE and XSAVE under --trace',
      args: ['--trace', musl('owned', '#include <stdio.h>\n#include <stdint.h>\nstatic char area[4096] __attribute__((aligned(64)));\nint main(void){volatile long double x=1.5L;volatile double d=2.25;for(int i=0;i<3;i++){x=x*x+1;d=d/3;}\n__asm__ volatile("xor %%edx,%%edx; mov $3,%%eax; xsave64 %0; xrstor64 %0" : "+m"(area) :: "eax","edx","memory");\nprintf("%.6Lf %.6f %u\\n",x,d,(unsigned)area[512]);return 0;}\n')],
    },
  ];

  const exec = (args: string[], env: Record<string, string>): Promise<Run> => runProcess(process.execPath, [CLI, 'exec', '--cpu', 'intel-alder-lake', ...args], 120_000, { env: { ...process.env, ...env } });
  const outcome = (r: Run): string => JSON.stringify({ status: r.status, stdout: r.stdout, stderr: r.stderr });

  for (const p of programs) {
    it(p.name, async () => {
      const dir = join(tmp, `exec-${p.name.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      const none = await exec(p.args, { XSTATE_LAB_NO_SWEEP_CACHE: '1' });
      expect(none.stdout.length + none.stderr.length).toBeGreaterThan(0);
      const cold = await exec(p.args, { XSTATE_LAB_CACHE: dir });
      const entries = readdirSync(join(dir, 'sweep'));
      expect(entries.some((n) => n.endsWith('.blocks.json'))).toBe(true);
      const warm = await exec(p.args, { XSTATE_LAB_CACHE: dir });
      expect(outcome(cold)).toBe(outcome(none));
      expect(outcome(warm)).toBe(outcome(none));
      for (const n of entries) {
        const f = join(dir, 'sweep', n);
        const t = readFileSync(f, 'utf8');
        writeFileSync(f, t.slice(0, t.length - 3) + (t.endsWith('1]]') ? '2]]' : '1]]'));
      }
      const spoiled = await exec(p.args, { XSTATE_LAB_CACHE: dir });
      expect(outcome(spoiled)).toBe(outcome(none));
    }, 600_000);
  }
});
