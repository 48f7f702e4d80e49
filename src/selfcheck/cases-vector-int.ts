/**
 * Instruction forms for `selfcheck insn`, generated from iced-x86's instruction metadata rather
 * than written by hand: every VEX/EVEX instruction code (one operand shape, vector length and
 * W) whose mnemonic the model emulates becomes a case with random registers (0-15 for VEX,
 * 0-31 for EVEX), a random write mask (k1-k7, or none), zeroing, a memory operand at RBX with or
 * without an EVEX broadcast, a random imm8, and, for gathers and scatters, a vector index whose
 * elements the case generator keeps inside the probe's data buffer. The bytes come from iced-x86's
 * encoder; the host CPU runs them as they are, so the host, not the encoder, is the referee.
 */
import { Code, CodeExt, Decoder, DecoderOptions, Encoder, EncodingKind, Formatter, FormatterSyntax, Instruction, Mnemonic, OpCodeOperandKind as K, OpKind, Register } from '../../emulator/iced.js';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { missingFeature } from '../../emulator/machine-features.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XFeature } from '../../emulator/xfeatures.js';
import { XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import type { Prng } from './cases.js';

/** The probe's scratch registers (insn-probe.c): RBX is the data buffer's address. */
const GPR32 = [Register.EAX, Register.ECX, Register.EDX, Register.ESI];
const GPR64 = [Register.RAX, Register.RCX, Register.RDX, Register.RSI];
/** Bytes of the probe's data buffer (insn-probe.c DATA_SIZE) and the widest access (a ZMM). */
const DATA_SIZE = 1024;
const WIDEST = 64;
/** Gather/scatter index elements are kept below this, times a scale of at most 8, plus the displacement. */
const INDEX_LIMIT = 48;
const VSIB_DISP_LIMIT = DATA_SIZE - WIDEST - INDEX_LIMIT * 8;

/** A vector register of the setup state whose elements must be small non-negative indices. */
export interface IndexFix { reg: number; bytes: number; es: number }
export interface GeneratedCase { ins: Instruction; bytes: Uint8Array; text: string; fix: IndexFix[] }

const VECTOR_KINDS: Partial<Record<K, [Register, number]>> = {
  [K.xmm_reg]: [Register.XMM0, 16], [K.xmm_rm]: [Register.XMM0, 16], [K.xmm_vvvv]: [Register.XMM0, 16], [K.xmm_or_mem]: [Register.XMM0, 16], [K.xmm_is4]: [Register.XMM0, 16], [K.xmm_is5]: [Register.XMM0, 16],
  [K.ymm_reg]: [Register.YMM0, 32], [K.ymm_rm]: [Register.YMM0, 32], [K.ymm_vvvv]: [Register.YMM0, 32], [K.ymm_or_mem]: [Register.YMM0, 32], [K.ymm_is4]: [Register.YMM0, 32], [K.ymm_is5]: [Register.YMM0, 32],
  [K.zmm_reg]: [Register.ZMM0, 64], [K.zmm_rm]: [Register.ZMM0, 64], [K.zmm_vvvv]: [Register.ZMM0, 64], [K.zmm_or_mem]: [Register.ZMM0, 64],
};
const VSIB: Partial<Record<K, [Register, number]>> = {
  [K.mem_vsib32x]: [Register.XMM0, 4], [K.mem_vsib32y]: [Register.YMM0, 4], [K.mem_vsib32z]: [Register.ZMM0, 4],
  [K.mem_vsib64x]: [Register.XMM0, 8], [K.mem_vsib64y]: [Register.YMM0, 8], [K.mem_vsib64z]: [Register.ZMM0, 8],
};
const SUPPORTED = new Set<K>([
  ...Object.keys(VECTOR_KINDS).map(Number), ...Object.keys(VSIB).map(Number),
  K.mem, K.imm8, K.kp1_reg, K.k_reg, K.k_vvvv, K.k_rm, K.k_or_mem, K.r32_reg, K.r64_reg, K.r32_vvvv, K.r64_vvvv, K.r32_rm, K.r64_rm, K.r32_or_mem, K.r64_or_mem,
]);

/**
 * Every VEX/EVEX code usable in 64-bit mode whose mnemonic `emulated` accepts and whose operands
 * the generator can fill, and the legacy-encoded codes of `legacy` (the legacy SHA, GFNI and
 * PCLMULQDQ forms the model owns: their writes keep bits 255:128, their m128 alignment is checked).
 */
export function vectorForms(emulated: (m: Mnemonic) => boolean, legacy: ReadonlySet<Mnemonic> = new Set()): Code[] {
  const out: Code[] = [];
  for (let c = 0; Code[c] !== undefined; c++) {
    const o = CodeExt.opCode(c);
    try {
      if (o.encoding !== EncodingKind.VEX && o.encoding !== EncodingKind.EVEX && !(o.encoding === EncodingKind.Legacy && legacy.has(o.mnemonic))) continue;
      // Codes behind a decoder option (Knights Corner's VEX forms, ...) are not x86-64 instructions of these CPUs.
      if (!o.mode64 || o.decoderOption !== DecoderOptions.None || !emulated(o.mnemonic)) continue;
      let ok = true;
      for (let k = 0; k < o.opCount; k++) if (!SUPPORTED.has(o.opKind(k))) ok = false;
      if (ok) out.push(c);
    } finally { o.free(); }
  }
  return out;
}

const fmt = new Formatter(FormatterSyntax.Gas);

/** One random instance of an instruction code, encoded and decoded back. */
export function instantiateCode(r: Prng, code: Code): GeneratedCase {
  const o = CodeExt.opCode(code);
  const evex = o.encoding === EncodingKind.EVEX;
  const ins = Instruction.create(code);
  const fix: IndexFix[] = [];
  const usedVec: number[] = [];
  let memUsed = false;
  const regs = evex ? 32 : 16;
  const pickVec = (): number => {
    // One case in eight reuses the previous vector register (idioms, same-source forms).
    let n = usedVec.length && r.chance(0.125) ? usedVec[usedVec.length - 1] : -1;
    // The AVX512-FP16 complex multiplies: a source equal to the destination (the first one picked) is #UD,
    // bytes iced-x86 decodes as no instruction (SDM Vol. 2C VFMULCPH "Other Exceptions").
    const clash = (v: number): boolean => o.requiresUniqueDestRegNum && usedVec.length > 0 && v === usedVec[0];
    if (n >= 0 && !clash(n)) return n;
    n = r.below(regs);
    if (clash(n)) n = (n + 1 + r.below(regs - 1)) % regs;
    usedVec.push(n);
    return n;
  };
  const setMem = (): void => {
    memUsed = true;
    ins.memoryBase = Register.RBX;
    ins.memoryIndex = Register.None;
    const disp = r.chance(0.6) ? 64 * r.below((DATA_SIZE - WIDEST) / 64) : r.below(DATA_SIZE - WIDEST);
    ins.memoryDisplacement = BigInt(disp);
    ins.memoryDisplSize = disp === 0 ? 0 : disp < 128 ? 1 : 8; // iced-x86: 8 for a 64-bit address
  };
  const count = o.opCount;
  for (let k = 0; k < count; k++) {
    const kind = o.opKind(k);
    const vk = VECTOR_KINDS[kind];
    const vsib = VSIB[kind];
    if (vk) {
      const orMem = kind === K.xmm_or_mem || kind === K.ymm_or_mem || kind === K.zmm_or_mem;
      if (orMem && r.chance(0.45)) { ins.setOpKind(k, OpKind.Memory); setMem(); continue; }
      ins.setOpKind(k, OpKind.Register);
      ins.setOpRegister(k, vk[0] + pickVec());
    } else if (vsib) {
      ins.setOpKind(k, OpKind.Memory);
      const idx = r.below(evex ? 32 : 16);
      ins.memoryBase = Register.RBX;
      ins.memoryIndex = vsib[0] + idx;
      ins.memoryIndexScale = [1, 2, 4, 8][r.below(4)];
      const disp = r.below(VSIB_DISP_LIMIT);
      ins.memoryDisplacement = BigInt(disp);
      ins.memoryDisplSize = disp === 0 ? 0 : disp < 128 ? 1 : 8; // iced-x86: 8 for a 64-bit address
      fix.push({ reg: idx, bytes: vsib[0] === Register.ZMM0 ? 64 : vsib[0] === Register.YMM0 ? 32 : 16, es: vsib[1] });
      memUsed = true;
    } else if (kind === K.mem) { ins.setOpKind(k, OpKind.Memory); setMem(); }
    else if (kind === K.imm8) { ins.setOpKind(k, OpKind.Immediate8); ins.immediate8 = r.below(256); }
    else if (kind === K.kp1_reg) { ins.setOpKind(k, OpKind.Register); ins.setOpRegister(k, Register.K0 + 2 * r.below(4)); }
    else if (kind === K.k_reg || kind === K.k_vvvv || kind === K.k_rm) { ins.setOpKind(k, OpKind.Register); ins.setOpRegister(k, Register.K0 + r.below(8)); }
    else if (kind === K.k_or_mem) {
      if (r.chance(0.4)) { ins.setOpKind(k, OpKind.Memory); setMem(); } else { ins.setOpKind(k, OpKind.Register); ins.setOpRegister(k, Register.K0 + r.below(8)); }
    } else if (kind === K.r32_reg || kind === K.r32_rm || kind === K.r32_vvvv) { ins.setOpKind(k, OpKind.Register); ins.setOpRegister(k, r.pick(GPR32)); }
    else if (kind === K.r64_reg || kind === K.r64_rm || kind === K.r64_vvvv) { ins.setOpKind(k, OpKind.Register); ins.setOpRegister(k, r.pick(GPR64)); }
    else if (kind === K.r32_or_mem || kind === K.r64_or_mem) {
      if (r.chance(0.4)) { ins.setOpKind(k, OpKind.Memory); setMem(); } else { ins.setOpKind(k, OpKind.Register); ins.setOpRegister(k, r.pick(kind === K.r32_or_mem ? GPR32 : GPR64)); }
    }
  }
  // Gathers: the destination, index and (VEX) mask registers distinct (iced-x86 decodes the
  // others as invalid, as the CPU raises #UD for them: SDM Vol. 2C VPGATHERDD).
  if (fix.length) {
    const taken = new Set([fix[0].reg]);
    for (let k = 0; k < count; k++) {
      if (ins.opKind(k) !== OpKind.Register) continue;
      const reg = ins.opRegister(k);
      const base = reg >= Register.ZMM0 ? Register.ZMM0 : reg >= Register.YMM0 ? Register.YMM0 : reg >= Register.XMM0 ? Register.XMM0 : -1;
      if (base < 0 || reg > Register.ZMM31) continue;
      let n = reg - base;
      while (taken.has(n)) n = (n + 1) % (evex ? 32 : 16);
      taken.add(n);
      ins.setOpRegister(k, base + n);
    }
  }
  if (o.canUseOpMaskRegister && (o.requireOpMaskRegister || r.chance(0.6))) ins.opMask = Register.K1 + r.below(7);
  if (o.canUseZeroingMasking && ins.opMask !== Register.None && ins.opKind(0) !== OpKind.Memory && r.chance(0.5)) ins.zeroingMasking = true;
  if (o.canBroadcast && memUsed && r.chance(0.4)) ins.isBroadcast = true;
  o.free();
  const enc = new Encoder(64);
  try {
    enc.encode(ins, 0n);
  } catch (e) {
    throw new Error(`referee: iced-x86 cannot encode ${Code[code]} as generated (${fmt.format(ins)}): ${(e as Error).message}`);
  }
  const bytes = enc.takeBuffer();
  enc.free();
  ins.free();
  const d = new Decoder(64, bytes, DecoderOptions.None);
  const back = d.decode();
  d.free();
  if (back.code !== code) throw new Error(`referee: ${Code[code]} decoded back as ${Code[back.code]}`);
  return { ins: back, bytes, text: fmt.format(back), fix };
}

/** Whether the host CPU (its profile) has every CPUID feature of a decoded case; the missing feature's name otherwise. */
export function hostLacks(cpu: CpuModel, ins: Instruction): string | undefined {
  return missingFeature(cpu, ins);
}

/**
 * Make the index register of a gather/scatter case hold small non-negative elements in a
 * standard-format setup image: XMM bytes in the legacy region, the upper parts in the AVX,
 * ZMM_Hi256 and Hi16_ZMM components (SDM Vol. 1 13.5), with their XSTATE_BV bits set.
 */
export function applyIndexFix(r: Prng, cpu: CpuModel, image: Uint8Array, f: IndexFix): void {
  const v = new Uint8Array(64);
  for (let i = 0; i < f.bytes / f.es; i++) v[i * f.es] = r.below(INDEX_LIMIT);
  const setBv = (x: XFeature): void => { image[XSAVE_HEADER_OFFSET] |= 1 << x; };
  const comp = (x: XFeature): number | undefined => cpu.components[x]?.standardOffset;
  if (f.reg >= 16) {
    const off = comp(XFeature.HI16_ZMM);
    if (off === undefined) return;
    image.set(v, off + (f.reg - 16) * 64);
    setBv(XFeature.HI16_ZMM);
    return;
  }
  image.set(v.subarray(0, 16), LEGACY.XMM0 + 16 * f.reg);
  setBv(XFeature.SSE);
  const avx = comp(XFeature.AVX);
  if (avx !== undefined) { image.set(v.subarray(16, 32), avx + 16 * f.reg); setBv(XFeature.AVX); }
  const hi = comp(XFeature.ZMM_HI256);
  if (hi !== undefined) { image.set(v.subarray(32, 64), hi + 32 * f.reg); setBv(XFeature.ZMM_HI256); }
}
