/**
 * The x87 FPU's arithmetic, load, store, compare and stack instructions over the register file
 * (SDM Vol. 1 chapter 8: 8.1 the register stack, status and control words, tags; 8.5 exception
 * conditions; 8.6 exception synchronization; Vol. 2A the instruction pages), computed exactly by
 * float80.ts. The model owns these instructions because unicorn 2.0.1 sets no exception flags,
 * gives +0 for an empty register, and pops after an unmasked exception (issue 11).
 *
 * Exceptions (SDM Vol. 1 4.9, 8.5): a masked exception sets its flag and delivers the masked
 * response; an unmasked invalid-operation, denormal or zero-divide exception leaves the
 * destination and TOP as they were (no pop); unmasked overflow and underflow deliver the result
 * with its exponent adjusted by 24576 to a register, nothing to memory; then FSW.ES and B are set
 * and the next waiting x87 instruction raises #MF (X87Fault) before it executes.
 */
import { Instruction, MemorySize, Mnemonic, OpKind, Register } from '../iced.js';
import { Quirk } from '../quirks.js';
import { LEGACY } from '../register-file.js';
import type { XsaveContext } from '../xsave.js';
import { XFeature, bit } from '../xfeatures.js';
import { fninit, fswWithSummary, x87ControlWritten } from '../x87-env.js';
import {
  DOUBLE, EXP_BIAS, EXP_MAX, Exc, INDEFINITE, Kind, Rounding, SINGLE, type F80, type Format,
  addExact, compare, divExact, exactOf, fromInteger, fromMemory, infinity, isNaN, kindOf, quiet, readF80,
  roundToIntegerValue, roundToMemory, roundToRegister, sqrtExact, writeF80, zero,
} from './float80.js';
import { FUNCTION_MNEMONICS, runFunction, type X87Unit } from './fpu-functions.js';
import { runOnHost, transcendentalFromHost } from './host-functions.js';

/** #MF: a waiting x87 instruction found an unmasked exception pending (SDM Vol. 1 8.6). */
export class X87Fault extends Error {
  constructor(readonly fsw: number, readonly fcw: number) {
    super(`#MF: x87 exception pending (FSW 0x${fsw.toString(16)}, FCW 0x${fcw.toString(16)})`);
  }
}

/**
 * The x87 FPU enters MMX mode (SDM Vol. 1 9.5.1, Table 9-2): TOP 0 and every tag valid; the
 * registers an MMX instruction writes (`written` bit k for MMk, a physical register) get exponent
 * bits FFFFH. The FXSAVE-layout ST slots are stack-relative, so they are rotated to physical order
 * (TOP 0). Measured on AMD Zen 5: TOP 0 and FTW FFH after PXOR, also after a read-only MOVD.
 */
export function enterMmxState(legacy: Uint8Array, written: number): void {
  const L = legacy;
  const top = (L[LEGACY.FSW + 1]! >> 3) & 7;
  const st = L.slice(LEGACY.ST0, LEGACY.XMM0);
  for (let i = 0; i < 8; i++) {
    const p = (top + i) & 7;
    L.set(st.subarray(i * LEGACY.ST_STRIDE, (i + 1) * LEGACY.ST_STRIDE), LEGACY.ST0 + p * LEGACY.ST_STRIDE);
  }
  L[LEGACY.FSW + 1] = L[LEGACY.FSW + 1]! & ~0x38;
  L[LEGACY.FTW] = 0xff;
  for (let k = 0; k < 8; k++) if ((written >> k) & 1) { L[LEGACY.ST0 + k * LEGACY.ST_STRIDE + 8] = 0xff; L[LEGACY.ST0 + k * LEGACY.ST_STRIDE + 9] = 0xff; }
}

/** What an x87 instruction needs of the rest of the CPU. */
export interface X87Io {
  /** The memory operand's effective address (with the segment base). */
  ea(): bigint;
  read(addr: bigint, len: number): Uint8Array;
  write(addr: bigint, data: Uint8Array): void;
  setAx(v: number): void;
  /** RFLAGS bits CF PF ZF (FCOMI: the others of OF SF AF cleared). */
  setCompareFlags(zf: number, pf: number, cf: number): void;
  /** RFLAGS, for FCMOVcc. */
  rflags(): bigint;
}

/** FSW bits (SDM Vol. 1 Figure 8-4). */
const SW = { SF: 0x40, ES: 0x80, C0: 0x100, C1: 0x200, C2: 0x400, C3: 0x4000, B: 0x8000, TOP_SHIFT: 11 } as const;
/** FCW fields (SDM Vol. 1 Figure 8-6): masks 5:0, PC 9:8, RC 11:10; defined bits and bit 6 reading 1 (as x87-env.ts). */
const CW_PC_SHIFT = 8, CW_RC_SHIFT = 10;
const FCW_DEFINED = 0x1f3f, FCW_BIT6 = 0x40;
/** PC encodings to significand bits (SDM Vol. 1 Table 8-2; 01B reserved, taken as 64 - assumption). */
const PRECISION = [24, 64, 53, 64] as const;
/** Integer indefinite for 16/32/64-bit stores (SDM Vol. 1 Table 4-2). */
const INT_INDEFINITE = { 2: 0x8000n, 4: 0x80000000n, 8: 0x8000000000000000n } as Record<number, bigint>;
/** Constants of FLD1..FLDLN2 as 128-bit significands (exact to the bits shown) with their exponents (SDM Vol. 2A FLD1/FLDL2T/...: rounded by RC). */
const CONSTANTS = new Map<Mnemonic, { sig128: bigint; exp: number }>([
  [Mnemonic.Fld1, { sig128: 1n << 127n, exp: EXP_BIAS }],
  [Mnemonic.Fldpi, { sig128: 0xc90fdaa22168c234c4c6628b80dc1cd1n, exp: EXP_BIAS + 1 }],
  [Mnemonic.Fldl2e, { sig128: 0xb8aa3b295c17f0bbbe87fed0691d3e88n, exp: EXP_BIAS }],
  [Mnemonic.Fldl2t, { sig128: 0xd49a784bcd1b8afe492bf6ff4dafdb4cn, exp: EXP_BIAS + 1 }],
  [Mnemonic.Fldlg2, { sig128: 0x9a209a84fbcff7988f8959ac0b7c9178n, exp: EXP_BIAS - 2 }],
  [Mnemonic.Fldln2, { sig128: 0xb17217f7d1cf79abc9e3b39803f2f6afn, exp: EXP_BIAS - 1 }],
]);

enum Arith { Add, Sub, Mul, Div }
interface ArithForm { op: Arith; reverse: boolean; pop: boolean }
const ARITH = new Map<Mnemonic, ArithForm>([
  [Mnemonic.Fadd, { op: Arith.Add, reverse: false, pop: false }], [Mnemonic.Faddp, { op: Arith.Add, reverse: false, pop: true }], [Mnemonic.Fiadd, { op: Arith.Add, reverse: false, pop: false }],
  [Mnemonic.Fsub, { op: Arith.Sub, reverse: false, pop: false }], [Mnemonic.Fsubp, { op: Arith.Sub, reverse: false, pop: true }], [Mnemonic.Fisub, { op: Arith.Sub, reverse: false, pop: false }],
  [Mnemonic.Fsubr, { op: Arith.Sub, reverse: true, pop: false }], [Mnemonic.Fsubrp, { op: Arith.Sub, reverse: true, pop: true }], [Mnemonic.Fisubr, { op: Arith.Sub, reverse: true, pop: false }],
  [Mnemonic.Fmul, { op: Arith.Mul, reverse: false, pop: false }], [Mnemonic.Fmulp, { op: Arith.Mul, reverse: false, pop: true }], [Mnemonic.Fimul, { op: Arith.Mul, reverse: false, pop: false }],
  [Mnemonic.Fdiv, { op: Arith.Div, reverse: false, pop: false }], [Mnemonic.Fdivp, { op: Arith.Div, reverse: false, pop: true }], [Mnemonic.Fidiv, { op: Arith.Div, reverse: false, pop: false }],
  [Mnemonic.Fdivr, { op: Arith.Div, reverse: true, pop: false }], [Mnemonic.Fdivrp, { op: Arith.Div, reverse: true, pop: true }], [Mnemonic.Fidivr, { op: Arith.Div, reverse: true, pop: false }],
]);
enum Cmp { Ordered, Unordered }
interface CompareForm { kind: Cmp; pops: number; eflags: boolean }
const COMPARE = new Map<Mnemonic, CompareForm>([
  [Mnemonic.Fcom, { kind: Cmp.Ordered, pops: 0, eflags: false }], [Mnemonic.Fcomp, { kind: Cmp.Ordered, pops: 1, eflags: false }], [Mnemonic.Fcompp, { kind: Cmp.Ordered, pops: 2, eflags: false }],
  [Mnemonic.Ficom, { kind: Cmp.Ordered, pops: 0, eflags: false }], [Mnemonic.Ficomp, { kind: Cmp.Ordered, pops: 1, eflags: false }],
  [Mnemonic.Fucom, { kind: Cmp.Unordered, pops: 0, eflags: false }], [Mnemonic.Fucomp, { kind: Cmp.Unordered, pops: 1, eflags: false }], [Mnemonic.Fucompp, { kind: Cmp.Unordered, pops: 2, eflags: false }],
  [Mnemonic.Fcomi, { kind: Cmp.Ordered, pops: 0, eflags: true }], [Mnemonic.Fcomip, { kind: Cmp.Ordered, pops: 1, eflags: true }],
  [Mnemonic.Fucomi, { kind: Cmp.Unordered, pops: 0, eflags: true }], [Mnemonic.Fucomip, { kind: Cmp.Unordered, pops: 1, eflags: true }],
]);
/** FCMOVcc conditions on RFLAGS (SDM Vol. 2A FCMOVcc): CF bit 0, PF bit 2, ZF bit 6. */
const FCMOV = new Map<Mnemonic, (fl: bigint) => boolean>([
  [Mnemonic.Fcmovb, (f) => (f & 1n) !== 0n], [Mnemonic.Fcmovnb, (f) => (f & 1n) === 0n],
  [Mnemonic.Fcmove, (f) => (f & 0x40n) !== 0n], [Mnemonic.Fcmovne, (f) => (f & 0x40n) === 0n],
  [Mnemonic.Fcmovbe, (f) => (f & 0x41n) !== 0n], [Mnemonic.Fcmovnbe, (f) => (f & 0x41n) === 0n],
  [Mnemonic.Fcmovu, (f) => (f & 4n) !== 0n], [Mnemonic.Fcmovnu, (f) => (f & 4n) === 0n],
]);
const SIMPLE = new Set<Mnemonic>([
  Mnemonic.Fld, Mnemonic.Fild, Mnemonic.Fst, Mnemonic.Fstp, Mnemonic.Fist, Mnemonic.Fistp, Mnemonic.Fisttp,
  Mnemonic.Ftst, Mnemonic.Fxam, Mnemonic.Fchs, Mnemonic.Fabs, Mnemonic.Fxch, Mnemonic.Fldz, Mnemonic.Fsqrt, Mnemonic.Frndint,
  Mnemonic.Fincstp, Mnemonic.Fdecstp, Mnemonic.Ffree, Mnemonic.Ffreep, Mnemonic.Fnop,
  Mnemonic.Fnstsw, Mnemonic.Fnstcw, Mnemonic.Fldcw, Mnemonic.Fnclex, Mnemonic.Fninit, Mnemonic.Wait, Mnemonic.Emms,
]);
/** Control instructions that do not wait for a pending exception (SDM Vol. 1 8.3.12, 8.6; FNSTENV/FNSAVE are x87-env.ts's). */
const NO_WAIT = new Set<Mnemonic>([Mnemonic.Fnstsw, Mnemonic.Fnstcw, Mnemonic.Fnclex, Mnemonic.Fninit]);
/** Control instructions: they leave FIP/FOP/FDP alone (SDM Vol. 1 8.1.8; as ownership.ts's X87_CONTROL). */
const CONTROL = new Set<Mnemonic>([Mnemonic.Fnstsw, Mnemonic.Fnstcw, Mnemonic.Fldcw, Mnemonic.Fnclex, Mnemonic.Fninit, Mnemonic.Wait, Mnemonic.Emms]);

/** Whether the model computes this instruction (ownership.ts owns exactly these). */
export function isModelledX87(m: Mnemonic): boolean {
  return ARITH.has(m) || COMPARE.has(m) || FCMOV.has(m) || CONSTANTS.has(m) || SIMPLE.has(m) || FUNCTION_MNEMONICS.has(m);
}
/** Whether it updates FIP/FOP (and with a memory operand FDP): every modelled one but the control ones. */
export function setsX87Pointers(m: Mnemonic): boolean {
  return !CONTROL.has(m);
}

/** The x87 state unpacked: registers by physical number. */
class State implements X87Unit {
  fcw: number; fsw: number; top: number;
  /** Abridged tags by physical register: 1 = not empty. */
  tags: number;
  readonly reg: F80[] = [];
  /** Flags raised by this instruction. */
  flags = 0;
  /** Quirks the profile's CPU has (quirks.ts). */
  readonly unmaskedComplete: boolean;
  readonly fcomiKeepsC1: boolean;
  constructor(readonly ctx: XsaveContext) {
    this.unmaskedComplete = ctx.cpu.hasQuirk(Quirk.X87UnmaskedCompareAndLoadComplete);
    this.fcomiKeepsC1 = ctx.cpu.hasQuirk(Quirk.X87FcomiFcmovKeepC1);
    const L = ctx.regs.legacy, v = ctx.regs.legacyView;
    this.fcw = v.getUint16(LEGACY.FCW, true);
    this.fsw = v.getUint16(LEGACY.FSW, true);
    this.top = (this.fsw >> SW.TOP_SHIFT) & 7;
    this.tags = L[LEGACY.FTW]!;
    for (let i = 0; i < 8; i++) this.reg[(this.top + i) & 7] = readF80(L, LEGACY.ST0 + i * LEGACY.ST_STRIDE);
  }
  store(): void {
    const L = this.ctx.regs.legacy, v = this.ctx.regs.legacyView;
    const fsw = (this.fsw & ~(7 << SW.TOP_SHIFT)) | (this.top << SW.TOP_SHIFT) | this.flags;
    v.setUint16(LEGACY.FCW, this.fcw, true);
    v.setUint16(LEGACY.FSW, fswWithSummary(fsw, this.fcw), true);
    L[LEGACY.FTW] = this.tags;
    for (let i = 0; i < 8; i++) {
      const o = LEGACY.ST0 + i * LEGACY.ST_STRIDE;
      writeF80(L, o, this.reg[(this.top + i) & 7]!);
      L.fill(0, o + LEGACY.ST_BYTES, o + LEGACY.ST_STRIDE);
    }
    this.ctx.regs.touched(XFeature.X87, true);
  }
  get pc(): number { return PRECISION[(this.fcw >> CW_PC_SHIFT) & 3]!; }
  get rc(): Rounding { return ((this.fcw >> CW_RC_SHIFT) & 3) as Rounding; }
  masked(e: Exc): boolean { return (this.fcw & e) !== 0; }
  phys(i: number): number { return (this.top + i) & 7; }
  empty(i: number): boolean { return ((this.tags >> this.phys(i)) & 1) === 0; }
  st(i: number): F80 { return this.reg[this.phys(i)]!; }
  set(i: number, f: F80): void { const p = this.phys(i); this.reg[p] = f; this.tags |= 1 << p; }
  pop(): void { this.tags &= ~(1 << this.top); this.top = (this.top + 1) & 7; }
  push(f: F80): void { this.top = (this.top - 1) & 7; this.set(0, f); }
  setC1(on: boolean): void { this.fsw = on ? this.fsw | SW.C1 : this.fsw & ~SW.C1; }
  setC2(on: boolean): void { this.fsw = on ? this.fsw | SW.C2 : this.fsw & ~SW.C2; }
  round(sign: number, mant: bigint, e: number, sticky: boolean, p: number, rc?: Rounding): F80 { return rounded(this, sign, mant, e, sticky, p, rc); }
  c1(): boolean { return (this.fsw & SW.C1) !== 0; }
  nan(a: F80, b: F80): F80 { return nanResult(a, b); }
  setCc(c3: number, c2: number, c0: number): void {
    this.fsw = (this.fsw & ~(SW.C3 | SW.C2 | SW.C0)) | (c3 ? SW.C3 : 0) | (c2 ? SW.C2 : 0) | (c0 ? SW.C0 : 0);
  }
  /** Raise flags; true when one of them is unmasked and prevents the result (IE, DE, ZE). */
  raise(f: number): boolean { this.flags |= f; return (f & (Exc.IE | Exc.DE | Exc.ZE) & ~this.fcw) !== 0; }
  /** Stack underflow (SDM Vol. 1 8.5.1.1): IE and SF, C1 = 0; true when unmasked (nothing else happens). */
  underflow(): boolean { this.flags |= Exc.IE | SW.SF; this.setC1(false); return !this.masked(Exc.IE); }
  /** Stack overflow: IE and SF, C1 = 1. */
  overflow(): boolean { this.flags |= Exc.IE | SW.SF; this.setC1(true); return !this.masked(Exc.IE); }
}

export interface X87Result {
  /** An unmasked exception was raised by this instruction (for FDP_EXCPTN_ONLY). */
  unmasked: boolean;
}

/**
 * Execute one modelled x87 instruction (isModelledX87). Throws X87Fault (#MF) before a waiting
 * instruction runs with FSW.ES set. Memory faults come from `io` (nothing changed yet: every
 * load precedes the state change, every store is the last step).
 */
export function executeX87(ctx: XsaveContext, ins: Instruction, io: X87Io): X87Result {
  const m = ins.mnemonic;
  const v = ctx.regs.legacyView;
  if (!NO_WAIT.has(m)) {
    const fsw = v.getUint16(LEGACY.FSW, true);
    if (fsw & SW.ES) throw new X87Fault(fsw, v.getUint16(LEGACY.FCW, true));
  }
  switch (m) {
    case Mnemonic.Fninit: fninit(ctx); return { unmasked: false };
    case Mnemonic.Wait: case Mnemonic.Fnop: {
      if (m === Mnemonic.Fnop) ctx.regs.touched(XFeature.X87, true);
      return { unmasked: false };
    }
    case Mnemonic.Fnstsw: {
      const fsw = v.getUint16(LEGACY.FSW, true);
      if (ins.opKind(0) === OpKind.Register) io.setAx(fsw);
      else io.write(io.ea(), u16le(fsw));
      return { unmasked: false };
    }
    case Mnemonic.Fnstcw: io.write(io.ea(), u16le(v.getUint16(LEGACY.FCW, true))); return { unmasked: false };
    case Mnemonic.Fldcw: {
      const b = io.read(io.ea(), 2);
      const fcw = ((b[0]! | (b[1]! << 8)) & FCW_DEFINED) | FCW_BIT6;
      v.setUint16(LEGACY.FCW, fcw, true);
      // ES and B follow the flags under the new masks (SDM Vol. 1 8.1.3.1; measured: FSW B884H).
      const wasInUse = (ctx.regs.xinuse & bit(XFeature.X87)) !== 0;
      v.setUint16(LEGACY.FSW, fswWithSummary(v.getUint16(LEGACY.FSW, true), fcw), true);
      x87ControlWritten(ctx, wasInUse);
      return { unmasked: false };
    }
    case Mnemonic.Fnclex: {
      // PE UE OE ZE DE IE, SF, ES and B cleared (SDM Vol. 2A FCLEX/FNCLEX).
      const wasInUse = (ctx.regs.xinuse & bit(XFeature.X87)) !== 0;
      v.setUint16(LEGACY.FSW, v.getUint16(LEGACY.FSW, true) & ~0x80ff, true);
      x87ControlWritten(ctx, wasInUse);
      return { unmasked: false };
    }
    case Mnemonic.Emms: {
      // All tags empty and TOP 0 (SDM Vol. 1 Table 9-2; measured on AMD Zen 5: TOP 5 -> 0); the
      // physical registers stay, so the stack-order image turns with TOP.
      const wasInUse = (ctx.regs.xinuse & bit(XFeature.X87)) !== 0;
      const s = new State(ctx);
      s.top = 0;
      s.tags = 0;
      s.store();
      x87ControlWritten(ctx, wasInUse);
      return { unmasked: false };
    }
  }
  if (transcendentalFromHost(ctx.cpu, m)) {
    // The profile is this CPU (host-functions.ts, assumption x87-transcendental-host): its own result.
    const fsw = runOnHost(m, ctx.regs.legacy);
    ctx.regs.touched(XFeature.X87, true);
    return { unmasked: (fsw & 0x3f & ~v.getUint16(LEGACY.FCW, true)) !== 0 };
  }
  const s = new State(ctx);
  run(s, ins, io);
  s.store();

  return { unmasked: (s.flags & 0x3f & ~s.fcw) !== 0 };
}

function u16le(x: number): Uint8Array { return Uint8Array.of(x & 0xff, (x >> 8) & 0xff); }
function leBig(b: Uint8Array): bigint { let x = 0n; for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!); return x; }
function bigLe(x: bigint, n: number): Uint8Array { const b = new Uint8Array(n); for (let i = 0; i < n; i++) { b[i] = Number(x & 0xffn); x >>= 8n; } return b; }
function signedOf(x: bigint, bytes: number): bigint { const w = BigInt(bytes * 8); return x >= 1n << (w - 1n) ? x - (1n << w) : x; }
const stIndex = (r: Register): number => r - Register.ST0;

/** A memory source operand as an F80 and whether it raised IE (SNaN) or DE (denormal) when converted (m32/m64 only). */
function memoryOperand(ins: Instruction, io: X87Io): { f: F80; ext: boolean } {
  const ea = io.ea();
  switch (ins.memorySize) {
    case MemorySize.Float32: return { f: fromMemory(leBig(io.read(ea, 4)), SINGLE), ext: false };
    case MemorySize.Float64: return { f: fromMemory(leBig(io.read(ea, 8)), DOUBLE), ext: false };
    case MemorySize.Float80: return { f: readF80(io.read(ea, 10), 0), ext: true };
    case MemorySize.Int16: return { f: fromInteger(signedOf(leBig(io.read(ea, 2)), 2)), ext: true };
    case MemorySize.Int32: return { f: fromInteger(signedOf(leBig(io.read(ea, 4)), 4)), ext: true };
    case MemorySize.Int64: return { f: fromInteger(signedOf(leBig(io.read(ea, 8)), 8)), ext: true };
    default: throw new Error(`x87: memory operand size ${MemorySize[ins.memorySize]} not modelled`);
  }
}
/** Whether a single/double source was a denormal (its F80 is normalized, so the class is lost). */
function memoryIsDenormal(ins: Instruction, io: X87Io): boolean {
  const ea = io.ea();
  if (ins.memorySize === MemorySize.Float32) { const b = leBig(io.read(ea, 4)); return ((b >> 23n) & 0xffn) === 0n && (b & 0x7fffffn) !== 0n; }
  if (ins.memorySize === MemorySize.Float64) { const b = leBig(io.read(ea, 8)); return ((b >> 52n) & 0x7ffn) === 0n && (b & 0xfffffffffffffn) !== 0n; }
  return false;
}

/**
 * The NaN result of an operation with a NaN operand (SDM Vol. 1 Table 4-7, x87 column): an SNaN
 * and a QNaN give the QNaN; two of a kind give the one with the larger significand, quieted;
 * one NaN gives it, quieted.
 */
function nanResult(a: F80, b: F80): F80 {
  const ka = kindOf(a), kb = kindOf(b);
  if (isNaN(ka) && isNaN(kb)) {
    if (ka === Kind.SNaN && kb === Kind.QNaN) return b;
    if (ka === Kind.QNaN && kb === Kind.SNaN) return a;
    const sa = a.sig | (1n << 62n), sb = b.sig | (1n << 62n);
    if (sa !== sb) return quiet(sb > sa ? b : a);
    // Equal significands: the positive one (measured on AMD Zen 5; SoftFloat's x86 rule too).
    return quiet(b.sign < a.sign ? b : a);
  }
  return quiet(isNaN(ka) ? a : b);
}

/** x op y (FADD/FSUB/FMUL/FDIV semantics) with flags; undefined when an unmasked pre-computation exception stops it. */
function arith(s: State, op: Arith, x: F80, y: F80, denormalIn: boolean): F80 | undefined {
  const kx = kindOf(x), ky = kindOf(y);
  if (kx === Kind.Unsupported || ky === Kind.Unsupported) return s.raise(Exc.IE) ? undefined : INDEFINITE;
  if (isNaN(kx) || isNaN(ky)) {
    if ((kx === Kind.SNaN || ky === Kind.SNaN) && s.raise(Exc.IE)) return undefined;
    return nanResult(x, y);
  }
  const ysign = op === Arith.Sub ? y.sign ^ 1 : y.sign;
  const xinf = kx === Kind.Infinity, yinf = ky === Kind.Infinity, xz = kx === Kind.Zero, yz = ky === Kind.Zero;
  const psign = x.sign ^ y.sign;
  switch (op) {
    case Arith.Add: case Arith.Sub:
      if (xinf && yinf) return x.sign !== ysign ? (s.raise(Exc.IE) ? undefined : INDEFINITE) : infinity(x.sign);
      // A denormal beside an infinity still raises DE (measured on AMD Zen 5).
      if (xinf) { if (denormalIn && s.raise(Exc.DE)) return undefined; return infinity(x.sign); }
      if (yinf) { if (denormalIn && s.raise(Exc.DE)) return undefined; return infinity(ysign); }
      break;
    case Arith.Mul:
      if ((xinf && yz) || (yinf && xz)) return s.raise(Exc.IE) ? undefined : INDEFINITE;
      if (xinf || yinf) { if (denormalIn && s.raise(Exc.DE)) return undefined; return infinity(psign); }
      break;
    case Arith.Div:
      if ((xinf && yinf) || (xz && yz)) return s.raise(Exc.IE) ? undefined : INDEFINITE;
      if (xinf) { if (denormalIn && s.raise(Exc.DE)) return undefined; return infinity(psign); }
      if (yinf) { if (denormalIn && s.raise(Exc.DE)) return undefined; return zero(psign); }
      if (yz) return s.raise(Exc.ZE) ? undefined : infinity(psign);
      break;
  }
  if (denormalIn && s.raise(Exc.DE)) return undefined;
  const a = exactOf(x), b = exactOf({ ...y, sign: op === Arith.Sub ? ysign : y.sign });
  let sign: number, mant: bigint, e: number, sticky = false;
  switch (op) {
    case Arith.Add: case Arith.Sub: { const r = addExact(a, b, s.rc); sign = r.sign; mant = r.mant; e = r.e; break; }
    case Arith.Mul: sign = psign; mant = a.mant * b.mant; e = a.e + b.e; break;
    default: { const r = divExact(a, b); sign = psign; mant = r.mant; e = r.e; sticky = r.sticky; break; }
  }
  if (mant === 0n) return zero(sign);
  return rounded(s, sign, mant, e, sticky, s.pc);
}

/** Round to the register format, raising its flags (C1 = rounded up). */
function rounded(s: State, sign: number, mant: bigint, e: number, sticky: boolean, p: number, rc: Rounding = s.rc): F80 {
  const r = roundToRegister(sign, mant, e, sticky, p, rc, s.masked(Exc.OE), s.masked(Exc.UE));
  s.raise(r.flags);
  s.setC1(r.up);
  return r.f;
}

function run(s: State, ins: Instruction, io: X87Io): void {
  const m = ins.mnemonic;
  const hasMem = ins.opCount > 0 && [...Array(ins.opCount).keys()].some((k) => ins.opKind(k) === OpKind.Memory);
  const arithForm = ARITH.get(m);
  if (arithForm) {
    // dest = dest op src (reverse: src op dest); memory forms: dest ST(0).
    let di = 0, si = 0, src: F80 | undefined, srcDenormal = false;
    if (hasMem) {
      const mo = memoryOperand(ins, io);
      src = mo.f;
      srcDenormal = memoryIsDenormal(ins, io);
    } else {
      di = stIndex(ins.opRegister(0));
      si = stIndex(ins.opRegister(1));
    }
    if (s.empty(di) || (src === undefined && s.empty(si))) {
      if (s.underflow()) return;
      s.set(di, INDEFINITE);
      if (arithForm.pop) s.pop();
      return;
    }
    const d = s.st(di);
    const sv = src ?? s.st(si);
    const denormal = srcDenormal || kindOf(d) === Kind.Denormal || kindOf(sv) === Kind.Denormal;
    s.setC1(false);
    const r = arithForm.reverse ? arith(s, arithForm.op, sv, d, denormal) : arith(s, arithForm.op, d, sv, denormal);
    if (r === undefined) return;
    s.set(di, r);
    if (arithForm.pop) s.pop();
    return;
  }
  const cmp = COMPARE.get(m);
  if (cmp) {
    let src: F80 | undefined, si = 1, srcDenormal = false;
    if (hasMem) { src = memoryOperand(ins, io).f; srcDenormal = memoryIsDenormal(ins, io); }
    else if (ins.opCount === 2) si = stIndex(ins.opRegister(1));
    else if (ins.opCount === 1) si = stIndex(ins.opRegister(0));
    let c: number; // -1 <, 0 =, 1 >, 2 unordered
    // Unmasked invalid operation: nothing popped; "unordered" only with the quirk (quirks.ts).
    const unorderedStop = (): void => { if (s.unmaskedComplete) setCompare(s, io, cmp, 2); };
    if (s.empty(0) || (src === undefined && s.empty(si))) {
      if (s.underflow()) return unorderedStop();
      c = 2;
    } else {
      const a = s.st(0), b = src ?? s.st(si);
      const ka = kindOf(a), kb = kindOf(b);
      // FCOM and friends clear C1; FCOMI and friends too, unless x87-fcomi-fcmov-keep-c1.
      if (!cmp.eflags || !s.fcomiKeepsC1) s.setC1(false);
      if (ka === Kind.Unsupported || kb === Kind.Unsupported || ka === Kind.SNaN || kb === Kind.SNaN || (cmp.kind === Cmp.Ordered && (isNaN(ka) || isNaN(kb)))) {
        if (s.raise(Exc.IE)) return unorderedStop();
        c = 2;
      } else if (isNaN(ka) || isNaN(kb)) c = 2;
      else {
        c = compare(a, b);
        // An unmasked #D: nothing popped; the result set only with x87-unmasked-compare-and-load-complete.
        if ((srcDenormal || ka === Kind.Denormal || kb === Kind.Denormal) && s.raise(Exc.DE)) { if (s.unmaskedComplete) setCompare(s, io, cmp, c); return; }
      }
    }
    setCompare(s, io, cmp, c);
    for (let k = 0; k < cmp.pops; k++) s.pop();
    return;
  }
  const cond = FCMOV.get(m);
  if (cond) {
    const si = stIndex(ins.opRegister(1));
    // C1 is cleared, or with x87-fcomi-fcmov-keep-c1 left as it was, unless the stack underflows.
    if (!s.fcomiKeepsC1) s.setC1(false);
    if (s.empty(0) || s.empty(si)) {
      // Stack underflow, masked: ST(0) becomes the indefinite whatever the condition (measured on AMD Zen 5).
      if (s.underflow()) return;
      s.set(0, INDEFINITE);
      return;
    }
    if (cond(io.rflags())) s.set(0, s.st(si));
    return;
  }
  const k = CONSTANTS.get(m);
  if (k) {
    if (!s.empty(7)) { if (s.overflow()) return; s.push(INDEFINITE); return; }
    s.setC1(false);
    s.push(constant(k.sig128, k.exp, s.rc));
    return;
  }
  switch (m) {
    case Mnemonic.Fldz: {
      if (!s.empty(7)) { if (s.overflow()) return; s.push(INDEFINITE); return; }
      s.setC1(false);
      s.push(zero(0));
      return;
    }
    case Mnemonic.Fld: case Mnemonic.Fild: {
      let f: F80;
      let flags = 0;
      if (hasMem) {
        const mo = memoryOperand(ins, io);
        f = mo.f;
        if (!mo.ext) {
          // FLD m32/m64: an SNaN raises IE (quieted), a denormal DE (SDM Vol. 2A FLD).
          if (kindOf(f) === Kind.SNaN) { flags = Exc.IE; f = quiet(f); }
          else if (memoryIsDenormal(ins, io)) flags = Exc.DE;
        }
      } else {
        const si = stIndex(ins.opRegister(0));
        // An empty source is reported before a full stack (C1 = 0; measured on AMD Zen 5).
        if (s.empty(si)) { if (s.underflow()) return; s.push(INDEFINITE); return; }
        if (!s.empty(7)) { if (s.overflow()) return; s.push(INDEFINITE); return; }
        f = s.st(si);
      }
      if (!s.empty(7)) { if (s.overflow()) return; s.push(INDEFINITE); return; }
      // An unmasked IE (SNaN) loads nothing; an unmasked DE neither, unless
      // x87-unmasked-compare-and-load-complete; C1 is cleared either way (measured on AMD Zen 5).
      s.setC1(false);
      if (flags && s.raise(flags) && (flags === Exc.IE || !s.unmaskedComplete)) return;
      s.push(f);
      return;
    }
    case Mnemonic.Fst: case Mnemonic.Fstp: {
      const pop = m === Mnemonic.Fstp;
      if (s.empty(0)) {
        if (s.underflow()) return;
        if (hasMem) storeFloat(s, ins, io, INDEFINITE);
        else s.set(stIndex(ins.opRegister(0)), INDEFINITE);
        if (pop) s.pop();
        return;
      }
      s.setC1(false);
      if (hasMem) { if (!storeFloat(s, ins, io, s.st(0))) return; }
      else s.set(stIndex(ins.opRegister(0)), s.st(0));
      if (pop) s.pop();
      return;
    }
    case Mnemonic.Fist: case Mnemonic.Fistp: case Mnemonic.Fisttp: {
      const bytes = ins.memorySize === MemorySize.Int16 ? 2 : ins.memorySize === MemorySize.Int32 ? 4 : 8;
      const pop = m !== Mnemonic.Fist;
      if (s.empty(0)) {
        if (s.underflow()) return;
        io.write(io.ea(), bigLe(INT_INDEFINITE[bytes]!, bytes));
        if (pop) s.pop();
        return;
      }
      s.setC1(false);
      const f = s.st(0);
      const kf = kindOf(f);
      let value: bigint;
      if (kf === Kind.Unsupported || isNaN(kf) || kf === Kind.Infinity) {
        if (s.raise(Exc.IE)) return;
        value = INT_INDEFINITE[bytes]!;
      } else {
        const r = roundToIntegerValue(f, m === Mnemonic.Fisttp ? Rounding.Chop : s.rc);
        const lim = 1n << BigInt(bytes * 8 - 1);
        if (r.v < -lim || r.v >= lim) {
          if (s.raise(Exc.IE)) return;
          value = INT_INDEFINITE[bytes]!;
        } else {
          if (r.inexact) s.raise(Exc.PE);
          s.setC1(r.up);
          value = r.v < 0n ? r.v + (1n << BigInt(bytes * 8)) : r.v;
        }
      }
      io.write(io.ea(), bigLe(value, bytes));
      if (pop) s.pop();
      return;
    }
    case Mnemonic.Fxch: {
      const si = ins.opCount === 2 ? stIndex(ins.opRegister(1)) : 1;
      s.setC1(false);
      if (s.empty(0) || s.empty(si)) {
        if (s.underflow()) return;
        if (s.empty(0)) s.set(0, INDEFINITE);
        if (s.empty(si)) s.set(si, INDEFINITE);
      }
      const a = s.st(0);
      s.set(0, s.st(si));
      s.set(si, a);
      return;
    }
    case Mnemonic.Fchs: case Mnemonic.Fabs: {
      if (s.empty(0)) { if (s.underflow()) return; s.set(0, INDEFINITE); return; }
      s.setC1(false);
      const f = s.st(0);
      s.set(0, { ...f, sign: m === Mnemonic.Fabs ? 0 : f.sign ^ 1 });
      return;
    }
    case Mnemonic.Ftst: {
      // Unmasked #IA or #D: the codes are set only with x87-unmasked-compare-and-load-complete.
      const done = s.unmaskedComplete;
      if (s.empty(0)) { if (s.underflow() && !done) return; s.setCc(1, 1, 1); return; }
      s.setC1(false);
      const f = s.st(0), kf = kindOf(f);
      if (kf === Kind.Unsupported || isNaN(kf)) { if (s.raise(Exc.IE) && !done) return; s.setCc(1, 1, 1); return; }
      if (kf === Kind.Denormal && s.raise(Exc.DE) && !done) return;
      const c = compare(f, zero(0));
      s.setCc(c === 0 ? 1 : 0, 0, c < 0 ? 1 : 0);
      return;
    }
    case Mnemonic.Fxam: {
      // C3 C2 C0 by class, C1 the sign (SDM Vol. 2A FXAM Table 3-20).
      const f = s.st(0);
      s.setC1(f.sign === 1);
      if (s.empty(0)) { s.setCc(1, 0, 1); return; }
      switch (kindOf(f)) {
        case Kind.Unsupported: s.setCc(0, 0, 0); return;
        case Kind.QNaN: case Kind.SNaN: s.setCc(0, 0, 1); return;
        case Kind.Normal: s.setCc(0, 1, 0); return;
        case Kind.Infinity: s.setCc(0, 1, 1); return;
        case Kind.Zero: s.setCc(1, 0, 0); return;
        case Kind.Denormal: s.setCc(1, 1, 0); return;
      }
      return;
    }
    case Mnemonic.Fsqrt: {
      if (s.empty(0)) { if (s.underflow()) return; s.set(0, INDEFINITE); return; }
      s.setC1(false);
      const f = s.st(0), kf = kindOf(f);
      let r: F80 | undefined;
      if (kf === Kind.Unsupported) r = s.raise(Exc.IE) ? undefined : INDEFINITE;
      else if (isNaN(kf)) r = kf === Kind.SNaN && s.raise(Exc.IE) ? undefined : quiet(f);
      else if (kf === Kind.Zero) r = f;
      else if (f.sign === 1) r = s.raise(Exc.IE) ? undefined : INDEFINITE;
      else if (kf === Kind.Infinity) r = f;
      else if (kf === Kind.Denormal && s.raise(Exc.DE)) r = undefined;
      else { const q = sqrtExact(exactOf(f)); r = rounded(s, 0, q.mant, q.e, q.sticky, s.pc); }
      if (r !== undefined) s.set(0, r);
      return;
    }
    case Mnemonic.Frndint: {
      if (s.empty(0)) { if (s.underflow()) return; s.set(0, INDEFINITE); return; }
      s.setC1(false);
      const f = s.st(0), kf = kindOf(f);
      let r: F80 | undefined;
      if (kf === Kind.Unsupported) r = s.raise(Exc.IE) ? undefined : INDEFINITE;
      else if (isNaN(kf)) r = kf === Kind.SNaN && s.raise(Exc.IE) ? undefined : quiet(f);
      else if (kf === Kind.Zero || kf === Kind.Infinity) r = f;
      else if (kf === Kind.Denormal && s.raise(Exc.DE)) r = undefined;
      else {
        const q = roundToIntegerValue(f, s.rc);
        if (q.inexact) s.raise(Exc.PE);
        s.setC1(q.up);
        r = q.v === 0n ? zero(f.sign) : fromInteger(q.v);
      }
      if (r !== undefined) s.set(0, r);
      return;
    }
    case Mnemonic.Fincstp: s.setC1(false); s.top = (s.top + 1) & 7; return;
    case Mnemonic.Fdecstp: s.setC1(false); s.top = (s.top - 1) & 7; return;
    case Mnemonic.Ffree: case Mnemonic.Ffreep: {
      s.setC1(false); // measured on AMD Zen 5 (the SDM leaves C0-C3 undefined)
      s.tags &= ~(1 << s.phys(stIndex(ins.opRegister(0))));
      if (m === Mnemonic.Ffreep) s.top = (s.top + 1) & 7;
      return;
    }
  }
  if (FUNCTION_MNEMONICS.has(m)) return runFunction(s, m, () => io.read(io.ea(), 10), (b) => io.write(io.ea(), b));
  throw new Error(`x87: ${Mnemonic[m]} not modelled`);
}

/** The result of a compare: C3 C2 C0, or ZF PF CF for FCOMI (SDM Vol. 2A FCOM, FCOMI tables). */
function setCompare(s: State, io: X87Io, cmp: CompareForm, c: number): void {
  const eq = c === 0 || c === 2 ? 1 : 0, un = c === 2 ? 1 : 0, lt = c === -1 || c === 2 ? 1 : 0;
  if (cmp.eflags) io.setCompareFlags(eq, un, lt);
  else s.setCc(eq, un, lt);
}

/** FST/FSTP to memory; false when an unmasked exception kept the store (and the pop) from happening. */
function storeFloat(s: State, ins: Instruction, io: X87Io, f: F80): boolean {
  const ea = io.ea();
  if (ins.memorySize === MemorySize.Float80) { const b = new Uint8Array(10); writeF80(b, 0, f); io.write(ea, b); return true; }
  const fmt: Format = ins.memorySize === MemorySize.Float32 ? SINGLE : DOUBLE;
  const bytes = fmt === SINGLE ? 4 : 8;
  const kf = kindOf(f);
  const fracBits = BigInt(fmt.p - 1);
  const expAll = BigInt((fmt.bias << 1) + 1);
  const width = BigInt(bytes * 8);
  const special = (sign: number, exp: bigint, frac: bigint): bigint => (BigInt(sign) << (width - 1n)) | (exp << fracBits) | frac;
  let bits: bigint;
  if (kf === Kind.Unsupported) {
    if (s.raise(Exc.IE)) return false;
    bits = special(1, expAll, 1n << (fracBits - 1n));
  } else if (isNaN(kf)) {
    if (kf === Kind.SNaN && s.raise(Exc.IE)) return false;
    bits = special(f.sign, expAll, ((f.sig | (1n << 62n)) >> (63n - fracBits)) & ((1n << fracBits) - 1n));
  } else if (kf === Kind.Infinity) bits = special(f.sign, expAll, 0n);
  else if (kf === Kind.Zero) bits = special(f.sign, 0n, 0n);
  else {
    const x = exactOf(f);
    const r = roundToMemory(f.sign, x.mant, x.e, false, fmt, s.rc, s.masked(Exc.OE), s.masked(Exc.UE));
    // Unmasked overflow or underflow to memory: nothing is stored and nothing popped (SDM Vol. 1
    // 4.9.1.4-5); only OE or UE is set, not PE, and C1 stays (measured on AMD Zen 5).
    if (r.wrapped) { s.raise(r.flags & (Exc.OE | Exc.UE)); return false; }
    s.raise(r.flags);
    s.setC1(r.up);
    bits = r.bits;
  }
  io.write(ea, bigLe(bits, bytes));
  return true;
}

/** An FLDxx constant rounded by RC (not PC) from its 128 bits (SDM Vol. 2A FLD1/FLDL2T/...; no PE). */
function constant(sig128: bigint, exp: number, rc: Rounding): F80 {
  const r = roundToRegister(0, sig128, exp - EXP_BIAS - 127, false, 64, rc, true, true);
  return r.f;
}

export { EXP_MAX };
