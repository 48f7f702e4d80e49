/**
 * The XSAVE instruction family as pure functions over an XsaveContext (registers, control state)
 * and the bytes of the save area. One function per instruction; each cites the manual.
 *
 * `area` is the memory of the save area: area[0] is the byte at linear address `address`. The
 * caller makes it long enough (see requiredAreaSize); bytes an instruction does not write are
 * left as they are. Faults are thrown as CpuFault before any state or memory changes, as the
 * SDM's fault conditions are all checked before the operation (Vol. 2B XRSTOR "Operation").
 */
import {
  CpuModel, EXTENDED_REGION_OFFSET, FCW_INIT, MXCSR_INIT, XCOMP_BV_COMPACTED_HI, XSAVE_HEADER_OFFSET,
} from './cpu-model.js';
import type { FaultInsn } from './profile-json.js';
import { Quirk } from './quirks.js';
import { LEGACY, RegisterFile, StateWord, TRACKED_PART_BYTES, XMM_COUNT_64BIT, XMM_COUNT_LEGACY_MODE } from './register-file.js';
import { XFeature, bit } from './xfeatures.js';

export enum Vector {
  UD = '#UD',
  NM = '#NM',
  GP = '#GP',
  AC = '#AC',
  /** SIMD floating-point exception (SDM Vol. 3A 6.15, interrupt 19). */
  XM = '#XM',
}

/** An exception raised by an instruction; `reason` names the manual's condition. */
export class CpuFault extends Error {
  constructor(
    readonly vector: Vector,
    readonly reason: string,
  ) {
    super(`${vector}: ${reason}`);
    this.name = 'CpuFault';
  }
}

/**
 * Optional observer of an instruction's accesses to its save area, for callers that keep the
 * area elsewhere (guest memory) and copy only what matters: `fetch(from, to)` is called before
 * the instruction reads bytes [from, to) of `area` (the caller fills them); `wrote(from, to)`
 * after it wrote bytes [from, to) (the caller copies them out). Bytes never reported as written
 * are not written. Reads happen before any fault is raised; writes only after every check.
 */
export interface AreaAccess {
  fetch(from: number, to: number): void;
  wrote(from: number, to: number): void;
}

/** TILECFG is 64 bytes (CPUID.(EAX=0DH,ECX=17):EAX; SDM Vol. 2A LDTILECFG). */
const TILECFG_BYTES = 64;

/** PKRU is a 32-bit register (SDM Vol. 3A 4.6.2) in an 8-byte component. */
const PKRU_REGISTER_BYTES = 4;

/** RFBM bits whose restore reads the legacy region: x87, SSE, and AVX (MXCSR in the standard form). */
const LEGACY_RFBM = bit(XFeature.X87) | bit(XFeature.SSE) | bit(XFeature.AVX);

/** Header field offsets (SDM Vol. 1 13.4.2). */
const XSTATE_BV = XSAVE_HEADER_OFFSET;
const XCOMP_BV = XSAVE_HEADER_OFFSET + 8;
/** Alignment of the XSAVE area (SDM Vol. 1 13.4) and of the FXSAVE area (Vol. 2A FXSAVE). */
export const XSAVE_ALIGN = 64;
const FXSAVE_ALIGN = 16;
/** FSW bits: exception flags 5:0, ES (error summary) 7, B (busy) 15; FCW masks 5:0. */
export const FSW_EXCEPTION_FLAGS = 0x3f;
export const FSW_ES = 0x80;
export const FSW_B = 0x8000;
/** FOP is an 11-bit opcode (SDM Vol. 1 8.1.8). */
export const FOP_MASK = 0x7ff;
/** FCW bits that exist: 12 (X), 11:10 (RC), 9:8 (PC), 5:0 (masks) (SDM Vol. 1 8.1.5); reserved bit 6 reads back as 1 and bits 15:13 and 7 as 0 after any restore (measured by selfcheck cpu on AMD Zen 5). */
export const FCW_DEFINED = 0x1f3f;
export const FCW_BIT6 = 0x40;

/**
 * Processor state outside the register file that the XSAVE family consults. Kept in the register
 * file's store (StateWord), so that the native path (xsave-native.ts) reads the same values.
 */
export class XsaveContext {
  readonly regs: RegisterFile;
  private readonly w: Uint32Array;
  /** XCR0 after reset is 1 (SDM Vol. 1 13.3); callers set what the OS would. */
  get xcr0(): number { return this.w[StateWord.XCR0]!; }
  set xcr0(v: number) { this.w[StateWord.XCR0] = v; }
  /** IA32_XSS (MSR DA0H). */
  get xss(): number { return this.w[StateWord.XSS]!; }
  set xss(v: number) { this.w[StateWord.XSS] = v; }
  get cr4Osxsave(): boolean { return this.w[StateWord.CR4_OSXSAVE] === 1; }
  set cr4Osxsave(v: boolean) { this.w[StateWord.CR4_OSXSAVE] = v ? 1 : 0; }
  get cr4Osfxsr(): boolean { return this.w[StateWord.CR4_OSFXSR] === 1; }
  set cr4Osfxsr(v: boolean) { this.w[StateWord.CR4_OSFXSR] = v ? 1 : 0; }
  get cr0Ts(): boolean { return this.w[StateWord.CR0_TS] === 1; }
  set cr0Ts(v: boolean) { this.w[StateWord.CR0_TS] = v ? 1 : 0; }
  get cpl(): number { return this.w[StateWord.CPL]!; }
  set cpl(v: number) { this.w[StateWord.CPL] = v; }
  get mode64(): boolean { return this.w[StateWord.MODE64] === 1; }
  set mode64(v: boolean) { this.w[StateWord.MODE64] = v ? 1 : 0; }
  get vmxNonRoot(): boolean { return this.w[StateWord.VMX] === 1; }
  set vmxNonRoot(v: boolean) { this.w[StateWord.VMX] = v ? 1 : 0; }
  /** IA32_XFD (MSR 1C4H) and IA32_XFD_ERR (MSR 1C5H), SDM Vol. 1 13.14. */
  get xfd(): number { return this.w[StateWord.XFD]!; }
  set xfd(v: number) { this.w[StateWord.XFD] = v; }
  get xfdErr(): number { return this.w[StateWord.XFD_ERR]!; }
  set xfdErr(v: number) { this.w[StateWord.XFD_ERR] = v; }

  constructor(readonly cpu: CpuModel) {
    this.regs = new RegisterFile(cpu);
    this.w = this.regs.words;
    this.xcr0 = bit(XFeature.X87);
    this.xss = 0;
    this.cr4Osxsave = true;
    this.cr4Osfxsr = true;
    this.cr0Ts = false;
    this.cpl = 3;
    this.mode64 = true;
    this.vmxNonRoot = false;
    this.xfd = 0;
    this.xfdErr = 0;
  }

  /** Components for which XFD is armed: XCR0[i] = IA32_XFD[i] = 1. */
  get xfdArmed(): number {
    return (this.xcr0 & this.xfd) >>> 0;
  }
}

/* ---------------------------------------------------------------- common checks */

function checkXsaveEnabled(ctx: XsaveContext, insn: string, lock: boolean): void {
  if (lock) throw new CpuFault(Vector.UD, `${insn} with a LOCK prefix`);
  if (!ctx.cpu.features.xsave) throw new CpuFault(Vector.UD, `${insn}: CPUID.01H:ECX.XSAVE[bit 26] = 0`);
  if (!ctx.cr4Osxsave) throw new CpuFault(Vector.UD, `${insn}: CR4.OSXSAVE = 0`);
}

/**
 * The CPUID check of an instruction whose enumeration may be absent. Enumerated: nothing to do.
 * Absent: the fault CpuModel.faultWhenNotEnumerated gives (the capture's measurement, else the
 * manual's #UD), thrown now when it is the manual's "not enumerated" fault. When the measurement
 * says the silicon implements it (a hypervisor hid the bit), the instruction's own checks run as on
 * silicon (CR0.TS, CPL, alignment: XSAVES at CPL 3 gives #GP by its CPL check) and the returned
 * function raises the measured vector after them, so that valid operands at CPL 3 give exactly
 * what was measured; 'none' lets the instruction run. At CPL 0, which a user-space probe cannot
 * measure, such an instruction runs (assumed).
 */
function checkEnumerated(ctx: XsaveContext, insn: FaultInsn, enumerated: boolean, cpuidBit: string): (() => void) | undefined {
  if (enumerated) return undefined;
  const f = ctx.cpu.faultWhenNotEnumerated(insn);
  const why = `${insn}: ${cpuidBit} = 0 (${f.source})`;
  if (!ctx.cpu.implementsDespiteCpuid(insn)) throw new CpuFault(vectorOf(f.vector) ?? Vector.UD, why);
  return () => {
    const v = vectorOf(f.vector);
    if (v !== undefined && ctx.cpl === 3) throw new CpuFault(v, `${why}; the silicon implements it, its CPL-3 result is the measured ${f.vector}`);
  };
}

/** A profile's fault name as a Vector; undefined for 'none' (the instruction ran). */
export function vectorOf(v: string): Vector | undefined {
  switch (v) {
    case '#UD': return Vector.UD;
    case '#GP': return Vector.GP;
    case '#NM': return Vector.NM;
    default: return undefined;
  }
}

function checkArea(ctx: XsaveContext, insn: string, address: number, align: number): void {
  if (ctx.cr0Ts) throw new CpuFault(Vector.NM, `${insn}: CR0.TS = 1`);
  if (address % align !== 0) throw new CpuFault(Vector.GP, `${insn}: memory operand not ${align}-byte aligned (address 0x${address.toString(16)})`);
}

/**
 * area.subarray(from, to), cached for the last area seen: a subarray allocates (about 90 ns), and
 * callers such as the guest machine pass the same area buffer on every call.
 */
let viewsOf: Uint8Array | undefined;
const views = new Map<number, Uint8Array>();
function view(area: Uint8Array, from: number, to: number): Uint8Array {
  if (area !== viewsOf) { viewsOf = area; views.clear(); }
  const key = from * 1048576 + to;
  let v = views.get(key);
  if (v === undefined) { v = area.subarray(from, to); views.set(key, v); }
  return v;
}

const u16 = (a: Uint8Array, o: number): number => a[o] | (a[o + 1] << 8);
const u32 = (a: Uint8Array, o: number): number => (a[o] | (a[o + 1] << 8) | (a[o + 2] << 16) | (a[o + 3] << 24)) >>> 0;
function put16(a: Uint8Array, o: number, v: number): void {
  a[o] = v & 0xff;
  a[o + 1] = (v >>> 8) & 0xff;
}
function put32(a: Uint8Array, o: number, v: number): void {
  a[o] = v & 0xff;
  a[o + 1] = (v >>> 8) & 0xff;
  a[o + 2] = (v >>> 16) & 0xff;
  a[o + 3] = (v >>> 24) & 0xff;
}

/* ---------------------------------------------------------------- quirks, looked up once per CPU model */

interface QuirkFlags {
  recomputesEs: boolean;
  pointersOnlyWithEs: boolean;
  pointersSavedOnlyWithEs: boolean;
  pointersCanonical57: boolean;
  fipCanonical57: boolean;
  pkruFourBytes: boolean;
  keepsInit: boolean;
}
const QUIRK_FLAGS = new WeakMap<CpuModel, QuirkFlags>();
/** The quirks the hot paths test, as booleans (a Set lookup per test costs more than the test). */
function quirksOf(cpu: CpuModel): QuirkFlags {
  let f = QUIRK_FLAGS.get(cpu);
  if (f === undefined) {
    f = {
      recomputesEs: cpu.hasQuirk(Quirk.X87RestoreRecomputesEs),
      pointersOnlyWithEs: cpu.hasQuirk(Quirk.X87PointersOnlyWithEs),
      pointersSavedOnlyWithEs: cpu.hasQuirk(Quirk.X87PointersSavedOnlyWithEs),
      pointersCanonical57: cpu.hasQuirk(Quirk.X87PointersCanonical57),
      fipCanonical57: cpu.hasQuirk(Quirk.X87FipCanonical57),
      pkruFourBytes: cpu.hasQuirk(Quirk.PkruStateFourBytes),
      keepsInit: cpu.hasQuirk(Quirk.RestoreOfInitDataKeepsInit),
    };
    QUIRK_FLAGS.set(cpu, f);
  }
  return f;
}

/* ---------------------------------------------------------------- x87 and SSE pieces */

/**
 * Store the x87 part of the legacy region (SDM Vol. 2A FXSAVE, Tables 3-53/3-56): with REX.W,
 * FIP and FDP are 64 bits; without it, FIP[31:0], FCS, FDP[31:0], FDS. Reserved bytes written 0.
 * With the x87-pointers-saved-only-with-es quirk FOP, FIP, FDP, FCS and FDS are stored as 0 while
 * FSW.ES = 0 (measured on AMD Zen 5 for FXSAVE, XSAVE, XSAVEOPT and XSAVEC in both forms; XSAVES,
 * which only the kernel runs, is assumed to follow the same rule).
 */
function storeX87(ctx: XsaveContext, a: Uint8Array, rexW: boolean, acc?: AreaAccess): void {
  const r = ctx.regs;
  a.set(r.views.x87Head, 0); // FCW FSW FTW - FOP FIP FDP (64-bit form)
  a[5] = 0;
  const hidePointers = quirksOf(ctx.cpu).pointersSavedOnlyWithEs && (r.legacy[LEGACY.FSW] & FSW_ES) === 0;
  if (hidePointers) a.fill(0, LEGACY.FOP, LEGACY.MXCSR);
  if (!rexW) {
    const deprecated = ctx.cpu.features.fcsFdsDeprecated || hidePointers;
    put16(a, LEGACY.FCS, deprecated ? 0 : r.fcs);
    put16(a, LEGACY.FCS + 2, 0);
    put16(a, LEGACY.FDS, deprecated ? 0 : r.fds);
    put16(a, LEGACY.FDS + 2, 0);
  }
  a.set(r.views.st, LEGACY.ST0); // the register file keeps the 6 reserved bytes of each slot 0
  if (acc) { acc.wrote(0, LEGACY.MXCSR); acc.wrote(LEGACY.ST0, LEGACY.XMM0); }
}

/**
 * Load the x87 part (SDM Vol. 2A FXRSTOR). FOP keeps 11 bits; the abridged tag byte is taken as is.
 * Quirks: ES/B recomputed; pointers dropped without a pending exception.
 */
function loadX87(ctx: XsaveContext, a: Uint8Array, rexW: boolean): void {
  const r = ctx.regs;
  const L = r.legacy;
  const fcw = (u16(a, LEGACY.FCW) & FCW_DEFINED) | FCW_BIT6;
  let fsw = u16(a, LEGACY.FSW);
  const q = quirksOf(ctx.cpu);
  if (q.recomputesEs) {
    const pending = (fsw & FSW_EXCEPTION_FLAGS & ~fcw) !== 0;
    fsw = pending ? fsw | FSW_ES | FSW_B : fsw & ~(FSW_ES | FSW_B);
  }
  put16(L, LEGACY.FCW, fcw);
  put16(L, LEGACY.FSW, fsw);
  L[LEGACY.FTW] = a[LEGACY.FTW];
  L[5] = 0;
  const keepPointers = !q.pointersOnlyWithEs || (fsw & FSW_ES) !== 0;
  if (!keepPointers) {
    for (let k = LEGACY.FOP; k < LEGACY.MXCSR; k++) L[k] = 0;
    r.fcs = 0;
    r.fds = 0;
  } else {
    put16(L, LEGACY.FOP, u16(a, LEGACY.FOP) & FOP_MASK);
    if (rexW) {
      for (let k = LEGACY.FIP; k < LEGACY.MXCSR; k++) L[k] = a[k];
      // bits 63:57 := bit 56, i.e. byte 7 becomes 00h or FFh from its bit 0
      const both = q.pointersCanonical57;
      if (both || q.fipCanonical57) L[LEGACY.FIP + 7] = L[LEGACY.FIP + 7] & 1 ? 0xff : 0;
      if (both) L[LEGACY.FDP + 7] = L[LEGACY.FDP + 7] & 1 ? 0xff : 0;
      r.fcs = 0;
      r.fds = 0;
    } else {
      for (let k = 0; k < 4; k++) {
        L[LEGACY.FIP + k] = a[LEGACY.FIP + k];
        L[LEGACY.FIP + 4 + k] = 0;
        L[LEGACY.FDP + k] = a[LEGACY.FDP + k];
        L[LEGACY.FDP + 4 + k] = 0;
      }
      r.fcs = u16(a, LEGACY.FCS);
      r.fds = u16(a, LEGACY.FDS);
    }
  }
  L.set(view(a, LEGACY.ST0, LEGACY.XMM0), LEGACY.ST0);
  for (let o = LEGACY.ST0; o < LEGACY.XMM0; o += LEGACY.ST_STRIDE) for (let k = LEGACY.ST_BYTES; k < LEGACY.ST_STRIDE; k++) L[o + k] = 0;
}

function xmmCount(ctx: XsaveContext): number {
  return ctx.mode64 ? XMM_COUNT_64BIT : XMM_COUNT_LEGACY_MODE;
}

function storeXmm(ctx: XsaveContext, a: Uint8Array, acc?: AreaAccess): void {
  a.set(ctx.mode64 ? ctx.regs.views.xmm : ctx.regs.views.xmmLegacyMode, LEGACY.XMM0);
  acc?.wrote(LEGACY.XMM0, LEGACY.XMM0 + xmmCount(ctx) * LEGACY.XMM_BYTES);
}

function loadXmm(ctx: XsaveContext, a: Uint8Array): void {
  const end = LEGACY.XMM0 + xmmCount(ctx) * LEGACY.XMM_BYTES;
  ctx.regs.legacy.set(view(a, LEGACY.XMM0, end), LEGACY.XMM0);
}

function storeMxcsr(ctx: XsaveContext, a: Uint8Array, acc?: AreaAccess): void {
  put32(a, LEGACY.MXCSR, ctx.regs.mxcsr);
  put32(a, LEGACY.MXCSR_MASK, ctx.cpu.mxcsrMask);
  acc?.wrote(LEGACY.MXCSR, LEGACY.ST0);
}

/** #GP if the MXCSR image sets a bit that MXCSR_MASK reports reserved (SDM Vol. 1 11.6.6). */
function checkMxcsr(ctx: XsaveContext, insn: string, value: number): void {
  if ((value & ~ctx.cpu.mxcsrMask) !== 0) {
    throw new CpuFault(Vector.GP, `${insn}: MXCSR image 0x${value.toString(16)} sets reserved bits (MXCSR_MASK 0x${ctx.cpu.mxcsrMask.toString(16)})`);
  }
}

/* ---------------------------------------------------------------- component copies */

/**
 * Bytes of component i that are operated on. Outside 64-bit mode YMM8_H-15_H, ZMM8_H-15_H and all
 * of Hi16_ZMM are neither saved nor restored (SDM Vol. 1 13.5.3, 13.5.5, 13.13).
 */
function operatedBytes(ctx: XsaveContext, i: number, size: number): number {
  return operatedBytesOf(ctx.cpu, ctx.mode64, i, size);
}

/** operatedBytes for a CPU and mode (also the native path's table, xsave-native.ts). */
export function operatedBytesOf(cpu: CpuModel, mode64: boolean, i: number, size: number): number {
  if (i === XFeature.PKRU && quirksOf(cpu).pkruFourBytes) return PKRU_REGISTER_BYTES;
  if (mode64) return size;
  if (i === XFeature.AVX) return 8 * 16;
  if (i === XFeature.ZMM_HI256) return 8 * 32;
  if (i === XFeature.HI16_ZMM) return 0;
  return size;
}

/** Store component i (>= 2) at `off`; an XFD-armed component is stored as its initial configuration. */
function storeComponent(ctx: XsaveContext, a: Uint8Array, i: number, off: number, armed: number, acc?: AreaAccess): void {
  const c = ctx.regs.comp[i]!;
  const n = operatedBytes(ctx, i, c.length);
  if ((armed >>> i) & 1) a.fill(0, off, off + n);
  else if (n <= 16) for (let k = 0; k < n; k++) a[off + k] = c[k];
  else a.set(n === c.length ? c : c.subarray(0, n), off);
  if (acc && n > 0) acc.wrote(off, off + n);
}

/** IA32_RTIT_CTL.TraceEn, bit 0 of the first qword of the PT component (SDM Vol. 3C 33.2.7.2). */
function ptTraceEn(ctx: XsaveContext): boolean {
  const pt = ctx.regs.comp[XFeature.PT];
  return pt !== undefined && (pt[0] & 1) === 1;
}

/**
 * TILECFG validity, as LDTILECFG checks it (SDM Vol. 2A LDTILECFG "Operation"), with the palette
 * limits of CPUID leaf 1DH. LDTILECFG raises #GP on an invalid configuration; XRSTOR/XRSTORS do
 * not fault but leave TILECFG in its initial configuration (see restore()).
 */
export function tilecfgInvalid(cpu: CpuModel, cfg: Uint8Array): string | undefined {
  const palette = cfg[0];
  if (palette === 0) return cfg.some((b) => b !== 0) ? 'palette 0 with non-zero fields' : undefined;
  const maxPalette = cpu.cpuid.get(0x1d, 0)[0];
  if (palette > maxPalette) return `palette ${palette} > max palette ${maxPalette} (CPUID.1DH.0:EAX)`;
  for (let k = 2; k < 16; k++) if (cfg[k] !== 0) return `reserved byte ${k} is not zero`;
  const p = cpu.cpuid.get(0x1d, palette);
  const bytesPerRow = p[1] & 0xffff, maxNames = p[1] >>> 16, maxRows = p[2] & 0xffff;
  for (let t = 0; t < 16; t++) {
    const colsb = cfg[16 + 2 * t] | (cfg[17 + 2 * t] << 8), rows = cfg[48 + t];
    if (t >= maxNames) {
      if (colsb || rows) return `tile ${t} configured beyond max_names ${maxNames}`;
      continue;
    }
    if (colsb > bytesPerRow) return `tile ${t} colsb ${colsb} > bytes_per_row ${bytesPerRow}`;
    if (rows > maxRows) return `tile ${t} rows ${rows} > max_rows ${maxRows}`;
    if ((colsb === 0) !== (rows === 0)) return `tile ${t} has rows ${rows} but colsb ${colsb}`;
  }
  if (cfg[1] !== 0 && cfg[1] >= maxRows) return `start_row ${cfg[1]} >= max_rows ${maxRows}`;
  return undefined;
}

/** Is `data` (component i's bytes at off) its initial configuration? Used by the restore-of-init quirk. */
function loadedDataIsInit(ctx: XsaveContext, i: number): boolean {
  return ctx.regs.isInitConfig(i);
}

/* ---------------------------------------------------------------- saves */

function rfbmOf(ctx: XsaveContext, eax: number, edx: number, supervisor: boolean): number {
  // Components above 31 do not exist in the model; EDX only matters through XCR0/XSS, which are < 2^32.
  void edx;
  return (eax & (supervisor ? ctx.xcr0 | ctx.xss : ctx.xcr0)) >>> 0;
}

/**
 * XSAVE / XSAVEOPT: the standard format (SDM Vol. 1 13.7, 13.9; Vol. 2B XSAVE, XSAVEOPT).
 * XSTATE_BV := (old & ~RFBM) | (XINUSE & RFBM); only XSTATE_BV of the header is written.
 */
function saveStandard(ctx: XsaveContext, kind: 'XSAVE' | 'XSAVEOPT', area: Uint8Array, address: number, eax: number, edx: number, rexW: boolean, acc?: AreaAccess): void {
  const rfbm = rfbmOf(ctx, eax, edx, false);
  const r = ctx.regs;
  const armed = ctx.xfdArmed;
  // XSAVE and XSAVEOPT use XINUSE[1] as it is: MXCSR != 1F80H neither sets XSTATE_BV[1] nor
  // forces the XMM registers out (measured; the compacted forms differ, see saveCompacted).
  const inuse = (r.xinuse & ~armed) >>> 0;
  // XSAVEOPT writes only components in use (init optimization) and, when XRSTOR_INFO matches a
  // standard-form XRSTOR from this address, only modified ones (modified optimization, 13.9).
  let write = rfbm;
  if (kind === 'XSAVEOPT') {
    write &= inuse;
    const info = r.xrstorInfo;
    if (ctx.cpu.hasQuirk(Quirk.ModifiedOptimization) && info && !info.compacted && info.xcompBvLo === 0 &&
        info.address === address && info.cpl === ctx.cpl && info.vmxNonRoot === ctx.vmxNonRoot) {
      write &= r.xmodified;
    }
  }
  // The only bytes read: XSTATE_BV[31:0] (components above 31 are not modelled, bits 63:32 kept).
  acc?.fetch(XSTATE_BV, XSTATE_BV + 4);
  const old = u32(area, XSTATE_BV);
  if (write & bit(XFeature.X87)) storeX87(ctx, area, rexW, acc);
  // MXCSR and MXCSR_MASK: written whenever RFBM[1] or RFBM[2], with neither optimization (13.7, 13.9).
  if (rfbm & (bit(XFeature.SSE) | bit(XFeature.AVX))) storeMxcsr(ctx, area, acc);
  if (write & bit(XFeature.SSE)) storeXmm(ctx, area, acc);
  const ext = ctx.cpu.extendedComponents;
  for (let k = 0; k < ext.length; k++) {
    const c = ext[k];
    if ((write >>> c.number) & 1) storeComponent(ctx, area, c.number, c.standardOffset, armed, acc);
  }
  put32(area, XSTATE_BV, ((old & ~rfbm) | (inuse & rfbm)) >>> 0);
  acc?.wrote(XSTATE_BV, XSTATE_BV + 4);
}

/** XSAVE (SDM Vol. 2B "XSAVE—Save Processor Extended States"; Vol. 1 13.7). */
export function xsave(ctx: XsaveContext, area: Uint8Array, address: number, eax: number, edx: number, rexW = true, lock = false, acc?: AreaAccess): void {
  checkXsaveEnabled(ctx, 'XSAVE', lock);
  checkArea(ctx, 'XSAVE', address, XSAVE_ALIGN);
  saveStandard(ctx, 'XSAVE', area, address, eax, edx, rexW, acc);
}

/** XSAVEOPT (SDM Vol. 2B "XSAVEOPT—Save Processor Extended States Optimized"; Vol. 1 13.9). */
export function xsaveopt(ctx: XsaveContext, area: Uint8Array, address: number, eax: number, edx: number, rexW = true, lock = false, acc?: AreaAccess): void {
  checkXsaveEnabled(ctx, 'XSAVEOPT', lock);
  const hidden = checkEnumerated(ctx, 'XSAVEOPT', ctx.cpu.features.xsaveopt, 'CPUID.(EAX=0DH,ECX=1):EAX.XSAVEOPT[bit 0]');
  checkArea(ctx, 'XSAVEOPT', address, XSAVE_ALIGN);
  hidden?.();
  saveStandard(ctx, 'XSAVEOPT', area, address, eax, edx, rexW, acc);
}

/**
 * XSAVEC / XSAVES: the compacted format (SDM Vol. 1 13.10, 13.11). Space is reserved for every
 * RFBM component; component i is written only if XINUSE[i] (and, for XSAVES, modified).
 * XSTATE_BV := XINUSE & RFBM, XCOMP_BV := RFBM | bit 63; header bytes 16..63 are not written.
 */
function saveCompacted(ctx: XsaveContext, kind: 'XSAVEC' | 'XSAVES', area: Uint8Array, address: number, eax: number, edx: number, rexW: boolean, acc?: AreaAccess): void {
  const rfbm = rfbmOf(ctx, eax, edx, kind === 'XSAVES');
  const r = ctx.regs;
  const armed = ctx.xfdArmed;
  const inuse = (r.xinuseForSave() & ~armed) >>> 0;
  let write = (rfbm & inuse) >>> 0;
  if (kind === 'XSAVES') {
    const info = r.xrstorInfo;
    if (ctx.cpu.hasQuirk(Quirk.XsavesModifiedOptimization) && info && info.compacted && info.xcompBvLo === rfbm &&
        info.address === address && info.cpl === ctx.cpl && info.vmxNonRoot === ctx.vmxNonRoot) {
      write &= r.xmodified;
    }
  }
  if (write & bit(XFeature.X87)) storeX87(ctx, area, rexW, acc);
  if (write & bit(XFeature.SSE)) {
    storeMxcsr(ctx, area, acc); // MXCSR only as part of SSE in the compacted forms (13.10)
    storeXmm(ctx, area, acc);
  }
  put32(area, XSTATE_BV, (inuse & rfbm) >>> 0);
  put32(area, XSTATE_BV + 4, 0);
  put32(area, XCOMP_BV, rfbm);
  put32(area, XCOMP_BV + 4, XCOMP_BV_COMPACTED_HI);
  acc?.wrote(XSTATE_BV, XCOMP_BV + 8);
  let loc = EXTENDED_REGION_OFFSET;
  const ext = ctx.cpu.extendedComponents;
  for (let k = 0; k < ext.length; k++) {
    const c = ext[k];
    if (!((rfbm >>> c.number) & 1)) continue;
    if (c.align64) loc = (loc + 63) & ~63;
    if ((write >>> c.number) & 1) storeComponent(ctx, area, c.number, loc, armed, acc);
    loc += c.size;
  }
  // XSAVES of PT clears IA32_RTIT_CTL.TraceEn after saving it (SDM Vol. 1 13.5.6).
  if (kind === 'XSAVES' && (rfbm & bit(XFeature.PT)) && ptTraceEn(ctx)) {
    ctx.regs.comp[XFeature.PT]![0] &= ~1;
    ctx.regs.touched(XFeature.PT);
  }
}

/** XSAVEC (SDM Vol. 2B "XSAVEC—Save Processor Extended States with Compaction"; Vol. 1 13.10). */
export function xsavec(ctx: XsaveContext, area: Uint8Array, address: number, eax: number, edx: number, rexW = true, lock = false, acc?: AreaAccess): void {
  checkXsaveEnabled(ctx, 'XSAVEC', lock);
  const hidden = checkEnumerated(ctx, 'XSAVEC', ctx.cpu.features.xsavec, 'CPUID.(EAX=0DH,ECX=1):EAX.XSAVEC[bit 1]');
  checkArea(ctx, 'XSAVEC', address, XSAVE_ALIGN);
  hidden?.();
  saveCompacted(ctx, 'XSAVEC', area, address, eax, edx, rexW, acc);
}

/** XSAVES (SDM Vol. 2B "XSAVES—Save Processor Extended States Supervisor"; Vol. 1 13.11). CPL 0 only. */
export function xsaves(ctx: XsaveContext, area: Uint8Array, address: number, eax: number, edx: number, rexW = true, lock = false, acc?: AreaAccess): void {
  checkXsaveEnabled(ctx, 'XSAVES', lock);
  // A hypervisor may hide the CPUID bit; the silicon still checks CPL first (#GP at CPL 3).
  const hidden = checkEnumerated(ctx, 'XSAVES', ctx.cpu.features.xsaves, 'CPUID.(EAX=0DH,ECX=1):EAX.XSAVES[bit 3]');
  if (ctx.cr0Ts) throw new CpuFault(Vector.NM, 'XSAVES: CR0.TS = 1');
  if (ctx.cpl !== 0) throw new CpuFault(Vector.GP, `XSAVES: CPL = ${ctx.cpl}, must be 0`);
  checkArea(ctx, 'XSAVES', address, XSAVE_ALIGN);
  hidden?.();
  saveCompacted(ctx, 'XSAVES', area, address, eax, edx, rexW, acc);
}

/* ---------------------------------------------------------------- restores */

interface Header {
  bvLo: number;
  bvHi: number;
  compLo: number;
  compHi: number;
}

function readHeader(area: Uint8Array): Header {
  return { bvLo: u32(area, XSTATE_BV), bvHi: u32(area, XSTATE_BV + 4), compLo: u32(area, XCOMP_BV), compHi: u32(area, XCOMP_BV + 4) };
}

function headerBytesZero(area: Uint8Array, from: number, to: number): boolean {
  for (let k = XSAVE_HEADER_OFFSET + from; k < XSAVE_HEADER_OFFSET + to; k++) if (area[k] !== 0) return false;
  return true;
}

/**
 * XRSTOR and XRSTORS (SDM Vol. 1 13.8, 13.12; Vol. 2B XRSTOR, XRSTORS). All checks happen before
 * any state changes. Standard form: XSTATE_BV must be within XCR0 and header bytes 8..23 zero
 * (bytes 24..63 are not checked, 13.8.1). Compacted form: XCOMP_BV[62:0] within XCR0 (| XSS for
 * XRSTORS), XSTATE_BV within XCOMP_BV, bytes 16..63 zero.
 */
function restore(ctx: XsaveContext, kind: 'XRSTOR' | 'XRSTORS', area: Uint8Array, address: number, eax: number, edx: number, rexW: boolean, acc?: AreaAccess): void {
  const supervisor = kind === 'XRSTORS';
  const rfbm = rfbmOf(ctx, eax, edx, supervisor);
  // The legacy region (x87, MXCSR, XMM) and the header in one read when the legacy part may be
  // needed; reading bytes the restore then ignores is harmless.
  if (acc) acc.fetch(rfbm & LEGACY_RFBM ? 0 : XSAVE_HEADER_OFFSET, EXTENDED_REGION_OFFSET);
  const h = readHeader(area);
  const compacted = (h.compHi & XCOMP_BV_COMPACTED_HI) !== 0;
  const r = ctx.regs;
  const allowed = supervisor ? (ctx.xcr0 | ctx.xss) >>> 0 : ctx.xcr0;
  let offsets: number[] | undefined;

  if (!compacted) {
    if (supervisor) throw new CpuFault(Vector.GP, 'XRSTORS: XCOMP_BV[63] = 0 (the standard format is not allowed)');
    if (h.bvHi !== 0 || (h.bvLo & ~ctx.xcr0) !== 0) {
      throw new CpuFault(Vector.GP, `XRSTOR: XSTATE_BV 0x${hex64(h.bvHi, h.bvLo)} sets a bit not in XCR0 0x${ctx.xcr0.toString(16)}`);
    }
    if (!headerBytesZero(area, 8, 24)) throw new CpuFault(Vector.GP, 'XRSTOR (standard form): header bytes 8..23 (XCOMP_BV and the next 8 bytes) are not zero');
  } else {
    if (!ctx.cpu.features.xsavec && !ctx.cpu.implementsDespiteCpuid('XSAVEC')) throw new CpuFault(Vector.GP, `${kind}: XCOMP_BV[63] = 1 but the compacted form is not supported`);
    const compLo = h.compLo;
    const compHiLow31 = h.compHi & ~XCOMP_BV_COMPACTED_HI;
    if (compHiLow31 !== 0 || (compLo & ~allowed) !== 0) {
      throw new CpuFault(Vector.GP, `${kind}: XCOMP_BV 0x${hex64(h.compHi, compLo)} sets a bit not in ${supervisor ? 'XCR0 | IA32_XSS' : 'XCR0'} 0x${allowed.toString(16)}`);
    }
    // XSTATE_BV[63] is not a component bit: it faults although XCOMP_BV[63] is set (measured).
    if ((h.bvLo & ~compLo) !== 0 || (h.bvHi & ~compHiLow31) !== 0) {
      throw new CpuFault(Vector.GP, `${kind}: XSTATE_BV 0x${hex64(h.bvHi, h.bvLo)} sets a bit not in XCOMP_BV 0x${hex64(h.compHi, compLo)}`);
    }
    if (!headerBytesZero(area, 16, 64)) throw new CpuFault(Vector.GP, `${kind} (compacted form): header bytes 16..63 are not zero`);
    offsets = ctx.cpu.compactedOffsets(compLo);
  }

  // What each RFBM component gets: loaded from memory, or initialized.
  const present = compacted ? (h.compLo & rfbm) >>> 0 : rfbm;
  const load = (h.bvLo & present) >>> 0;
  const sse = bit(XFeature.SSE);
  // MXCSR (SDM Vol. 1 13.8.1/13.8.2): standard form loads it when RFBM[1] | RFBM[2] regardless of
  // XSTATE_BV; compacted form loads it only with the SSE data and otherwise sets 1F80H.
  let newMxcsr: number | undefined;
  if (!compacted) {
    if (rfbm & (sse | bit(XFeature.AVX))) newMxcsr = u32(area, LEGACY.MXCSR);
  } else if (rfbm & sse) {
    newMxcsr = load & sse ? u32(area, LEGACY.MXCSR) : MXCSR_INIT;
  }
  if (newMxcsr !== undefined) checkMxcsr(ctx, kind, newMxcsr);
  // PT: XRSTORS may not restore or initialize PT while TraceEn = 1 (SDM Vol. 1 13.5.6).
  if (supervisor && (rfbm & bit(XFeature.PT)) && ptTraceEn(ctx)) throw new CpuFault(Vector.GP, 'XRSTORS: PT is in RFBM while IA32_RTIT_CTL.TraceEn = 1');
  // An invalid TILECFG image is not a fault for XRSTOR/XRSTORS: TILECFG is initialized instead
  // (measured on a Sapphire Rapids-class host by selfcheck cpu, as Bochs models it).
  let tilecfgRejected = false;
  if (load & bit(XFeature.TILECFG)) {
    const off = compacted ? offsets![XFeature.TILECFG] : ctx.cpu.components[XFeature.TILECFG]!.standardOffset;
    acc?.fetch(off, off + TILECFG_BYTES);
    tilecfgRejected = tilecfgInvalid(ctx.cpu, area.subarray(off, off + TILECFG_BYTES)) !== undefined;
  }
  // XFD (SDM Vol. 1 13.14): loading an armed component raises #NM and records it in IA32_XFD_ERR.
  const armedLoad = (load & ctx.xfdArmed) >>> 0;
  if (armedLoad !== 0) {
    ctx.xfdErr = armedLoad;
    throw new CpuFault(Vector.NM, `${kind}: XFD is armed for component(s) 0x${armedLoad.toString(16)}`);
  }

  // --- no more faults below this line
  const keepsInit = quirksOf(ctx.cpu).keepsInit;
  let inuse = r.xinuse;
  const order = ctx.cpu.componentOrder;
  for (let n = 0; n < order.length; n++) {
    const i = order[n];
    const b = bit(i);
    if (!(rfbm & b)) continue;
    if (load & b && !(i === XFeature.TILECFG && tilecfgRejected)) {
      if (i === XFeature.X87) loadX87(ctx, area, rexW);
      else if (i === XFeature.SSE) loadXmm(ctx, area);
      else {
        const c = r.comp[i];
        if (!c) continue;
        const off = compacted ? offsets![i] : ctx.cpu.components[i]!.standardOffset;
        const n = operatedBytes(ctx, i, c.length);
        if (acc && n > 0) acc.fetch(off, off + n);
        r.knownZero = (r.knownZero & ~b) >>> 0;
        if (n <= 16) for (let k = 0; k < n; k++) c[k] = area[off + k];
        else c.set(view(area, off, off + n));
      }
      if (r.tracksZeroRegisters && TRACKED_PART_BYTES[i] !== undefined) inuse = r.trackLoaded(i) ? inuse | b : inuse & ~b;
      // TILECFG is in use only while tiles are configured (palette_id != 0): a loaded all-zero
      // TILECFG leaves XINUSE[17] = 0 on Intel (measured), whatever the CPU does for others.
      else inuse = (keepsInit || i === XFeature.TILECFG) && loadedDataIsInit(ctx, i) ? inuse & ~b : inuse | b;
    } else {
      const c = r.comp[i];
      if (c && !ctx.mode64) c.fill(0, 0, operatedBytes(ctx, i, c.length));
      else if (i === XFeature.SSE && !ctx.mode64) r.legacy.fill(0, LEGACY.XMM0, LEGACY.XMM0 + XMM_COUNT_LEGACY_MODE * LEGACY.XMM_BYTES);
      else r.initComponent(i);
      if (r.tracksZeroRegisters && TRACKED_PART_BYTES[i] !== undefined) r.regsInUse[i] = 0;
      inuse &= ~b;
    }
  }
  if (newMxcsr !== undefined) r.mxcsr = newMxcsr;
  r.xinuse = inuse >>> 0;
  // Modified optimization bookkeeping (SDM Vol. 1 13.6): RFBM components are now unmodified.
  r.xmodified = (~rfbm) >>> 0;
  r.xrstorInfo = { cpl: ctx.cpl, vmxNonRoot: ctx.vmxNonRoot, address, xcompBvLo: compacted ? h.compLo : 0, compacted };
}

/** XRSTOR (SDM Vol. 2B "XRSTOR—Restore Processor Extended States"; Vol. 1 13.8). */
export function xrstor(ctx: XsaveContext, area: Uint8Array, address: number, eax: number, edx: number, rexW = true, lock = false, acc?: AreaAccess): void {
  checkXsaveEnabled(ctx, 'XRSTOR', lock);
  checkArea(ctx, 'XRSTOR', address, XSAVE_ALIGN);
  restore(ctx, 'XRSTOR', area, address, eax, edx, rexW, acc);
}

/** XRSTORS (SDM Vol. 2B "XRSTORS—Restore Processor Extended States Supervisor"; Vol. 1 13.12). CPL 0 only. */
export function xrstors(ctx: XsaveContext, area: Uint8Array, address: number, eax: number, edx: number, rexW = true, lock = false, acc?: AreaAccess): void {
  checkXsaveEnabled(ctx, 'XRSTORS', lock);
  // As XSAVES: a hidden CPUID bit leaves the silicon's CPL check (#GP at CPL 3).
  const hidden = checkEnumerated(ctx, 'XRSTORS', ctx.cpu.features.xsaves, 'CPUID.(EAX=0DH,ECX=1):EAX.XSAVES[bit 3]');
  if (ctx.cr0Ts) throw new CpuFault(Vector.NM, 'XRSTORS: CR0.TS = 1');
  if (ctx.cpl !== 0) throw new CpuFault(Vector.GP, `XRSTORS: CPL = ${ctx.cpl}, must be 0`);
  checkArea(ctx, 'XRSTORS', address, XSAVE_ALIGN);
  hidden?.();
  restore(ctx, 'XRSTORS', area, address, eax, edx, rexW, acc);
}

/* ---------------------------------------------------------------- XGETBV / XSETBV */

/**
 * XGETBV (SDM Vol. 2B "XGETBV—Get Value of Extended Control Register"): ECX=0 gives XCR0; ECX=1
 * (with CPUID.(0DH,1):EAX[2]) gives XCR0 & XINUSE, bit 1 also set when MXCSR != 1F80H. Any other
 * ECX is #GP(0). Returns [EAX, EDX].
 */
export function xgetbv(ctx: XsaveContext, ecx: number, lock = false): [number, number] {
  checkXsaveEnabled(ctx, 'XGETBV', lock);
  if (ecx >>> 0 === 0) return [ctx.xcr0 >>> 0, 0];
  if (ecx >>> 0 === 1) {
    // Without the CPUID bit the manual's answer is #GP (no such XCR); a hidden bit on silicon that has it runs.
    const hidden = checkEnumerated(ctx, 'XGETBV1', ctx.cpu.features.xgetbv1, 'CPUID.(EAX=0DH,ECX=1):EAX.XGETBV1[bit 2]');
    hidden?.();
    return [(ctx.xcr0 & ctx.regs.xinuseForSave()) >>> 0, 0];
  }
  throw new CpuFault(Vector.GP, `XGETBV: ECX = 0x${(ecx >>> 0).toString(16)} names no readable XCR`);
}

/**
 * XSETBV (SDM Vol. 2B "XSETBV—Set Extended Control Register"; Vol. 1 13.3): #GP at CPL > 0, ECX != 0,
 * an unsupported bit, bit 0 clear, AVX without SSE, one of the two MPX bits alone, AVX-512 bits
 * not all together or without AVX|SSE, one of the two AMX bits alone.
 */
export function xsetbv(ctx: XsaveContext, ecx: number, eax: number, edx: number, lock = false): void {
  checkXsaveEnabled(ctx, 'XSETBV', lock);
  if (ctx.cpl !== 0) throw new CpuFault(Vector.GP, `XSETBV: CPL = ${ctx.cpl}, must be 0`);
  if (ecx >>> 0 !== 0) throw new CpuFault(Vector.GP, `XSETBV: ECX = 0x${(ecx >>> 0).toString(16)}, only XCR0 exists`);
  const why = xcr0Invalid(ctx.cpu, eax >>> 0, edx >>> 0);
  if (why) throw new CpuFault(Vector.GP, `XSETBV: ${why}`);
  ctx.xcr0 = eax >>> 0;
}

/** The XCR0 validity rules (SDM Vol. 1 13.3); returns why a value is refused, or undefined. */
export function xcr0Invalid(cpu: CpuModel, lo: number, hi: number): string | undefined {
  const b = (i: number): boolean => ((lo >>> i) & 1) === 1;
  if (hi !== 0 || (lo & ~cpu.xcr0Supported) !== 0) return `bit(s) 0x${hex64(hi, lo & ~cpu.xcr0Supported)} not supported (CPUID.(0DH,0):EDX:EAX = 0x${cpu.xcr0Supported.toString(16)})`;
  if (!b(XFeature.X87)) return 'XCR0[0] (x87) must be 1';
  if (b(XFeature.AVX) && !b(XFeature.SSE)) return 'XCR0[2:1] = 10b (AVX without SSE)';
  if (b(XFeature.BNDREGS) !== b(XFeature.BNDCSR)) return 'XCR0[4:3] must be 00b or 11b (MPX)';
  const avx512 = (lo >>> XFeature.OPMASK) & 7;
  if (avx512 !== 0 && (avx512 !== 7 || !b(XFeature.AVX) || !b(XFeature.SSE))) return 'XCR0[7:5] must be 000b, or 111b with XCR0[2:1] = 11b (AVX-512)';
  if (b(XFeature.TILECFG) !== b(XFeature.TILEDATA)) return 'XCR0[17] and XCR0[18] must be equal (AMX)';
  return undefined;
}

/* ---------------------------------------------------------------- FXSAVE / FXRSTOR */

/**
 * FXSAVE (SDM Vol. 2A "FXSAVE—Save x87 FPU, MMX Technology, and SSE State"): bytes 0..415 with
 * the REX.W or 32-bit pointer format; XMM registers only with CR4.OSFXSR; bytes 416..511 untouched.
 * No init or modified optimization.
 */
export function fxsave(ctx: XsaveContext, area: Uint8Array, address: number, rexW = true, lock = false): void {
  if (lock) throw new CpuFault(Vector.UD, 'FXSAVE with a LOCK prefix');
  const hidden = checkEnumerated(ctx, 'FXSAVE', ctx.cpu.features.fxsr, 'CPUID.01H:EDX.FXSR[bit 24]');
  checkArea(ctx, 'FXSAVE', address, FXSAVE_ALIGN);
  hidden?.();
  storeX87(ctx, area, rexW);
  storeMxcsr(ctx, area);
  if (ctx.cr4Osfxsr) storeXmm(ctx, area);
}

/** FXRSTOR (SDM Vol. 2A "FXRSTOR—Restore x87 FPU, MMX, XMM, and MXCSR State"). */
export function fxrstor(ctx: XsaveContext, area: Uint8Array, address: number, rexW = true, lock = false): void {
  if (lock) throw new CpuFault(Vector.UD, 'FXRSTOR with a LOCK prefix');
  const hidden = checkEnumerated(ctx, 'FXRSTOR', ctx.cpu.features.fxsr, 'CPUID.01H:EDX.FXSR[bit 24]');
  checkArea(ctx, 'FXRSTOR', address, FXSAVE_ALIGN);
  hidden?.();
  const mxcsr = u32(area, LEGACY.MXCSR);
  if (ctx.cr4Osfxsr) checkMxcsr(ctx, 'FXRSTOR', mxcsr);
  const r = ctx.regs;
  loadX87(ctx, area, rexW);
  if (ctx.cr4Osfxsr) {
    loadXmm(ctx, area);
    r.mxcsr = mxcsr;
  }
  const keepsInit = ctx.cpu.hasQuirk(Quirk.RestoreOfInitDataKeepsInit);
  for (const i of [XFeature.X87, XFeature.SSE]) {
    if (r.tracksZeroRegisters && i === XFeature.SSE) { if (r.trackLoaded(i)) r.xinuse |= bit(i); else r.xinuse &= ~bit(i); }
    else if (keepsInit && r.isInitConfig(i)) r.xinuse &= ~bit(i);
    else r.xinuse |= bit(i);
    r.touched(i, false);
  }
  r.xinuse >>>= 0;
}

/* ---------------------------------------------------------------- sizes */

/** Bytes from the area's start that an instruction may touch, for callers that copy guest memory. */
export function requiredAreaSize(ctx: XsaveContext, insn: 'XSAVE' | 'XSAVEOPT' | 'XRSTOR-standard' | 'XSAVEC' | 'XSAVES' | 'XRSTOR-compacted' | 'FXSAVE', mask: number): number {
  switch (insn) {
    case 'FXSAVE':
      return 512;
    case 'XSAVE':
    case 'XSAVEOPT':
    case 'XRSTOR-standard':
      return ctx.cpu.standardSize(mask);
    default:
      return ctx.cpu.compactedLayout(mask).size;
  }
}

export function hex64(hi: number, lo: number): string {
  return hi >>> 0 ? (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0') : (lo >>> 0).toString(16);
}

export { FCW_INIT };
