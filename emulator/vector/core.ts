/**
 * The operand machinery shared by every emulated vector and opmask instruction: decoded-instruction
 * info read once, memory operands, element access, EVEX write masking (SDM Vol. 1 15.6 "Write
 * masking") and VEX/EVEX destination writes (SDM Vol. 1 15.5), element sizes, and the dispatch
 * table the operation modules (moves.ts, integer.ts, opmask.ts, ...) register into.
 */
import { Code, CodeExt, EncodingKind, Instruction, MemorySizeExt, Mnemonic, OpKind, Register, RoundingControl } from '../iced.js';
import { Quirk } from '../quirks.js';
import { XFeature } from '../xfeatures.js';
import { CpuFault, Vector } from '../xsave.js';
import { UpperBits, VectorFile, WriteKind, XMM_BYTES, YMM_BYTES, ZMM_BYTES } from '../vector-file.js';

/** What an instruction can reach besides vector registers. */
export interface ExecEnv {
  vec: VectorFile;
  /** Read/write a general-purpose register by iced Register (any width; writes follow x86-64 rules). */
  getGpr(r: Register): bigint;
  setGpr(r: Register, v: bigint): void;
  readMem(addr: bigint, len: number): Uint8Array;
  writeMem(addr: bigint, data: Uint8Array): void;
  /** Set the arithmetic flags: the six status flags, each 0 or 1. */
  setStatusFlags(f: { cf: number; pf: number; af: number; zf: number; sf: number; of: number }): void;
  /** FS and GS bases for segment-overridden memory operands. */
  segmentBase(seg: Register): bigint;
}

export const MASK64 = (1n << 64n) - 1n;

/* ------------------------------------------------------------ register classes (iced numbering) */

export function vecIndex(r: Register): number {
  if (r >= Register.XMM0 && r <= Register.XMM31) return r - Register.XMM0;
  if (r >= Register.YMM0 && r <= Register.YMM31) return r - Register.YMM0;
  if (r >= Register.ZMM0 && r <= Register.ZMM31) return r - Register.ZMM0;
  return -1;
}
export function vecWidth(r: Register): number {
  if (r >= Register.XMM0 && r <= Register.XMM31) return XMM_BYTES;
  if (r >= Register.YMM0 && r <= Register.YMM31) return YMM_BYTES;
  if (r >= Register.ZMM0 && r <= Register.ZMM31) return ZMM_BYTES;
  return 0;
}
export const isK = (r: Register): boolean => r >= Register.K0 && r <= Register.K7;
export const kIndex = (r: Register): number => r - Register.K0;

/** The memory-operand members of an instruction that effectiveAddress reads. */
export type MemoryOperandOf = Pick<Instruction, 'isIpRelMemoryOperand' | 'ipRelMemoryAddress' | 'memoryDisplacementU64' | 'memoryBase' | 'memoryIndex' | 'memoryIndexScale' | 'memorySegment'>;

/**
 * What the operations read of a decoded instruction, read once: every iced-x86 getter is a call
 * into WebAssembly, and the guest machine emulates the same decoded instruction (its decode
 * cache keeps one Instruction per address) many times. Instructions are immutable once decoded.
 */
export class InsInfo implements MemoryOperandOf {
  readonly mnemonic: Mnemonic;
  readonly code: Code;
  readonly encoding: EncodingKind;
  readonly opCount: number;
  readonly opMask: Register;
  readonly zeroingMasking: boolean;
  readonly isBroadcast: boolean;
  readonly immediate8: number;
  readonly width: number;
  /* --- floating point (wt-vfp): EVEX embedded rounding and SAE, read once (float.ts, mxcsr.ts) --- */
  readonly roundingControl: RoundingControl;
  readonly suppressAllExceptions: boolean;
  /* --- end floating point --- */
  private readonly kinds: OpKind[] = [];
  private readonly regs: Register[] = [];
  private mem: MemoryOperandOf | undefined;

  constructor(private readonly raw: Instruction) {
    this.mnemonic = raw.mnemonic;
    this.code = raw.code;
    this.encoding = raw.encoding;
    this.opCount = raw.opCount;
    this.opMask = raw.opMask;
    this.zeroingMasking = raw.zeroingMasking;
    this.isBroadcast = raw.isBroadcast;
    /* --- floating point (wt-vfp) --- */
    const evex = this.encoding === EncodingKind.EVEX;
    this.roundingControl = evex ? raw.roundingControl : RoundingControl.None;
    this.suppressAllExceptions = evex ? raw.suppressAllExceptions : false;
    /* --- end floating point --- */
    let hasImm8 = false;
    for (let k = 0; k < this.opCount; k++) {
      const kind = raw.opKind(k);
      this.kinds.push(kind);
      this.regs.push(kind === OpKind.Register ? raw.opRegister(k) : Register.None);
      if (kind === OpKind.Immediate8) hasImm8 = true;
    }
    this.immediate8 = hasImm8 ? raw.immediate8 : 0;
    let w = 0;
    for (let k = 0; k < this.opCount; k++) if (this.kinds[k] === OpKind.Register) w = Math.max(w, vecWidth(this.regs[k]));
    this.width = w || XMM_BYTES;
  }

  opKind(k: number): OpKind {
    return this.kinds[k];
  }
  opRegister(k: number): Register {
    return k < this.regs.length ? this.regs[k] : this.raw.opRegister(k);
  }
  private memory(): MemoryOperandOf {
    const r = this.raw;
    return (this.mem ??= {
      isIpRelMemoryOperand: r.isIpRelMemoryOperand,
      ipRelMemoryAddress: r.isIpRelMemoryOperand ? r.ipRelMemoryAddress : 0n,
      memoryDisplacementU64: r.memoryDisplacementU64,
      memoryBase: r.memoryBase,
      memoryIndex: r.memoryIndex,
      memoryIndexScale: r.memoryIndexScale,
      memorySegment: r.memorySegment,
    });
  }
  get isIpRelMemoryOperand(): boolean { return this.memory().isIpRelMemoryOperand; }
  get ipRelMemoryAddress(): bigint { return this.memory().ipRelMemoryAddress; }
  get memoryDisplacementU64(): bigint { return this.memory().memoryDisplacementU64; }
  get memoryBase(): Register { return this.memory().memoryBase; }
  get memoryIndex(): Register { return this.memory().memoryIndex; }
  get memoryIndexScale(): number { return this.memory().memoryIndexScale; }
  get memorySegment(): Register { return this.memory().memorySegment; }
}
export const INS_INFO = new WeakMap<Instruction, InsInfo>();
export function infoOf(ins: Instruction): InsInfo {
  let i = INS_INFO.get(ins);
  if (i === undefined) { i = new InsInfo(ins); INS_INFO.set(ins, i); }
  return i;
}

/** Effective address of the memory operand (SDM Vol. 1 3.7.5), including RIP-relative and FS/GS. */
export function effectiveAddress(ins: MemoryOperandOf, env: ExecEnv): bigint {
  let a: bigint;
  if (ins.isIpRelMemoryOperand) a = ins.ipRelMemoryAddress;
  else {
    a = ins.memoryDisplacementU64;
    if (ins.memoryBase !== Register.None) a += env.getGpr(ins.memoryBase);
    if (ins.memoryIndex !== Register.None) {
      const vi = vecIndex(ins.memoryIndex);
      if (vi >= 0) throw new CpuFault(Vector.UD, 'vector-indexed (gather/scatter) memory operands are not emulated');
      a += env.getGpr(ins.memoryIndex) * BigInt(ins.memoryIndexScale);
    }
  }
  if (ins.memorySegment === Register.FS || ins.memorySegment === Register.GS) a += env.segmentBase(ins.memorySegment);
  return a & MASK64;
}

/* ------------------------------------------------------------ element helpers */

export function getElem(b: Uint8Array, i: number, es: number): bigint {
  let v = 0n;
  for (let k = es - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[i * es + k]);
  return v;
}
export function setElem(b: Uint8Array, i: number, es: number, v: bigint): void {
  for (let k = 0; k < es; k++) { b[i * es + k] = Number(v & 0xffn); v >>= 8n; }
}

export interface Ctx {
  ins: InsInfo;
  env: ExecEnv;
  vec: VectorFile;
  /** Vector width of the destination / operation in bytes. */
  width: number;
  evex: boolean;
}

/**
 * Alignment of the aligned moves' memory operands (#GP, SDM Vol. 2 MOVDQA/VMOVDQA32 "Exceptions").
 * An EVEX access whose write mask enables no element does not fault (measured, AMD Zen 5); MXCSR.MM
 * (AMD MisAlignSse) made no difference on that CPU for any width, so it is not modelled.
 */
export function checkAlign(c: Ctx, ea: bigint, align: number): void {
  if (!align || ea % BigInt(align) === 0n) return;
  if (c.evex && c.ins.opMask !== Register.None && maskOf(c, c.width / elemSize(c.ins.mnemonic)) === 0n) return;
  throw new CpuFault(Vector.GP, `${Mnemonic[c.ins.mnemonic]}: memory operand not ${align}-byte aligned`);
}

/**
 * Read operand k as `width` bytes (register, memory, or broadcast element from memory).
 * [vector-int] `suppress`: masked-off elements of es bytes are not read (false for the
 * instructions whose elements do not map to the memory operand's: the SDM's "NF" exception classes).
 */
export function readOp(c: Ctx, k: number, width: number, es: number, align = 0, suppress = true): Uint8Array {
  const { ins, env } = c;
  const kind = ins.opKind(k);
  if (kind === OpKind.Register) {
    const r = ins.opRegister(k);
    const n = vecIndex(r);
    if (n >= 0) return c.vec.read(n, Math.min(width, vecWidth(r)) === width ? width : vecWidth(r)).subarray(0, width);
    throw new CpuFault(Vector.UD, `operand ${k} is not a vector register`);
  }
  if (kind === OpKind.Memory) {
    const ea = effectiveAddress(ins, env);
    if (ins.isBroadcast) {
      const e = env.readMem(ea, es);
      const out = new Uint8Array(width);
      for (let o = 0; o < width; o += es) out.set(e, o);
      return out;
    }
    checkAlign(c, ea, align);
    // [vector-int] EVEX fault suppression (SDM Vol. 1 15.6.1): masked-off elements are not read.
    if (suppress && c.evex && c.ins.opMask !== Register.None && c.ins.opMask !== Register.K0 && es > 0) return readMasked(c, ea, width, es);
    return env.readMem(ea, width);
  }
  throw new CpuFault(Vector.UD, `operand ${k} of kind ${OpKind[kind]} not supported`);
}

/**
 * [vector-int] A masked EVEX load: only the runs of enabled elements are read, so a masked-off
 * element on an unmapped page does not fault (SDM Vol. 1 15.6.1 "memory fault suppression");
 * disabled elements read as zero (the write mask then merges or zeroes them).
 */
export function readMasked(c: Ctx, ea: bigint, width: number, es: number): Uint8Array {
  const elems = width / es;
  const [lo, hi] = maskHalves(maskOf(c, elems));
  const out = new Uint8Array(width);
  for (let i = 0; i < elems;) {
    if (!maskBit(lo, hi, i)) { i++; continue; }
    let j = i;
    while (j < elems && maskBit(lo, hi, j)) j++;
    out.set(c.env.readMem(ea + BigInt(i * es), (j - i) * es), i * es);
    i = j;
  }
  return out;
}

/** Mask bits for the instruction's opmask (all ones without one). */
export function maskOf(c: Ctx, elems: number): bigint {
  const m = c.ins.opMask;
  if (m === Register.None || m === Register.K0) return (1n << BigInt(elems)) - 1n;
  return c.vec.readK(kIndex(m)) & ((1n << BigInt(elems)) - 1n);
}

/** A 64-bit mask as two 32-bit halves, so that per-element tests need no BigInt. */
export function maskHalves(m: bigint): [number, number] {
  return [Number(m & 0xffffffffn), Number((m >> 32n) & 0xffffffffn)];
}
export const maskBit = (lo: number, hi: number, i: number): number => (i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1);
/** Bits [0, 64) given as halves, back to one BigInt. */
export const fromHalves = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * Write `result` to operand 0 with EVEX masking (merge or zero) per element of size es; VEX/EVEX
 * writes zero the bits above the width (SDM Vol. 1 15.5); legacy-encoded writes are not emulated here.
 */
export function writeDest(c: Ctx, result: Uint8Array, es: number, how: WriteKind = WriteKind.Compute, align = 0, src = -1, avxPartInUse = false): void {
  const { ins, env } = c;
  const width = result.length;
  const elems = width / es;
  const masked = c.evex && ins.opMask !== Register.None;
  if (ins.opKind(0) === OpKind.Memory) {
    const ea = effectiveAddress(ins, env);
    checkAlign(c, ea, align);
    if (masked) {
      // [vector-int] Only the enabled elements are written (and can fault), in runs (SDM Vol. 1 15.6.1).
      const [lo, hi] = maskHalves(maskOf(c, elems));
      for (let i = 0; i < elems;) {
        if (!maskBit(lo, hi, i)) { i++; continue; }
        let j = i;
        while (j < elems && maskBit(lo, hi, j)) j++;
        env.writeMem(ea + BigInt(i * es), result.slice(i * es, j * es));
        i = j;
      }
    } else env.writeMem(ea, result);
    return;
  }
  const r = ins.opRegister(0);
  const n = vecIndex(r);
  if (n < 0) throw new CpuFault(Vector.UD, 'destination is not a vector register');
  let out = result;
  if (masked) {
    const [lo, hi] = maskHalves(maskOf(c, elems));
    const old = c.vec.read(n, width);
    const zeroing = ins.zeroingMasking;
    out = new Uint8Array(width);
    for (let i = 0; i < elems; i++) {
      const src = maskBit(lo, hi, i) ? result : zeroing ? undefined : old;
      if (src) for (let k = i * es; k < (i + 1) * es; k++) out[k] = src[k];
    }
  }
  c.vec.write(n, out, UpperBits.Zero, masked && !(how === WriteKind.Idiom && ins.zeroingMasking) ? WriteKind.Compute : how, src, avxPartInUse);
  if (n < 16 && width < ZMM_BYTES) markByVectorLength(c);
}

/** VEX.L / EVEX.L'L of each instruction code as a length in bytes (iced-x86 OpCodeInfo.L), cached. */
export const VECTOR_LENGTH = new Map<Code, number>();
export function vectorLength(code: Code): number {
  let v = VECTOR_LENGTH.get(code);
  if (v === undefined) {
    const info = CodeExt.opCode(code);
    v = XMM_BYTES << info.L;
    info.free();
    VECTOR_LENGTH.set(code, v);
  }
  return v;
}

/** Quirk xinuse-follows-vector-length: XINUSE of the upper parts by the instruction's VL, not its destination width. */
export function markByVectorLength(c: Ctx): void {
  const regs = c.vec.regs;
  if (!regs.cpu.hasQuirk(Quirk.XinuseFollowsVectorLength)) return;
  const vl = vectorLength(c.ins.code);
  if (vl >= YMM_BYTES && regs.comp[XFeature.AVX]) regs.touched(XFeature.AVX);
  if (vl >= ZMM_BYTES && regs.comp[XFeature.ZMM_HI256]) regs.touched(XFeature.ZMM_HI256);
}

/* ------------------------------------------------------------ element sizes */

/**
 * Element size (bytes) for masking, broadcast and compares, from the mnemonic's naming scheme
 * (SDM Vol. 2 conventions): a width in digits (VMOVDQU8, VINSERTI32X4); integer (VP*, K*)
 * forms end in B/W/D/Q (VPMOVB2M: the letter before 2M); floating forms in PS/SS or PD/SD.
 */
export const LETTER_SIZE: Record<string, number> = { b: 1, w: 2, d: 4, q: 8 };
export const ELEM_SIZE = new Map<Mnemonic, number>();
export function elemSize(m: Mnemonic): number {
  let v = ELEM_SIZE.get(m);
  if (v === undefined) { v = elemSizeOf(m); ELEM_SIZE.set(m, v); }
  return v;
}
export function elemSizeOf(m: Mnemonic): number {
  const name = Mnemonic[m].toLowerCase();
  const digits = /(?:dq[au]|[if])(8|16|32|64)(x\d+)?$/.exec(name);
  if (digits) return Number(digits[1]) / 8;
  if (name === 'vmovd') return 4;
  if (name === 'vmovq') return 8;
  if (name.startsWith('vp') || name.startsWith('k')) {
    const to2m = /([bwdq])2m$/.exec(name);
    if (to2m) return LETTER_SIZE[to2m[1]];
    return LETTER_SIZE[name[name.length - 1]] ?? 4;
  }
  if (/(ps|ss)$/.test(name)) return 4;
  if (/(pd|sd)$/.test(name)) return 8;
  return 4;
}

/* ------------------------------------------------------------ operations */

export type Op = (c: Ctx) => void;


/** The dispatch table: mnemonic -> operation. Operation modules fill it when imported (table.ts). */
export const OPS = new Map<Mnemonic, Op>();
/** Register one operation for several mnemonics; a mnemonic registered twice is a programming error. */
export function defineOps(ms: readonly Mnemonic[], op: Op): void {
  for (const m of ms) {
    if (OPS.has(m)) throw new Error(`vector op for ${Mnemonic[m]} defined twice`);
    OPS.set(m, op);
  }
}

/* ------------------------------------------------------------ [vector-int] instruction metadata */

/**
 * [vector-int] What iced-x86's OpCodeInfo says of an instruction code, read once per code: the
 * vector length (VEX.L / EVEX.L'L), the memory operand's size and element size (MemorySizeExt),
 * and whether it can broadcast. Operations take element sizes and operand widths from here
 * rather than from the mnemonic's spelling.
 */
export interface CodeShape {
  /** Vector length in bytes (16, 32, 64); 16 for LIG/scalar forms. */
  vl: number;
  /** Bytes of the memory operand (0: none or unknown), without broadcast. */
  memBytes: number;
  /** Element size of the memory operand (bytes), e.g. 1 for Packed256_UInt8. */
  memElem: number;
  /** Element size of a broadcast (bytes), 0 when the code cannot broadcast. */
  bcstElem: number;
  /** EVEX.W / VEX.W. */
  w: number;
}
const CODE_SHAPE = new Map<Code, CodeShape>();
export function shapeOf(code: Code): CodeShape {
  let s = CODE_SHAPE.get(code);
  if (s === undefined) {
    const info = CodeExt.opCode(code);
    const ms = info.memorySize;
    s = {
      vl: XMM_BYTES << info.L,
      memBytes: MemorySizeExt.size(ms),
      memElem: MemorySizeExt.elementSize(ms),
      bcstElem: info.canBroadcast ? MemorySizeExt.elementSize(info.broadcastMemorySize) : 0,
      w: info.W,
    };
    info.free();
    CODE_SHAPE.set(code, s);
  }
  return s;
}

/**
 * [vector-int] Measured on AMD Zen 5 (selfcheck insn): a 512-bit EVEX operation that writes an
 * xmm (VEXTRACTI32X4, VPMOVQB ... from a zmm) leaves the destination's AVX part in use although
 * it zeroes it; from a ymm or xmm it does not. Only written under xinuse-tracks-zero-registers
 * (VectorFile.write's avxPartInUse), as the extracts' rule before it.
 */
export function wideEvexToXmm(c: Ctx): boolean {
  return c.evex && vectorLength(c.ins.code) === ZMM_BYTES;
}
