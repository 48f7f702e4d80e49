/**
 * The x87 environment instructions as pure functions over an XsaveContext: FNSTENV, FNSAVE,
 * FLDENV, FRSTOR in the 32-bit protected-mode format that 64-bit mode uses without an operand-size
 * prefix and the 16-bit protected-mode format that a 66H prefix selects (SDM Vol. 1 8.1.10,
 * Figures 8-9 to 8-12; Vol. 2A FSTENV/FNSTENV, FSAVE/FNSAVE, FLDENV, FRSTOR). The model owns them because it holds the last-instruction pointers (FIP, FDP, FOP, FCS,
 * FDS), which unicorn does not track as the hardware does.
 *
 * Unlike FXSAVE and the XSAVE family, these store the pointers whatever FSW.ES is (measured on AMD
 * Zen 5, ../shared/reference/xsave-hw-facts.md section 11).
 */
import { FCW_INIT } from './cpu-model.js';
import { Quirk } from './quirks.js';
import { LEGACY } from './register-file.js';
import type { XsaveContext } from './xsave.js';
import { XFeature, bit } from './xfeatures.js';

/** The 32-bit protected-mode environment (SDM Vol. 1 Figure 8-9) and FSAVE image (Figure 8-10). */
export const X87_ENV_BYTES = 28;
export const X87_SAVE_BYTES = X87_ENV_BYTES + 8 * 10;
/**
 * The 16-bit protected-mode environment (SDM Vol. 1 Figure 8-11), which an operand-size prefix
 * (66H) selects in 64-bit mode, and its FSAVE image (14 + 80 bytes): FCW, FSW, FTW, FIP[15:0],
 * FCS, FDP[15:0], FDS, one word each, no FOP.
 */
export const X87_ENV16_BYTES = 14;
export const X87_SAVE16_BYTES = X87_ENV16_BYTES + 8 * 10;
const ENV16 = { FCW: 0, FSW: 2, FTW: 4, FIP: 6, FCS: 8, FDP: 10, FDS: 12 } as const;
/** Field offsets in the environment. */
const ENV = { FCW: 0, FSW: 4, FTW: 8, FIP: 12, FCS_FOP: 16, FDP: 20, FDS: 24 } as const;
/** The upper word of FCW, FSW, FTW and FDS: "reserved", stored as FFFFH (measured on AMD Zen 5; assumed for Intel). */
const ENV_RESERVED_WORD = 0xffff;
/** FOP sits in bits 26:16 of the FCS dword; bits 31:27 are 0 (Figure 8-9; measured). */
const FOP_SHIFT = 16;
const FOP_MASK = 0x7ff;
/** FSW exception flags 5:0, ES 7, B 15; FCW masks 5:0 (SDM Vol. 1 8.1.3, 8.1.5). */
const FSW_EXCEPTION_FLAGS = 0x3f;
const FSW_ES_B = 0x8080;
const FCW_ALL_MASKS = 0x3f;
/** FCW bits that exist (SDM Vol. 1 8.1.5); bit 6 reads back 1 (measured after restores, see xsave.ts). */
const FCW_DEFINED = 0x1f3f;
const FCW_BIT6 = 0x40;
/** Tag values (SDM Vol. 1 8.1.7). */
enum Tag { Valid = 0, Zero = 1, Special = 2, Empty = 3 }
const ST_BYTES = 10;
const EXPONENT_MAX = 0x7fff;

/**
 * ES and B follow the exception flags and masks: set when an unmasked flag is set (SDM Vol. 1
 * 8.1.3.1). Measured on AMD Zen 5: FLDCW that unmasks a pending ZE gives FSW B884H; FNSTENV,
 * which masks everything, leaves 3804H.
 */
export function fswWithSummary(fsw: number, fcw: number): number {
  return (fsw & FSW_EXCEPTION_FLAGS & ~fcw) !== 0 ? (fsw | FSW_ES_B) & 0xffff : fsw & ~FSW_ES_B & 0xffff;
}

/** The full tag word from the abridged one and the register contents (SDM Vol. 1 8.1.7, 10.5.1.1). */
export function fullTagWord(ctx: XsaveContext): number {
  const L = ctx.regs.legacy;
  const top = (L[LEGACY.FSW + 1]! >> 3) & 7;
  const abridged = L[LEGACY.FTW]!;
  let tw = 0;
  for (let p = 0; p < 8; p++) {
    let tag: Tag;
    if (!((abridged >> p) & 1)) tag = Tag.Empty;
    else {
      const o = LEGACY.ST0 + ((p - top) & 7) * LEGACY.ST_STRIDE;
      const exp = (L[o + 8]! | (L[o + 9]! << 8)) & EXPONENT_MAX;
      let significandZero = true;
      for (let k = 0; k < 8; k++) if (L[o + k] !== 0) significandZero = false;
      const integerBit = (L[o + 7]! & 0x80) !== 0;
      if (exp === EXPONENT_MAX) tag = Tag.Special;
      else if (exp === 0) tag = significandZero ? Tag.Zero : Tag.Special;
      else tag = integerBit ? Tag.Valid : Tag.Special; // unnormals are special
    }
    tw |= tag << (2 * p);
  }
  return tw;
}

function put32(a: Uint8Array, o: number, v: number): void {
  a[o] = v & 0xff; a[o + 1] = (v >>> 8) & 0xff; a[o + 2] = (v >>> 16) & 0xff; a[o + 3] = (v >>> 24) & 0xff;
}
const u16 = (a: Uint8Array, o: number): number => a[o]! | (a[o + 1]! << 8);
const u32 = (a: Uint8Array, o: number): number => (a[o]! | (a[o + 1]! << 8) | (a[o + 2]! << 16) | (a[o + 3]! << 24)) >>> 0;

/**
 * A loaded FSW with another TOP: the physical registers keep their contents, so the stack-order
 * ST slots of the FXSAVE-layout image turn (as fninit's). Measured on AMD Zen 5 by `selfcheck x87`
 * (FLDENV of a TOP other than the current one: the host's ST(i) are the physical registers).
 */
function turnToTop(ctx: XsaveContext, newTop: number): void {
  const L = ctx.regs.legacy;
  const oldTop = (L[LEGACY.FSW + 1]! >> 3) & 7;
  if (oldTop === newTop) return;
  const st = L.slice(LEGACY.ST0, LEGACY.XMM0);
  for (let i = 0; i < 8; i++) {
    const from = (newTop + i - oldTop) & 7;
    L.set(st.subarray(from * LEGACY.ST_STRIDE, (from + 1) * LEGACY.ST_STRIDE), LEGACY.ST0 + i * LEGACY.ST_STRIDE);
  }
}

/**
 * The environment as FNSTENV stores it: FIP[31:0] and FDP[31:0], FCS with FOP, FDS; FCS and FDS
 * as 0 when CPUID.(07H,0):EBX[13] deprecates them (SDM Vol. 1 8.1.8).
 */
export function storeEnv(ctx: XsaveContext, out: Uint8Array): void {
  const r = ctx.regs;
  const v = r.legacyView;
  const deprecated = ctx.cpu.features.fcsFdsDeprecated;
  const upper = ENV_RESERVED_WORD << 16;
  put32(out, ENV.FCW, upper | v.getUint16(LEGACY.FCW, true));
  put32(out, ENV.FSW, upper | v.getUint16(LEGACY.FSW, true));
  put32(out, ENV.FTW, upper | fullTagWord(ctx));
  put32(out, ENV.FIP, v.getUint32(LEGACY.FIP, true));
  put32(out, ENV.FCS_FOP, ((v.getUint16(LEGACY.FOP, true) & FOP_MASK) << FOP_SHIFT) | (deprecated ? 0 : r.fcs & 0xffff));
  put32(out, ENV.FDP, v.getUint32(LEGACY.FDP, true));
  put32(out, ENV.FDS, upper | (deprecated ? 0 : r.fds & 0xffff));
}

/**
 * The 16-bit environment (Figure 8-11): FIP and FDP cut to their low 16 bits, FCS and FDS as in
 * the 32-bit form (measured on AMD Zen 5 with a 66H FNSTENV after FADD m64 and FLD m64: FIP and
 * FDP the low words of the last instruction's and operand's addresses, FCS 0033H, FDS 0).
 */
function storeEnv16(ctx: XsaveContext, out: Uint8Array): void {
  const r = ctx.regs;
  const v = r.legacyView;
  const deprecated = ctx.cpu.features.fcsFdsDeprecated;
  const put16 = (o: number, x: number): void => { out[o] = x & 0xff; out[o + 1] = (x >> 8) & 0xff; };
  put16(ENV16.FCW, v.getUint16(LEGACY.FCW, true));
  put16(ENV16.FSW, v.getUint16(LEGACY.FSW, true));
  put16(ENV16.FTW, fullTagWord(ctx));
  put16(ENV16.FIP, v.getUint16(LEGACY.FIP, true));
  put16(ENV16.FCS, deprecated ? 0 : r.fcs & 0xffff);
  put16(ENV16.FDP, v.getUint16(LEGACY.FDP, true));
  put16(ENV16.FDS, deprecated ? 0 : r.fds & 0xffff);
}

/** FNSTENV: the environment, then every exception masked (SDM Vol. 2A FSTENV/FNSTENV). `bytes16`: the 16-bit form. */
export function fnstenv(ctx: XsaveContext, bytes16 = false): Uint8Array {
  const out = new Uint8Array(bytes16 ? X87_ENV16_BYTES : X87_ENV_BYTES);
  if (bytes16) storeEnv16(ctx, out);
  else storeEnv(ctx, out);
  return out;
}
export function afterFnstenv(ctx: XsaveContext): void {
  const v = ctx.regs.legacyView;
  const fcw = v.getUint16(LEGACY.FCW, true) | FCW_ALL_MASKS;
  v.setUint16(LEGACY.FCW, fcw, true);
  v.setUint16(LEGACY.FSW, fswWithSummary(v.getUint16(LEGACY.FSW, true), fcw), true);
  ctx.regs.touched(XFeature.X87);
}

/** FNSAVE: the environment and ST(0)..ST(7), 10 bytes each (SDM Vol. 1 Figure 8-10). */
export function fnsave(ctx: XsaveContext, bytes16 = false): Uint8Array {
  const envBytes = bytes16 ? X87_ENV16_BYTES : X87_ENV_BYTES;
  const out = new Uint8Array(envBytes + 8 * ST_BYTES);
  if (bytes16) storeEnv16(ctx, out);
  else storeEnv(ctx, out);
  const L = ctx.regs.legacy;
  for (let i = 0; i < 8; i++) out.set(L.subarray(LEGACY.ST0 + i * LEGACY.ST_STRIDE, LEGACY.ST0 + i * LEGACY.ST_STRIDE + ST_BYTES), envBytes + i * ST_BYTES);
  return out;
}
/** After FNSAVE: FNINIT (SDM Vol. 2A FSAVE/FNSAVE). */
export function afterFnsave(ctx: XsaveContext): void {
  fninit(ctx);
}

/** FNINIT: FCW 037FH, FSW 0, all tags empty, pointers and FOP 0; ST data kept (SDM Vol. 2A FINIT/FNINIT). */
export function fninit(ctx: XsaveContext): void {
  const r = ctx.regs;
  // TOP becomes 0 while the physical registers keep their data: the stack-order image turns.
  const top = (r.legacy[LEGACY.FSW + 1]! >> 3) & 7;
  if (top !== 0) {
    const st = r.legacy.slice(LEGACY.ST0, LEGACY.XMM0);
    for (let i = 0; i < 8; i++) r.legacy.set(st.subarray(i * LEGACY.ST_STRIDE, (i + 1) * LEGACY.ST_STRIDE), LEGACY.ST0 + ((top + i) & 7) * LEGACY.ST_STRIDE);
  }
  r.legacy.fill(0, LEGACY.FSW, LEGACY.MXCSR);
  r.legacyView.setUint16(LEGACY.FCW, FCW_INIT, true);
  r.fcs = 0;
  r.fds = 0;
  r.touched(XFeature.X87);
  xinuseAfterFninit(ctx);
}

/**
 * XINUSE[0] once FNINIT was the last x87 instruction: with fninit-of-init-data-keeps-init it is
 * 0 exactly when the x87 state is in its initial configuration (the data registers FNINIT keeps
 * are zero, or a later control instruction set nothing else); otherwise FNINIT left it set.
 */
export function xinuseAfterFninit(ctx: XsaveContext): void {
  const r = ctx.regs;
  if (!ctx.cpu.hasQuirk(Quirk.FninitOfInitDataKeepsInit)) return;
  r.xinuse = (r.isInitConfig(XFeature.X87) ? r.xinuse & ~bit(XFeature.X87) : r.xinuse | bit(XFeature.X87)) >>> 0;
}

/**
 * After FLDCW, FNCLEX or EMMS: x87 is modified and in use, except that with
 * fninit-of-init-data-keeps-init XINUSE[0] stays 0 if it was 0 and the state is still initial
 * (measured on AMD Zen 5: FNINIT then FLDCW 037FH, FNCLEX or EMMS leave XGETBV(1) bit 0 clear).
 */
export function x87ControlWritten(ctx: XsaveContext, wasInUse: boolean): void {
  const r = ctx.regs;
  r.touched(XFeature.X87, true);
  if (!wasInUse && ctx.cpu.hasQuirk(Quirk.FninitOfInitDataKeepsInit) && r.isInitConfig(XFeature.X87)) r.xinuse = (r.xinuse & ~bit(XFeature.X87)) >>> 0;
}

/**
 * FLDENV: load the environment. FCW is normalized as FXRSTOR normalizes it, and with the
 * x87-restore-recomputes-es quirk ES and B follow the flags and masks, both assumed to hold for
 * FLDENV as measured for FXRSTOR/XRSTOR. FIP and FDP get the stored 32 bits.
 */
export function fldenv(ctx: XsaveContext, env: Uint8Array): void {
  const r = ctx.regs;
  const v = r.legacyView;
  if (env.length === X87_ENV16_BYTES) return fldenv16(ctx, env);
  const fcw = (u16(env, ENV.FCW) & FCW_DEFINED) | FCW_BIT6;
  let fsw = u16(env, ENV.FSW);
  if (ctx.cpu.hasQuirk(Quirk.X87RestoreRecomputesEs)) fsw = fswWithSummary(fsw, fcw);
  turnToTop(ctx, (fsw >> 11) & 7);
  v.setUint16(LEGACY.FCW, fcw, true);
  v.setUint16(LEGACY.FSW, fsw, true);
  const tw = u16(env, ENV.FTW);
  let abridged = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) !== Tag.Empty) abridged |= 1 << p;
  r.legacy[LEGACY.FTW] = abridged;
  r.legacy[LEGACY.FTW + 1] = 0;
  const fcsFop = u32(env, ENV.FCS_FOP);
  v.setUint16(LEGACY.FOP, (fcsFop >>> FOP_SHIFT) & FOP_MASK, true);
  v.setBigUint64(LEGACY.FIP, BigInt(u32(env, ENV.FIP)), true);
  v.setBigUint64(LEGACY.FDP, BigInt(u32(env, ENV.FDP)), true);
  const deprecated = ctx.cpu.features.fcsFdsDeprecated;
  r.fcs = deprecated ? 0 : fcsFop & 0xffff;
  r.fds = deprecated ? 0 : u16(env, ENV.FDS);
  r.touched(XFeature.X87);
}

/**
 * FLDENV of the 16-bit environment: FIP and FDP become the stored words zero-extended, FOP 0, FCS
 * and FDS the stored selectors (measured on AMD Zen 5: a 66H FLDENV then a 28-byte FNSTENV shows
 * FIP 1234H, FDP 5678H, FOP 0 after an FLD m64 had set FOP 505H, FCS 0033H, FDS 002BH); FCW, FSW
 * and the tags as the 32-bit form.
 */
function fldenv16(ctx: XsaveContext, env: Uint8Array): void {
  const r = ctx.regs;
  const v = r.legacyView;
  const fcw = (u16(env, ENV16.FCW) & FCW_DEFINED) | FCW_BIT6;
  let fsw = u16(env, ENV16.FSW);
  if (ctx.cpu.hasQuirk(Quirk.X87RestoreRecomputesEs)) fsw = fswWithSummary(fsw, fcw);
  turnToTop(ctx, (fsw >> 11) & 7);
  v.setUint16(LEGACY.FCW, fcw, true);
  v.setUint16(LEGACY.FSW, fsw, true);
  const tw = u16(env, ENV16.FTW);
  let abridged = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) !== Tag.Empty) abridged |= 1 << p;
  r.legacy[LEGACY.FTW] = abridged;
  r.legacy[LEGACY.FTW + 1] = 0;
  v.setUint16(LEGACY.FOP, 0, true);
  v.setBigUint64(LEGACY.FIP, BigInt(u16(env, ENV16.FIP)), true);
  v.setBigUint64(LEGACY.FDP, BigInt(u16(env, ENV16.FDP)), true);
  const deprecated = ctx.cpu.features.fcsFdsDeprecated;
  r.fcs = deprecated ? 0 : u16(env, ENV16.FCS);
  r.fds = deprecated ? 0 : u16(env, ENV16.FDS);
  r.touched(XFeature.X87);
}

/** FRSTOR: the environment, then ST(0)..ST(7) (SDM Vol. 2A FRSTOR); a 94-byte image has the 16-bit environment. */
export function frstor(ctx: XsaveContext, img: Uint8Array): void {
  const envBytes = img.length === X87_SAVE16_BYTES ? X87_ENV16_BYTES : X87_ENV_BYTES;
  fldenv(ctx, img.subarray(0, envBytes));
  const L = ctx.regs.legacy;
  for (let i = 0; i < 8; i++) {
    const o = LEGACY.ST0 + i * LEGACY.ST_STRIDE;
    L.set(img.subarray(envBytes + i * ST_BYTES, envBytes + (i + 1) * ST_BYTES), o);
    L.fill(0, o + ST_BYTES, o + LEGACY.ST_STRIDE);
  }
}
