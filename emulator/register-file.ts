/**
 * Every XSAVE-managed register of one logical CPU, plus the processor's tracking state:
 * XINUSE (SDM Vol. 1 13.6, init optimization), XMODIFIED and XRSTOR_INFO (13.6, modified
 * optimization).
 *
 * Storage mirrors the XSAVE area so that saves and restores are byte copies:
 * - `legacy` holds x87 and SSE in the 64-bit FXSAVE layout (SDM Vol. 1 Table 10-2 with REX.W):
 *   FCW@0 FSW@2 FTW(abridged)@4 FOP@6 FIP@8(8 bytes) FDP@16(8) MXCSR@24 ST0-7@32(10 of 16 bytes)
 *   XMM0-15@160. FCS and FDS, which that layout has no room for, are kept beside it.
 * - `comp[i]` holds component i >= 2 exactly as XSAVE writes it.
 */
import type { CpuModel } from './cpu-model.js';
import { FCW_INIT, LEGACY_REGION_SIZE, MXCSR_INIT } from './cpu-model.js';
import { Quirk } from './quirks.js';
import { XFeature, bit } from './xfeatures.js';

/** Field offsets inside the legacy region (SDM Vol. 1 Table 10-2). */
export const LEGACY = {
  FCW: 0,
  FSW: 2,
  FTW: 4,
  FOP: 6,
  FIP: 8,
  /** 32-bit forms: FCS follows FIP[31:0]. */
  FCS: 12,
  FDP: 16,
  /** 32-bit forms: FDS follows FDP[31:0]. */
  FDS: 20,
  MXCSR: 24,
  MXCSR_MASK: 28,
  ST0: 32,
  ST_STRIDE: 16,
  ST_BYTES: 10,
  XMM0: 160,
  XMM_BYTES: 16,
  /** Bytes 416..511 are not written by FXSAVE or the XSAVE family (SDM Vol. 1 10.5.1, 13.4.1). */
  END_OF_SAVED: 416,
} as const;

export const XMM_COUNT_64BIT = 16;
export const XMM_COUNT_LEGACY_MODE = 8;

/** Identity of the last XRSTOR/XRSTORS (SDM Vol. 1 13.6 "XRSTOR_INFO"). */
export interface XrstorInfo {
  cpl: number;
  vmxNonRoot: boolean;
  address: number;
  /** XCOMP_BV as the restore read it: 0 for the standard form; low dword, plus the format bit separately. */
  xcompBvLo: number;
  compacted: boolean;
}

/**
 * 32-bit words of the register file's state store after the legacy region (StateStore): the tracking
 * fields and the XsaveContext's control state, so that native code (emulator/native/xsave-fast.c)
 * reads and writes the same bytes as the model. The names are checked against xsave-fast.c's
 * XS_WORD_NAMES when the native path loads (emulator/xsave-native.ts), so the two cannot drift.
 */
export enum StateWord {
  XINUSE, XMODIFIED, KNOWN_ZERO, FCS, FDS,
  /** XRSTOR_INFO: VALID 0 means none since reset; ADDR_LO/HI the address as the model's number. */
  XRI_VALID, XRI_CPL, XRI_VMX, XRI_ADDR_LO, XRI_ADDR_HI, XRI_XCOMP, XRI_COMPACTED,
  /** XsaveContext: XCR0, IA32_XSS, CR4.OSXSAVE, CR4.OSFXSR, CR0.TS, CPL, 64-bit mode, VMX non-root, IA32_XFD, IA32_XFD_ERR. */
  XCR0, XSS, CR4_OSXSAVE, CR4_OSFXSR, CR0_TS, CPL, MODE64, VMX, XFD, XFD_ERR,
  /** regsInUse[c] for c = 0..7 (the tracked components are below 8). */
  REGS_IN_USE, WORDS = REGS_IN_USE + 8,
}
/** Offset of the StateWord words in the store (after the legacy region); the components follow, each 64-byte aligned. */
export const STATE_WORDS_OFFSET = LEGACY_REGION_SIZE;
/** Alignment of each component's bytes in the store (whole cache lines, 32-bit views). */
const STORE_COMPONENT_ALIGN = 64;

/** Where each component lives in a register file's store, for a CPU (the native path gets the same table). */
export function storeLayout(cpu: CpuModel): { offsets: number[]; size: number } {
  const offsets: number[] = [];
  let at = STATE_WORDS_OFFSET + StateWord.WORDS * 4;
  for (const c of cpu.extendedComponents) {
    at = Math.ceil(at / STORE_COMPONENT_ALIGN) * STORE_COMPONENT_ALIGN;
    offsets[c.number] = at;
    at += c.size;
  }
  return { offsets, size: Math.ceil(at / STORE_COMPONENT_ALIGN) * STORE_COMPONENT_ALIGN };
}

export class RegisterFile {
  /**
   * Everything below in one buffer (legacy region, StateWord words, components): native code given
   * its address works on the model's own bytes, with no copy (emulator/xsave-native.ts).
   */
  readonly store: ArrayBuffer;
  readonly words: Uint32Array;
  readonly legacy: Uint8Array;
  readonly legacyView: DataView;
  get fcs(): number { return this.words[StateWord.FCS]!; }
  set fcs(v: number) { this.words[StateWord.FCS] = v; }
  get fds(): number { return this.words[StateWord.FDS]!; }
  set fds(v: number) { this.words[StateWord.FDS] = v; }
  readonly comp: (Uint8Array | undefined)[] = [];
  /** The same bytes as 32-bit words, for the init-configuration test. */
  private readonly comp32: (Uint32Array | undefined)[] = [];
  private readonly legacy32: Uint32Array;
  /** XINUSE[i] = 0 means component i is known to be in its initial configuration. */
  get xinuse(): number { return this.words[StateWord.XINUSE]!; }
  set xinuse(v: number) { this.words[StateWord.XINUSE] = v; }
  /** XMODIFIED[i] = 0 means component i is known unchanged since the last XRSTOR/XRSTORS. */
  get xmodified(): number { return this.words[StateWord.XMODIFIED]!; }
  set xmodified(v: number) { this.words[StateWord.XMODIFIED] = v; }
  get xrstorInfo(): XrstorInfo | undefined {
    const w = this.words;
    if (!w[StateWord.XRI_VALID]) return undefined;
    return { cpl: w[StateWord.XRI_CPL]!, vmxNonRoot: w[StateWord.XRI_VMX] === 1, address: w[StateWord.XRI_ADDR_HI]! * 4294967296 + w[StateWord.XRI_ADDR_LO]!, xcompBvLo: w[StateWord.XRI_XCOMP]!, compacted: w[StateWord.XRI_COMPACTED] === 1 };
  }
  set xrstorInfo(v: XrstorInfo | undefined) {
    const w = this.words;
    w[StateWord.XRI_VALID] = v ? 1 : 0;
    if (!v) return;
    w[StateWord.XRI_CPL] = v.cpl;
    w[StateWord.XRI_VMX] = v.vmxNonRoot ? 1 : 0;
    w[StateWord.XRI_ADDR_LO] = v.address % 4294967296;
    w[StateWord.XRI_ADDR_HI] = Math.floor(v.address / 4294967296);
    w[StateWord.XRI_XCOMP] = v.xcompBvLo;
    w[StateWord.XRI_COMPACTED] = v.compacted ? 1 : 0;
  }
  /**
   * Components (number >= 2) whose bytes are known to be all zero, so that initializing them
   * again can skip the fill: set when the model zeroes a component (reset, initComponent),
   * cleared by touched() and by restores that load data. Code that writes comp[i] calls
   * touched(i), as every writer does (it must, for XINUSE/XMODIFIED), or clears the bit itself.
   */
  get knownZero(): number { return this.words[StateWord.KNOWN_ZERO]!; }
  set knownZero(v: number) { this.words[StateWord.KNOWN_ZERO] = v; }
  /** Bits of the components that exist (>= 2). */
  private readonly compMask: number;
  /**
   * Per component (SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM), the registers not known to be zero;
   * kept only on CPUs with the xinuse-tracks-zero-registers quirk, where XINUSE[c] = mask != 0.
   */
  readonly regsInUse: Uint32Array;
  readonly tracksZeroRegisters: boolean;
  /** Fixed views of `legacy`, so that saves copy without allocating. */
  readonly views: { x87Head: Uint8Array; st: Uint8Array; xmm: Uint8Array; xmmLegacyMode: Uint8Array };

  constructor(readonly cpu: CpuModel) {
    const layout = storeLayout(cpu);
    this.store = new ArrayBuffer(layout.size);
    this.legacy = new Uint8Array(this.store, 0, LEGACY_REGION_SIZE);
    this.legacyView = new DataView(this.store, 0, LEGACY_REGION_SIZE);
    this.legacy32 = new Uint32Array(this.store, 0, LEGACY_REGION_SIZE >> 2);
    this.words = new Uint32Array(this.store, STATE_WORDS_OFFSET, StateWord.WORDS);
    this.regsInUse = this.words.subarray(StateWord.REGS_IN_USE, StateWord.REGS_IN_USE + 8);
    this.views = {
      x87Head: this.legacy.subarray(0, LEGACY.MXCSR),
      st: this.legacy.subarray(LEGACY.ST0, LEGACY.XMM0),
      xmm: this.legacy.subarray(LEGACY.XMM0, LEGACY.XMM0 + XMM_COUNT_64BIT * LEGACY.XMM_BYTES),
      xmmLegacyMode: this.legacy.subarray(LEGACY.XMM0, LEGACY.XMM0 + XMM_COUNT_LEGACY_MODE * LEGACY.XMM_BYTES),
    };
    this.tracksZeroRegisters = cpu.hasQuirk(Quirk.XinuseTracksZeroRegisters);
    let m = 0;
    for (const c of cpu.extendedComponents) m |= bit(c.number);
    this.compMask = m >>> 0;
    for (const c of cpu.extendedComponents) {
      const at = layout.offsets[c.number]!;
      this.comp[c.number] = new Uint8Array(this.store, at, c.size);
      this.comp32[c.number] = new Uint32Array(this.store, at, (c.size + 3) >> 2);
    }
    this.reset();
  }

  /** Become a copy of `a` (same CPU): registers and every tracking field (fork's fpu_clone copies it all). */
  copyFrom(a: RegisterFile): void {
    this.legacy.set(a.legacy);
    this.fcs = a.fcs;
    this.fds = a.fds;
    a.comp.forEach((c, i) => { if (c) this.comp[i]!.set(c); });
    this.xinuse = a.xinuse;
    this.xmodified = a.xmodified;
    this.knownZero = a.knownZero;
    this.xrstorInfo = a.xrstorInfo ? { ...a.xrstorInfo } : undefined;
    for (const c of TRACKED_COMPONENTS) this.regsInUse[c] = a.regsInUse[c]!;
  }

  /** Processor reset (SDM Vol. 3A 9.1.1): every component initial, MXCSR 1F80H, no tracking history. */
  reset(): void {
    for (let i = 0; i < this.comp.length; i++) this.comp[i]?.fill(0);
    this.knownZero = this.compMask;
    this.initX87();
    this.initSse();
    this.legacyView.setUint32(LEGACY.MXCSR, MXCSR_INIT, true);
    this.xinuse = 0;
    this.xmodified = 0xffffffff;
    this.xrstorInfo = undefined;
    for (const c of TRACKED_COMPONENTS) this.regsInUse[c] = 0;
  }

  /** Mark register `reg` of component c (not) known zero and derive XINUSE[c] (tracking CPUs only). */
  setRegInUse(c: number, reg: number, inUse: boolean): void {
    this.knownZero = (this.knownZero & ~bit(c)) >>> 0;
    const m = inUse ? this.regsInUse[c] | (1 << reg) : this.regsInUse[c] & ~(1 << reg);
    this.regsInUse[c] = m >>> 0;
    this.xinuse = (m ? this.xinuse | bit(c) : this.xinuse & ~bit(c)) >>> 0;
  }

  regInUse(c: number, reg: number): boolean {
    return ((this.regsInUse[c] >>> reg) & 1) === 1;
  }

  /**
   * After a restore loaded (or initialized) component c: on tracking CPUs each register is known
   * zero exactly when its loaded value is zero; returns whether any register is in use.
   */
  trackLoaded(c: number): boolean {
    const part = TRACKED_PART_BYTES[c];
    if (part === undefined) return !this.isInitConfig(c);
    const bytes = c === XFeature.SSE ? this.legacy.subarray(LEGACY.XMM0, LEGACY.END_OF_SAVED) : this.comp[c];
    let m = 0;
    if (bytes) for (let reg = 0; reg * part < bytes.length; reg++) if (!allZero(bytes, reg * part, (reg + 1) * part)) m |= 1 << reg;
    this.regsInUse[c] = m >>> 0;
    return m !== 0;
  }

  /** x87 initial configuration (SDM Vol. 1 13.6): FCW 037FH, everything else 0. */
  initX87(): void {
    this.legacy.fill(0, 0, LEGACY.MXCSR);
    this.legacy.fill(0, LEGACY.ST0, LEGACY.XMM0);
    this.legacyView.setUint16(LEGACY.FCW, FCW_INIT, true);
    this.fcs = 0;
    this.fds = 0;
  }

  /** SSE initial configuration: XMM registers zero; MXCSR is not part of it (SDM Vol. 1 13.6). */
  initSse(): void {
    this.legacy.fill(0, LEGACY.XMM0, LEGACY.END_OF_SAVED);
  }

  initComponent(i: number): void {
    if (i === XFeature.X87) this.initX87();
    else if (i === XFeature.SSE) this.initSse();
    else {
      const c = this.comp[i];
      if (!c) return;
      const b = bit(i);
      if (this.knownZero & b) return; // already all zero: nothing to fill
      c.fill(0);
      this.knownZero = (this.knownZero | b) >>> 0;
    }
  }

  get mxcsr(): number {
    return this.legacyView.getUint32(LEGACY.MXCSR, true);
  }
  set mxcsr(v: number) {
    this.legacyView.setUint32(LEGACY.MXCSR, v >>> 0, true);
  }

  /** Does component i hold its initial configuration? (value test, SDM Vol. 1 13.6) */
  isInitConfig(i: number): boolean {
    if (i === XFeature.X87) {
      // The last-instruction pointers (FOP, FIP, FDP, FCS, FDS) are not looked at: an otherwise
      // initial x87 image with pointers leaves XGETBV(1) bit 0 clear (measured on AMD Zen 5,
      // ../shared/reference/xsave-hw-facts.md section 11), although SDM Vol. 1 13.6 lists them.
      const v = this.legacyView;
      if (v.getUint16(LEGACY.FCW, true) !== FCW_INIT) return false;
      if (!allZero(this.legacy, LEGACY.FSW, LEGACY.FOP)) return false;
      return wordsZero(this.legacy32, LEGACY.ST0 >> 2, LEGACY.XMM0 >> 2);
    }
    if (i === XFeature.SSE) return wordsZero(this.legacy32, LEGACY.XMM0 >> 2, LEGACY.END_OF_SAVED >> 2);
    if ((this.knownZero >>> i) & 1) return true;
    const w = this.comp32[i];
    return w === undefined || wordsZero(w, 0, w.length);
  }

  /**
   * XINUSE as save instructions and XGETBV(ECX=1) see it: bit 1 also reads 1 when MXCSR is not
   * 1F80H (SDM Vol. 1 13.6, Vol. 2B XGETBV).
   */
  xinuseForSave(): number {
    return this.mxcsr !== MXCSR_INIT ? (this.xinuse | bit(XFeature.SSE)) >>> 0 : this.xinuse;
  }

  /** Record a write by an instruction to component i (guest execution uses this). */
  touched(i: number, inUse = true): void {
    const b = bit(i);
    this.knownZero = (this.knownZero & ~b) >>> 0;
    if (inUse) this.xinuse = (this.xinuse | b) >>> 0;
    this.xmodified = (this.xmodified | b) >>> 0;
  }
}

/** Components whose XINUSE the tracking quirk derives per register, and their register size in bytes. */
export const TRACKED_PART_BYTES: Record<number, number> = {
  [XFeature.SSE]: 16, [XFeature.AVX]: 16, [XFeature.OPMASK]: 8, [XFeature.ZMM_HI256]: 32, [XFeature.HI16_ZMM]: 64,
};
export const TRACKED_COMPONENTS: readonly number[] = Object.keys(TRACKED_PART_BYTES).map(Number);

export function allZero(a: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (a[k] !== 0) return false;
  return true;
}

/** Are 32-bit words [from, to) zero? */
function wordsZero(w: Uint32Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (w[k] !== 0) return false;
  return true;
}
