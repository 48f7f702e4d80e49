/**
 * The native vector path (emulator/native/vector-fast.c) against the model (emulator/vector/*.ts over
 * vector-file.ts), which is the reference: random CPUs (every built-in profile, some without AVX or
 * AVX-512), XCR0s, control states, register files with their tracking state (XINUSE, XMODIFIED, the
 * known-zero bits, the per-register in-use bits) and random VEX/EVEX encodings of the accepted
 * operations (registers 0-31, masks, zeroing, vector lengths, reserved bits, memory forms, prefixes),
 * seeded and reproducible (XSTATE_LAB_DIFF_SEED, XSTATE_LAB_DIFF_CASES). For each case iced-x86
 * decodes the bytes and the machine's own checks decide whether the model faults (no instruction,
 * a CPUID feature the profile lacks, XCR0 without the encoding's components): there the native path
 * must decline. Where the native path does the instruction, the model does it on a copy and the two
 * stores must agree on every byte, and the register the native path reports as written must be the
 * instruction's destination.
 */
import { describe, expect, it } from 'vitest';
import { CpuModel } from '../emulator/cpu-model.js';
import { Code, Decoder, DecoderOptions, EncodingKind, Mnemonic, Register, type Instruction } from '../emulator/iced.js';
import { missingFeature, xcr0Needed } from '../emulator/machine-features.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { LEGACY } from '../emulator/register-file.js';
import { emulateVector, type ExecEnv } from '../emulator/avx.js';
import { VectorFile } from '../emulator/vector-file.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { XsaveContext, xcr0Invalid } from '../emulator/xsave.js';
import { NATIVE_KINDS, VfAccept, VfAt, VfKind, acceptedEncodings, expectedVectorBinding, nativeVector, nativeVectorRun, nativeVectorUnavailable, vectorBindingDifferences } from '../emulator/vector-native.js';
import { nativeVectorLibrary } from '../emulator/unicorn.js';
import { Sfc32 } from './helpers.js';

const SEED = Number(process.env.XSTATE_LAB_DIFF_SEED ?? 0x7ec70a51);
const CASES = Number(process.env.XSTATE_LAB_DIFF_CASES ?? 100_000);

/** The tests' seeded generator (test/helpers.ts), one byte per draw in fills. */
class Rng extends Sfc32 {
  override fill(a: Uint8Array, from = 0, to = a.length): void { this.fillBytes(a, from, to); }
}

function randomXcr0(rng: Rng, cpu: CpuModel): number {
  if (rng.chance(0.85)) return cpu.xcr0Supported;
  for (let t = 0; t < 64; t++) {
    const x = ((rng.u32() & cpu.xcr0Supported) | bit(XFeature.X87)) >>> 0;
    if (xcr0Invalid(cpu, x, 0) === undefined) return x;
  }
  return cpu.xcr0Supported;
}

/** A random register file with tracking state the model allows (known-zero only where zero). */
function randomize(rng: Rng, ctx: XsaveContext): void {
  const cpu = ctx.cpu, r = ctx.regs;
  r.reset();
  ctx.xcr0 = randomXcr0(rng, cpu);
  ctx.cr0Ts = rng.chance(0.01);
  ctx.cr4Osxsave = true;
  ctx.mode64 = !rng.chance(0.01);
  ctx.xfd = rng.chance(0.01) ? rng.u32() : 0;
  const L = r.legacy;
  for (let n = 0; n < 16; n++) {
    if (rng.chance(0.3)) L.fill(0, LEGACY.XMM0 + 16 * n, LEGACY.XMM0 + 16 * n + 16);
    else rng.fill(L, LEGACY.XMM0 + 16 * n, LEGACY.XMM0 + 16 * n + 16);
  }
  r.mxcsr = rng.chance(0.5) ? 0x1f80 : rng.u32() & cpu.mxcsrMask;
  let knownZero = 0;
  for (const c of cpu.extendedComponents) {
    const bytes = r.comp[c.number]!;
    if (rng.chance(0.2)) { if (rng.chance(0.5)) knownZero |= bit(c.number); continue; }
    rng.fill(bytes);
    for (let o = 0; o < bytes.length; o += 8) if (rng.chance(0.2)) bytes.fill(0, o, o + 8);
    // Opmask registers with few bits, sometimes all ones: masks that enable some elements.
    if (c.number === XFeature.OPMASK) for (let o = 0; o < bytes.length; o += 8) if (rng.chance(0.2)) bytes.fill(0xff, o, o + 8);
  }
  r.knownZero = knownZero >>> 0;
  r.xinuse = rng.chance(0.2) ? 0 : rng.u32();
  r.xmodified = rng.chance(0.3) ? 0xffffffff : rng.u32();
  for (let c = 0; c < 8; c++) r.regsInUse[c] = rng.chance(0.3) ? 0 : rng.u32();
}

type Encoding = ReturnType<typeof acceptedEncodings>[number];

/** Random bytes of an encoding: registers 0-31, masks, zeroing, sometimes a reserved bit, a memory form or a prefix. */
function encode(rng: Rng, e: Encoding): Uint8Array {
  const bytes: number[] = [];
  if (rng.chance(0.01)) bytes.push([0x66, 0xf2, 0xf3, 0x41, 0x2e][rng.below(5)]!);
  const fields = [e.word >> VfAccept.DST_SHIFT & 3, e.word >> VfAccept.SRC1_SHIFT & 3, e.word >> VfAccept.SRC2_SHIFT & 3];
  // Opmask operands mostly k0-k7 (the 3-bit fields), an unused vvvv mostly 1111b: the rest tests the declines.
  const regs = (e.word & VfAccept.KREGS) && rng.chance(0.9) ? 8 : 32;
  const reg = rng.below(regs), rm = rng.below(regs), vvvv = fields.includes(VfAt.VVVV) || rng.chance(0.05) ? rng.below(regs) : 0;
  const sameSrc = rng.chance(0.15);
  const v = sameSrc ? rm : vvvv;
  const mod = rng.chance(0.03) ? rng.below(3) : 3;
  const R = reg >> 3 & 1, X = rm >> 4 & 1, B = rm >> 3 & 1;
  if (!e.evex) {
    if (e.map === 1 && e.w === 0 && !X && !B && rng.chance(0.5)) bytes.push(0xc5, (R ? 0 : 0x80) | ((~v & 15) << 3) | (e.l << 2) | e.pp);
    else bytes.push(0xc4, (R ? 0 : 0x80) | (rng.chance(0.9) ? 0x40 : 0) | (B ? 0 : 0x20) | e.map, (e.w << 7) | ((~v & 15) << 3) | (e.l << 2) | e.pp);
  } else {
    const Rp = reg >> 4 & 1, Vp = v >> 4 & 1;
    const aaa = rng.chance(0.5) ? 0 : rng.below(8), z = rng.chance(0.3) ? 1 : 0, b = rng.chance(0.02) ? 1 : 0;
    let p0 = (R ? 0 : 0x80) | (X ? 0 : 0x40) | (B ? 0 : 0x20) | (Rp ? 0 : 0x10) | e.map;
    if (rng.chance(0.01)) p0 |= 4 << rng.below(2);
    let p1 = (e.w << 7) | ((~v & 15) << 3) | 4 | e.pp;
    if (rng.chance(0.01)) p1 &= ~4;
    const l = rng.chance(0.01) ? 3 : e.l;
    bytes.push(0x62, p0, p1, (z << 7) | (l << 5) | (b << 4) | (Vp ? 0 : 8) | aaa);
  }
  bytes.push(e.opcode, (mod << 6) | ((reg & 7) << 3) | (rm & 7));
  if (mod !== 3 && (rm & 7) === 4) bytes.push(0x24);
  if (mod === 1) bytes.push(rng.below(256));
  if (mod === 2) bytes.push(0, 1, 0, 0);
  if (e.word & VfAccept.IMM8) bytes.push(rng.below(256));
  for (let k = 0; k < 4; k++) bytes.push(rng.below(256)); // what follows the instruction
  return Uint8Array.from(bytes);
}

/** The vector engine's view with no memory and no general-purpose registers: register forms need none. */
function envOf(vec: VectorFile): ExecEnv {
  const none = (): never => { throw new Error('register forms reach no memory or general-purpose register'); };
  return { vec, getGpr: none, setGpr: none, readMem: none, writeMem: none, setStatusFlags: none, segmentBase: none };
}

/** The model's #UD for an instruction on a CPU with an XCR0 (machine.ts execute's checks). */
function modelFaults(cpu: CpuModel, xcr0: number, ins: Instruction): boolean {
  if (ins.code === Code.INVALID) return true;
  if (missingFeature(cpu, ins) !== undefined) return true;
  const need = xcr0Needed(ins);
  return (xcr0 & need) !== need;
}

function destinationOf(ins: Instruction): { k: boolean; n: number } {
  const r = ins.opRegister(0);
  if (r >= Register.K0 && r <= Register.K7) return { k: true, n: r - Register.K0 };
  for (const [first, last] of [[Register.XMM0, Register.XMM31], [Register.YMM0, Register.YMM31], [Register.ZMM0, Register.ZMM31]] as const) if (r >= first && r <= last) return { k: false, n: r - first };
  return { k: false, n: -1 };
}

describe('native vector path (vector-fast.c) against the model', () => {
  it('binds: the C file lists exactly the table words, fields, kinds and state words vector-native.ts defines', () => {
    const lib = nativeVectorLibrary();
    expect(lib, 'the trap gate library builds and loads (gcc)').not.toBeNull();
    expect(vectorBindingDifferences(lib!.binding())).toEqual([]);
    expect(expectedVectorBinding().length).toBeGreaterThan(50);
    expect(vectorBindingDifferences(lib!.binding().replace('kind:KADD=', 'kind:KADD_RENAMED='))).toHaveLength(2);
    expect(nativeVector(), nativeVectorUnavailable).not.toBeNull();
  });

  it('accepts an encoding of every operation kind, each generated from iced-x86 (register forms only)', () => {
    const kinds = new Set(acceptedEncodings().map((e) => e.word & VfAccept.KIND_MASK));
    for (const k of Object.values(VfKind).filter((v): v is number => typeof v === 'number')) expect(kinds.has(k), VfKind[k]).toBe(true);
    // Every mnemonic of NATIVE_KINDS has an accepted register form, with its operation.
    const byMnemonic = new Map(acceptedEncodings().map((e) => [e.mnemonic, e.word & VfAccept.KIND_MASK]));
    for (const [m, kind] of NATIVE_KINDS) expect(byMnemonic.get(m), Mnemonic[m]).toBe(kind);
  });

  it(`agrees byte for byte on ${CASES} random cases (seed 0x${SEED.toString(16)}), and declines wherever the model faults`, () => {
    const rng = new Rng(SEED);
    const cpus = builtinProfileIds().map((id) => loadBuiltinQuietly(id));
    expect(cpus.some((c) => !c.features.avx512f), 'some profile lacks AVX-512').toBe(true);
    const ctxs = cpus.map((cpu) => ({ cpu, model: new XsaveContext(cpu), native: new XsaveContext(cpu) }));
    const encodings = acceptedEncodings();
    const mismatches: string[] = [];
    const doneByKind = new Map<number, number>();
    let done = 0, declined = 0, faultsDeclined = 0, maskedDone = 0, zeroingDone = 0, upper16Done = 0, idiomDone = 0;
    for (let k = 0; k < CASES && mismatches.length < 5; k++) {
      const { cpu, model, native } = ctxs[rng.below(ctxs.length)]!;
      const e = encodings[rng.below(encodings.length)]!;
      const bytes = encode(rng, e);
      randomize(rng, native);
      const storeN = new Uint8Array(native.regs.store), storeM = new Uint8Array(model.regs.store);
      storeM.set(storeN);
      const before = storeN.slice();
      const dec = new Decoder(64, bytes, DecoderOptions.None);
      const ins = dec.decode();
      dec.free();
      const faults = modelFaults(cpu, native.xcr0, ins);
      const got = nativeVectorRun(cpu, native.regs.store, bytes);
      const what = () => `case ${k} ${cpu.id} xcr0 0x${native.xcr0.toString(16)} bytes ${Buffer.from(bytes).toString('hex')} (${ins.code === Code.INVALID ? 'invalid' : Mnemonic[ins.mnemonic]})`;
      if (got === undefined) {
        declined++;
        if (faults) faultsDeclined++;
        const at = storeN.findIndex((b, i) => b !== before[i]);
        if (at >= 0) mismatches.push(`${what()}: declined but changed store byte ${at}`);
        continue;
      }
      if (faults) { mismatches.push(`${what()}: the model faults (#UD) but the native path did it`); continue; }
      if (ins.encoding !== EncodingKind.VEX && ins.encoding !== EncodingKind.EVEX) { mismatches.push(`${what()}: not VEX/EVEX`); continue; }
      if (got.length !== ins.length) { mismatches.push(`${what()}: length ${got.length}, iced-x86 ${ins.length}`); continue; }
      try {
        if (!emulateVector(ins, envOf(new VectorFile(model.regs)))) { mismatches.push(`${what()}: the model has no such instruction`); continue; }
      } catch (err) {
        mismatches.push(`${what()}: the model threw ${(err as Error).message} where the native path did it`);
        continue;
      }
      const at = storeN.findIndex((b, i) => b !== storeM[i]);
      if (at >= 0) { mismatches.push(`${what()}: store byte ${at} native 0x${storeN[at]!.toString(16)} model 0x${storeM[at]!.toString(16)}`); continue; }
      const dst = destinationOf(ins);
      if (dst.k !== got.k || dst.n !== got.n) { mismatches.push(`${what()}: reported ${got.k ? 'k' : 'v'}${got.n}, destination ${dst.k ? 'k' : 'v'}${dst.n}`); continue; }
      done++;
      const kind = NATIVE_KINDS.get(ins.mnemonic)!;
      doneByKind.set(kind, (doneByKind.get(kind) ?? 0) + 1);
      if (ins.opMask !== Register.None) { maskedDone++; if (ins.zeroingMasking) zeroingDone++; }
      if (dst.n >= 16 && !dst.k) upper16Done++;
      if (ins.opCount >= 3 && ins.opRegister(1) === ins.opRegister(2)) idiomDone++;
    }
    console.log(`vector-native: ${done} done natively, ${declined} declined (${faultsDeclined} where the model faults), masked ${maskedDone} (zeroing ${zeroingDone}), zmm16-31 destinations ${upper16Done}, same-source ${idiomDone}; by kind ${[...doneByKind].map(([kd, n]) => `${VfKind[kd]} ${n}`).join(', ')}`);
    expect(mismatches).toEqual([]);
    // The cases must reach every operation and the rules that differ between them.
    for (const kd of Object.values(VfKind).filter((v): v is number => typeof v === 'number')) expect(doneByKind.get(kd) ?? 0, VfKind[kd]).toBeGreaterThan(CASES / 1000);
    expect(done).toBeGreaterThan(CASES / 3);
    expect(faultsDeclined).toBeGreaterThan(CASES / 100);
    expect(maskedDone).toBeGreaterThan(CASES / 50);
    expect(zeroingDone).toBeGreaterThan(CASES / 200);
    expect(upper16Done).toBeGreaterThan(CASES / 100);
    expect(idiomDone).toBeGreaterThan(CASES / 100);
  }, 600_000);
});

/**
 * The gate's native path (trap-gate.c vf_fast) inside a running machine, against the same machine
 * with it off (XSTATE_LAB_NO_VECTOR_FAST_PATH): a loop of register-form VEX/EVEX and opmask
 * instructions with legacy SSE writes unicorn runs between them (the gate absorbs them into the
 * model first) and an XSAVE (the model's view of everything), on every built-in CPU with the
 * instructions. The register files and the save areas must be equal, and the native path must have
 * done most vector traps.
 */
describe('the trap gate runs vector instructions natively', () => {
  const CODE = 0x400000n, DATA = 0x600000n;
  /* vpaddd zmm1,zmm1,zmm2; kaddq k1,k1,k2; paddd xmm2,xmm1; vpxord zmm3{k1}{z},zmm1,zmm2; vmovdqa64 ymm17,ymm3;
     vpsubb xmm4,xmm4,xmm4; kshiftlw k3,k1,3; vpaddq ymm5{k3},ymm17,ymm2; xsave64 [rbx]; vpternlogd zmm6,zmm1,zmm3,0x96;
     movaps xmm7,xmm6; jmp start (as + objdump) */
  const AVX512_LOOP = Uint8Array.from([
    0x62, 0xf1, 0x75, 0x48, 0xfe, 0xca, 0xc4, 0xe1, 0xf4, 0x4a, 0xca, 0x66, 0x0f, 0xfe, 0xd1, 0x62, 0xf1, 0x75, 0xc9, 0xef, 0xda,
    0x62, 0xe1, 0xfd, 0x28, 0x6f, 0xcb, 0xc5, 0xd9, 0xf8, 0xe4, 0xc4, 0xe3, 0xf9, 0x32, 0xd9, 0x03, 0x62, 0xf1, 0xf5, 0x23, 0xd4, 0xea,
    0x48, 0x0f, 0xae, 0x23, 0x62, 0xf3, 0x75, 0x48, 0x25, 0xf3, 0x96, 0x0f, 0x28, 0xfe, 0xeb, 0xc5,
  ]);
  /* vpaddd ymm1,ymm1,ymm2; paddd xmm2,xmm1; vpxor ymm3,ymm1,ymm2; vmovdqu ymm4,ymm3; vpsubb xmm4,xmm4,xmm4; vpand xmm5,xmm1,xmm3;
     xsave64 [rbx]; vpor ymm6,ymm5,ymm1; jmp start */
  const AVX_LOOP = Uint8Array.from([
    0xc5, 0xf5, 0xfe, 0xca, 0x66, 0x0f, 0xfe, 0xd1, 0xc5, 0xf5, 0xef, 0xda, 0xc5, 0xfe, 0x6f, 0xe3, 0xc5, 0xd9, 0xf8, 0xe4,
    0xc5, 0xf1, 0xdb, 0xeb, 0x48, 0x0f, 0xae, 0x23, 0xc5, 0xd5, 0xeb, 0xf1, 0xeb, 0xde,
  ]);

  async function run(cpuId: string, native: boolean): Promise<{ store: Uint8Array; mem: Uint8Array; nativeCount: number }> {
    const { Machine, StopKind } = await import('../emulator/machine.js');
    const { Prot, X86Reg } = await import('../emulator/unicorn.js');
    const cpu = loadBuiltinQuietly(cpuId);
    const xs = new XsaveContext(cpu);
    xs.xcr0 = cpu.xcr0Supported & ~(bit(XFeature.TILECFG) | bit(XFeature.TILEDATA));
    const saved = process.env.XSTATE_LAB_NO_VECTOR_FAST_PATH;
    if (native) delete process.env.XSTATE_LAB_NO_VECTOR_FAST_PATH; else process.env.XSTATE_LAB_NO_VECTOR_FAST_PATH = '1';
    const m = new Machine(cpu, xs, { onSyscall: () => true });
    try {
      m.map(CODE, 0x1000n, Prot.READ | Prot.EXEC, cpu.features.avx512f ? AVX512_LOOP : AVX_LOOP);
      m.map(DATA, 0x10000n, Prot.READ | Prot.WRITE);
      m.uc.regWrite(X86Reg.RIP, CODE);
      m.uc.regWrite(X86Reg.RBX, DATA);
      m.uc.regWrite(X86Reg.RAX, 0xffffffffn);
      m.uc.regWrite(X86Reg.RDX, 0xffffffffn);
      // Registers with data (the model's) and into unicorn.
      const rng = new Rng(0x600d);
      for (let n = 0; n < (cpu.features.avx512f ? 32 : 16); n++) { const v = new Uint8Array(m.vec.maxVl()); rng.fill(v); m.vec.write(n, v, 0); }
      if (cpu.features.avx512f) for (let k = 1; k < 8; k++) m.vec.writeK(k, BigInt(rng.u32()) << 32n | BigInt(rng.u32()));
      m.syncOut(true);
      for (let k = 0; k < 20; k++) expect(m.run(500).kind).toBe(StopKind.Quantum);
      m.syncIn(true);
      return { store: new Uint8Array(xs.regs.store).slice(), mem: m.uc.memRead(DATA, 0x10000), nativeCount: m.nativeVectorCount };
    } finally {
      m.close();
      if (saved === undefined) delete process.env.XSTATE_LAB_NO_VECTOR_FAST_PATH; else process.env.XSTATE_LAB_NO_VECTOR_FAST_PATH = saved;
    }
  }

  const ids = builtinProfileIds().filter((id) => { const f = loadBuiltinQuietly(id).features; return f.avx2 && f.xsave; });
  it('runs on CPUs with and without AVX-512', () => {
    expect(ids.some((id) => loadBuiltinQuietly(id).features.avx512f)).toBe(true);
    expect(ids.some((id) => !loadBuiltinQuietly(id).features.avx512f)).toBe(true);
  });
  for (const id of ids) {
    it(`${id}: the same registers and memory with the native path as without`, async () => {
      const on = await run(id, true), off = await run(id, false);
      expect(off.nativeCount).toBe(0);
      expect(on.nativeCount, 'vector traps the native path did').toBeGreaterThan(3000);
      expect(on.mem.findIndex((b, i) => b !== off.mem[i]), 'first differing byte of the save area').toBe(-1);
      expect(on.store.findIndex((b, i) => b !== off.store[i]), 'first differing byte of the register file').toBe(-1);
    });
  }
});

/**
 * Guest programs under `exec`, with the native path and without, and natively when this machine's
 * captured profile has the instructions (AVX-512 F, DQ, BW, VL; the program checks CPUID and XCR0
 * itself too): test/guests-vector/vector-mix.c (hashes of every ZMM and opmask register, XGETBV(1)
 * and XSAVE headers along a seeded mix) and the bench's AVX-512 loop (bench/guest-xsave-loop.c: the
 * last XSAVE image's checksum).
 */
describe('exec of vector programs with the native vector path', () => {
  async function build(src: string, name: string): Promise<{ spawnSync: typeof import('node:child_process').spawnSync; exe: string; cli: string }> {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const exe = join(mkdtempSync(join(tmpdir(), `${name}-`)), name);
    const cc = spawnSync('musl-gcc', ['-static', '-O2', '-o', exe, src], { encoding: 'utf8' });
    expect(cc.error, 'musl-gcc (apt-get install -y musl-tools)').toBeUndefined();
    expect(cc.status, cc.stderr).toBe(0);
    return { spawnSync, exe, cli: join(import.meta.dirname, '..', 'dist', 'src', 'cli.js') };
  }
  /** Whether the captured profile has what the programs use: the model's own CPUID check of one instruction each of AVX-512 F, BW, DQ and VL. */
  const hostHasAvx512 = async (): Promise<boolean> => {
    const { hostModel } = await import('./helpers.js');
    const cpu = hostModel();
    // vpaddd zmm1,zmm1,zmm2 (F); kaddq k1,k1,k2 (BW); knotb k4,k1 (DQ); vmovdqa64 ymm17,ymm3 (VL)
    const probes = ['62f17548feca', 'c4e1f44aca', 'c5f944e1', '62e1fd286fcb'];
    return probes.every((hex) => {
      const d = new Decoder(64, Uint8Array.from(Buffer.from(hex, 'hex')), DecoderOptions.None);
      const ins = d.decode();
      d.free();
      return ins.code !== Code.INVALID && missingFeature(cpu, ins) === undefined;
    });
  };
  const cases: [string, string, string[][]][] = [
    ['guests-vector/vector-mix.c', 'vector-mix', [['2000', '1'], ['2000', '7'], ['500', '12345']]],
    ['../bench/guest-xsave-loop.c', 'guest-xsave-loop', [['3000', 'avx512'], ['3000']]],
  ];
  for (const [src, name, argss] of cases) {
    it(`${name}: the same output with the native path as without, and as this machine where it has AVX-512`, async () => {
      const { join } = await import('node:path');
      const { spawnSync, exe, cli } = await build(join(import.meta.dirname, src), name);
      const host = await hostHasAvx512();
      if (!host) console.log(`[${name}] this machine's profile lacks AVX-512 F/DQ/BW/VL: only exec with and without the native path are compared`);
      for (const args of argss) {
        const outs = [false, true].map((off) => {
          const env = { ...process.env };
          if (off) env.XSTATE_LAB_NO_VECTOR_FAST_PATH = '1'; else delete env.XSTATE_LAB_NO_VECTOR_FAST_PATH;
          const r = spawnSync(process.execPath, [cli, 'exec', '--cpu', host ? 'host' : 'amd-zen4', exe, ...args], { encoding: 'utf8', env });
          expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
          return r.stdout;
        });
        expect(outs[0], `${name} ${args.join(' ')}`).toMatch(/hash [0-9a-f]{16}|checksum [0-9a-f]{16}/);
        expect(outs[1], `${name} ${args.join(' ')} without the native path`).toBe(outs[0]);
        if (host) {
          const r = spawnSync(exe, args, { encoding: 'utf8' });
          expect(r.status, r.stderr).toBe(0);
          expect(outs[0], `${name} ${args.join(' ')} natively`).toBe(r.stdout);
        }
      }
    }, 300_000);
  }
});
