/**
 * AMX (emulator/amx.ts) against references written from the SDM's "Operation" formulas, on the
 * Sapphire Rapids profile: random configurations and tiles, every fault of the AMX exception
 * classes the model raises, the start_row restart after a page fault, XINUSE, XFD and XSAVE.
 * The instruction bytes are encoded here by hand from the opcode tables (SDM Vol. 2), so that the
 * decoder's reading of them is checked too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../bench/program-corpus.js';
import { hostCpuModel } from '../src/host/capture.js';
import { Code, Decoder, DecoderOptions, Mnemonic, Register, type Instruction } from '../emulator/iced.js';
import { resolveCpu } from '../emulator/profile.js';
import { CpuFault, Vector, XsaveContext, xsave } from '../emulator/xsave.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { executeAmx, paletteOf, type AmxEnv } from '../emulator/amx.js';
import { missingFeature, xcr0Needed } from '../emulator/machine-features.js';
import { Ownership, ownershipOf } from '../emulator/ownership.js';

const cpu = resolveCpu('intel-sapphire-rapids');
const PAGE = 0x1000n;
const T17 = bit(XFeature.TILECFG), T18 = bit(XFeature.TILEDATA);

/** A deterministic generator (xorshift32) so that a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

class MemFault extends Error { constructor(readonly addr: bigint) { super(`fault at 0x${addr.toString(16)}`); } }

/** Guest memory of 4 KiB pages; an access to an absent page throws MemFault (a #PF). */
class Memory {
  readonly pages = new Map<bigint, Uint8Array>();
  map(addr: bigint, len: number): void {
    for (let p = addr & ~(PAGE - 1n); p < addr + BigInt(len); p += PAGE) if (!this.pages.has(p)) this.pages.set(p, new Uint8Array(Number(PAGE)));
  }
  unmap(page: bigint): void { this.pages.delete(page); }
  read(addr: bigint, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const a = addr + BigInt(i), pg = this.pages.get(a & ~(PAGE - 1n));
      if (!pg) throw new MemFault(a);
      out[i] = pg[Number(a & (PAGE - 1n))]!;
    }
    return out;
  }
  write(addr: bigint, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const a = addr + BigInt(i), pg = this.pages.get(a & ~(PAGE - 1n));
      if (!pg) throw new MemFault(a);
      pg[Number(a & (PAGE - 1n))] = data[i]!;
    }
  }
}

/** GPR numbers in the ModRM/SIB encoding. */
const RAX = 0, RCX = 1;
const GPR_OF: Record<number, number> = { [Register.RAX]: RAX, [Register.RCX]: RCX };

class Cpu {
  readonly xs = new XsaveContext(cpu);
  readonly mem = new Memory();
  readonly gpr = [0n, 0n];
  readonly env: AmxEnv;
  constructor() {
    // Linux's XCR0 on Sapphire Rapids: x87, SSE, AVX, AVX-512, PKRU, TILECFG, TILEDATA (no XFD armed here).
    this.xs.xcr0 = 0x602e7;
    const self = this;
    this.env = {
      cpu, xs: this.xs,
      getGpr: (r) => self.gpr[GPR_OF[r]!]!,
      segmentBase: () => 0n,
      readMem: (a, n) => self.mem.read(a, n),
      writeMem: (a, d) => self.mem.write(a, d),
      canonical: (a) => { const top = a >> 47n; return top === 0n || top === (1n << 17n) - 1n; },
    };
  }
  run(bytes: number[]): void {
    const ins = decode(bytes);
    expect(executeAmx(ins, this.env)).toBe(true);
  }
  fault(bytes: number[]): CpuFault | MemFault {
    try { this.run(bytes); } catch (e) { if (e instanceof CpuFault || e instanceof MemFault) return e; throw e; }
    throw new Error(`no fault: ${bytes.map((b) => b.toString(16)).join(' ')}`);
  }
  get cfg(): Uint8Array { return this.xs.regs.comp[XFeature.TILECFG]!; }
  get data(): Uint8Array { return this.xs.regs.comp[XFeature.TILEDATA]!; }
}

function decode(bytes: number[]): Instruction {
  const d = new Decoder(64, new Uint8Array(bytes), DecoderOptions.None);
  const ins = d.decode();
  d.free();
  return ins;
}

/** VEX.128.pp.0F38.W0 (SDM Vol. 2A 2.3.5): C4, RXB + map 0F38, W vvvv L pp. */
enum PP { NP = 0, P66 = 1, F3 = 2, F2 = 3 }
function vex(pp: PP, op: number, modrm: number, sib?: number, vvvv = 0): number[] {
  return [0xc4, 0xe2, ((~vvvv & 15) << 3) | pp, op, modrm, ...(sib === undefined ? [] : [sib])];
}
const LOCK = 0xf0;
const ldtilecfg = (): number[] => vex(PP.NP, 0x49, 0x00 /* (%rax) */);
const sttilecfg = (): number[] => vex(PP.P66, 0x49, 0x00);
const tilerelease = (): number[] => vex(PP.NP, 0x49, 0xc0);
const tilezero = (t: number): number[] => vex(PP.F2, 0x49, 0xc0 | (t << 3));
/** sibmem (%rax,%rcx,1): ModRM mod 00 rm 100, SIB scale 0 index rcx base rax. */
const SIB_RAX_RCX = (RCX << 3) | RAX;
const tileloadd = (t: number): number[] => vex(PP.F2, 0x4b, 0x04 | (t << 3), SIB_RAX_RCX);
const tileloaddt1 = (t: number): number[] => vex(PP.P66, 0x4b, 0x04 | (t << 3), SIB_RAX_RCX);
const tilestored = (t: number): number[] => vex(PP.F3, 0x4b, 0x04 | (t << 3), SIB_RAX_RCX);
/** TDP* tmm1 (ModRM.reg), tmm2 (ModRM.rm), tmm3 (VEX.vvvv). */
const tdp = (pp: PP, op: number) => (d: number, a: number, b: number): number[] => vex(pp, op, 0xc0 | (d << 3) | a, undefined, b);
const INT8 = [
  { m: Mnemonic.Tdpbssd, enc: tdp(PP.F2, 0x5e), as: true, bs: true },
  { m: Mnemonic.Tdpbsud, enc: tdp(PP.F3, 0x5e), as: true, bs: false },
  { m: Mnemonic.Tdpbusd, enc: tdp(PP.P66, 0x5e), as: false, bs: true },
  { m: Mnemonic.Tdpbuud, enc: tdp(PP.NP, 0x5e), as: false, bs: false },
];
const tdpbf16ps = tdp(PP.F3, 0x5c);

interface Shape { rows: number; colsb: number }
/** A 64-byte configuration (SDM Vol. 2A LDTILECFG layout). */
function config(tiles: (Shape | undefined)[], palette = 1, startRow = 0): Uint8Array {
  const c = new Uint8Array(64);
  c[0] = palette; c[1] = startRow;
  tiles.forEach((t, i) => { if (!t) return; c[16 + 2 * i] = t.colsb & 0xff; c[17 + 2 * i] = t.colsb >> 8; c[48 + i] = t.rows; });
  return c;
}

const CFG_AT = 0x10000n, TILE_AT = 0x20000n, OUT_AT = 0x40000n;

function loadConfig(c: Cpu, cfg: Uint8Array): void {
  c.mem.map(CFG_AT, 64);
  c.mem.write(CFG_AT, cfg);
  c.gpr[RAX] = CFG_AT;
  c.run(ldtilecfg());
}

/** Put rows x colsb bytes at TILE_AT with `stride` and TILELOADD them into tile t. */
function loadTile(c: Cpu, t: number, rows: Uint8Array[], stride: number): void {
  c.mem.map(TILE_AT, rows.length * stride + 64);
  rows.forEach((r, i) => c.mem.write(TILE_AT + BigInt(i * stride), r));
  c.gpr[RAX] = TILE_AT; c.gpr[RCX] = BigInt(stride);
  c.run(tileloadd(t));
}

function randomRows(r: () => number, rows: number, colsb: number): Uint8Array[] {
  return Array.from({ length: rows }, () => Uint8Array.from({ length: colsb }, () => r() & 0xff));
}

/** Tile t's row as the register file holds it (palette 1: 1 KiB a tile, 64 bytes a row). */
function tileRow(c: Cpu, t: number, row: number): Uint8Array {
  const p = paletteOf(cpu, 1);
  return c.data.slice(t * p.bytesPerTile + row * p.bytesPerRow, t * p.bytesPerTile + (row + 1) * p.bytesPerRow);
}

/** Every byte of tile t outside rows x colsb is zero (write_row_and_zero, zero_upper_rows). */
function expectZeroOutside(c: Cpu, t: number, rows: number, colsb: number): void {
  for (let row = 0; row < 16; row++) {
    const r = tileRow(c, t, row);
    expect(r.subarray(row < rows ? colsb : 0).every((b) => b === 0), `tile ${t} row ${row} past ${rows}x${colsb}`).toBe(true);
  }
}

const u32 = (b: Uint8Array, i: number): number => (b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0;

/** SDM DPBD, written plainly: c + the four byte products, modulo 2^32. */
function referenceInt8(c: Uint8Array[], a: Uint8Array[], b: Uint8Array[], M: number, K: number, N: number, as: boolean, bs: boolean): number[][] {
  const ext = (v: number, s: boolean): number => (s && v >= 128 ? v - 256 : v);
  const out: number[][] = [];
  for (let m = 0; m < M; m++) {
    const row: number[] = [];
    for (let n = 0; n < N; n++) {
      let acc = BigInt(u32(c[m]!, n));
      for (let k = 0; k < K; k++) for (let j = 0; j < 4; j++) acc += BigInt(ext(a[m]![4 * k + j]!, as) * ext(b[k]![4 * n + j]!, bs));
      row.push(Number(BigInt.asUintN(32, acc)));
    }
    out.push(row);
  }
  return out;
}

/* ------------------------------------------------ an exact fp32 FMA with DAZ, FTZ and RNE (reference) */

/** Scale of the exact fixed-point values: below every product of two fp32 normals (2^-126 * 2^-126 * 2^-46). */
const SCALE = 320n;
/** How often the reference applied DAZ to an input and FTZ to a result (the test asserts both happened). */
const seen = { daz: 0, ftz: 0 };
/** An fp32 bit pattern as exact sign * mantissa * 2^(exp - SCALE), DAZ applied; undefined for Inf/NaN. */
function exact(x: number): bigint | undefined {
  const e = (x >>> 23) & 0xff, f = BigInt(x & 0x7fffff), neg = x >>> 31 === 1;
  if (e === 0xff) return undefined;
  if (e === 0) { if (f !== 0n) seen.daz++; return 0n; } // DAZ: a denormal input is zero
  const v = (f | 0x800000n) << BigInt(e - 150 + Number(SCALE));
  return neg ? -v : v;
}
/** Round an exact value (times 2^-SCALE) to fp32: nearest even; a result below the normal range flushed to zero (FTZ). */
function toFp32(v: bigint, zeroSign: number): number {
  if (v === 0n) return zeroSign;
  const neg = v < 0n, a = neg ? -v : v;
  const bits = a.toString(2).length;
  let e = bits - 1 - Number(SCALE); // a = 1.xxx * 2^e
  let shift = bits - 24;
  let m = shift > 0 ? a >> BigInt(shift) : a << BigInt(-shift);
  if (shift > 0) {
    const rem = a & ((1n << BigInt(shift)) - 1n), half = 1n << BigInt(shift - 1);
    if (rem > half || (rem === half && (m & 1n) === 1n)) { m++; if (m === 1n << 24n) { m >>= 1n; e++; } }
  }
  const sign = neg ? 0x80000000 : 0;
  if (e > 127) return (sign | 0x7f800000) >>> 0;
  if (e < -126) { seen.ftz++; return sign >>> 0; } // FTZ (the rounded result is tiny)
  return (sign | ((e + 127) << 23) | Number(m & 0x7fffffn)) >>> 0;
}
/** acc + x * y with one rounding; the sign of an exact zero as IEEE 754 gives it under RNE. */
function fmaRef(acc: number, x: number, y: number): number {
  const a = exact(acc), p1 = exact(x), p2 = exact(y);
  if (a === undefined || p1 === undefined || p2 === undefined) throw new Error('finite inputs only');
  const prod = (p1 * p2) >> SCALE;
  const prodNeg = (x >>> 31) !== (y >>> 31);
  const accNeg = (acc >>> 31) === 1;
  const sum = a + prod;
  // Exact zero: -0 only when both addends are (signed) zero and negative; else +0 under RNE.
  const zero = a === 0n && prod === 0n && accNeg && prodNeg ? 0x80000000 : 0;
  return toFp32(sum, zero);
}
const bf16ToFp32 = (h: number): number => (h << 16) >>> 0;

/** Random bf16 values: normals over a wide exponent range, some zeros and denormals. */
function randomBf16(r: () => number): number {
  const k = r() % 16;
  if (k === 0) return (r() & 1) << 15;
  if (k === 1) return ((r() & 1) << 15) | (1 + (r() % 127));
  // Exponents whose products stay finite; one in eight tiny enough that a product underflows (FTZ).
  const exp = r() % 8 === 0 ? 1 + (r() % 40) : 90 + (r() % 70);
  return ((r() & 1) << 15) | (exp << 7) | (r() & 0x7f);
}

describe('AMX tile dot products (emulator/amx.ts) against the SDM formulas', () => {
  it('TDPBSSD/TDPBSUD/TDPBUSD/TDPBUUD: random shapes, tiles and strides', () => {
    const r = rng(0xa3c5);
    let cases = 0;
    for (let round = 0; round < 40; round++) {
      const M = 1 + (r() % 16), K = 1 + (r() % 16), N = 1 + (r() % 16);
      for (const op of INT8) {
        const c = new Cpu();
        // tmm0 = C (M x 4N), tmm1 = A (M x 4K), tmm2 = B (K x 4N); a random spare tile too.
        loadConfig(c, config([{ rows: M, colsb: 4 * N }, { rows: M, colsb: 4 * K }, { rows: K, colsb: 4 * N }, { rows: 3, colsb: 8 }]));
        const C = randomRows(r, M, 4 * N), A = randomRows(r, M, 4 * K), B = randomRows(r, K, 4 * N);
        loadTile(c, 0, C, 64 + (r() % 64));
        loadTile(c, 1, A, 4 * K + (r() % 100));
        loadTile(c, 2, B, 4 * N);
        expect(decode(op.enc(0, 1, 2)).mnemonic).toBe(op.m);
        c.run(op.enc(0, 1, 2));
        const want = referenceInt8(C, A, B, M, K, N, op.as, op.bs);
        for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) expect(u32(tileRow(c, 0, m), n), `${Mnemonic[op.m]} ${M}x${K}x${N} [${m}][${n}]`).toBe(want[m]![n]);
        expectZeroOutside(c, 0, M, 4 * N);
        // TILESTORED writes back exactly rows x colsb at the stride.
        c.mem.map(OUT_AT, 16 * 128);
        c.gpr[RAX] = OUT_AT; c.gpr[RCX] = 128n;
        c.run(tilestored(0));
        for (let m = 0; m < M; m++) expect([...c.mem.read(OUT_AT + BigInt(128 * m), 4 * N)]).toEqual([...tileRow(c, 0, m).subarray(0, 4 * N)]);
        expect(c.mem.read(OUT_AT + BigInt(4 * N), 128 - 4 * N).every((b) => b === 0)).toBe(true);
        cases++;
      }
    }
    expect(cases).toBe(160);
  });

  it('TDPBF16PS: random bfloat16 tiles; each step an exact FMA rounded once (RNE, DAZ, FTZ); MXCSR untouched', () => {
    const r = rng(0x5eed);
    let elements = 0;
    for (let round = 0; round < 30; round++) {
      const M = 1 + (r() % 16), K = 1 + (r() % 16), N = 1 + (r() % 16);
      const c = new Cpu();
      const mxcsr = c.xs.regs.mxcsr;
      loadConfig(c, config([{ rows: M, colsb: 4 * N }, undefined, undefined, { rows: M, colsb: 4 * K }, { rows: K, colsb: 4 * N }]));
      const bfRows = (rows: number, pairs: number): Uint8Array[] => Array.from({ length: rows }, () => {
        const b = new Uint8Array(4 * pairs);
        for (let i = 0; i < 2 * pairs; i++) { const h = randomBf16(r); b[2 * i] = h & 0xff; b[2 * i + 1] = h >> 8; }
        return b;
      });
      // The accumulator: fp32 values, some denormal (DAZ reads them as zero).
      const C = Array.from({ length: M }, () => {
        const b = new Uint8Array(4 * N), v = new DataView(b.buffer);
        for (let n = 0; n < N; n++) v.setUint32(4 * n, r() % 8 === 0 ? r() & 0x807fffff : ((r() & 0x80000000) | ((40 + (r() % 170)) << 23) | (r() & 0x7fffff)) >>> 0, true);
        return b;
      });
      const A = bfRows(M, K), B = bfRows(K, N);
      loadTile(c, 0, C, 4 * N); loadTile(c, 3, A, 4 * K); loadTile(c, 4, B, 4 * N);
      c.run(tdpbf16ps(0, 3, 4));
      const h = (row: Uint8Array, i: number): number => row[2 * i]! | (row[2 * i + 1]! << 8);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let acc = u32(C[m]!, n);
        for (let k = 0; k < K; k++) {
          acc = fmaRef(acc, bf16ToFp32(h(A[m]!, 2 * k)), bf16ToFp32(h(B[k]!, 2 * n)));
          acc = fmaRef(acc, bf16ToFp32(h(A[m]!, 2 * k + 1)), bf16ToFp32(h(B[k]!, 2 * n + 1)));
        }
        expect(u32(tileRow(c, 0, m), n).toString(16), `${M}x${K}x${N} [${m}][${n}]`).toBe(acc.toString(16));
        elements++;
      }
      expectZeroOutside(c, 0, M, 4 * N);
      expect(c.xs.regs.mxcsr).toBe(mxcsr);
    }
    expect(elements).toBeGreaterThan(500);
    expect(seen.daz, 'denormal inputs').toBeGreaterThan(0);
    expect(seen.ftz, 'tiny results').toBeGreaterThan(0);
  });
});

describe('AMX decoding and ownership', () => {
  it('every AMX form here decodes to its mnemonic, is owned by the model (the trap gate) and needs XCR0[18:17]', () => {
    const forms: [number[], Mnemonic][] = [
      [ldtilecfg(), Mnemonic.Ldtilecfg], [sttilecfg(), Mnemonic.Sttilecfg], [tilerelease(), Mnemonic.Tilerelease],
      [tilezero(3), Mnemonic.Tilezero], [tileloadd(5), Mnemonic.Tileloadd], [tileloaddt1(6), Mnemonic.Tileloaddt1],
      [tilestored(7), Mnemonic.Tilestored], ...INT8.map((o): [number[], Mnemonic] => [o.enc(0, 1, 2), o.m]), [tdpbf16ps(5, 6, 7), Mnemonic.Tdpbf16ps],
    ];
    for (const [b, m] of forms) {
      const ins = decode(b);
      expect(ins.mnemonic, Mnemonic[m]).toBe(m);
      expect(ownershipOf(ins), Mnemonic[m]).toBe(Ownership.Model);
      expect(xcr0Needed(ins)).toBe(T17 | T18);
    }
  });
});

describe('AMX faults (SDM Vol. 2 2.10, AMX-E1..E6)', () => {
  const ok = config([{ rows: 2, colsb: 8 }, { rows: 2, colsb: 8 }, { rows: 2, colsb: 8 }]);
  const expectFault = (f: CpuFault | MemFault, v: Vector, re: RegExp): void => {
    expect(f).toBeInstanceOf(CpuFault);
    expect((f as CpuFault).vector).toBe(v);
    expect((f as CpuFault).reason).toMatch(re);
  };

  it('#GP: every invalid configuration LDTILECFG rejects leaves the tile state as it was', () => {
    const bad: [string, Uint8Array][] = [
      ['palette 2', config([{ rows: 1, colsb: 4 }], 2)],
      ['reserved byte', (() => { const x = config([{ rows: 1, colsb: 4 }]); x[7] = 1; return x; })()],
      ['rows > 16', config([{ rows: 17, colsb: 4 }])],
      ['colsb > 64', config([{ rows: 1, colsb: 65 }])],
      ['tile 8 configured', config([undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, { rows: 1, colsb: 4 }])],
      ['rows without colsb', config([{ rows: 1, colsb: 0 }])],
      ['palette 0 with fields', config([{ rows: 1, colsb: 4 }], 0)],
      ['start_row >= max_rows', config([{ rows: 1, colsb: 4 }], 1, 16)],
    ];
    for (const [what, cfg] of bad) {
      const c = new Cpu();
      loadConfig(c, ok);
      loadTile(c, 0, randomRows(rng(1), 2, 8), 8);
      const before = [c.cfg.slice(), c.data.slice(), c.xs.regs.xinuse];
      c.mem.write(CFG_AT, cfg);
      c.gpr[RAX] = CFG_AT;
      expectFault(c.fault(ldtilecfg()), Vector.GP, /invalid tile configuration/);
      expect([c.cfg.slice(), c.data.slice(), c.xs.regs.xinuse], what).toEqual(before);
    }
  });

  it('#GP on a non-canonical address; #PF (the memory fault) on an unmapped one', () => {
    const c = new Cpu();
    c.gpr[RAX] = 0x0000_8000_0000_0000n;
    expectFault(c.fault(ldtilecfg()), Vector.GP, /not canonical/);
    c.gpr[RAX] = 0x5000n;
    expect(c.fault(ldtilecfg())).toBeInstanceOf(MemFault);
    loadConfig(c, ok);
    c.gpr[RAX] = 0x7fff_ffff_fffcn; c.gpr[RCX] = 8n; // row 0 (8 bytes) crosses the canonical boundary
    expectFault(c.fault(tileloadd(0)), Vector.GP, /not canonical/);
  });

  it('#UD: tiles not configured; registers not all different; shapes that do not match', () => {
    const c = new Cpu();
    for (const b of [tilezero(0), tileloadd(0), tilestored(0), INT8[0]!.enc(0, 1, 2), tdpbf16ps(0, 1, 2)]) expectFault(c.fault(b), Vector.UD, /not configured/);
    loadConfig(c, ok);
    // Registers not all different, TMM8-15 (VEX.R = 0) and a TILELOADD without SIB are no instruction
    // (the decoder's INVALID: the machine raises #UD for it, Machine.onInvalid); amx.ts checks the first too.
    for (const [d, a, b] of [[0, 0, 1], [0, 1, 0], [1, 0, 0], [2, 2, 2]]) {
      for (const op of [...INT8.map((o) => o.enc), tdpbf16ps]) expect(decode(op(d!, a!, b!)).code).toBe(Code.INVALID);
    }
    expect(decode([0xc4, 0x62, 0x7b, 0x49, 0xc0]).code).toBe(Code.INVALID); // TILEZERO tmm8
    expect(decode([0xc4, 0xe2, 0x7b, 0x4b, 0x00]).code).toBe(Code.INVALID); // TILELOADD tmm0, (%rax): no SIB
    const shapes: [string, (Shape | undefined)[], RegExp][] = [
      ['srcdest.colsb != src2.colsb', [{ rows: 2, colsb: 8 }, { rows: 2, colsb: 8 }, { rows: 2, colsb: 12 }], /srcdest.colsb 8 != src2.colsb 12/],
      ['src1.colsb/4 != src2.rows', [{ rows: 2, colsb: 8 }, { rows: 2, colsb: 12 }, { rows: 2, colsb: 8 }], /src1.colsb \/ 4 = 3 != src2.rows 2/],
      ['srcdest.rows != src1.rows', [{ rows: 3, colsb: 8 }, { rows: 2, colsb: 8 }, { rows: 2, colsb: 8 }], /srcdest.rows 3 != src1.rows 2/],
      ['colsb not a multiple of 4', [{ rows: 2, colsb: 6 }, { rows: 2, colsb: 8 }, { rows: 2, colsb: 6 }], /not a multiple of 4/],
    ];
    for (const [what, s, re] of shapes) {
      loadConfig(c, config(s));
      for (const op of [...INT8.map((o) => o.enc), tdpbf16ps]) expectFault(c.fault(op(0, 1, 2)), Vector.UD, re);
      void what;
    }
  });

  it('#UD without XCR0[18:17], outside 64-bit mode, with CR4.OSXSAVE = 0, with a LOCK prefix; AMX-FP16/AMX-COMPLEX are missing features on every profile that lacks them', () => {
    const c = new Cpu();
    c.xs.xcr0 = 0x2e7;
    expectFault(c.fault(ldtilecfg()), Vector.UD, /XCR0\[18:17\]/);
    c.xs.xcr0 = 0x602e7;
    c.xs.mode64 = false;
    expectFault(c.fault(tilerelease()), Vector.UD, /outside 64-bit mode/);
    c.xs.mode64 = true;
    c.xs.cr4Osxsave = false;
    expectFault(c.fault(tilerelease()), Vector.UD, /CR4.OSXSAVE = 0/);
    c.xs.cr4Osxsave = true;
    expect(decode([LOCK, ...tilerelease()]).mnemonic).not.toBe(Mnemonic.Tilerelease); // a LOCK before VEX: no instruction (#UD)
    // TDPFP16PS (VEX.128.F2.0F38.W0 5C), TCMMRLFP16PS (VEX.128.66.0F38.W0 6C): CPUID.(7,1):EAX[21], EDX[8] are 0 on Sapphire Rapids.
    expect(missingFeature(cpu, decode(tdp(PP.F2, 0x5c)(0, 1, 2)))).toBe('AMX_FP16');
    expect(missingFeature(cpu, decode(tdp(PP.P66, 0x6c)(0, 1, 2)))).toBe('AMX_COMPLEX');
    expect(missingFeature(cpu, decode(INT8[0]!.enc(0, 1, 2)))).toBeUndefined();
    expect(missingFeature(resolveCpu('intel-skylake-sp'), decode(ldtilecfg()))).toBe('AMX_TILE');
  });

  it('#NM while IA32_XFD[18] is armed (IA32_XFD_ERR records it), for every AMX instruction but TILERELEASE', () => {
    const c = new Cpu();
    loadConfig(c, ok);
    c.xs.xfd = T18;
    for (const b of [ldtilecfg(), sttilecfg(), tilezero(0), tileloadd(0), tileloaddt1(0), tilestored(0), INT8[1]!.enc(0, 1, 2), tdpbf16ps(0, 1, 2)]) {
      c.xs.xfdErr = 0;
      expectFault(c.fault(b), Vector.NM, /XFD/);
      expect(c.xs.xfdErr).toBe(T18);
    }
    c.xs.xfdErr = 0;
    c.run(tilerelease());
    expect(c.xs.xfdErr).toBe(0);
    expect(c.cfg.every((b) => b === 0)).toBe(true);
  });
});

describe('AMX state: start_row, XINUSE, STTILECFG, XSAVE', () => {
  it('TILELOADD and TILESTORED restart at TILECFG.start_row after a page fault', () => {
    for (const store of [false, true]) {
      const c = new Cpu();
      loadConfig(c, config([{ rows: 16, colsb: 64 }]));
      const rows = randomRows(rng(7), 16, 64);
      const stride = 512, base = 0x30000n; // rows 8..15 on the second page
      c.mem.map(base, 16 * stride);
      rows.forEach((r, i) => c.mem.write(base + BigInt(i * stride), r));
      if (store) { c.gpr[RAX] = base; c.gpr[RCX] = BigInt(stride); c.run(tileloadd(0)); }
      c.mem.unmap(base + PAGE);
      c.gpr[RAX] = base; c.gpr[RCX] = BigInt(stride);
      expect(c.fault(store ? tilestored(0) : tileloadd(0))).toBeInstanceOf(MemFault);
      expect(c.cfg[1], 'start_row = the faulting row').toBe(8);
      expect(c.xs.regs.xinuse & T17).toBe(T17);
      if (!store) for (let i = 0; i < 8; i++) expect([...tileRow(c, 0, i)]).toEqual([...rows[i]!]);
      // The OS maps the page (as a fault handler would) and the instruction runs again from row 8.
      c.mem.map(base + PAGE, 1);
      if (!store) for (let i = 8; i < 16; i++) c.mem.write(base + BigInt(i * stride), rows[i]!);
      c.run(store ? tilestored(0) : tileloadd(0));
      expect(c.cfg[1]).toBe(0);
      for (let i = 0; i < 16; i++) expect([...(store ? c.mem.read(base + BigInt(i * stride), 64) : tileRow(c, 0, i))], `row ${i}`).toEqual([...rows[i]!]);
    }
  });

  it('XINUSE: LDTILECFG sets bit 17, a tile write bit 18; TILERELEASE and LDTILECFG palette 0 clear both', () => {
    const c = new Cpu();
    expect(c.xs.regs.xinuse & (T17 | T18)).toBe(0);
    loadConfig(c, config([{ rows: 2, colsb: 8 }]));
    expect(c.xs.regs.xinuse & (T17 | T18)).toBe(T17);
    loadTile(c, 0, randomRows(rng(3), 2, 8), 8);
    expect(c.xs.regs.xinuse & (T17 | T18)).toBe(T17 | T18);
    c.run(tilerelease());
    expect(c.xs.regs.xinuse & (T17 | T18)).toBe(0);
    expect(c.data.every((b) => b === 0) && c.cfg.every((b) => b === 0)).toBe(true);
    loadConfig(c, config([{ rows: 2, colsb: 8 }]));
    c.run(tilezero(0));
    expect(c.xs.regs.xinuse & T18).toBe(T18);
    loadConfig(c, new Uint8Array(64));
    expect(c.xs.regs.xinuse & (T17 | T18)).toBe(0);
    // STTILECFG of the initial state stores 64 zero bytes; of a configuration, the bytes loaded.
    c.mem.map(OUT_AT, 64);
    c.mem.write(OUT_AT, new Uint8Array(64).fill(0xee));
    c.gpr[RAX] = OUT_AT;
    c.run(sttilecfg());
    expect(c.mem.read(OUT_AT, 64).every((b) => b === 0)).toBe(true);
    const cfg = config([{ rows: 5, colsb: 12 }, { rows: 16, colsb: 64 }]);
    loadConfig(c, cfg);
    c.gpr[RAX] = OUT_AT;
    c.run(sttilecfg());
    expect([...c.mem.read(OUT_AT, 64)]).toEqual([...cfg]);
  });

  it('LDTILECFG + TILELOADD, then XSAVE: the area holds the configuration and the tile bytes, XSTATE_BV[18:17] set', () => {
    const c = new Cpu();
    const cfg = config([undefined, { rows: 3, colsb: 20 }]);
    loadConfig(c, cfg);
    const rows = randomRows(rng(11), 3, 20);
    c.mem.map(TILE_AT, 0x100);
    rows.forEach((r, i) => c.mem.write(TILE_AT + BigInt(32 * i), r));
    c.gpr[RAX] = TILE_AT; c.gpr[RCX] = 32n;
    c.run(tileloaddt1(1));
    const size = cpu.cpuid.get(0xd, 0)[1];
    const area = new Uint8Array(size);
    xsave(c.xs, area, 0, 0xffffffff, 0xffffffff);
    const xstateBv = new DataView(area.buffer).getUint32(512, true);
    expect(xstateBv & (T17 | T18)).toBe(T17 | T18);
    const cfgOff = cpu.components[XFeature.TILECFG]!.standardOffset, dataOff = cpu.components[XFeature.TILEDATA]!.standardOffset;
    expect([...area.subarray(cfgOff, cfgOff + 64)]).toEqual([...cfg]);
    for (let i = 0; i < 3; i++) {
      const at = dataOff + 1024 + 64 * i;
      expect([...area.subarray(at, at + 20)]).toEqual([...rows[i]!]);
      expect(area.subarray(at + 20, at + 64).every((b) => b === 0)).toBe(true);
    }
  });
});

/* ------------------------------------------------ a musl-static AMX guest under `exec` */

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/src/cli.js');

/** The guest's generator (test/guests-amx/amx-dot.c next()): an LCG, its top 24 bits. */
function guestLcg(): () => number {
  let s = 12345;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s >>> 8; };
}

/** The guest's printed results, computed here from the SDM formulas with the same inputs. */
function guestReference(): string[] {
  const next = guestLcg();
  const bytes = (rows: number, cols: number): Uint8Array[] => Array.from({ length: rows }, () => Uint8Array.from({ length: cols }, () => next() & 0xff));
  const dwords = (f: () => number): Uint8Array[] => Array.from({ length: 16 }, () => {
    const b = new Uint8Array(64), v = new DataView(b.buffer);
    for (let j = 0; j < 16; j++) v.setUint32(4 * j, f() >>> 0, true);
    return b;
  });
  const a8 = bytes(16, 64), b8 = bytes(16, 64), c8 = dwords(next);
  const bf16 = (): number => {
    const r = next(), sign = r & 1, kind = (r >>> 1) % 16;
    if (kind === 0) return sign << 15;
    const exp = kind === 1 ? 1 + ((r >>> 5) % 40) : 90 + ((r >>> 5) % 70);
    return (sign << 15) | (exp << 7) | ((r >>> 12) & 0x7f);
  };
  const words = (): number[][] => Array.from({ length: 16 }, () => Array.from({ length: 32 }, bf16));
  const a16 = words(), b16 = words();
  const c32 = dwords(() => { const s = next() & 1, e = 60 + (next() % 130), m = next() & 0x7fffff; return ((s << 31) | (e << 23) | m) >>> 0; });
  // si_code ILL_ILLOPC (1): Linux's handle_xfd_event without permission (arch/x86/kernel/traps.c).
  const lines: string[] = ['before permission: SIGILL si_code 1', 'ARCH_REQ_XCOMP_PERM: 0', 'xinuse after loads: 3'];
  const hex = (v: number): string => v.toString(16).padStart(8, '0');
  for (const [k, op] of INT8.entries()) {
    const r = referenceInt8(c8, a8, b8, 16, 16, 16, op.as, op.bs);
    r.forEach((row, i) => lines.push(`${['tdpbssd', 'tdpbsud', 'tdpbusd', 'tdpbuud'][k]} ${i}: ${row.map(hex).join(' ')}`));
  }
  for (let m = 0; m < 16; m++) {
    const row: string[] = [];
    for (let n = 0; n < 16; n++) {
      let acc = u32(c32[m]!, n);
      for (let k = 0; k < 16; k++) {
        acc = fmaRef(acc, bf16ToFp32(a16[m]![2 * k]!), bf16ToFp32(b16[k]![2 * n]!));
        acc = fmaRef(acc, bf16ToFp32(a16[m]![2 * k + 1]!), bf16ToFp32(b16[k]![2 * n + 1]!));
      }
      row.push(hex(acc));
    }
    lines.push(`tdpbf16ps ${m}: ${row.join(' ')}`);
  }
  // Rows 8..15 (stride 512) are on the second page: the fault is at row 8 (SDM TILELOADD: start_row records it).
  lines.push('page fault: 1 SIGSEGV, start_row in the frame 8, rows loaded, start_row after 0');
  lines.push('thread tiles: kept, main tiles: kept', 'xinuse after release: 0');
  return lines;
}

describe('a musl-gcc -static AMX guest (test/guests-amx/amx-dot.c) under exec --cpu intel-sapphire-rapids', () => {
  it('SIGILL before ARCH_REQ_XCOMP_PERM, then every dot product as the SDM formulas give it, tiles kept per thread; natively too where the host has AMX', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-amx-'));
    const exe = join(tmp, 'amx-dot');
    const cc = await runProcess('musl-gcc', ['-static', '-O2', '-mamx-tile', '-mamx-int8', '-mamx-bf16', '-mxsave', '-o', exe, join(ROOT, 'test/guests-amx/amx-dot.c'), '-lpthread'], 120_000);
    expect(cc.status, cc.stderr).toBe(0);
    const want = guestReference();
    const g = await runProcess(process.execPath, [CLI, 'exec', '--cpu', 'intel-sapphire-rapids', exe], 300_000);
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    const got = g.stdout.trimEnd().split('\n');
    expect(got.length).toBe(want.length);
    for (const [i, line] of want.entries()) expect(got[i], `line ${i + 1}`).toBe(line);
    // Without AMX in the CPU (Skylake-SP): the first tile instruction is #UD, SIGILL as well.
    const skx = await runProcess(process.execPath, [CLI, 'exec', '--cpu', 'intel-skylake-sp', exe], 300_000);
    // (ILL_ILLOPN, 2: Linux's #UD handler, do_error_trap in exc_invalid_op, not the XFD path.)
    expect(skx.stdout.split('\n')[0]).toBe('before permission: SIGILL si_code 2');
    if (hostCpuModel().features.amxTile) {
      const n = await runProcess(exe, [], 60_000);
      expect(n.stdout).toBe(g.stdout);
    } else {
      console.log('amx guest: this host has no AMX (CPUID.(7,0):EDX[24] = 0): the native comparison is skipped');
    }
  }, 300_000);
});
