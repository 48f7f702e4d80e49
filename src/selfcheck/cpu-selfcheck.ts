/**
 * `selfcheck cpu`: the real CPU as referee. Runs every case on the host through the native probe
 * and on the model (given the host's captured profile), and compares every byte.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { CpuModel, MXCSR_INIT } from '../../emulator/cpu-model.js';
import { AreaMap, type AreaFormat } from '../../emulator/area-map.js';
import { LEGACY } from '../../emulator/register-file.js';
import {
  CpuFault, Vector, XsaveContext, fxrstor, fxsave, xgetbv, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves, xsetbv,
} from '../../emulator/xsave.js';
import { XFEATURES, xfeatureId } from '../../emulator/xfeatures.js';
import { HostProbeError, buildNative } from '../native.js';
import { CaseContext, Prng, craftedCases, randomCase } from './cases.js';
import {
  HELLO_MAGIC, HELLO_SIZE, ProbeOp, decodeResult, encodeCase, resultRecordSize, type ProbeCase, type ProbeResult,
} from './protocol.js';

/** Linux's signal for each exception in user mode (arch/x86/kernel/traps.c). */
const SIGNAL_OF: Record<Vector, number> = { [Vector.UD]: 4, [Vector.GP]: 11, [Vector.AC]: 7, [Vector.NM]: 4, [Vector.XM]: 8 };
const SIGNAL_NAME: Record<number, string> = { 0: 'none', 4: 'SIGILL', 7: 'SIGBUS', 8: 'SIGFPE', 11: 'SIGSEGV' };

/** Symbolic linear addresses of the model's buffers: only their distinctness matters (XRSTOR_INFO). */
const CLEAN_ADDR = 0x100000;
const SETUP_ADDR = 0x200000;
const TARGET_ADDR = 0x400000;
const READBACK_ADDR = 0x800000;

function packageVersion(): string {
  try { return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version; } catch { return '?'; }
}

/** The microcode revision the host kernel reports (for bug reports; not used by the model). */
function microcode(): string {
  try {
    const m = /^microcode\s*:\s*(\S+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? `, microcode ${m[1]}` : '';
  } catch { return ''; }
}

export interface Hello {
  area: number;
  xcr0: number;
  xgetbv1: boolean;
}

export function runProbe(exe: string, cases: ProbeCase[], area: number | undefined): { hello: Hello; results: ProbeResult[] } {
  const parts: Buffer[] = [];
  if (area !== undefined) for (const c of cases) parts.push(encodeCase(c, area));
  const r = spawnSync(exe, [], { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new HostProbeError(`the selfcheck probe stopped (${r.status ?? r.signal}): ${r.stderr.toString().trim()}`);
  const out = r.stdout;
  if (out.length < HELLO_SIZE || out.readUInt32LE(0) !== HELLO_MAGIC) throw new HostProbeError('the selfcheck probe answered nothing usable (is this an x86-64 host with XSAVE?)');
  const hello = { area: out.readUInt32LE(4), xcr0: Number(out.readBigUInt64LE(8) & 0xffffffffn), xgetbv1: out.readUInt32LE(16) === 1 };
  const rec = resultRecordSize(hello.area);
  const results: ProbeResult[] = [];
  for (let at = HELLO_SIZE; at + rec <= out.length; at += rec) results.push(decodeResult(out, at, hello.area));
  if (area !== undefined && results.length !== cases.length) throw new Error(`selfcheck probe answered ${results.length} of ${cases.length} cases`);
  return { hello, results };
}

const lo = (m: bigint): number => Number(m & 0xffffffffn);
const hi = (m: bigint): number => Number((m >> 32n) & 0xffffffffn);

/** The same steps as the probe's asm block, on the model. */
export function runOnModel(ctx: XsaveContext, c: ProbeCase, area: number, xcr0: number, xgetbv1: boolean): ProbeResult {
  const target = new Uint8Array(c.target);
  const readback = new Uint8Array(area);
  const clean = new Uint8Array(area);
  clean[LEGACY.MXCSR] = MXCSR_INIT & 0xff;
  clean[LEGACY.MXCSR + 1] = MXCSR_INIT >> 8;
  const taddr = TARGET_ADDR + c.targetOffset;
  const a = lo(c.opRfbm), d = hi(c.opRfbm);
  let xinuse = 0n;
  try {
    xrstor(ctx, clean, CLEAN_ADDR, xcr0, 0);
    xrstor(ctx, c.setup, SETUP_ADDR, lo(c.setupRfbm), hi(c.setupRfbm));
    switch (c.op) {
      case ProbeOp.XSAVE: xsave(ctx, target, taddr, a, d, false); break;
      case ProbeOp.XSAVE64: xsave(ctx, target, taddr, a, d, true); break;
      case ProbeOp.XSAVEOPT: xsaveopt(ctx, target, taddr, a, d, false); break;
      case ProbeOp.XSAVEOPT64: xsaveopt(ctx, target, taddr, a, d, true); break;
      case ProbeOp.XSAVEC: xsavec(ctx, target, taddr, a, d, false); break;
      case ProbeOp.XSAVEC64: xsavec(ctx, target, taddr, a, d, true); break;
      case ProbeOp.XRSTOR: xrstor(ctx, target, taddr, a, d, false); break;
      case ProbeOp.XRSTOR64: xrstor(ctx, target, taddr, a, d, true); break;
      case ProbeOp.FXSAVE: fxsave(ctx, target, taddr, false); break;
      case ProbeOp.FXSAVE64: fxsave(ctx, target, taddr, true); break;
      case ProbeOp.FXRSTOR: fxrstor(ctx, target, taddr, false); break;
      case ProbeOp.FXRSTOR64: fxrstor(ctx, target, taddr, true); break;
      case ProbeOp.XSAVES64: xsaves(ctx, target, taddr, a, d, true); break;
      case ProbeOp.XRSTORS64: xrstors(ctx, target, taddr, a, d, true); break;
      case ProbeOp.XSETBV: xsetbv(ctx, c.ecx, a, d); break;
      case ProbeOp.LOCK_XSAVE64: xsave(ctx, target, taddr, a, d, true, true); break;
      case ProbeOp.XGETBV: {
        const [ea, ed] = xgetbv(ctx, c.ecx);
        new DataView(target.buffer).setUint32(0, ea, true);
        new DataView(target.buffer).setUint32(4, ed, true);
        break;
      }
      case ProbeOp.XRSTOR_POKE_XSAVEOPT64:
        xrstor(ctx, target, taddr, a, d, true);
        for (const p of c.pokes) if (p.offset < area) target[p.offset] = p.value;
        xsaveopt(ctx, target, taddr, a, d, true);
        break;
    }
    if (xgetbv1) { const [ea, ed] = xgetbv(ctx, 1); xinuse = BigInt(ea) | (BigInt(ed) << 32n); }
    xsave(ctx, readback, READBACK_ADDR, xcr0, 0, true);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    return { signal: SIGNAL_OF[e.vector], xinuse: 0n, target: new Uint8Array(c.target), readback: new Uint8Array(area) };
  }
  return { signal: 0, xinuse, target, readback };
}

function sameResult(x: ProbeResult, y: ProbeResult): boolean {
  return x.signal === y.signal && x.xinuse === y.xinuse && Buffer.compare(Buffer.from(x.target), Buffer.from(y.target)) === 0 &&
    Buffer.compare(Buffer.from(x.readback), Buffer.from(y.readback)) === 0;
}

/** The format the target is in after (or for) the op, for naming its bytes. */
function targetFormat(c: ProbeCase, r: ProbeResult): AreaFormat {
  const rexW = ![ProbeOp.XSAVE, ProbeOp.XSAVEOPT, ProbeOp.XSAVEC, ProbeOp.XRSTOR, ProbeOp.FXSAVE, ProbeOp.FXRSTOR].includes(c.op);
  const compHi = r.target[512 + 15] & 0x80;
  const comp = r.target[512 + 8] | (r.target[512 + 9] << 8) | (r.target[512 + 10] << 16) | (r.target[512 + 11] << 24);
  return compHi ? { compacted: true, xcompBv: comp >>> 0, rexW } : { compacted: false, rexW };
}

export interface FieldDiff {
  buffer: string;
  component: string;
  field: string;
  expected: string;
  got: string;
}

/** Group byte differences into fields and print them with both values. */
export function diffFields(cpu: CpuModel, map: AreaMap, buffer: string, hostBytes: Uint8Array, modelBytes: Uint8Array): FieldDiff[] {
  const out: FieldDiff[] = [];
  let k = 0;
  while (k < hostBytes.length) {
    if (hostBytes[k] === modelBytes[k]) { k++; continue; }
    const p = map.locate(k);
    const from = p.fieldOffset, to = Math.min(p.fieldOffset + p.fieldSize, hostBytes.length);
    const show = (b: Uint8Array): string => '0x' + Buffer.from(b.subarray(from, to)).reverse().toString('hex');
    out.push({ buffer, component: p.component, field: `${p.field}${p.fieldSize > 16 ? '' : ''} @${from}`, expected: show(hostBytes), got: show(modelBytes) });
    k = Math.max(to, k + 1);
  }
  void cpu;
  return out;
}

export interface SelfcheckOptions {
  cases: number;
  seed: number;
  cpu: CpuModel;
  log: (line: string) => void;
  /** How many mismatching cases to print in full. */
  detail?: number;
}

export interface SelfcheckSummary {
  cases: number;
  mismatches: number;
  unstable: number;
  hostId: string;
  byRule: Map<string, number>;
}

/** How often a disagreeing case is run again on the host before it counts as a mismatch. */
const RERUNS = 4;

export function runCpuSelfcheck(o: SelfcheckOptions): SelfcheckSummary {
  const exe = buildNative('selfcheck/xsave-probe.c');
  const { hello } = runProbe(exe, [], undefined);
  const cpu = o.cpu;
  const ctxCase: CaseContext = { cpu, xcr0: hello.xcr0, area: hello.area, xgetbv1: hello.xgetbv1 };
  const log = o.log;
  const p = cpu.profile;
  log(`xstate-lab ${packageVersion()} selfcheck cpu --cases ${o.cases} --seed ${o.seed}`);
  log(`host: ${p.name}, ${p.vendor} family 0x${p.family.toString(16)} model 0x${p.model.toString(16)} stepping ${p.stepping}${microcode()}, Linux ${release()}`);
  log(`model: profile ${cpu.id}, quirks ${p.quirks.map((q) => q.id).join(', ') || 'none'}`);
  log(`XCR0 0x${hello.xcr0.toString(16)}, area ${hello.area} bytes, XGETBV(1) ${hello.xgetbv1 ? 'yes' : 'no'}`);
  reportCoverage(cpu, hello.xcr0, log);

  const crafted = craftedCases(ctxCase);
  const rng = new Prng(o.seed);
  const cases: { name: string; c: ProbeCase }[] = [...crafted];
  while (cases.length < o.cases) cases.push({ name: `random #${cases.length - crafted.length}`, c: randomCase(rng, ctxCase) });
  cases.length = Math.max(o.cases, Math.min(cases.length, o.cases));

  const native = runProbe(exe, cases.map((x) => x.c), hello.area).results;
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = hello.xcr0;
  const model = cases.map((x) => runOnModel(ctx, x.c, hello.area, hello.xcr0, hello.xgetbv1));

  let bad = cases.map((_, k) => k).filter((k) => !sameResult(native[k], model[k]));
  // A context switch or VM exit between the probe's steps can change what the host shows (the
  // kernel's XRSTORS resets XRSTOR_INFO and XINUSE): run those cases again, up to RERUNS times
  // while the model matches none of the host's answers; a case counts as a mismatch only then.
  let unstable = 0;
  const answers = new Map<number, ProbeResult[]>(bad.map((k) => [k, [native[k]]]));
  for (let round = 0; round < RERUNS && bad.length > 0; round++) {
    const again = runProbe(exe, bad.map((k) => cases[k].c), hello.area).results;
    bad = bad.filter((k, j) => { answers.get(k)!.push(again[j]); return !sameResult(again[j], model[k]); });
  }
  for (const a of answers.values()) if (a.some((x) => !sameResult(x, a[0]))) unstable++;
  // Report against the host's most frequent answer.
  for (const k of bad) {
    const a = answers.get(k)!;
    native[k] = a.reduce((best, x) => (a.filter((y) => sameResult(y, x)).length > a.filter((y) => sameResult(y, best)).length ? x : best), a[0]);
  }

  const byRule = new Map<string, number>();
  let shown = 0;
  for (const k of bad) {
    const { name, c } = cases[k];
    const h = native[k], m = model[k];
    const fmt = targetFormat(c, h);
    const diffs: FieldDiff[] = [];
    if (h.signal !== m.signal) diffs.push({ buffer: 'target', component: 'fault', field: 'signal', expected: SIGNAL_NAME[h.signal] ?? String(h.signal), got: SIGNAL_NAME[m.signal] ?? String(m.signal) });
    if (h.xinuse !== m.xinuse) diffs.push({ buffer: 'readback', component: 'XINUSE', field: 'XGETBV(1)', expected: '0x' + h.xinuse.toString(16), got: '0x' + m.xinuse.toString(16) });
    diffs.push(...diffFields(cpu, new AreaMap(cpu, fmt), 'target', h.target, m.target));
    diffs.push(...diffFields(cpu, new AreaMap(cpu, { compacted: false, rexW: true }), 'readback', h.readback, m.readback));
    for (const dd of diffs) {
      const rule = `${ProbeOp[c.op]} ${dd.buffer} ${dd.component}.${dd.field.replace(/\d+/g, 'N').replace(/ @N$/, '')}`;
      byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
    }
    if (shown < (o.detail ?? 10)) {
      shown++;
      log(`MISMATCH case ${k} (${name}): ${ProbeOp[c.op]} setup-rfbm 0x${c.setupRfbm.toString(16)} rfbm 0x${c.opRfbm.toString(16)} ecx ${c.ecx} offset ${c.targetOffset}`);
      for (const dd of diffs.slice(0, 12)) log(`  ${dd.buffer.padEnd(8)} ${dd.component}.${dd.field}: host ${dd.expected}, model ${dd.got}`);
      if (diffs.length > 12) log(`  ... ${diffs.length - 12} more fields`);
    }
  }
  if (byRule.size) {
    log('mismatches by instruction and field:');
    for (const [rule, n] of [...byRule].sort((x, y) => y[1] - x[1]).slice(0, 30)) log(`  ${String(n).padStart(6)}  ${rule}`);
  }
  if (unstable) log(`note: ${unstable} case(s) gave different answers on repeated host runs (preemption between steps); they count as mismatches only when the model matched none of them`);
  log(`cpu selfcheck: ${cases.length} cases, ${bad.length} mismatches, host ${cpu.id}`);
  return { cases: cases.length, mismatches: bad.length, unstable, hostId: cpu.id, byRule };
}

/** Say which components this host lets the selfcheck exercise, and why the others are left out. */
export function reportCoverage(cpu: CpuModel, xcr0: number, log: (l: string) => void): void {
  const tested: string[] = [];
  const untested: string[] = [];
  for (const f of XFEATURES) {
    const i = f.number;
    const supported = i < 2 || cpu.components[i] !== undefined;
    if (!supported) { untested.push(`${f.id} (not on this CPU)`); continue; }
    if (i >= 2 && cpu.components[i]!.supervisor) { untested.push(`${f.id} (supervisor: XSAVES/XRSTORS need CPL 0; only their #GP at CPL 3 is checked)`); continue; }
    if (!((xcr0 >>> i) & 1)) { untested.push(`${f.id} (supported but not enabled in XCR0 by the host kernel)`); continue; }
    tested.push(xfeatureId(i));
  }
  log(`components exercised: ${tested.join(', ')}`);
  log(`components not exercised on this host: ${untested.join('; ')}`);
}
