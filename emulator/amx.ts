/**
 * Intel AMX over the model's tile state: TILECFG (XSAVE component 17) and TILEDATA (component 18)
 * of the register file, laid out as XSAVE stores them (SDM Vol. 1 13.x: TILEDATA is TMM0..TMMn,
 * each bytes_per_tile bytes of rows of bytes_per_row bytes; CPUID leaf 1DH gives both).
 *
 * Instructions (SDM Vol. 2 "Operation" sections): LDTILECFG, STTILECFG, TILELOADD, TILELOADDT1,
 * TILESTORED, TILEZERO, TILERELEASE (AMX-TILE); TDPBSSD, TDPBSUD, TDPBUSD, TDPBUUD (AMX-INT8);
 * TDPBF16PS (AMX-BF16). Faults follow the AMX exception classes (SDM Vol. 2 2.10, AMX-E1..E6):
 * see checkCommon and the per-instruction checks. AMX-FP16 and AMX-COMPLEX (TDPFP16PS,
 * TCMMIMFP16PS, TCMMRLFP16PS) are not emulated: no profile's CPUID enumerates them, so they #UD
 * as missing features before reaching this file (machine-features.ts).
 */
import { Mnemonic, Register, type Instruction } from './iced.js';
import type { CpuModel } from './cpu-model.js';
import { CpuFault, Vector, tilecfgInvalid, type XsaveContext } from './xsave.js';
import { XFeature, bit } from './xfeatures.js';
import { bf16DotStep } from './vector/float-bf16.js';

/** TILECFG bytes (LDTILECFG m512; CPUID.(0DH,17):EAX). */
export const TILECFG_BYTES = 64;
/** TILECFG fields (SDM Vol. 2A LDTILECFG, Table "Memory Area Layout"). */
const CFG_PALETTE = 0;
const CFG_START_ROW = 1;
const CFG_COLSB = 16;
const CFG_ROWS = 48;
/** CPUID leaf 1DH (tile information) and 1EH (TMUL information), SDM Vol. 2A CPUID. */
const TILE_INFO_LEAF = 0x1d;
const TMUL_INFO_LEAF = 0x1e;

/** A palette's limits: CPUID.(1DH, palette) EAX[31:16] bytes_per_tile, EBX[15:0] bytes_per_row, EBX[31:16] max_names, ECX[15:0] max_rows. */
export interface Palette { bytesPerTile: number; bytesPerRow: number; maxNames: number; maxRows: number }

export function paletteOf(cpu: CpuModel, palette: number): Palette {
  const [eax, ebx, ecx] = cpu.cpuid.get(TILE_INFO_LEAF, palette);
  return { bytesPerTile: eax >>> 16, bytesPerRow: ebx & 0xffff, maxNames: ebx >>> 16, maxRows: ecx & 0xffff };
}

/** CPUID.(1EH,0):EBX[7:0] tmul_maxk (rows or columns), EBX[23:8] tmul_maxn (column bytes). */
function tmulLimits(cpu: CpuModel): { maxK: number; maxN: number } {
  const ebx = cpu.cpuid.get(TMUL_INFO_LEAF, 0)[1];
  return { maxK: ebx & 0xff, maxN: (ebx >>> 8) & 0xffff };
}

/** What the AMX instructions need of the machine around them. */
export interface AmxEnv {
  cpu: CpuModel;
  xs: XsaveContext;
  getGpr(r: Register): bigint;
  segmentBase(seg: Register): bigint;
  /** Guest memory with the guest's permissions (throws the machine's memory fault). */
  readMem(addr: bigint, len: number): Uint8Array;
  writeMem(addr: bigint, data: Uint8Array): void;
  /** Is the address canonical (else #GP(0), SDM Vol. 2 2.10 AMX-E1/E2/E3)? */
  canonical(addr: bigint): boolean;
}

const AMX_MNEMONICS: ReadonlySet<Mnemonic> = new Set([
  Mnemonic.Ldtilecfg, Mnemonic.Sttilecfg, Mnemonic.Tileloadd, Mnemonic.Tileloaddt1, Mnemonic.Tilestored,
  Mnemonic.Tilezero, Mnemonic.Tilerelease, Mnemonic.Tdpbssd, Mnemonic.Tdpbsud, Mnemonic.Tdpbusd, Mnemonic.Tdpbuud,
  Mnemonic.Tdpbf16ps, Mnemonic.Tdpfp16ps, Mnemonic.Tcmmimfp16ps, Mnemonic.Tcmmrlfp16ps,
]);

/** Is this an AMX instruction (any of the AMX CPUID features)? */
export function isAmx(m: Mnemonic): boolean {
  return AMX_MNEMONICS.has(m);
}

/** XCR0 bits an AMX instruction needs: XCR0[18:17] = 11b (SDM Vol. 2 2.10, every AMX exception class). */
export const AMX_XCR0 = bit(XFeature.TILECFG) | bit(XFeature.TILEDATA);

const MASK64 = (1n << 64n) - 1n;

/** The tile state of a context, with the TILECFG fields read out. */
class Tiles {
  readonly cfg: Uint8Array;
  readonly data: Uint8Array;
  constructor(readonly xs: XsaveContext) {
    const cfg = xs.regs.comp[XFeature.TILECFG], data = xs.regs.comp[XFeature.TILEDATA];
    if (!cfg || !data) throw new CpuFault(Vector.UD, 'the CPU has no TILECFG/TILEDATA state component');
    this.cfg = cfg;
    this.data = data;
  }
  get palette(): number { return this.cfg[CFG_PALETTE]!; }
  get startRow(): number { return this.cfg[CFG_START_ROW]!; }
  set startRow(r: number) {
    if (this.cfg[CFG_START_ROW] === r) return;
    this.cfg[CFG_START_ROW] = r;
    this.xs.regs.touched(XFeature.TILECFG, true);
  }
  colsb(t: number): number { return this.cfg[CFG_COLSB + 2 * t]! | (this.cfg[CFG_COLSB + 2 * t + 1]! << 8); }
  rows(t: number): number { return this.cfg[CFG_ROWS + t]!; }
}

/** Tile number of a TMM register operand. */
function tmm(r: Register): number {
  return r - Register.TMM0;
}

/**
 * The checks every AMX instruction makes first (SDM Vol. 2 2.10, AMX-E1..E6): #UD outside 64-bit
 * mode, with CR4.OSXSAVE = 0 or XCR0[18:17] != 11b (the machine checks CPUID and XCR0 before
 * this); #NM when IA32_XFD[18] is armed, recorded in IA32_XFD_ERR (SDM Vol. 1 13.14), except for
 * TILERELEASE, whose class AMX-E6 lists no #NM (SDM Vol. 2 2.10; assumption recorded in the README).
 */
function checkCommon(ins: Instruction, env: AmxEnv): void {
  const xs = env.xs;
  const name = Mnemonic[ins.mnemonic].toUpperCase();
  if (!xs.mode64) throw new CpuFault(Vector.UD, `${name} outside 64-bit mode`);
  if (!xs.cr4Osxsave) throw new CpuFault(Vector.UD, `${name} with CR4.OSXSAVE = 0`);
  if ((xs.xcr0 & AMX_XCR0) !== AMX_XCR0) throw new CpuFault(Vector.UD, `${name}: XCR0[18:17] != 11b`);
  if (ins.hasLockPrefix) throw new CpuFault(Vector.UD, `${name} with a LOCK prefix`);
  if (ins.mnemonic !== Mnemonic.Tilerelease && (xs.xfdArmed & bit(XFeature.TILEDATA))) {
    xs.xfdErr = bit(XFeature.TILEDATA);
    throw new CpuFault(Vector.NM, `${name}: XFD is armed for TILEDATA (IA32_XFD[18])`);
  }
}

/** #UD unless tiles are configured (TILES_CONFIGURED: palette != 0) and each tile exists in the palette (AMX-E3/E4/E5). */
function configured(t: Tiles, env: AmxEnv, name: string, regs: number[]): Palette {
  if (t.palette === 0) throw new CpuFault(Vector.UD, `${name}: tiles are not configured (TILECFG palette 0)`);
  const p = paletteOf(env.cpu, t.palette);
  for (const r of regs) if (r >= p.maxNames) throw new CpuFault(Vector.UD, `${name}: tmm${r} is beyond the palette's max_names ${p.maxNames}`);
  return p;
}

/** Base of a sibmem/m512 operand without the index (base + displacement + FS/GS base). */
function memBegin(ins: Instruction, env: AmxEnv): bigint {
  let a = ins.memoryDisplacementU64;
  if (ins.isIpRelMemoryOperand) a = ins.ipRelMemoryAddress;
  else if (ins.memoryBase !== Register.None) a += env.getGpr(ins.memoryBase);
  if (ins.memorySegment === Register.FS || ins.memorySegment === Register.GS) a += env.segmentBase(ins.memorySegment);
  return a & MASK64;
}

/** The stride of a sibmem operand: index << scale, zero without an index register (SDM Vol. 2 TILELOADD "Description"). */
function stride(ins: Instruction, env: AmxEnv): bigint {
  if (ins.memoryIndex === Register.None) return 0n;
  return (env.getGpr(ins.memoryIndex) * BigInt(ins.memoryIndexScale)) & MASK64;
}

function checkCanonical(env: AmxEnv, name: string, addr: bigint, len: number): void {
  if (len === 0) return;
  const last = (addr + BigInt(len - 1)) & MASK64;
  if (!env.canonical(addr) || !env.canonical(last)) throw new CpuFault(Vector.GP, `${name}: 0x${addr.toString(16)} is not canonical`);
}

/** zero_upper_rows(t, from): rows from..max_rows-1 of tile t become zero. */
function zeroUpperRows(t: Tiles, p: Palette, tile: number, from: number): void {
  if (from >= p.maxRows) return;
  t.data.fill(0, tile * p.bytesPerTile + from * p.bytesPerRow, tile * p.bytesPerTile + p.maxRows * p.bytesPerRow);
}

/** write_row_and_zero(t, row, bytes, nbytes): the first nbytes of the row, the rest of bytes_per_row zero. */
function writeRowAndZero(t: Tiles, p: Palette, tile: number, row: number, bytes: Uint8Array, nbytes: number): void {
  const at = tile * p.bytesPerTile + row * p.bytesPerRow;
  t.data.set(bytes.subarray(0, nbytes), at);
  t.data.fill(0, at + nbytes, at + p.bytesPerRow);
}

function rowOf(t: Tiles, p: Palette, tile: number, row: number): Uint8Array {
  const at = tile * p.bytesPerTile + row * p.bytesPerRow;
  return t.data.subarray(at, at + p.bytesPerRow);
}

/** Returns false for an AMX instruction the model does not emulate (AMX-FP16, AMX-COMPLEX). */
export function executeAmx(ins: Instruction, env: AmxEnv): boolean {
  const name = Mnemonic[ins.mnemonic].toUpperCase();
  switch (ins.mnemonic) {
    case Mnemonic.Ldtilecfg: return ldtilecfg(ins, env, name);
    case Mnemonic.Sttilecfg: return sttilecfg(ins, env, name);
    case Mnemonic.Tilerelease: checkCommon(ins, env); initTiles(env.xs); return true;
    case Mnemonic.Tilezero: return tilezero(ins, env, name);
    case Mnemonic.Tileloadd: case Mnemonic.Tileloaddt1: return tileload(ins, env, name);
    case Mnemonic.Tilestored: return tilestore(ins, env, name);
    case Mnemonic.Tdpbssd: return dotInt8(ins, env, name, true, true);
    case Mnemonic.Tdpbsud: return dotInt8(ins, env, name, true, false);
    case Mnemonic.Tdpbusd: return dotInt8(ins, env, name, false, true);
    case Mnemonic.Tdpbuud: return dotInt8(ins, env, name, false, false);
    case Mnemonic.Tdpbf16ps: return dotBf16(ins, env, name);
    default: return false;
  }
}

/**
 * TILECFG and TILEDATA to their initial configuration, XINUSE[18:17] = 00b (TILERELEASE, LDTILECFG
 * with palette 0: SDM Vol. 2 "Operation": zero_all_tile_data(), tilecfg := 0, TILES_CONFIGURED := 0).
 */
export function initTiles(xs: XsaveContext): void {
  const regs = xs.regs;
  for (const c of [XFeature.TILECFG, XFeature.TILEDATA]) {
    if (!regs.isInitConfig(c)) regs.xmodified = (regs.xmodified | bit(c)) >>> 0;
    regs.initComponent(c);
  }
  regs.xinuse = (regs.xinuse & ~AMX_XCR0) >>> 0;
}

/**
 * LDTILECFG m512 (AMX-E1): #GP on a non-canonical address or an invalid configuration
 * (tilecfgInvalid, the one rule XRSTOR also applies). Palette 0 initializes TILECFG and TILEDATA;
 * any other loads TILECFG (start_row included) and zeroes every tile: the data is then in its
 * initial configuration and the model keeps XINUSE[18] = 0 (assumption: the SDM lets a processor
 * report 0 for a component in its initial configuration, 13.6).
 */
function ldtilecfg(ins: Instruction, env: AmxEnv, name: string): boolean {
  checkCommon(ins, env);
  const ea = memBegin(ins, env);
  checkCanonical(env, name, ea, TILECFG_BYTES);
  const mem = env.readMem(ea, TILECFG_BYTES);
  const bad = tilecfgInvalid(env.cpu, mem);
  if (bad !== undefined) throw new CpuFault(Vector.GP, `${name}: invalid tile configuration: ${bad}`);
  const xs = env.xs;
  initTiles(xs);
  if (mem[CFG_PALETTE] === 0) return true;
  xs.regs.comp[XFeature.TILECFG]!.set(mem);
  xs.regs.touched(XFeature.TILECFG, true);
  return true;
}

/** STTILECFG m512 (AMX-E2): the 64 TILECFG bytes, all zero while tiles are not configured. */
function sttilecfg(ins: Instruction, env: AmxEnv, name: string): boolean {
  checkCommon(ins, env);
  const ea = memBegin(ins, env);
  checkCanonical(env, name, ea, TILECFG_BYTES);
  const t = new Tiles(env.xs);
  env.writeMem(ea, t.palette === 0 ? new Uint8Array(TILECFG_BYTES) : t.cfg.slice());
  return true;
}

/** TILEZERO tmm (AMX-E5): every row of the tile zero, start_row reset. */
function tilezero(ins: Instruction, env: AmxEnv, name: string): boolean {
  checkCommon(ins, env);
  const t = new Tiles(env.xs);
  const dst = tmm(ins.opRegister(0));
  const p = configured(t, env, name, [dst]);
  zeroUpperRows(t, p, dst, 0);
  env.xs.regs.touched(XFeature.TILEDATA, true);
  t.startRow = 0;
  return true;
}

/**
 * TILELOADD/TILELOADDT1 tmm, sibmem (AMX-E3), SDM Vol. 2 "Operation": from start_row, row r from
 * membegin + r * stride (colsb bytes, the rest of the row zeroed); rows from start_row up are
 * zeroed first and rows past the tile's rows after; start_row reset to 0 at the end. A fault at
 * row r leaves start_row = r, so the restarted instruction continues there.
 */
function tileload(ins: Instruction, env: AmxEnv, name: string): boolean {
  checkCommon(ins, env);
  const t = new Tiles(env.xs);
  const dst = tmm(ins.opRegister(0));
  const p = configured(t, env, name, [dst]);
  const begin = memBegin(ins, env), step = stride(ins, env);
  const nbytes = t.colsb(dst), rows = t.rows(dst);
  let start = t.startRow;
  const regs = env.xs.regs;
  zeroUpperRows(t, p, dst, start);
  regs.touched(XFeature.TILEDATA, true);
  try {
    while (start < rows) {
      const at = (begin + BigInt(start) * step) & MASK64;
      checkCanonical(env, name, at, nbytes);
      writeRowAndZero(t, p, dst, start, env.readMem(at, nbytes), nbytes);
      start++;
    }
  } catch (e) {
    t.startRow = start;
    throw e;
  }
  zeroUpperRows(t, p, dst, rows);
  t.startRow = 0;
  return true;
}

/** TILESTORED sibmem, tmm (AMX-E3): rows start_row..rows-1, colsb bytes each; a fault leaves start_row at the row. */
function tilestore(ins: Instruction, env: AmxEnv, name: string): boolean {
  checkCommon(ins, env);
  const t = new Tiles(env.xs);
  const src = tmm(ins.opRegister(1));
  const p = configured(t, env, name, [src]);
  const begin = memBegin(ins, env), step = stride(ins, env);
  const nbytes = t.colsb(src), rows = t.rows(src);
  let start = t.startRow;
  try {
    while (start < rows) {
      const at = (begin + BigInt(start) * step) & MASK64;
      checkCanonical(env, name, at, nbytes);
      env.writeMem(at, rowOf(t, p, src, start).slice(0, nbytes));
      start++;
    }
  } catch (e) {
    t.startRow = start;
    throw e;
  }
  t.startRow = 0;
  return true;
}

/** Shape of a dot product: M rows, K dword columns of src1, N dword columns of the destination. */
interface DotShape { p: Palette; dst: number; a: number; b: number; m: number; k: number; n: number }

/**
 * The AMX-E4 checks (SDM Vol. 2 2.10): tiles configured and in the palette; srcdest, src1 and src2
 * all different; every colsb a multiple of 4; srcdest.colsb = src2.colsb (N), src1.colsb / 4 =
 * src2.rows (K), srcdest.rows = src1.rows (M); N and K within CPUID leaf 1EH's tmul_maxn/tmul_maxk.
 */
function dotShape(ins: Instruction, env: AmxEnv, t: Tiles, name: string): DotShape {
  const dst = tmm(ins.opRegister(0)), a = tmm(ins.opRegister(1)), b = tmm(ins.opRegister(2));
  const p = configured(t, env, name, [dst, a, b]);
  if (dst === a || dst === b || a === b) throw new CpuFault(Vector.UD, `${name}: tmm${dst}, tmm${a}, tmm${b} are not all different`);
  for (const r of [dst, a, b]) if (t.colsb(r) % 4 !== 0) throw new CpuFault(Vector.UD, `${name}: tmm${r}.colsb ${t.colsb(r)} is not a multiple of 4`);
  if (t.colsb(dst) !== t.colsb(b)) throw new CpuFault(Vector.UD, `${name}: srcdest.colsb ${t.colsb(dst)} != src2.colsb ${t.colsb(b)}`);
  if (t.colsb(a) / 4 !== t.rows(b)) throw new CpuFault(Vector.UD, `${name}: src1.colsb / 4 = ${t.colsb(a) / 4} != src2.rows ${t.rows(b)}`);
  if (t.rows(dst) !== t.rows(a)) throw new CpuFault(Vector.UD, `${name}: srcdest.rows ${t.rows(dst)} != src1.rows ${t.rows(a)}`);
  const lim = tmulLimits(env.cpu);
  if (t.colsb(dst) > lim.maxN) throw new CpuFault(Vector.UD, `${name}: srcdest.colsb ${t.colsb(dst)} > tmul_maxn ${lim.maxN}`);
  if (t.colsb(a) / 4 > lim.maxK) throw new CpuFault(Vector.UD, `${name}: src1.colsb / 4 = ${t.colsb(a) / 4} > tmul_maxk ${lim.maxK}`);
  return { p, dst, a, b, m: t.rows(dst), k: t.colsb(a) / 4, n: t.colsb(dst) / 4 };
}

/** The common tail: each computed row written with write_row_and_zero, rows past M zeroed, start_row reset. */
function finishDot(env: AmxEnv, t: Tiles, s: DotShape, out: Uint8Array[]): void {
  for (let r = 0; r < s.m; r++) writeRowAndZero(t, s.p, s.dst, r, out[r]!, s.n * 4);
  zeroUpperRows(t, s.p, s.dst, s.m);
  env.xs.regs.touched(XFeature.TILEDATA, true);
  t.startRow = 0;
}

/**
 * TDPBSSD/TDPBSUD/TDPBUSD/TDPBUUD (SDM Vol. 2 "Operation", DPBD): per row m, column n, for each
 * k the four byte products of src1.row[m].dword[k] and src2.row[k].dword[n] (signed or unsigned
 * by the mnemonic) added to the dword, wrapping modulo 2^32.
 */
function dotInt8(ins: Instruction, env: AmxEnv, name: string, aSigned: boolean, bSigned: boolean): boolean {
  checkCommon(ins, env);
  const t = new Tiles(env.xs);
  const s = dotShape(ins, env, t, name);
  const out: Uint8Array[] = [];
  for (let m = 0; m < s.m; m++) {
    const acc = rowOf(t, s.p, s.dst, m).slice();
    const accv = new DataView(acc.buffer);
    const arow = rowOf(t, s.p, s.a, m);
    for (let k = 0; k < s.k; k++) {
      const brow = rowOf(t, s.p, s.b, k);
      for (let n = 0; n < s.n; n++) {
        let c = accv.getUint32(4 * n, true);
        for (let j = 0; j < 4; j++) {
          const x = aSigned ? (arow[4 * k + j]! << 24) >> 24 : arow[4 * k + j]!;
          const y = bSigned ? (brow[4 * n + j]! << 24) >> 24 : brow[4 * n + j]!;
          c = (c + x * y) | 0;
        }
        accv.setUint32(4 * n, c >>> 0, true);
      }
    }
    out.push(acc);
  }
  finishDot(env, t, s, out);
  return true;
}

/**
 * TDPBF16PS (SDM Vol. 2 "Operation"): per row m, for each k and column n,
 * tmp.fp32[n] += make_fp32(src1.row[m].bf16[2k]) * make_fp32(src2.row[k].bf16[2n]), then the
 * same with the odd elements; each step an FP32 fused multiply-add with DAZ, FTZ and round to
 * nearest even, MXCSR neither consulted nor updated: the VDPBF16PS step of float-bf16.ts.
 */
function dotBf16(ins: Instruction, env: AmxEnv, name: string): boolean {
  checkCommon(ins, env);
  const t = new Tiles(env.xs);
  const s = dotShape(ins, env, t, name);
  const out: Uint8Array[] = [];
  const aw = new Uint8Array(s.n * 4), bw = new Uint8Array(s.n * 4);
  for (let m = 0; m < s.m; m++) {
    let acc: Uint8Array = rowOf(t, s.p, s.dst, m).slice(0, s.n * 4);
    const arow = rowOf(t, s.p, s.a, m);
    for (let k = 0; k < s.k; k++) {
      const brow = rowOf(t, s.p, s.b, k);
      for (const half of [0, 1]) {
        // make_fp32: the bfloat16 in the upper 16 bits of a dword; src1's element is the same for every n.
        aw.fill(0); bw.fill(0);
        for (let n = 0; n < s.n; n++) {
          aw[4 * n + 2] = arow[4 * k + 2 * half]!; aw[4 * n + 3] = arow[4 * k + 2 * half + 1]!;
          bw[4 * n + 2] = brow[4 * n + 2 * half]!; bw[4 * n + 3] = brow[4 * n + 2 * half + 1]!;
        }
        acc = bf16DotStep(acc, aw, bw, s.n);
      }
    }
    out.push(acc);
  }
  finishDot(env, t, s, out);
  return true;
}
