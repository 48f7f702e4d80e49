/**
 * Elementwise integer arithmetic as a data table: mnemonic -> element size and element operation
 * (SDM Vol. 2 pseudo-code of each instruction, cited per group). The drivers in elements.ts apply
 * operands, broadcast and masking; VEX and EVEX forms of one mnemonic share the entry.
 */
import { Mnemonic } from '../iced.js';
import { defineOps, type Op } from './core.js';
import { ShiftKind, binaryImmOp, binaryOp, satS, satU, shiftUniform, shiftVariable, sx, ternaryOp, unaryOp, zx, type Binary, type Ternary, type Unary } from './elements.js';

const M = Mnemonic;

/* ---- element operations (a, b unsigned element values; bits = element width) */

/** PADDS/PSUBS (signed saturation), PADDUS/PSUBUS (unsigned saturation): SDM Vol. 2B PADDSB, PADDUSB, PSUBSB, PSUBUSB. */
const addSatS: Binary = (a, b, n) => zx(satS(sx(a, n) + sx(b, n), n), n);
const subSatS: Binary = (a, b, n) => zx(satS(sx(a, n) - sx(b, n), n), n);
const addSatU: Binary = (a, b, n) => satU(a + b, n);
const subSatU: Binary = (a, b, n) => satU(a - b, n);
/** PMINS/PMAXS/PMINU/PMAXU (SDM Vol. 2B). */
const minS: Binary = (a, b, n) => (sx(a, n) < sx(b, n) ? a : b);
const maxS: Binary = (a, b, n) => (sx(a, n) > sx(b, n) ? a : b);
const minU: Binary = (a, b) => (a < b ? a : b);
const maxU: Binary = (a, b) => (a > b ? a : b);
/** PAVGB/W: (a + b + 1) >> 1 without overflow (SDM Vol. 2B PAVGB). */
const avgU: Binary = (a, b) => (a + b + 1n) >> 1n;
/** PMULLW/D/Q: low half of the product; PMULHW/PMULHUW: high half; PMULHRSW: rounded Q15 (SDM Vol. 2B). */
const mulLo: Binary = (a, b, n) => zx(a * b, n);
const mulHiS: Binary = (a, b, n) => zx((sx(a, n) * sx(b, n)) >> BigInt(n), n);
const mulHiU: Binary = (a, b, n) => (a * b) >> BigInt(n);
const mulHrs: Binary = (a, b, n) => zx((((sx(a, n) * sx(b, n)) >> 14n) + 1n) >> 1n, n);
/** PMULDQ / PMULUDQ: the low doublets of each quadword, full 64-bit product (SDM Vol. 2B). */
const mulDq: Binary = (a, b) => zx(sx(a & 0xffffffffn, 32) * sx(b & 0xffffffffn, 32), 64);
const mulUdq: Binary = (a, b) => (a & 0xffffffffn) * (b & 0xffffffffn);
/** PSIGNB/W/D: negate, zero or keep src1 by the sign of src2 (SDM Vol. 2B PSIGNB). */
const sign: Binary = (a, b, n) => (sx(b, n) < 0n ? zx(-a, n) : b === 0n ? 0n : a);
/** PABSB/W/D/Q (SDM Vol. 2B PABSB): |x| as unsigned. */
const abs: Unary = (a, n) => (sx(a, n) < 0n ? zx(-sx(a, n), n) : a);
/** VPLZCNTD/Q (SDM Vol. 2C): leading zero bits, `bits` for zero. */
const lzcnt: Unary = (a, n) => BigInt(a === 0n ? n : n - a.toString(2).length);
/** VPOPCNTB/W/D/Q (SDM Vol. 2C VPOPCNT). */
const popcnt: Unary = (a) => { let c = 0n; for (let v = a; v; v >>= 1n) c += v & 1n; return c; };
/** VPMADD52LUQ / VPMADD52HUQ (SDM Vol. 2C): dst + low / high 52 bits of the 104-bit product of the low 52 bits. */
const MASK52 = (1n << 52n) - 1n;
const madd52lo: Ternary = (d, a, b) => zx(d + (((a & MASK52) * (b & MASK52)) & MASK52), 64);
const madd52hi: Ternary = (d, a, b) => zx(d + (((a & MASK52) * (b & MASK52)) >> 52n), 64);
/**
 * VPDPBUSD(S): dst + four u8(src1) * s8(src2) products per doubleword; VPDPWSSD(S): two s16 * s16
 * (SDM Vol. 2C VPDPBUSD, VPDPWSSD); the S forms saturate the 32-bit sum.
 */
enum Sat { None, Signed, Unsigned }
function dotAcc(part: number, aSigned: boolean, bSigned: boolean, sat: Sat): Ternary {
  const P = BigInt(part);
  return (d, a, b) => {
    // AVX-VNNI-INT8/INT16 (SDM Vol. 2C VPDPBUUDS, VPDPWUUDS): the all-unsigned forms accumulate and saturate unsigned.
    let s = sat === Sat.Unsigned ? d : sx(d, 32);
    for (let k = 0n; k < 32n; k += P) {
      const x = (a >> k) & ((1n << P) - 1n), y = (b >> k) & ((1n << P) - 1n);
      s += (aSigned ? sx(x, part) : x) * (bSigned ? sx(y, part) : y);
    }
    return zx(sat === Sat.Signed ? satS(s, 32) : sat === Sat.Unsigned ? satU(s, 32) : s, 32);
  };
}
/** VPSHLDV: upper half of (dst:src2) << (src3 mod bits); VPSHRDV: lower half of (src2:dst) >> count (SDM Vol. 2C). */
const shldv: Ternary = (d, a, b, n) => { const c = b % BigInt(n); return zx(((d << BigInt(n)) | a) << c >> BigInt(n), n); };
const shrdv: Ternary = (d, a, b, n) => { const c = b % BigInt(n); return zx(((a << BigInt(n)) | d) >> c, n); };
/** VPSHLD / VPSHRD with an imm8 count (SDM Vol. 2C): the same on (src1:src2) and (src2:src1). */
const shldImm = (a: bigint, b: bigint, imm: number, n: number): bigint => { const c = BigInt(imm % n); return zx(((a << BigInt(n)) | b) << c >> BigInt(n), n); };
const shrdImm = (a: bigint, b: bigint, imm: number, n: number): bigint => { const c = BigInt(imm % n); return zx(((b << BigInt(n)) | a) >> c, n); };

/* ---- the table: [mnemonic, element bytes, operation] */

type Row = [Mnemonic, number, Op];
const bin = (m: Mnemonic, es: number, f: Binary): Row => [m, es, binaryOp(es, f)];
/** Saturating subtractions: zeroing idioms with one source register twice (measured, AMD Zen 5: XINUSE stays clear). */
const binIdiom = (m: Mnemonic, es: number, f: Binary): Row => [m, es, binaryOp(es, f, true)];
const un = (m: Mnemonic, es: number, f: Unary): Row => [m, es, unaryOp(es, f)];
const ter = (m: Mnemonic, es: number, f: Ternary): Row => [m, es, ternaryOp(es, f)];
const shU = (m: Mnemonic, es: number, k: ShiftKind): Row => [m, es, shiftUniform(es, k)];
const shV = (m: Mnemonic, es: number, k: ShiftKind): Row => [m, es, shiftVariable(es, k)];

/** Every elementwise integer mnemonic of this table with its element size (tests check it against iced-x86's metadata). */
export const ELEMENTWISE_INT: readonly Row[] = [
  bin(M.Vpaddsb, 1, addSatS), bin(M.Vpaddsw, 2, addSatS), bin(M.Vpaddusb, 1, addSatU), bin(M.Vpaddusw, 2, addSatU),
  binIdiom(M.Vpsubsb, 1, subSatS), binIdiom(M.Vpsubsw, 2, subSatS), binIdiom(M.Vpsubusb, 1, subSatU), binIdiom(M.Vpsubusw, 2, subSatU),
  bin(M.Vpminsb, 1, minS), bin(M.Vpminsw, 2, minS), bin(M.Vpminsd, 4, minS), bin(M.Vpminsq, 8, minS),
  bin(M.Vpminub, 1, minU), bin(M.Vpminuw, 2, minU), bin(M.Vpminud, 4, minU), bin(M.Vpminuq, 8, minU),
  bin(M.Vpmaxsb, 1, maxS), bin(M.Vpmaxsw, 2, maxS), bin(M.Vpmaxsd, 4, maxS), bin(M.Vpmaxsq, 8, maxS),
  bin(M.Vpmaxub, 1, maxU), bin(M.Vpmaxuw, 2, maxU), bin(M.Vpmaxud, 4, maxU), bin(M.Vpmaxuq, 8, maxU),
  bin(M.Vpavgb, 1, avgU), bin(M.Vpavgw, 2, avgU),
  bin(M.Vpmullw, 2, mulLo), bin(M.Vpmulld, 4, mulLo), bin(M.Vpmullq, 8, mulLo),
  bin(M.Vpmulhw, 2, mulHiS), bin(M.Vpmulhuw, 2, mulHiU), bin(M.Vpmulhrsw, 2, mulHrs),
  bin(M.Vpmuldq, 8, mulDq), bin(M.Vpmuludq, 8, mulUdq),
  bin(M.Vpsignb, 1, sign), bin(M.Vpsignw, 2, sign), bin(M.Vpsignd, 4, sign),
  un(M.Vpabsb, 1, abs), un(M.Vpabsw, 2, abs), un(M.Vpabsd, 4, abs), un(M.Vpabsq, 8, abs),
  un(M.Vplzcntd, 4, lzcnt), un(M.Vplzcntq, 8, lzcnt),
  un(M.Vpopcntb, 1, popcnt), un(M.Vpopcntw, 2, popcnt), un(M.Vpopcntd, 4, popcnt), un(M.Vpopcntq, 8, popcnt),
  ter(M.Vpmadd52luq, 8, madd52lo), ter(M.Vpmadd52huq, 8, madd52hi),
  ter(M.Vpdpbusd, 4, dotAcc(8, false, true, Sat.None)), ter(M.Vpdpbusds, 4, dotAcc(8, false, true, Sat.Signed)),
  ter(M.Vpdpwssd, 4, dotAcc(16, true, true, Sat.None)), ter(M.Vpdpwssds, 4, dotAcc(16, true, true, Sat.Signed)),
  ter(M.Vpdpbssd, 4, dotAcc(8, true, true, Sat.None)), ter(M.Vpdpbssds, 4, dotAcc(8, true, true, Sat.Signed)),
  ter(M.Vpdpbsud, 4, dotAcc(8, true, false, Sat.None)), ter(M.Vpdpbsuds, 4, dotAcc(8, true, false, Sat.Signed)),
  ter(M.Vpdpbuud, 4, dotAcc(8, false, false, Sat.None)), ter(M.Vpdpbuuds, 4, dotAcc(8, false, false, Sat.Unsigned)),
  ter(M.Vpdpwsud, 4, dotAcc(16, true, false, Sat.None)), ter(M.Vpdpwsuds, 4, dotAcc(16, true, false, Sat.Signed)),
  ter(M.Vpdpwusd, 4, dotAcc(16, false, true, Sat.None)), ter(M.Vpdpwusds, 4, dotAcc(16, false, true, Sat.Signed)),
  ter(M.Vpdpwuud, 4, dotAcc(16, false, false, Sat.None)), ter(M.Vpdpwuuds, 4, dotAcc(16, false, false, Sat.Unsigned)),
  ter(M.Vpshldvw, 2, shldv), ter(M.Vpshldvd, 4, shldv), ter(M.Vpshldvq, 8, shldv),
  ter(M.Vpshrdvw, 2, shrdv), ter(M.Vpshrdvd, 4, shrdv), ter(M.Vpshrdvq, 8, shrdv),
  [M.Vpshldw, 2, binaryImmOp(2, shldImm)], [M.Vpshldd, 4, binaryImmOp(4, shldImm)], [M.Vpshldq, 8, binaryImmOp(8, shldImm)],
  [M.Vpshrdw, 2, binaryImmOp(2, shrdImm)], [M.Vpshrdd, 4, binaryImmOp(4, shrdImm)], [M.Vpshrdq, 8, binaryImmOp(8, shrdImm)],
  shU(M.Vpsllw, 2, ShiftKind.Left), shU(M.Vpslld, 4, ShiftKind.Left), shU(M.Vpsllq, 8, ShiftKind.Left),
  shU(M.Vpsrlw, 2, ShiftKind.RightLogical), shU(M.Vpsrld, 4, ShiftKind.RightLogical), shU(M.Vpsrlq, 8, ShiftKind.RightLogical),
  shU(M.Vpsraw, 2, ShiftKind.RightArith), shU(M.Vpsrad, 4, ShiftKind.RightArith), shU(M.Vpsraq, 8, ShiftKind.RightArith),
  shU(M.Vprold, 4, ShiftKind.RotateLeft), shU(M.Vprolq, 8, ShiftKind.RotateLeft), shU(M.Vprord, 4, ShiftKind.RotateRight), shU(M.Vprorq, 8, ShiftKind.RotateRight),
  shV(M.Vpsllvw, 2, ShiftKind.Left), shV(M.Vpsllvd, 4, ShiftKind.Left), shV(M.Vpsllvq, 8, ShiftKind.Left),
  shV(M.Vpsrlvw, 2, ShiftKind.RightLogical), shV(M.Vpsrlvd, 4, ShiftKind.RightLogical), shV(M.Vpsrlvq, 8, ShiftKind.RightLogical),
  shV(M.Vpsravw, 2, ShiftKind.RightArith), shV(M.Vpsravd, 4, ShiftKind.RightArith), shV(M.Vpsravq, 8, ShiftKind.RightArith),
  shV(M.Vprolvd, 4, ShiftKind.RotateLeft), shV(M.Vprolvq, 8, ShiftKind.RotateLeft), shV(M.Vprorvd, 4, ShiftKind.RotateRight), shV(M.Vprorvq, 8, ShiftKind.RotateRight),
];

for (const [m, , op] of ELEMENTWISE_INT) defineOps([m], op);
