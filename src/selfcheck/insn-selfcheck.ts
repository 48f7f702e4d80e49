/**
 * The vector-instruction referee: each emulated AVX/AVX-512/opmask instruction runs on the host
 * CPU (src/selfcheck/insn-probe.c) and on the model from the same random state; the complete
 * XSAVE64 image, RAX/RCX/RDX/RSI, the status flags, the memory operand's buffer and any fault are
 * compared. Instructions come from templates with random registers, masks and immediates,
 * assembled by GNU as and split by iced-x86.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction, Mnemonic, Register } from '../../emulator/iced.js';
import { AreaMap } from '../../emulator/area-map.js';
import { emulateVector, isEmulatedMnemonic, type ExecEnv } from '../../emulator/avx.js';
import { LEGACY_CRYPTO_MNEMONICS } from '../../emulator/vector/crypto-legacy.js';
import { CpuModel } from '../../emulator/cpu-model.js';
import { VectorFile } from '../../emulator/vector-file.js';
import { CpuFault, Vector, XsaveContext, xrstor, xsave } from '../../emulator/xsave.js';
import { SimdFpFault } from '../../emulator/vector/mxcsr.js';
import { LEGACY } from '../../emulator/register-file.js';
import { HostProbeError, buildNative } from '../native.js';
import { Prng, standardImage } from './cases.js';
import { FLOAT_TEMPLATES, instantiateFloat, seedFloatCase } from './cases-vector-float.js';
import { applyIndexFix, hostLacks, instantiateCode, vectorForms, type IndexFix } from './cases-vector-int.js';
import { diffFields } from './cpu-selfcheck.js';
import type { KernelSelfcheckOptions } from './kernel-selfcheck.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { closestVariantTo } from '../../kernel-model/variants.js';

const CODE_MAX = 32;
const DATA_SIZE = 1024;
const GPRS = [Register.RAX, Register.RCX, Register.RDX, Register.RSI];
const GPRS32 = [Register.EAX, Register.ECX, Register.EDX, Register.ESI];
/** RFLAGS status flags CF PF AF ZF SF OF (SDM Vol. 1 3.4.3.1). */
const STATUS_FLAGS = 0x8d5n;
/** SIGFPE (include/uapi/asm-generic/signal.h). */
const SIGFPE = 8;
/** FSW.B (SDM Vol. 1 8.1.3). */
const FSW_B = 0x8000;
const SIGNAL_OF: Record<Vector, number> = { [Vector.UD]: 4, [Vector.GP]: 11, [Vector.AC]: 7, [Vector.NM]: 4, [Vector.XM]: 8 };

/** Which CPUID features a template needs, so the referee only runs what the host can. */
export type Feature = 'avx' | 'avx2' | 'avx512f' | 'avx512bw' | 'avx512dq' | 'avx512vl' | 'fma' | 'f16c' | 'sse3' | 'sse41' | 'avx512bf16';

/** fp: element size of a floating-point template (registers and memory get special values, MXCSR a random mode). */
interface Template { t: string; needs: Feature[]; fp?: 4 | 8 }

/*
 * Placeholders: {x} {y} {z} a random xmm/ymm/zmm (0-15 for VEX, 0-31 for EVEX templates marked E),
 * {k} k1-k7, {K} k0-k7, {m} a memory operand at RBX, {ma} 64-byte aligned, {i} imm8,
 * {r32} {r64} EAX/ECX/EDX/ESI or the 64-bit forms, {mask} nothing, {%kN} or {%kN}{z}, {same}
 * repeats the previous vector register (zeroing idioms).
 */
const TEMPLATES: Template[] = [
  { t: 'vmovdqa {ma}, {y}', needs: ['avx'] },
  { t: 'vmovdqa {y}, {ma}', needs: ['avx'] },
  { t: 'vmovdqu {m}, {y}', needs: ['avx'] },
  { t: 'vmovdqu {y}, {y}', needs: ['avx'] },
  { t: 'vmovups {x}, {x}', needs: ['avx'] },
  { t: 'vmovaps {y}, {m}', needs: ['avx'] },
  { t: 'vpxor {y}, {y}, {y}', needs: ['avx2'] },
  { t: 'vpxor {y}, {same}, {same}', needs: ['avx2'] },
  { t: 'vxorps {x}, {same}, {same}', needs: ['avx'] },
  { t: 'vpand {m}, {y}, {y}', needs: ['avx2'] },
  { t: 'vpandn {y}, {y}, {y}', needs: ['avx2'] },
  { t: 'vpor {x}, {x}, {x}', needs: ['avx'] },
  { t: 'vpaddd {y}, {y}, {y}', needs: ['avx2'] },
  { t: 'vpsubq {y}, {same}, {same}', needs: ['avx2'] },
  { t: 'vpbroadcastd {x}, {y}', needs: ['avx2'] },
  { t: 'vpbroadcastb {m}, {x}', needs: ['avx2'] },
  { t: 'vbroadcastss {m}, {y}', needs: ['avx'] },
  { t: 'vbroadcasti128 {m}, {y}', needs: ['avx2'] },
  { t: 'vinserti128 {i}, {x}, {y}, {y}', needs: ['avx2'] },
  { t: 'vextracti128 {i}, {y}, {x}', needs: ['avx2'] },
  { t: 'vextracti128 {i}, {y}, {m}', needs: ['avx2'] },
  { t: 'vpcmpeqb {y}, {y}, {y}', needs: ['avx2'] },
  { t: 'vpcmpgtd {y}, {y}, {y}', needs: ['avx2'] },
  { t: 'vpmovmskb {y}, {r32}', needs: ['avx2'] },
  { t: 'vptest {y}, {y}', needs: ['avx'] },
  { t: 'vmovd {r32}, {x}', needs: ['avx'] },
  { t: 'vmovq {x}, {r64}', needs: ['avx'] },
  { t: 'vmovq {m}, {x}', needs: ['avx'] },
  { t: 'vzeroupper', needs: ['avx'] },
  { t: 'vzeroall', needs: ['avx'] },
  { t: 'vmovdqu64 {m}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vmovdqu64 {Ez}, {m}{maskm}', needs: ['avx512f'] },
  { t: 'vmovdqa64 {ma}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vmovdqa32 {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vmovdqu8 {Ey}, {Ey}{mask}', needs: ['avx512bw', 'avx512vl'] },
  { t: 'vmovdqu16 {m}, {Ex}{mask}', needs: ['avx512bw', 'avx512vl'] },
  { t: 'vmovups {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpxord {Ez}, {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpxord {Ez}, {same}, {same}', needs: ['avx512f'] },
  { t: 'vpxorq {Ey}, {Ey}, {Ey}{mask}', needs: ['avx512f', 'avx512vl'] },
  { t: 'vpandd {m}{bcst4}, {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vporq {Ez}, {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpandnq {Ez}, {Ez}, {Ez}', needs: ['avx512f'] },
  { t: 'vpaddq {Ez}, {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpsubb {Ez}, {Ez}, {Ez}{mask}', needs: ['avx512bw'] },
  { t: 'vpternlogd {i}, {Ez}, {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpternlogq {i}, {m}{bcst8}, {Ez}, {Ez}', needs: ['avx512f'] },
  { t: 'vpbroadcastd {r32}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpbroadcastq {x}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vpbroadcastw {m}, {Ez}{mask}', needs: ['avx512bw'] },
  { t: 'vbroadcastsd {m}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vbroadcasti32x4 {m}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vbroadcasti64x4 {m}, {Ez}', needs: ['avx512f'] },
  { t: 'vinserti32x4 {i}, {Ex}, {Ez}, {Ez}{mask}', needs: ['avx512f'] },
  { t: 'vinserti64x4 {i}, {m}, {Ez}, {Ez}', needs: ['avx512f'] },
  { t: 'vextracti32x4 {i}, {Ez}, {Ex}{mask}', needs: ['avx512f'] },
  { t: 'vextracti64x4 {i}, {Ez}, {m}', needs: ['avx512f'] },
  { t: 'vpcmpeqd {Ez}, {Ez}, {k}{maskk}', needs: ['avx512f'] },
  { t: 'vpcmpgtq {Ez}, {Ez}, {k}', needs: ['avx512f'] },
  { t: 'vpcmpub {i}, {Ez}, {Ez}, {k}{maskk}', needs: ['avx512bw'] },
  { t: 'vpcmpd {i}, {m}, {Ez}, {k}', needs: ['avx512f'] },
  { t: 'vptestmq {Ez}, {Ez}, {k}', needs: ['avx512f'] },
  { t: 'vptestnmb {Ez}, {Ez}, {k}', needs: ['avx512bw'] },
  { t: 'vpmovb2m {Ez}, {k}', needs: ['avx512bw'] },
  { t: 'vpmovd2m {Ey}, {k}', needs: ['avx512dq', 'avx512vl'] },
  { t: 'vpmovm2q {k}, {Ez}', needs: ['avx512dq'] },
  { t: 'vmovq {r64}, {Ex}', needs: ['avx512f'] },
  { t: 'kmovw {r32}, {K}', needs: ['avx512f'] },
  { t: 'kmovw {K}, {r32}', needs: ['avx512f'] },
  { t: 'kmovq {K}, {K}', needs: ['avx512bw'] },
  { t: 'kmovb {m}, {K}', needs: ['avx512dq'] },
  { t: 'kmovd {K}, {m}', needs: ['avx512bw'] },
  { t: 'kandw {K}, {K}, {K}', needs: ['avx512f'] },
  { t: 'korq {K}, {K}, {K}', needs: ['avx512bw'] },
  { t: 'kxorw {K}, {sameK}, {sameK}', needs: ['avx512f'] },
  { t: 'kxnorb {K}, {K}, {K}', needs: ['avx512dq'] },
  { t: 'knotd {K}, {K}', needs: ['avx512bw'] },
  { t: 'kortestw {K}, {K}', needs: ['avx512f'] },
  { t: 'ktestq {K}, {K}', needs: ['avx512bw'] },
  { t: 'kshiftlw {i}, {K}, {K}', needs: ['avx512f'] },
  { t: 'kshiftrq {i}, {K}, {K}', needs: ['avx512bw'] },
  { t: 'kunpckbw {K}, {K}, {K}', needs: ['avx512f'] },
  { t: 'kaddd {K}, {K}, {K}', needs: ['avx512bw'] },
  ...FLOAT_TEMPLATES,
];

function hostFeatures(cpu: CpuModel): Set<Feature> {
  const l1 = cpu.cpuid.get(1), l7 = cpu.cpuid.get(7, 0);
  const b = (r: number, n: number): boolean => ((r >>> n) & 1) === 1;
  const s = new Set<Feature>();
  if (cpu.features.avx) s.add('avx');
  if (cpu.features.avx2) s.add('avx2');
  // SDM Vol. 2A CPUID leaf 7: EBX 16 AVX512F, 17 AVX512DQ, 30 AVX512BW, 31 AVX512VL.
  if (b(l7[1], 16)) s.add('avx512f');
  if (b(l7[1], 17)) s.add('avx512dq');
  if (b(l7[1], 30)) s.add('avx512bw');
  if (b(l7[1], 31)) s.add('avx512vl');
  // CPUID.01H:ECX bit 12 FMA, bit 29 F16C (SDM Vol. 2A Table 3-10).
  if (b(l1[2], 12)) s.add('fma');
  if (b(l1[2], 29)) s.add('f16c');
  // CPUID.01H:ECX bit 0 SSE3, bit 19 SSE4.1.
  if (b(l1[2], 0)) s.add('sse3');
  if (b(l1[2], 19)) s.add('sse41');
  // CPUID.(07H,1):EAX bit 5 AVX512_BF16.
  if (b(cpu.cpuid.get(7, 1)[0], 5)) s.add('avx512bf16');
  return s;
}

/** Instantiate a template with random operands (AT&T syntax). */
function instantiate(r: Prng, t: string): string {
  let last = '';
  let lastK = '';
  t = instantiateFloat(r, t);
  const vreg = (p: string, evex: boolean): string => { last = `%${p}mm${r.below(evex ? 32 : 16)}`; return last; };
  return t
    .replace(/\{(E?)([xyz])\}|\{same\}|\{sameK\}|\{k\}|\{K\}|\{ma\}|\{m\}|\{i\}|\{r32\}|\{r64\}|\{maskm\}|\{maskk\}|\{mask\}|\{bcst4\}|\{bcst8\}/g, (m, e: string, w: string) => {
      if (w) return vreg(w, e === 'E');
      switch (m) {
        case '{same}': return last;
        case '{sameK}': return lastK;
        case '{k}': lastK = `%k${1 + r.below(7)}`; return lastK;
        case '{K}': lastK = `%k${r.below(8)}`; return lastK;
        case '{ma}': return `${64 * r.below(12) + (r.chance(0.05) ? 16 : 0)}(%rbx)`;
        case '{m}': return `${r.below(DATA_SIZE - 128)}(%rbx)`;
        case '{i}': return `$${r.below(256)}`;
        case '{r32}': return `%${['eax', 'ecx', 'edx', 'esi'][r.below(4)]}`;
        case '{r64}': return `%${['rax', 'rcx', 'rdx', 'rsi'][r.below(4)]}`;
        case '{bcst4}': return r.chance(0.3) ? '{1to16}' : '';
        case '{bcst8}': return r.chance(0.3) ? '{1to8}' : '';
        case '{maskk}': return r.chance(0.5) ? `{%k${1 + r.below(7)}}` : '';
        case '{maskm}': case '{mask}': {
          if (r.chance(0.4)) return '';
          const k = `{%k${1 + r.below(7)}}`;
          return m === '{mask}' && r.chance(0.5) ? `${k}{z}` : k;
        }
      }
      return m;
    })
    // Fix the broadcast tokens on non-memory operands and 32-bit register forms.
    .replace(/\(%rbx\)\{1to16\}, %[xy]mm/g, (s) => s.replace('{1to16}', ''));
}

/** Assemble instruction lines with GNU as; return one decoded Instruction and its bytes per line. */
export function assembleLines(lines: string[]): { ins: Instruction; bytes: Uint8Array; text: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'xstate-lab-insn-'));
  try {
    const src = join(dir, 'a.s');
    writeFileSync(src, lines.map((l) => `\t${l}\n`).join(''));
    execFileSync('as', ['--64', '-o', join(dir, 'a.o'), src], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('objcopy', ['-O', 'binary', '-j', '.text', join(dir, 'a.o'), join(dir, 'a.bin')]);
    const bin = new Uint8Array(readFileSync(join(dir, 'a.bin')));
    const d = new Decoder(64, bin, DecoderOptions.None);
    const out: { ins: Instruction; bytes: Uint8Array; text: string }[] = [];
    for (const text of lines) {
      const pos = Number(d.position);
      const ins = d.decode();
      out.push({ ins, bytes: bin.slice(pos, pos + ins.length), text });
    }
    const longer = d.canDecode;
    d.free();
    if (longer) throw new Error('assembled code longer than the instruction list');
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class ModelEnv implements ExecEnv {
  flags = 2n;
  constructor(readonly vec: VectorFile, readonly gpr: bigint[], readonly rbx: bigint, readonly data: Uint8Array) {}
  private idx(r: Register): [number, boolean] {
    let k = GPRS.indexOf(r);
    if (k >= 0) return [k, false];
    k = GPRS32.indexOf(r);
    if (k >= 0) return [k, true];
    return [-1, false];
  }
  getGpr(r: Register): bigint {
    if (r === Register.RBX) return this.rbx;
    const [k, w32] = this.idx(r);
    if (k < 0) throw new Error(`referee: register ${Register[r]} not available`);
    return w32 ? this.gpr[k] & 0xffffffffn : this.gpr[k];
  }
  setGpr(r: Register, v: bigint): void {
    const [k, w32] = this.idx(r);
    if (k < 0) throw new Error(`referee: register ${Register[r]} not available`);
    this.gpr[k] = w32 ? v & 0xffffffffn : v & 0xffffffffffffffffn; // 32-bit writes zero-extend (SDM Vol. 1 3.4.1.1)
  }
  private at(addr: bigint, len: number): number {
    const o = Number(addr - this.rbx);
    if (o < 0 || o + len > DATA_SIZE) throw new CpuFault(Vector.GP, `memory access at offset ${o} outside the test buffer`);
    return o;
  }
  readMem(addr: bigint, len: number): Uint8Array { const o = this.at(addr, len); return this.data.slice(o, o + len); }
  writeMem(addr: bigint, d: Uint8Array): void { this.data.set(d, this.at(addr, d.length)); }
  setStatusFlags(f: { cf: number; pf: number; af: number; zf: number; sf: number; of: number }): void {
    this.flags = (this.flags & ~STATUS_FLAGS) | BigInt(f.cf) | (BigInt(f.pf) << 2n) | (BigInt(f.af) << 4n) | (BigInt(f.zf) << 6n) | (BigInt(f.sf) << 7n) | (BigInt(f.of) << 11n);
  }
  segmentBase(): bigint { return 0n; }
}

export interface InsnSelfcheckSummary {
  cases: number; mismatches: number; notRun: string[];
  /** Cases in which the host raised SIGFPE (#XM): the unmasked-exception path was compared. */
  hostSigfpe: number;
}

/** `only`: keep the templates it accepts (the floating-point test runs the floating-point ones). */
export function runInsnSelfcheck(o: KernelSelfcheckOptions, only?: (template: string, floating: boolean) => boolean): InsnSelfcheckSummary {
  const { cpu, log } = o;
  const have = hostFeatures(cpu);
  const chosen = only ? TEMPLATES.filter((t) => only(t.t, t.fp !== undefined)) : TEMPLATES;
  const usable = chosen.filter((t) => t.needs.every((n) => have.has(n)));
  const notRun = chosen.filter((t) => !usable.includes(t)).map((t) => `${t.t.split(' ')[0]} (needs ${t.needs.filter((n) => !have.has(n)).join(', ')})`);
  if (notRun.length) log(`instructions the host cannot run, not compared: ${[...new Set(notRun)].join('; ')}`);
  if (usable.length === 0) { log('insn selfcheck: the host has no AVX: nothing to compare'); return { cases: 0, mismatches: 0, notRun, hostSigfpe: 0 }; }
  const r = new Prng(o.seed);
  // A quarter of the cases from the hand-written templates, the rest from the generated forms
  // (cases-vector-int.ts): every emulated VEX/EVEX code the host has, in turn from a random start.
  // With `only`, every case comes from the chosen templates.
  const templated = only ? o.cases : Math.ceil(o.cases / 4);
  const picked = Array.from({ length: templated }, () => r.pick(usable));
  const lines = picked.map((t) => instantiate(r, t.t));
  const insns: { ins: Instruction; bytes: Uint8Array; text: string; fix?: IndexFix[] }[] = assembleLines(lines);
  if (!only) {
    const forms = vectorForms(isEmulatedMnemonic, LEGACY_CRYPTO_MNEMONICS);
    const lacking = new Map<string, string>();
    const runnable = forms.filter((code) => {
      const g = instantiateCode(r, code);
      const missing = hostLacks(cpu, g.ins);
      if (missing) lacking.set(Mnemonic[g.ins.mnemonic], missing);
      g.ins.free();
      return missing === undefined;
    });
    if (lacking.size) log(`generated forms the host cannot run, not compared: ${[...lacking].map(([m, f]) => `${m} (needs ${f})`).join('; ')}`);
    const start = runnable.length ? r.below(runnable.length) : 0;
    for (let k = 0; insns.length < o.cases && runnable.length; k++) insns.push(instantiateCode(r, runnable[(start + k) % runnable.length]));
    log(`generated forms: ${forms.length} emulated VEX/EVEX and legacy crypto codes, ${runnable.length} run on this host`);
  }
  const exe = buildNative('selfcheck/insn-probe.c');
  // The XCR0 the host kernel runs user space with: the kernel model's choice for this CPU (the
  // probe's greeting, CPUID.(0DH,0).EBX under the real XCR0, must agree with its standard size).
  const variant = o.variant ?? closestVariantTo(release());
  const xcr0 = fpu__init_system_xstate(cpu, variant).xcr0;
  // Inputs
  const cases = insns.map((x, k) => {
    const setup = standardImage(r, { cpu, xcr0, area: cpu.standardSize(xcr0), xgetbv1: false });
    for (const f of x.fix ?? []) applyIndexFix(r, cpu, setup, f);
    // Only loadable states: the setup must not fault (MXCSR reserved bits are excluded by standardImage).
    const data = new Uint8Array(DATA_SIZE);
    r.fill(data, 0, DATA_SIZE);
    const fp = k < picked.length ? picked[k].fp : undefined;
    if (fp) seedFloatCase(r, cpu, xcr0, setup, data, fp);
    // An MMX-register form with FSW.ES set raises #MF, and with every x87 exception masked Linux's
    // math_error sends no signal and the probe would loop: the MMX forms get no x87 exception
    // pending (FSW bits 7:0 and B clear; restores may recompute ES from the flags). #MF before
    // them is compared by test/guests/vector-float/mmx-cvt.c instead.
    if (/%mm\d/.test(x.text)) { setup[LEGACY.FSW] = 0; setup[LEGACY.FSW + 1] &= ~(FSW_B >> 8); }
    // Some registers small or small negative (lengths, bit indices, counts: VPCMPESTRI's EAX/EDX, BZHI, BEXTR).
    const gpr = [0, 1, 2, 3].map(() => r.chance(0.3) ? BigInt.asUintN(64, BigInt(r.below(40) - 20)) : BigInt(r.next()) | (BigInt(r.next()) << 32n));
    // Some zero bytes in the buffer (implicit-length string compares end at them); not in a floating-point case's operands.
    if (!fp && r.chance(0.3)) for (let z = 0; z < 40; z++) data[r.below(DATA_SIZE)] = 0;
    return { setup, data, gpr };
  });
  // Native
  const greetingSize = 16;
  const area = (cpu.standardSize(xcr0) + 63) & ~63;
  const parts: Buffer[] = [];
  insns.forEach((x, k) => {
    const h = Buffer.alloc(8 + 32 + CODE_MAX);
    h.writeUInt32LE(x.bytes.length, 0);
    cases[k].gpr.forEach((g, j) => h.writeBigUInt64LE(g, 8 + 8 * j));
    h.set(x.bytes, 40);
    const s = Buffer.alloc(area);
    s.set(cases[k].setup.subarray(0, area));
    parts.push(h, s, Buffer.from(cases[k].data));
  });
  const runNative = (input: Buffer[]): Buffer => {
    const res = spawnSync(exe, [], { input: Buffer.concat(input), maxBuffer: 1 << 30 });
    if (res.status !== 0) throw new HostProbeError(`the instruction probe stopped (${res.status ?? res.signal}): ${res.stderr.toString().trim()}`);
    return res.stdout;
  };
  const outb = runNative(parts);
  if (outb.length < greetingSize || outb.readUInt32LE(0) !== 0x4e534e49) throw new HostProbeError('the instruction probe answered nothing usable');
  if (outb.readUInt32LE(4) !== area) throw new HostProbeError(`the host's XSAVE area is ${outb.readUInt32LE(4)} bytes, the model's for XCR0 0x${xcr0.toString(16)} (${variant.id}) is ${area}: the profile or the variant does not fit this host`);
  const rbx = outb.readBigUInt64LE(8);
  const rec = 8 + 40 + area + DATA_SIZE;
  // Model
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = xcr0;
  const vec = new VectorFile(ctx.regs);
  const fmt = new Formatter(FormatterSyntax.Gas);
  const map = new AreaMap(cpu, { compacted: false, rexW: true });
  let mismatches = 0, shown = 0, unstable = 0, hostSigfpe = 0;
  insns.forEach((x, k) => {
    // A mismatch is re-run twice on the host: a context switch between the probe's steps lets the
    // kernel's XRSTORS change XINUSE; the case counts only if the model matches none of the answers.
    const answers = [outb.subarray(greetingSize + k * rec, greetingSize + (k + 1) * rec)];
    const compare = (ans: Buffer): string[] => compareOne(x, k, ans);
    if (answers[0].readUInt32LE(0) === SIGFPE) hostSigfpe++;
    let diffs = compare(answers[0]);
    if (diffs.length) {
      for (let t = 0; t < 2; t++) answers.push(runNative(parts.slice(3 * k, 3 * k + 3)).subarray(greetingSize, greetingSize + rec));
      if (answers.some((a) => Buffer.compare(a, answers[0]) !== 0)) unstable++;
      if (answers.slice(1).some((a) => compare(a).length === 0)) diffs = [];
    }
    if (diffs.length) {
      mismatches++;
      if (shown++ < (o.detail ?? 10)) {
        log(`MISMATCH ${x.text}   [${fmt.format(x.ins)}]`);
        for (const d of diffs.slice(0, 8)) log(`  ${d}`);
      }
    }
  });
  if (unstable) log(`note: ${unstable} instruction(s) gave different answers on repeated host runs (preemption between steps)`);
  log(`insn selfcheck: ${insns.length} instructions (${usable.length} templates), ${mismatches} mismatches, ${hostSigfpe} with #XM on the host, host ${cpu.id}`);
  return { cases: insns.length, mismatches, notRun, hostSigfpe };

  function compareOne(x: { ins: Instruction; text: string }, k: number, ans: Buffer): string[] {
    const at = 0;
    const outb = ans;
    const hSig = outb.readUInt32LE(at);
    // SIGFPE: the probe records si_code and the MXCSR of the signal frame (insn-probe.c on_fault).
    const hCode = outb.readUInt32LE(at + 4);
    const hGpr = [0, 1, 2, 3].map((j) => outb.readBigUInt64LE(at + 8 + 8 * j));
    const hFlags = outb.readBigUInt64LE(at + 40) & STATUS_FLAGS;
    const hState = new Uint8Array(outb.subarray(at + 48, at + 48 + area));
    const hData = new Uint8Array(outb.subarray(at + 48 + area, at + rec));
    const env = new ModelEnv(vec, [...cases[k].gpr], rbx, cases[k].data.slice());
    const mState = new Uint8Array(area);
    let mSig = 0, mCode = 0, mWhy = '';
    try {
      xrstor(ctx, cases[k].setup, 0x10000, 0xffffffff, 0xffffffff);
      if (!emulateVector(x.ins, env)) throw new Error(`referee template '${x.text}' is not emulated`);
      xsave(ctx, mState, 0x20000, 0xffffffff, 0xffffffff);
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      mSig = SIGNAL_OF[e.vector];
      if (e instanceof SimdFpFault) mCode = e.siCode;
      mWhy = e.reason;
    }
    const diffs: string[] = [];
    if (hSig !== mSig) diffs.push(`fault: host signal ${hSig}, model ${mSig}${mWhy ? ` (${mWhy})` : ''}`);
    if (hSig === SIGFPE && mSig === SIGFPE) {
      const hMx = hState[LEGACY.MXCSR] | (hState[LEGACY.MXCSR + 1] << 8) | (hState[LEGACY.MXCSR + 2] << 16) | (hState[LEGACY.MXCSR + 3] << 24);
      if (hCode !== mCode) diffs.push(`SIGFPE si_code: host ${hCode}, model ${mCode}`);
      if ((hMx >>> 0) !== ctx.regs.mxcsr) diffs.push(`MXCSR after #XM: host 0x${(hMx >>> 0).toString(16)}, model 0x${ctx.regs.mxcsr.toString(16)}`);
    }
    if (hSig === 0 && mSig === 0) {
      hGpr.forEach((g, j) => { if (g !== env.gpr[j]) diffs.push(`${Register[GPRS[j]]}: host 0x${g.toString(16)}, model 0x${env.gpr[j].toString(16)}`); });
      if (hFlags !== (env.flags & STATUS_FLAGS)) diffs.push(`RFLAGS status: host 0x${hFlags.toString(16)}, model 0x${(env.flags & STATUS_FLAGS).toString(16)}`);
      for (const d of diffFields(cpu, map, 'readback', hState, mState)) diffs.push(`${d.component}.${d.field}: host ${d.expected}, model ${d.got}`);
      for (let j = 0; j < DATA_SIZE; j++) if (hData[j] !== env.data[j]) { diffs.push(`memory byte ${j}: host 0x${hData[j].toString(16)}, model 0x${env.data[j].toString(16)}`); break; }
    }
    return diffs;
  }
}
