/**
 * AVX, AVX2 and AVX-512 (F, BW, DQ, VL) instructions that programs use to set, move, compare and
 * inspect extended state, emulated over the register file (SDM Vol. 2 instruction pages; masking
 * and zeroing per SDM Vol. 1 15.6 "Write masking"). Instructions arrive decoded by iced-x86.
 * Each emulated instruction is one function in the OPS table below, named after its mnemonic.
 */
import { Code, CodeExt, EncodingKind, Instruction, Mnemonic, OpKind, Register } from 'iced-x86';
import { Quirk } from './quirks.js';
import { XFeature } from './xfeatures.js';
import { CpuFault, Vector } from './xsave.js';
import { UpperBits, VectorFile, WriteKind, XMM_BYTES, YMM_BYTES, ZMM_BYTES } from './vector-file.js';

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

const MASK64 = (1n << 64n) - 1n;

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
const isK = (r: Register): boolean => r >= Register.K0 && r <= Register.K7;
const kIndex = (r: Register): number => r - Register.K0;

/** The memory-operand members of an instruction that effectiveAddress reads. */
type MemoryOperandOf = Pick<Instruction, 'isIpRelMemoryOperand' | 'ipRelMemoryAddress' | 'memoryDisplacementU64' | 'memoryBase' | 'memoryIndex' | 'memoryIndexScale' | 'memorySegment'>;

/**
 * What the operations read of a decoded instruction, read once: every iced-x86 getter is a call
 * into WebAssembly, and the guest machine emulates the same decoded instruction (its decode
 * cache keeps one Instruction per address) many times. Instructions are immutable once decoded.
 */
class InsInfo implements MemoryOperandOf {
  readonly mnemonic: Mnemonic;
  readonly code: Code;
  readonly encoding: EncodingKind;
  readonly opCount: number;
  readonly opMask: Register;
  readonly zeroingMasking: boolean;
  readonly isBroadcast: boolean;
  readonly immediate8: number;
  readonly width: number;
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
const INS_INFO = new WeakMap<Instruction, InsInfo>();
function infoOf(ins: Instruction): InsInfo {
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

function getElem(b: Uint8Array, i: number, es: number): bigint {
  let v = 0n;
  for (let k = es - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[i * es + k]);
  return v;
}
function setElem(b: Uint8Array, i: number, es: number, v: bigint): void {
  for (let k = 0; k < es; k++) { b[i * es + k] = Number(v & 0xffn); v >>= 8n; }
}

interface Ctx {
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
function checkAlign(c: Ctx, ea: bigint, align: number): void {
  if (!align || ea % BigInt(align) === 0n) return;
  if (c.evex && c.ins.opMask !== Register.None && maskOf(c, c.width / elemSize(c.ins.mnemonic)) === 0n) return;
  throw new CpuFault(Vector.GP, `${Mnemonic[c.ins.mnemonic]}: memory operand not ${align}-byte aligned`);
}

/** Read operand k as `width` bytes (register, memory, or broadcast element from memory). */
function readOp(c: Ctx, k: number, width: number, es: number, align = 0): Uint8Array {
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
    return env.readMem(ea, width);
  }
  throw new CpuFault(Vector.UD, `operand ${k} of kind ${OpKind[kind]} not supported`);
}

/** Mask bits for the instruction's opmask (all ones without one). */
function maskOf(c: Ctx, elems: number): bigint {
  const m = c.ins.opMask;
  if (m === Register.None || m === Register.K0) return (1n << BigInt(elems)) - 1n;
  return c.vec.readK(kIndex(m)) & ((1n << BigInt(elems)) - 1n);
}

/** A 64-bit mask as two 32-bit halves, so that per-element tests need no BigInt. */
function maskHalves(m: bigint): [number, number] {
  return [Number(m & 0xffffffffn), Number((m >> 32n) & 0xffffffffn)];
}
const maskBit = (lo: number, hi: number, i: number): number => (i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1);
/** Bits [0, 64) given as halves, back to one BigInt. */
const fromHalves = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * Write `result` to operand 0 with EVEX masking (merge or zero) per element of size es; VEX/EVEX
 * writes zero the bits above the width (SDM Vol. 1 15.5); legacy-encoded writes are not emulated here.
 */
function writeDest(c: Ctx, result: Uint8Array, es: number, how: WriteKind = WriteKind.Compute, align = 0, src = -1, avxPartInUse = false): void {
  const { ins, env } = c;
  const width = result.length;
  const elems = width / es;
  const masked = c.evex && ins.opMask !== Register.None;
  if (ins.opKind(0) === OpKind.Memory) {
    const ea = effectiveAddress(ins, env);
    checkAlign(c, ea, align);
    if (masked) {
      const [lo, hi] = maskHalves(maskOf(c, elems));
      const cur = env.readMem(ea, width);
      for (let i = 0; i < elems; i++) if (maskBit(lo, hi, i)) for (let k = i * es; k < (i + 1) * es; k++) cur[k] = result[k];
      env.writeMem(ea, cur);
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
const VECTOR_LENGTH = new Map<Code, number>();
function vectorLength(code: Code): number {
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
function markByVectorLength(c: Ctx): void {
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
const LETTER_SIZE: Record<string, number> = { b: 1, w: 2, d: 4, q: 8 };
const ELEM_SIZE = new Map<Mnemonic, number>();
function elemSize(m: Mnemonic): number {
  let v = ELEM_SIZE.get(m);
  if (v === undefined) { v = elemSizeOf(m); ELEM_SIZE.set(m, v); }
  return v;
}
function elemSizeOf(m: Mnemonic): number {
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

type Op = (c: Ctx) => void;

/** Vector moves: VMOVDQA/U, VMOVAPS/UPS/APD/UPD, VMOVDQA32/64, VMOVDQU8/16/32/64, non-temporal forms (SDM Vol. 2). */
function move(aligned: boolean): Op {
  return (c) => {
    const es = elemSize(c.ins.mnemonic);
    const align = aligned ? c.width : 0;
    const fromMem = c.ins.opKind(1) === OpKind.Memory;
    const data = readOp(c, 1, c.width, es, fromMem ? align : 0);
    writeDest(c, data, es, fromMem ? WriteKind.Load : WriteKind.Move, c.ins.opKind(0) === OpKind.Memory ? align : 0, fromMem ? -1 : vecIndex(c.ins.opRegister(1)));
  };
}

/** Bitwise logic on three operands: dst = f(src1, src2); a zeroing idiom when both sources are one register. */
function logic(f: (a: number, b: number) => number, idiomWhenSame: boolean): Op {
  return (c) => {
    const es = elemSize(c.ins.mnemonic);
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, es);
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width; i++) out[i] = f(a[i], b[i]) & 0xff;
    const same = idiomWhenSame && c.ins.opKind(2) === OpKind.Register && c.ins.opRegister(1) === c.ins.opRegister(2) && (c.ins.opMask === Register.None || c.ins.zeroingMasking);
    writeDest(c, out, es, same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/**
 * Element-wise arithmetic (VPADDx, VPSUBx): wrap-around on the element size, computed byte by
 * byte with the carry (borrow) propagated inside each element and dropped at its top.
 */
function arith(subtract: boolean, idiomWhenSame: boolean): Op {
  return (c) => {
    const es = elemSize(c.ins.mnemonic);
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, es);
    const width = c.width;
    const out = new Uint8Array(width);
    for (let e = 0; e < width; e += es) {
      let carry = 0;
      for (let k = e; k < e + es; k++) {
        const v = subtract ? a[k] - b[k] - carry : a[k] + b[k] + carry;
        out[k] = v & 0xff;
        carry = subtract ? (v < 0 ? 1 : 0) : v >> 8;
      }
    }
    const same = idiomWhenSame && c.ins.opKind(2) === OpKind.Register && c.ins.opRegister(1) === c.ins.opRegister(2) && (c.ins.opMask === Register.None || c.ins.zeroingMasking);
    writeDest(c, out, es, same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/** VPTERNLOGD/Q: each result bit is imm8[(dst << 2) | (src1 << 1) | src2] (SDM Vol. 2C VPTERNLOGD). */
const vpternlog: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const n = vecIndex(c.ins.opRegister(0));
  const d = c.vec.read(n, c.width);
  const a = readOp(c, 1, c.width, es);
  const b = readOp(c, 2, c.width, es);
  const imm = c.ins.immediate8;
  const out = new Uint8Array(c.width);
  for (let i = 0; i < c.width; i++) {
    let v = 0;
    for (let bitn = 0; bitn < 8; bitn++) {
      const idx = (((d[i] >> bitn) & 1) << 2) | (((a[i] >> bitn) & 1) << 1) | ((b[i] >> bitn) & 1);
      v |= ((imm >> idx) & 1) << bitn;
    }
    out[i] = v;
  }
  writeDest(c, out, es);
};

/** Broadcasts of one element (VPBROADCASTB/W/D/Q, VBROADCASTSS/SD) from xmm, memory or a GPR (EVEX). */
const broadcastElem: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const { ins, env } = c;
  let e: Uint8Array;
  if (ins.opKind(1) === OpKind.Memory) e = env.readMem(effectiveAddress(ins, env), es);
  else {
    const r = ins.opRegister(1);
    if (vecIndex(r) >= 0) e = c.vec.read(vecIndex(r), XMM_BYTES).subarray(0, es);
    else { e = new Uint8Array(es); setElem(e, 0, es, env.getGpr(r)); }
  }
  const out = new Uint8Array(c.width);
  for (let o = 0; o < c.width; o += es) out.set(e.subarray(0, es), o);
  writeDest(c, out, es);
};

/** Broadcasts of a 128/256-bit block from memory (VBROADCASTI128, VBROADCASTI32X4, ...). */
const broadcastBlock: Op = (c) => {
  const { ins, env } = c;
  const name = Mnemonic[ins.mnemonic].toLowerCase();
  const block = /x8|x4$/.test(name) && /(32x8|64x4)/.test(name) ? 32 : 16;
  const src = ins.opKind(1) === OpKind.Memory ? env.readMem(effectiveAddress(ins, env), block) : c.vec.read(vecIndex(ins.opRegister(1)), block);
  const out = new Uint8Array(c.width);
  for (let o = 0; o < c.width; o += block) out.set(src, o);
  writeDest(c, out, elemSize(ins.mnemonic));
};

/** VINSERTI128/F128 and the EVEX VINSERTx32X4/64X2/32X8/64X4: replace one lane of src1. */
const insert: Op = (c) => {
  const { ins } = c;
  const name = Mnemonic[ins.mnemonic].toLowerCase();
  const lane = /(32x8|64x4)$/.test(name) ? 32 : 16;
  const es = /128$/.test(name) ? 16 : elemSize(ins.mnemonic);
  const out = readOp(c, 1, c.width, es).slice();
  const src = ins.opKind(2) === OpKind.Memory ? c.env.readMem(effectiveAddress(ins, c.env), lane) : c.vec.read(vecIndex(ins.opRegister(2)), lane);
  const pos = (ins.immediate8 % (c.width / lane)) * lane;
  out.set(src.subarray(0, lane), pos);
  writeDest(c, out, /128$/.test(name) ? 1 : es);
};

/** VEXTRACTI128/F128 and the EVEX VEXTRACTx32X4/...: one lane to xmm/ymm or memory. */
const extract: Op = (c) => {
  const { ins } = c;
  const name = Mnemonic[ins.mnemonic].toLowerCase();
  const lane = /(32x8|64x4)$/.test(name) ? 32 : 16;
  const srcReg = ins.opRegister(1);
  const src = c.vec.read(vecIndex(srcReg), vecWidth(srcReg));
  const pos = (ins.immediate8 % (vecWidth(srcReg) / lane)) * lane;
  const part = src.slice(pos, pos + lane);
  // Measured (AMD Zen 5): the EVEX extracts to xmm leave the destination's AVX part in use.
  const evexToXmm = c.evex && lane === 16 && ins.opKind(0) === OpKind.Register;
  writeDest(c, part, /128$/.test(name) ? 1 : elemSize(ins.mnemonic), WriteKind.Compute, 0, -1, evexToXmm);
};

/**
 * Compare predicates of VPCMP[U]{B,W,D,Q} imm8 (SDM Vol. 2C VPCMPB: 0 EQ, 1 LT, 2 LE, 3 FALSE,
 * 4 NEQ, 5 NLT, 6 NLE, 7 TRUE), over `order` = sign of (a - b).
 */
function predicate(p: number, order: number): boolean {
  switch (p & 7) {
    case 0: return order === 0;
    case 1: return order < 0;
    case 2: return order <= 0;
    case 3: return false;
    case 4: return order !== 0;
    case 5: return order >= 0;
    case 6: return order > 0;
    default: return true;
  }
}

/** Sign of (a - b) for the element of `es` bytes at byte offset o, little-endian, signed or unsigned. */
function compareElem(a: Uint8Array, b: Uint8Array, o: number, es: number, signedCmp: boolean): number {
  let k = o + es - 1;
  let x = a[k], y = b[k];
  if (signedCmp) { x = (x << 24) >> 24; y = (y << 24) >> 24; }
  if (x !== y) return x < y ? -1 : 1;
  for (k--; k >= o; k--) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

/**
 * Integer compares. VEX forms (VPCMPEQx, VPCMPGTx) write all-ones/zero elements; EVEX forms write
 * a mask register, zeroing bits above the element count and masked-off bits (SDM Vol. 2C).
 */
function compare(kind: 'eq' | 'gt' | 'imm-signed' | 'imm-unsigned' | 'test' | 'testn'): Op {
  return (c) => {
    const { ins } = c;
    const es = elemSize(ins.mnemonic);
    const srcW = vecWidth(ins.opRegister(1)) || c.width;
    const a = readOp(c, 1, srcW, es);
    const b = readOp(c, 2, srcW, es);
    const elems = srcW / es;
    const imm = kind === 'imm-signed' || kind === 'imm-unsigned' ? ins.immediate8 : 0;
    // The result bits, elements 0-31 in lo and 32-63 in hi.
    let lo = 0, hi = 0;
    for (let i = 0; i < elems; i++) {
      const o = i * es;
      let r: boolean;
      switch (kind) {
        case 'eq': r = compareElem(a, b, o, es, false) === 0; break;
        case 'gt': r = compareElem(a, b, o, es, true) > 0; break;
        case 'imm-signed': r = predicate(imm, compareElem(a, b, o, es, true)); break;
        case 'imm-unsigned': r = predicate(imm, compareElem(a, b, o, es, false)); break;
        default: {
          let any = false;
          for (let k = o; k < o + es; k++) if (a[k] & b[k]) { any = true; break; }
          r = kind === 'test' ? any : !any;
        }
      }
      if (r) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
    }
    if (isK(ins.opRegister(0))) {
      const m = maskOf(c, elems);
      const v = fromHalves(lo, hi);
      const sameSrc = ins.opKind(2) === OpKind.Register && ins.opRegister(1) === ins.opRegister(2);
      c.vec.writeK(kIndex(ins.opRegister(0)), v & m, kind === 'gt' && sameSrc ? WriteKind.Idiom : WriteKind.Compute);
      return;
    }
    const out = new Uint8Array(srcW);
    const same = ins.opKind(2) === OpKind.Register && ins.opRegister(1) === ins.opRegister(2);
    for (let i = 0; i < elems; i++) if (maskBit(lo, hi, i)) for (let k = i * es; k < (i + 1) * es; k++) out[k] = 0xff;
    writeDest({ ...c, width: srcW }, out, es, kind === 'gt' && same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/** VPMOVMSKB r32/64, xmm/ymm: the top bit of each byte (SDM Vol. 2B PMOVMSKB). */
const vpmovmskb: Op = (c) => {
  const r = c.ins.opRegister(1);
  const src = c.vec.read(vecIndex(r), vecWidth(r));
  let lo = 0, hi = 0;
  for (let i = 0; i < src.length; i++) if (src[i] & 0x80) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
  c.env.setGpr(c.ins.opRegister(0), fromHalves(lo, hi));
};

/** VPMOVB2M/W2M/D2M/Q2M: top bit of each element into a mask register. */
const vpmov2m: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const r = c.ins.opRegister(1);
  const src = c.vec.read(vecIndex(r), vecWidth(r));
  let lo = 0, hi = 0;
  for (let i = 0; i < src.length / es; i++) if (src[i * es + es - 1] & 0x80) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
  c.vec.writeK(kIndex(c.ins.opRegister(0)), fromHalves(lo, hi));
};

/** VPMOVM2B/W/D/Q: each mask bit to an all-ones or zero element. */
const vpmovm2: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const [lo, hi] = maskHalves(c.vec.readK(kIndex(c.ins.opRegister(1))));
  const out = new Uint8Array(c.width);
  for (let i = 0; i < c.width / es; i++) if (maskBit(lo, hi, i)) for (let k = i * es; k < (i + 1) * es; k++) out[k] = 0xff;
  writeDest(c, out, es);
};

/** VPTEST: ZF = (src & dst) == 0, CF = (src & ~dst) == 0; AF, OF, PF, SF cleared (SDM Vol. 2B PTEST). */
const vptest: Op = (c) => {
  const a = readOp(c, 0, c.width, 1);
  const b = readOp(c, 1, c.width, 1);
  let zf = 1, cf = 1;
  for (let i = 0; i < c.width; i++) { if (a[i] & b[i]) zf = 0; if (b[i] & ~a[i]) cf = 0; }
  c.env.setStatusFlags({ cf, pf: 0, af: 0, zf, sf: 0, of: 0 });
};

/** VMOVD/VMOVQ between xmm and r/m (VEX/EVEX: upper bits of the xmm destination zeroed). */
const movdq: Op = (c) => {
  const { ins, env } = c;
  const size = ins.mnemonic === Mnemonic.Vmovd ? 4 : 8;
  const d = ins.opRegister(0);
  if (ins.opKind(0) === OpKind.Register && vecIndex(d) >= 0) {
    let src: Uint8Array;
    if (ins.opKind(1) === OpKind.Memory) src = env.readMem(effectiveAddress(ins, env), size);
    else if (vecIndex(ins.opRegister(1)) >= 0) src = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).subarray(0, size);
    else { src = new Uint8Array(size); setElem(src, 0, size, env.getGpr(ins.opRegister(1))); }
    const out = new Uint8Array(XMM_BYTES);
    out.set(src);
    c.vec.write(vecIndex(d), out, UpperBits.Zero);
    return;
  }
  const src = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).subarray(0, size);
  if (ins.opKind(0) === OpKind.Memory) env.writeMem(effectiveAddress(ins, env), src.slice());
  else env.setGpr(d, getElem(src, 0, size));
};

/* ------------------------------------------------------------ opmask instructions (SDM Vol. 2B "K*") */

const kBits = (m: Mnemonic): bigint => BigInt(elemSize(m) * 8);
const K_MASK = new Map<Mnemonic, bigint>();
const kMask = (m: Mnemonic): bigint => {
  let v = K_MASK.get(m);
  if (v === undefined) { v = (1n << kBits(m)) - 1n; K_MASK.set(m, v); }
  return v;
};

/** KMOVB/W/D/Q: k <- k/m/r, m <- k, r <- k; the destination k is zero-extended. */
const kmov: Op = (c) => {
  const { ins, env } = c;
  const m = kMask(ins.mnemonic), bytes = elemSize(ins.mnemonic);
  let v: bigint;
  if (ins.opKind(1) === OpKind.Memory) v = getElem(env.readMem(effectiveAddress(ins, env), bytes), 0, bytes);
  else if (isK(ins.opRegister(1))) v = c.vec.readK(kIndex(ins.opRegister(1)));
  else v = env.getGpr(ins.opRegister(1));
  v &= m;
  if (ins.opKind(0) === OpKind.Memory) { const b = new Uint8Array(bytes); setElem(b, 0, bytes, v); env.writeMem(effectiveAddress(ins, env), b); }
  else if (isK(ins.opRegister(0))) {
    const fromK = ins.opKind(1) === OpKind.Register && isK(ins.opRegister(1));
    c.vec.writeK(kIndex(ins.opRegister(0)), v, fromK ? WriteKind.Move : WriteKind.Load, fromK ? kIndex(ins.opRegister(1)) : -1);
  } else env.setGpr(ins.opRegister(0), v);
};

function kbinary(f: (a: bigint, b: bigint) => bigint, idiomWhenSame: boolean): Op {
  return (c) => {
    const { ins } = c;
    const a = c.vec.readK(kIndex(ins.opRegister(1))), b = c.vec.readK(kIndex(ins.opRegister(2)));
    const same = idiomWhenSame && ins.opRegister(1) === ins.opRegister(2);
    c.vec.writeK(kIndex(ins.opRegister(0)), f(a, b) & kMask(ins.mnemonic), same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

const knot: Op = (c) => c.vec.writeK(kIndex(c.ins.opRegister(0)), ~c.vec.readK(kIndex(c.ins.opRegister(1))) & kMask(c.ins.mnemonic));

/** KORTEST: ZF = (a|b) == 0, CF = (a|b) all ones; KTEST: ZF = (a&b) == 0, CF = (~a&b) == 0. */
function ktestLike(kind: 'or' | 'and'): Op {
  return (c) => {
    const m = kMask(c.ins.mnemonic);
    const a = c.vec.readK(kIndex(c.ins.opRegister(0))) & m, b = c.vec.readK(kIndex(c.ins.opRegister(1))) & m;
    const zf = kind === 'or' ? (a | b) === 0n : (a & b) === 0n;
    const cf = kind === 'or' ? (a | b) === m : (~a & b & m) === 0n;
    c.env.setStatusFlags({ cf: +cf, pf: 0, af: 0, zf: +zf, sf: 0, of: 0 });
  };
}

function kshift(left: boolean): Op {
  return (c) => {
    const m = kMask(c.ins.mnemonic);
    const n = BigInt(c.ins.immediate8);
    const a = c.vec.readK(kIndex(c.ins.opRegister(1))) & m;
    const v = n >= kBits(c.ins.mnemonic) ? 0n : left ? (a << n) & m : a >> n;
    c.vec.writeK(kIndex(c.ins.opRegister(0)), v);
  };
}

/** KUNPCKBW/WD/DQ: dst = (src1 low half << half) | src2 low half. */
const kunpck: Op = (c) => {
  const half = BigInt(elemSize(c.ins.mnemonic) * 4);
  const low = (1n << half) - 1n;
  const a = c.vec.readK(kIndex(c.ins.opRegister(1))) & low, b = c.vec.readK(kIndex(c.ins.opRegister(2))) & low;
  c.vec.writeK(kIndex(c.ins.opRegister(0)), (a << half) | b);
};

/* ------------------------------------------------------------ dispatch table */

const M = Mnemonic;
const OPS = new Map<Mnemonic, Op>();
const add = (ms: Mnemonic[], op: Op): void => ms.forEach((m) => OPS.set(m, op));
add([M.Vmovdqa, M.Vmovaps, M.Vmovapd, M.Vmovdqa32, M.Vmovdqa64, M.Vmovntdq, M.Vmovntps, M.Vmovntpd, M.Vmovntdqa], move(true));
add([M.Vmovdqu, M.Vmovups, M.Vmovupd, M.Vmovdqu8, M.Vmovdqu16, M.Vmovdqu32, M.Vmovdqu64, M.Vlddqu], move(false));
add([M.Vpxor, M.Vpxord, M.Vpxorq, M.Vxorps, M.Vxorpd], logic((a, b) => a ^ b, true));
add([M.Vpand, M.Vpandd, M.Vpandq, M.Vandps, M.Vandpd], logic((a, b) => a & b, false));
add([M.Vpandn, M.Vpandnd, M.Vpandnq, M.Vandnps, M.Vandnpd], logic((a, b) => ~a & b, true));
add([M.Vpor, M.Vpord, M.Vporq, M.Vorps, M.Vorpd], logic((a, b) => a | b, false));
add([M.Vpaddb, M.Vpaddw, M.Vpaddd, M.Vpaddq], arith(false, false));
add([M.Vpsubb, M.Vpsubw, M.Vpsubd, M.Vpsubq], arith(true, true));
add([M.Vpternlogd, M.Vpternlogq], vpternlog);
add([M.Vpbroadcastb, M.Vpbroadcastw, M.Vpbroadcastd, M.Vpbroadcastq, M.Vbroadcastss, M.Vbroadcastsd], broadcastElem);
add([M.Vbroadcasti128, M.Vbroadcastf128, M.Vbroadcasti32x4, M.Vbroadcasti64x2, M.Vbroadcastf32x4, M.Vbroadcastf64x2, M.Vbroadcasti32x8, M.Vbroadcasti64x4, M.Vbroadcastf32x8, M.Vbroadcastf64x4], broadcastBlock);
add([M.Vinserti128, M.Vinsertf128, M.Vinserti32x4, M.Vinserti64x2, M.Vinserti32x8, M.Vinserti64x4, M.Vinsertf32x4, M.Vinsertf64x2, M.Vinsertf32x8, M.Vinsertf64x4], insert);
add([M.Vextracti128, M.Vextractf128, M.Vextracti32x4, M.Vextracti64x2, M.Vextracti32x8, M.Vextracti64x4, M.Vextractf32x4, M.Vextractf64x2, M.Vextractf32x8, M.Vextractf64x4], extract);
add([M.Vpcmpeqb, M.Vpcmpeqw, M.Vpcmpeqd, M.Vpcmpeqq], compare('eq'));
add([M.Vpcmpgtb, M.Vpcmpgtw, M.Vpcmpgtd, M.Vpcmpgtq], compare('gt'));
add([M.Vpcmpb, M.Vpcmpw, M.Vpcmpd, M.Vpcmpq], compare('imm-signed'));
add([M.Vpcmpub, M.Vpcmpuw, M.Vpcmpud, M.Vpcmpuq], compare('imm-unsigned'));
add([M.Vptestmb, M.Vptestmw, M.Vptestmd, M.Vptestmq], compare('test'));
add([M.Vptestnmb, M.Vptestnmw, M.Vptestnmd, M.Vptestnmq], compare('testn'));
add([M.Vpmovmskb], vpmovmskb);
add([M.Vpmovb2m, M.Vpmovw2m, M.Vpmovd2m, M.Vpmovq2m], vpmov2m);
add([M.Vpmovm2b, M.Vpmovm2w, M.Vpmovm2d, M.Vpmovm2q], vpmovm2);
add([M.Vptest], vptest);
add([M.Vmovd, M.Vmovq], movdq);
add([M.Kmovb, M.Kmovw, M.Kmovd, M.Kmovq], kmov);
add([M.Kandb, M.Kandw, M.Kandd, M.Kandq], kbinary((a, b) => a & b, false));
add([M.Kandnb, M.Kandnw, M.Kandnd, M.Kandnq], kbinary((a, b) => ~a & b, true));
add([M.Korb, M.Korw, M.Kord, M.Korq], kbinary((a, b) => a | b, false));
add([M.Kxorb, M.Kxorw, M.Kxord, M.Kxorq], kbinary((a, b) => a ^ b, true));
add([M.Kxnorb, M.Kxnorw, M.Kxnord, M.Kxnorq], kbinary((a, b) => ~(a ^ b), false));
add([M.Kaddb, M.Kaddw, M.Kaddd, M.Kaddq], kbinary((a, b) => a + b, false));
add([M.Knotb, M.Knotw, M.Knotd, M.Knotq], knot);
add([M.Kortestb, M.Kortestw, M.Kortestd, M.Kortestq], ktestLike('or'));
add([M.Ktestb, M.Ktestw, M.Ktestd, M.Ktestq], ktestLike('and'));
add([M.Kshiftlb, M.Kshiftlw, M.Kshiftld, M.Kshiftlq], kshift(true));
add([M.Kshiftrb, M.Kshiftrw, M.Kshiftrd, M.Kshiftrq], kshift(false));
add([M.Kunpckbw, M.Kunpckwd, M.Kunpckdq], kunpck);
OPS.set(M.Vzeroupper, (c) => c.vec.zeroUpper());
OPS.set(M.Vzeroall, (c) => c.vec.zeroAll());

/** Mnemonics this module emulates (the README lists them). */
export const EMULATED_VECTOR_MNEMONICS: readonly string[] = [...OPS.keys()].map((m) => Mnemonic[m]).sort();

export function isEmulatedVector(ins: Instruction): boolean {
  return OPS.has(ins.mnemonic);
}

/**
 * Emulate one decoded vector or opmask instruction. Returns false when it is not in the table
 * (the caller reports it by name). Faults are thrown as CpuFault.
 */
export function emulateVector(ins: Instruction, env: ExecEnv): boolean {
  const op = OPS.get(infoOf(ins).mnemonic);
  if (!op) return false;
  const info = infoOf(ins);
  // The operand width: the widest vector register operand, else 16 bytes.
  op({ ins: info, env, vec: env.vec, width: info.width, evex: info.encoding === EncodingKind.EVEX });
  return true;
}
