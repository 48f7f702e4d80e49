/**
 * VAES (VAESENC/ENCLAST/DEC/DECLAST per 128-bit lane, VAESIMC, VAESKEYGENASSIST), VPCLMULQDQ and
 * GFNI (VGF2P8MULB, VGF2P8AFFINEQB, VGF2P8AFFINEINVQB), from the SDM Vol. 2 pseudo-code and
 * FIPS-197 (AES: the S-box is computed from the GF(2^8) inverse and the affine map, not tabulated
 * from elsewhere).
 */
import { Mnemonic } from '../iced.js';
import { XMM_BYTES } from '../vector-file.js';
import { defineOps, readOp, writeDest, type Op } from './core.js';

const M = Mnemonic;
const LANE = XMM_BYTES;

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (0x11B; FIPS-197 4.2, SDM GF2P8MULB). */
export function gfMul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) r ^= a;
    b >>= 1;
    a = a & 0x80 ? ((a << 1) ^ 0x11b) & 0xff : a << 1;
  }
  return r;
}
/** Multiplicative inverse in GF(2^8) (0 maps to 0): x^254. */
function gfInv(x: number): number {
  let r = 1, p = x;
  for (let e = 254; e; e >>= 1) { if (e & 1) r = gfMul(r, p); p = gfMul(p, p); }
  return x === 0 ? 0 : r;
}
const GF_INV = Uint8Array.from({ length: 256 }, (_, x) => gfInv(x));
const rotl8 = (x: number, n: number): number => ((x << n) | (x >> (8 - n))) & 0xff;
/** FIPS-197 5.1.1: S-box = affine(inverse); 5.3.2: the inverse S-box. */
const SBOX = Uint8Array.from({ length: 256 }, (_, x) => { const b = GF_INV[x]; return b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63; });
const INV_SBOX = new Uint8Array(256);
for (let x = 0; x < 256; x++) INV_SBOX[SBOX[x]] = x;

/** The state as FIPS-197 3.4 lays it out: byte 4c+r is row r, column c. */
function shiftRows(s: Uint8Array, inverse: boolean): Uint8Array {
  const o = new Uint8Array(16);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) o[4 * c + r] = s[4 * ((c + (inverse ? 4 - r : r)) % 4) + r];
  return o;
}
function mixColumns(s: Uint8Array, inverse: boolean): Uint8Array {
  const m = inverse ? [14, 11, 13, 9] : [2, 3, 1, 1];
  const o = new Uint8Array(16);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) {
    let v = 0;
    for (let k = 0; k < 4; k++) v ^= gfMul(m[(k - r + 4) % 4], s[4 * c + k]);
    o[4 * c + r] = v;
  }
  return o;
}
const subBytes = (s: Uint8Array, box: Uint8Array): Uint8Array => s.map((x) => box[x]);

/** One AES round per lane (SDM Vol. 2A AESENC: ShiftRows, SubBytes, MixColumns, xor round key; DEC the inverses). */
function aesRound(decrypt: boolean, last: boolean): Op {
  return (c) => {
    const a = readOp(c, 1, c.width, 0), k = readOp(c, 2, c.width, 0);
    const out = new Uint8Array(c.width);
    for (let o = 0; o < c.width; o += LANE) {
      let s = subBytes(shiftRows(a.subarray(o, o + LANE), decrypt), decrypt ? INV_SBOX : SBOX);
      if (!last) s = mixColumns(s, decrypt);
      for (let i = 0; i < LANE; i++) out[o + i] = s[i] ^ k[o + i];
    }
    writeDest(c, out, 1);
  };
}
/** VAESIMC: InvMixColumns of the source (SDM Vol. 2A AESIMC). */
const aesimc: Op = (c) => writeDest({ ...c, width: LANE }, mixColumns(readOp(c, 1, LANE, 0), true), 1);
/** VAESKEYGENASSIST (SDM Vol. 2A): SubWord and RotWord of dwords 1 and 3, xor RCON = imm8. */
const keygen: Op = (c) => {
  const a = readOp(c, 1, LANE, 0);
  const sub = (w: number): number[] => [SBOX[a[4 * w]], SBOX[a[4 * w + 1]], SBOX[a[4 * w + 2]], SBOX[a[4 * w + 3]]];
  const rot = (b: number[]): number[] => [b[1], b[2], b[3], b[0]];
  const x1 = sub(1), x3 = sub(3);
  const r1 = rot(x1), r3 = rot(x3);
  r1[0] ^= c.ins.immediate8; r3[0] ^= c.ins.immediate8;
  writeDest({ ...c, width: LANE }, Uint8Array.from([...x1, ...r1, ...x3, ...r3]), 1);
};
defineOps([M.Vaesenc], aesRound(false, false));
defineOps([M.Vaesenclast], aesRound(false, true));
defineOps([M.Vaesdec], aesRound(true, false));
defineOps([M.Vaesdeclast], aesRound(true, true));
defineOps([M.Vaesimc], aesimc);
defineOps([M.Vaeskeygenassist], keygen);

/**
 * PCLMULQDQ per 128-bit lane: the carry-less product of qword imm[0] of `a` and qword imm[4] of `b`
 * (SDM Vol. 2B PCLMULQDQ); the VEX/EVEX and legacy forms share it.
 */
export function clmulBytes(a: Uint8Array, b: Uint8Array, imm: number): Uint8Array {
  const out = new Uint8Array(a.length);
  const q = (s: Uint8Array, o: number): bigint => { let v = 0n; for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(s[o + k]); return v; };
  for (let o = 0; o < a.length; o += LANE) {
    const x = q(a, o + (imm & 1) * 8), y = q(b, o + ((imm >> 4) & 1) * 8);
    let r = 0n;
    for (let i = 0n; i < 64n; i++) if ((y >> i) & 1n) r ^= x << i;
    for (let k = 0; k < 16; k++) out[o + k] = Number((r >> BigInt(8 * k)) & 0xffn);
  }
  return out;
}
/** VPCLMULQDQ: per lane (clmulBytes). */
const clmul: Op = (c) => writeDest(c, clmulBytes(readOp(c, 1, c.width, 0), readOp(c, 2, c.width, 0), c.ins.immediate8), 1);
defineOps([M.Vpclmulqdq], clmul);

/** GF2P8MULB: bytewise GF(2^8) product (shared by the legacy and VEX/EVEX forms). */
export function gfMulBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = gfMul(a[i], b[i]);
  return out;
}
/**
 * GF2P8AFFINEQB / GF2P8AFFINEINVQB (SDM Vol. 2B): each byte x of `a` (INV: its inverse) times
 * the 8x8 bit matrix in `b`'s qword: result bit i = parity(matrix byte (7 - i) & x) ^ imm bit i.
 * Shared by the legacy and VEX/EVEX forms.
 */
export function affineBytes(a: Uint8Array, b: Uint8Array, imm: number, inverse: boolean): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = inverse ? GF_INV[a[i]] : a[i];
    const q = i & ~7;
    let r = 0;
    for (let bit = 0; bit < 8; bit++) {
      let p = b[q + 7 - bit] & x;
      p ^= p >> 4; p ^= p >> 2; p ^= p >> 1;
      r |= ((p & 1) ^ ((imm >> bit) & 1)) << bit;
    }
    out[i] = r;
  }
  return out;
}
/** VGF2P8MULB (gfMulBytes). */
const gf2p8mulb: Op = (c) => writeDest(c, gfMulBytes(readOp(c, 1, c.width, 1), readOp(c, 2, c.width, 1)), 1);
/** VGF2P8AFFINEQB / VGF2P8AFFINEINVQB (affineBytes). */
function affine(inverse: boolean): Op {
  // Byte masking; a broadcast reads one qword (SDM Vol. 2B GF2P8AFFINEQB: KL = VL/8, m64bcst).
  return (c) => writeDest(c, affineBytes(readOp(c, 1, c.width, 1), readOp(c, 2, c.width, c.ins.isBroadcast ? 8 : 1, 0, false), c.ins.immediate8, inverse), 1);
}
defineOps([M.Vgf2p8mulb], gf2p8mulb);
defineOps([M.Vgf2p8affineqb], affine(false));
defineOps([M.Vgf2p8affineinvqb], affine(true));
