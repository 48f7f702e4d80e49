/**
 * Legacy-SSE-encoded crypto instructions unicorn 2.0.1 cannot run (found by src/selfcheck/insn-survey.ts):
 * the SHA extensions (SHA1RNDS4, SHA1NEXTE, SHA1MSG1, SHA1MSG2, SHA256RNDS2, SHA256MSG1, SHA256MSG2;
 * no VEX form exists), and the legacy forms of GF2P8MULB, GF2P8AFFINEQB, GF2P8AFFINEINVQB and
 * PCLMULQDQ, whose element operations are crypto.ts's (one definition for every encoding).
 *
 * Legacy rules (as float-legacy.ts): two operands, the destination is the first source; the write
 * leaves bits above 127 alone (SDM Vol. 1 14.1.3); the m128 operand must be 16-byte aligned (#GP):
 * every one of these lists "Exceptions Type 4" (SDM Vol. 2A Table 2-21: legacy SSE, memory operand
 * not aligned on a 16-byte boundary), except the SHA forms on CPUs with quirk sha-unaligned-m128,
 * and any of them under AMD's MXCSR.MM.
 */
import { Mnemonic } from '../iced.js';
import { Quirk } from '../quirks.js';
import { UpperBits, XMM_BYTES } from '../vector-file.js';
import { defineOps, readOp, vecIndex, type Ctx, type Op } from './core.js';
import { affineBytes, clmulBytes, gfMulBytes } from './crypto.js';

const M = Mnemonic;
/** m128 alignment of legacy SSE operands (SDM Vol. 2A Table 2-21, Exceptions Type 4). */
const LEGACY_M128_ALIGN = 16;
/**
 * MXCSR.MM, bit 17: AMD's misaligned SSE mode (AMD APM Vol. 1 4.2.2, CPUID 0x80000001 ECX[7]
 * MisAlignSse): set, a misaligned legacy m128 operand does not raise #GP. Only settable where the
 * profile's MXCSR_MASK has it (LDMXCSR/XRSTOR check the mask). Measured on AMD Zen 5 for these
 * forms by test/guests/sha-gfni.c (GF2P8MULB, PCLMULQDQ at 4 mod 16 run with MM = 1, fault without).
 */
const MXCSR_MM = 1 << 17;
/** 32-bit words of an XMM register: index 0 is bits 31:0, 3 is bits 127:96. */
const DWORDS = XMM_BYTES / 4;

/** The destination register's low 16 bytes (SRC1) and the second operand, xmm2/m128 (SRC2). */
function operands(c: Ctx, align: number): { dst: number; a: Uint8Array; b: Uint8Array } {
  const dst = vecIndex(c.ins.opRegister(0));
  const a = c.vec.read(dst, XMM_BYTES).slice(0, XMM_BYTES);
  const b = readOp({ ...c, width: XMM_BYTES, evex: false }, 1, XMM_BYTES, 1, align).slice();
  return { dst, a, b };
}
/** A legacy binary operation on bytes: DEST[127:0] := f(SRC1, SRC2, imm8), DEST[MAXVL-1:128] unchanged. */
function legacy(f: (a: Uint8Array, b: Uint8Array, imm: number, c: Ctx) => Uint8Array, sha = false): Op {
  return (c) => {
    const unaligned = (sha && c.vec.regs.cpu.hasQuirk(Quirk.ShaUnalignedM128)) || (c.vec.regs.mxcsr & MXCSR_MM) !== 0;
    const align = unaligned ? 0 : LEGACY_M128_ALIGN;
    const { dst, a, b } = operands(c, align);
    c.vec.write(dst, f(a, b, c.ins.immediate8, c), UpperBits.Keep);
  };
}

const dwords = (x: Uint8Array): Uint32Array => new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + XMM_BYTES));
const bytesOf = (w: readonly number[]): Uint8Array => new Uint8Array(Uint32Array.from(w).buffer);
const rol = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
const ror = (x: number, n: number): number => ((x >>> n) | (x << (32 - n))) >>> 0;
const add = (...xs: number[]): number => xs.reduce((s, x) => (s + x) >>> 0, 0);

/** SHA1RNDS4's f() and K by imm8[1:0] (SDM Vol. 2B SHA1RNDS4: f0..f3, K0..K3; FIPS 180-4 4.1.1, 4.2.1). */
const SHA1_F: readonly ((b: number, c: number, d: number) => number)[] = [
  (b, c, d) => ((b & c) ^ (~b & d)) >>> 0,
  (b, c, d) => (b ^ c ^ d) >>> 0,
  (b, c, d) => ((b & c) ^ (b & d) ^ (c & d)) >>> 0,
  (b, c, d) => (b ^ c ^ d) >>> 0,
];
const SHA1_K: readonly number[] = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];

/** SHA1RNDS4 (SDM Vol. 2B): four rounds from state A,B,C,D (SRC1) and W0+E, W1, W2, W3 (SRC2). */
function sha1rnds4(x: Uint8Array, y: Uint8Array, imm: number): Uint8Array {
  const s = dwords(x), w = dwords(y);
  const f = SHA1_F[imm & 3], k = SHA1_K[imm & 3];
  let a = s[3], b = s[2], c = s[1], d = s[0], e = 0;
  // W0E = SRC2[127:96] already holds E: round 0 adds no E (e starts at 0).
  const ws = [w[3], w[2], w[1], w[0]];
  for (let i = 0; i < 4; i++) {
    const a1 = add(f(b, c, d), rol(a, 5), ws[i], e, k);
    e = d; d = c; c = rol(b, 30); b = a; a = a1;
  }
  return bytesOf([d, c, b, a]);
}
/** SHA1NEXTE: DEST[127:96] := SRC2[127:96] + (SRC1[127:96] ROL 30), the rest SRC2's. */
function sha1nexte(x: Uint8Array, y: Uint8Array): Uint8Array {
  const s = dwords(x), w = dwords(y);
  return bytesOf([w[0], w[1], w[2], add(w[3], rol(s[3], 30))]);
}
/** SHA1MSG1: W0..W3 from SRC1 (W0 = bits 127:96), W4, W5 from SRC2[127:64]; DEST = (W2^W0, W3^W1, W4^W2, W5^W3) high to low. */
function sha1msg1(x: Uint8Array, y: Uint8Array): Uint8Array {
  const s = dwords(x), t = dwords(y);
  const [w0, w1, w2, w3, w4, w5] = [s[3], s[2], s[1], s[0], t[3], t[2]];
  return bytesOf([(w5 ^ w3) >>> 0, (w4 ^ w2) >>> 0, (w3 ^ w1) >>> 0, (w2 ^ w0) >>> 0]);
}
/** SHA1MSG2: W16..W19 = (SRC1 dword XOR W13/W14/W15/W16) ROL 1, W13..W15 = SRC2[95:0] high to low. */
function sha1msg2(x: Uint8Array, y: Uint8Array): Uint8Array {
  const s = dwords(x), t = dwords(y);
  const w13 = t[2], w14 = t[1], w15 = t[0];
  const w16 = rol((s[3] ^ w13) >>> 0, 1), w17 = rol((s[2] ^ w14) >>> 0, 1), w18 = rol((s[1] ^ w15) >>> 0, 1), w19 = rol((s[0] ^ w16) >>> 0, 1);
  return bytesOf([w19, w18, w17, w16]);
}

/** FIPS 180-4 4.1.2 functions of SHA-256, as SHA256RNDS2/MSG1/MSG2 name them (SDM Vol. 2B). */
const ch = (e: number, f: number, g: number): number => ((e & f) ^ (~e & g)) >>> 0;
const maj = (a: number, b: number, c: number): number => ((a & b) ^ (a & c) ^ (b & c)) >>> 0;
const bigSigma0 = (a: number): number => (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) >>> 0;
const bigSigma1 = (e: number): number => (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) >>> 0;
const sigma0 = (w: number): number => (ror(w, 7) ^ ror(w, 18) ^ (w >>> 3)) >>> 0;
const sigma1 = (w: number): number => (ror(w, 17) ^ ror(w, 19) ^ (w >>> 10)) >>> 0;

/** SHA256RNDS2 (SDM Vol. 2B): two rounds; C,D,G,H from SRC1, A,B,E,F from SRC2, WK0/WK1 from XMM0[63:0]; DEST = A,B,E,F. */
function sha256rnds2(x: Uint8Array, y: Uint8Array, _imm: number, c: Ctx): Uint8Array {
  const s1 = dwords(x), s2 = dwords(y), wk = dwords(c.vec.read(0, XMM_BYTES).slice(0, XMM_BYTES));
  let a = s2[3], b = s2[2], cc = s1[3], d = s1[2], e = s2[1], f = s2[0], g = s1[1], h = s1[0];
  for (let i = 0; i < 2; i++) {
    const t = add(ch(e, f, g), bigSigma1(e), wk[i], h);
    const a1 = add(t, maj(a, b, cc), bigSigma0(a)), e1 = add(t, d);
    h = g; g = f; f = e; e = e1; d = cc; cc = b; b = a; a = a1;
  }
  return bytesOf([f, e, b, a]);
}
/** SHA256MSG1: W0..W3 = SRC1 low to high, W4 = SRC2[31:0]; DEST dword i = W(i) + sigma0(W(i+1)). */
function sha256msg1(x: Uint8Array, y: Uint8Array): Uint8Array {
  const s = dwords(x), w4 = dwords(y)[0];
  const w = [s[0], s[1], s[2], s[3], w4];
  return bytesOf(Array.from({ length: DWORDS }, (_, i) => add(w[i], sigma0(w[i + 1]))));
}
/** SHA256MSG2: W14 = SRC2[95:64], W15 = SRC2[127:96]; W16..W19 = SRC1 dword i + sigma1(W(14+i)). */
function sha256msg2(x: Uint8Array, y: Uint8Array): Uint8Array {
  const s = dwords(x), t = dwords(y);
  const w = [t[2], t[3]];
  for (let i = 0; i < DWORDS; i++) w.push(add(s[i], sigma1(w[i])));
  return bytesOf(w.slice(2));
}

const TABLE: [Mnemonic, Op][] = [
  [M.Sha1rnds4, legacy(sha1rnds4, true)], [M.Sha1nexte, legacy(sha1nexte, true)], [M.Sha1msg1, legacy(sha1msg1, true)], [M.Sha1msg2, legacy(sha1msg2, true)],
  [M.Sha256rnds2, legacy(sha256rnds2, true)], [M.Sha256msg1, legacy(sha256msg1, true)], [M.Sha256msg2, legacy(sha256msg2, true)],
  [M.Gf2p8mulb, legacy((a, b) => gfMulBytes(a, b))],
  [M.Gf2p8affineqb, legacy((a, b, imm) => affineBytes(a, b, imm, false))],
  [M.Gf2p8affineinvqb, legacy((a, b, imm) => affineBytes(a, b, imm, true))],
  [M.Pclmulqdq, legacy((a, b, imm) => clmulBytes(a, b, imm))],
];
for (const [m, op] of TABLE) defineOps([m], op);

/** The legacy crypto mnemonics the model owns (emulator/ownership.ts). */
export const LEGACY_CRYPTO_MNEMONICS: ReadonlySet<Mnemonic> = new Set(TABLE.map(([m]) => m));
