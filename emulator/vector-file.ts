/**
 * Vector and opmask registers as views over the register file's XSAVE components
 * (SDM Vol. 1 13.5.2-13.5.5): XMMi[127:0] in the legacy region, YMMi[255:128] in AVX,
 * ZMMi[511:256] (i < 16) in ZMM_Hi256, ZMM16-31 whole in Hi16_ZMM, k0-k7 in the opmask component.
 * Reads assemble a register of the asked width; writes split it back and keep XINUSE/XMODIFIED.
 */
import { Quirk } from './quirks.js';
import { LEGACY, RegisterFile } from './register-file.js';
import { XFeature, bit } from './xfeatures.js';

export const XMM_BYTES = 16;
export const YMM_BYTES = 32;
export const ZMM_BYTES = 64;

/** How a write treats the bits above the written width (SDM Vol. 1 14.1.3, 15.5). */
export enum UpperBits {
  /** Legacy SSE: bits above 127 unchanged. */
  Keep,
  /** VEX/EVEX: bits above the operand width up to MAXVL zeroed. */
  Zero,
}

/** How a written value came to be, for XINUSE tracking. */
export enum WriteKind {
  /** Loaded from memory. */
  Load,
  /** Computed (or merged under a write mask). */
  Compute,
  /** A zeroing idiom (VPXOR x,x,x, KXOR k,k,k, ...). */
  Idiom,
  /** Copied unchanged from another register. */
  Move,
}

export class VectorFile {
  constructor(readonly regs: RegisterFile) {}

  /** The opmask component as a DataView (64-bit k registers without per-byte BigInt work). */
  private kView: DataView | undefined;
  private kViewOf: Uint8Array | undefined;
  private opmaskView(): DataView {
    const k = this.regs.comp[XFeature.OPMASK]!;
    if (this.kViewOf !== k) { this.kViewOf = k; this.kView = new DataView(k.buffer, k.byteOffset, k.byteLength); }
    return this.kView!;
  }

  /** Largest vector width the CPU has: 64 with AVX-512, 32 with AVX, else 16. */
  maxVl(): number {
    if (this.regs.comp[XFeature.ZMM_HI256]) return ZMM_BYTES;
    if (this.regs.comp[XFeature.AVX]) return YMM_BYTES;
    return XMM_BYTES;
  }

  /** Read `width` bytes (16, 32 or 64) of vector register n (0..31). */
  read(n: number, width: number): Uint8Array {
    // Byte loops: at most 64 bytes, cheaper than a subarray (an allocation) per part.
    const out = new Uint8Array(width);
    const r = this.regs;
    if (n >= 16) {
      const z = r.comp[XFeature.HI16_ZMM]!;
      for (let k = 0, o = (n - 16) * ZMM_BYTES; k < width; k++) out[k] = z[o + k];
      return out;
    }
    const L = r.legacy;
    for (let k = 0, o = LEGACY.XMM0 + n * XMM_BYTES; k < XMM_BYTES; k++) out[k] = L[o + k];
    if (width > XMM_BYTES) { const a = r.comp[XFeature.AVX]!; for (let k = 0, o = n * 16; k < 16; k++) out[16 + k] = a[o + k]; }
    if (width > YMM_BYTES) { const h = r.comp[XFeature.ZMM_HI256]!; for (let k = 0, o = n * 32; k < 32; k++) out[32 + k] = h[o + k]; }
    return out;
  }

  /**
   * Write `data` (16, 32 or 64 bytes) to vector register n, with `how` the value came to be.
   * XINUSE on CPUs with xinuse-tracks-zero-registers, per register (measured on AMD Zen 5 with
   * the XGETBV(1) probe in test/xinuse-tracking.test.ts):
   * - bits 127:0 of registers 0-15, all of registers 16-31: in use after any write but a zeroing
   *   idiom, even a move from a zero register;
   * - the AVX and ZMM_Hi256 parts of registers 0-15: known zero after VEX/EVEX zeroing of the
   *   upper bits or an idiom; a register move copies the source's state; loads and computed
   *   values are in use; a YMM move also puts the AVX part in use when the source's ZMM_Hi256
   *   part is; `avxPartInUse` marks writes that zero the AVX part yet leave it in use
   *   (VEXTRACTx32X4/64X2 to an xmm register).
   * Elsewhere (SDM Vol. 1 13.6 leaves it open) every component written with data is in use.
   */
  write(n: number, data: Uint8Array, upper: UpperBits, how: WriteKind = WriteKind.Compute, src = -1, avxPartInUse = false): void {
    const r = this.regs;
    const width = data.length;
    const idiomInit = how === WriteKind.Idiom && r.cpu.hasQuirk(Quirk.ZeroingIdiomKeepsInit);
    const track = r.tracksZeroRegisters;
    /** In-use state of a written upper part: moves copy the source's, others are in use. */
    const upperInUse = (c: XFeature): boolean => {
      if (idiomInit) return false;
      if (how !== WriteKind.Move || src < 0) return true;
      if (src >= 16) return r.regInUse(XFeature.HI16_ZMM, src - 16);
      // Measured: a YMM move from a register whose bits 511:256 are in use puts the AVX part in use.
      if (c === XFeature.AVX) return r.regInUse(XFeature.AVX, src) || r.regInUse(XFeature.ZMM_HI256, src);
      return r.regInUse(c, src);
    };
    const mark = (c: XFeature, reg: number, inUse: boolean): void => {
      if (track) { r.setRegInUse(c, reg, inUse); r.touched(c, false); } else r.touched(c, inUse);
    };
    if (n >= 16) {
      const z = r.comp[XFeature.HI16_ZMM]!;
      const o = (n - 16) * ZMM_BYTES;
      for (let k = 0; k < width; k++) z[o + k] = data[k];
      if (upper === UpperBits.Zero) for (let k = width; k < ZMM_BYTES; k++) z[o + k] = 0;
      mark(XFeature.HI16_ZMM, n - 16, !idiomInit);
      return;
    }
    { const L = r.legacy; for (let k = 0, o = LEGACY.XMM0 + n * XMM_BYTES; k < XMM_BYTES; k++) L[o + k] = data[k]; }
    mark(XFeature.SSE, n, !idiomInit);
    const avx = r.comp[XFeature.AVX];
    if (avx) {
      if (width > XMM_BYTES) { for (let k = 0; k < 16; k++) avx[n * 16 + k] = data[16 + k]; mark(XFeature.AVX, n, track ? upperInUse(XFeature.AVX) : !idiomInit); }
      else if (upper === UpperBits.Zero) { avx.fill(0, n * 16, n * 16 + 16); if (track) mark(XFeature.AVX, n, avxPartInUse); else r.touched(XFeature.AVX, false); }
      // A legacy SSE write (bits above 127 kept) while some register's ZMM_Hi256 part is in use
      // puts AVX in use too. Measured on AMD Zen 5 with XGETBV(1) after XRSTOR of XSTATE_BV 46H
      // with one register's bits 511:256 nonzero, any destination: PADDD, ADDPS, MOVAPS,
      // SHA1MSG1, GF2P8MULB, PCLMULQDQ (XINUSE 40H -> 46H); found by selfcheck insn. Recorded on
      // the destination's AVX part (which register's part the CPU marks is not observable here).
      else if (track && width === XMM_BYTES && !idiomInit && this.anyZmmHi256InUse()) mark(XFeature.AVX, n, true);
    }
    const hi = r.comp[XFeature.ZMM_HI256];
    if (hi) {
      if (width > YMM_BYTES) { for (let k = 0; k < 32; k++) hi[n * 32 + k] = data[32 + k]; mark(XFeature.ZMM_HI256, n, track ? upperInUse(XFeature.ZMM_HI256) : !idiomInit); }
      else if (upper === UpperBits.Zero) { hi.fill(0, n * 32, n * 32 + 32); if (track) mark(XFeature.ZMM_HI256, n, false); else r.touched(XFeature.ZMM_HI256, false); }
    }
  }

  private anyZmmHi256InUse(): boolean {
    for (let k = 0; k < 16; k++) if (this.regs.regInUse(XFeature.ZMM_HI256, k)) return true;
    return false;
  }

  readK(n: number): bigint {
    return this.opmaskView().getBigUint64(n * 8, true);
  }

  /** Write k register n; `how` and `src` (a k register for moves) as for write(). */
  writeK(n: number, v: bigint, how: WriteKind = WriteKind.Compute, src = -1): void {
    const r = this.regs;
    this.opmaskView().setBigUint64(n * 8, BigInt.asUintN(64, v), true); // v's two's complement bytes, as before
    const idiomInit = how === WriteKind.Idiom && r.cpu.hasQuirk(Quirk.ZeroingIdiomKeepsInit);
    if (r.tracksZeroRegisters) {
      r.setRegInUse(XFeature.OPMASK, n, !idiomInit); // measured: KMOV from a zero k register sets XINUSE[5]
      r.touched(XFeature.OPMASK, false);
    } else r.touched(XFeature.OPMASK, !idiomInit);
  }

  /** VZEROUPPER (SDM Vol. 2C): bits 511:128 of registers 0-15 zeroed; the upper components become initial. */
  zeroUpper(): void {
    const r = this.regs;
    for (const c of [XFeature.AVX, XFeature.ZMM_HI256]) {
      if (!r.comp[c]) continue;
      r.comp[c]!.fill(0);
      r.touched(c, false);
      r.xinuse = (r.xinuse & ~bit(c)) >>> 0;
      if (r.tracksZeroRegisters) r.regsInUse[c] = 0;
    }
  }

  /** VZEROALL: registers 0-15 zeroed entirely (SDM Vol. 2C); 16-31 are unchanged. */
  zeroAll(): void {
    this.zeroUpper();
    const r = this.regs;
    r.legacy.fill(0, LEGACY.XMM0, LEGACY.XMM0 + 16 * XMM_BYTES);
    r.touched(XFeature.SSE, false);
    r.xinuse = (r.xinuse & ~bit(XFeature.SSE)) >>> 0;
    if (r.tracksZeroRegisters) r.regsInUse[XFeature.SSE] = 0;
  }
}
