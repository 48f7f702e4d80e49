/**
 * The remaining integer and data-movement instructions: scalar and half moves of the FP-typed
 * registers (VMOVSS/SD, VMOVHPS & co., VMOVSLDUP/SHDUP/DDUP), element insert/extract, sign-bit
 * extraction and tests, VEX masked moves, conflict detection, multishift, bit shuffle, mask
 * broadcasts (SDM Vol. 2, each instruction's Operation section).
 */
import { Mnemonic, OpKind, Register } from '../iced.js';
import { UpperBits, XMM_BYTES } from '../vector-file.js';
import { defineOps, effectiveAddress, fromHalves, kIndex, maskOf, readOp, shapeOf, vecIndex, vecWidth, writeDest, type Ctx, type Op } from './core.js';
import { rd, wr } from './elements.js';

const M = Mnemonic;
const memAt = (c: Ctx, len: number): Uint8Array => c.env.readMem(effectiveAddress(c.ins, c.env), len);

/**
 * VMOVSS / VMOVSD / VMOVSH-like scalar moves (SDM Vol. 2B MOVSS): load zeroes the rest of the
 * xmm; the register form takes the low element of src2 and the rest of src1; the store writes
 * the low element. EVEX: the mask applies to the low element only.
 */
function movScalar(es: number): Op {
  return (c) => {
    const { ins } = c;
    if (ins.opKind(0) === OpKind.Memory) {
      const s = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).slice(0, es);
      writeDest({ ...c, width: es }, s, es);
      return;
    }
    let out: Uint8Array;
    if (ins.opKind(1) === OpKind.Memory) { out = new Uint8Array(XMM_BYTES); out.set(readOp(c, 1, es, es)); }
    else { out = readOp(c, 1, XMM_BYTES, es).slice(); out.set(readOp(c, 2, XMM_BYTES, es).subarray(0, es)); }
    scalarWrite(c, out, es);
  };
}
/** Write an xmm result whose low element alone is under the write mask (scalar EVEX forms). */
function scalarWrite(c: Ctx, out: Uint8Array, es: number): void {
  const { ins } = c;
  if (c.evex && ins.opMask !== Register.None && ins.opMask !== Register.K0 && !(maskOf(c, 1) & 1n)) {
    if (ins.zeroingMasking) out.fill(0, 0, es);
    else out.set(c.vec.read(vecIndex(ins.opRegister(0)), XMM_BYTES).subarray(0, es));
  }
  writeDest({ ...c, evex: false, width: XMM_BYTES }, out, es);
}

/** VMOVHPS/HPD (high qword), VMOVLPS/LPD (low qword): the m64 load merges with src1; the store writes that qword. */
function movHalf(high: boolean): Op {
  return (c) => {
    const { ins } = c;
    if (ins.opKind(0) === OpKind.Memory) {
      const s = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES);
      c.env.writeMem(effectiveAddress(ins, c.env), s.slice(high ? 8 : 0, high ? 16 : 8));
      return;
    }
    const out = readOp(c, 1, XMM_BYTES, 8).slice();
    out.set(memAt(c, 8), high ? 8 : 0);
    writeDest({ ...c, width: XMM_BYTES }, out, 8);
  };
}
/** VMOVHLPS: low qword = src2 high, high = src1 high; VMOVLHPS: low = src1 low, high = src2 low. */
const movhlps: Op = (c) => {
  const a = readOp(c, 1, XMM_BYTES, 8), b = readOp(c, 2, XMM_BYTES, 8);
  const out = new Uint8Array(XMM_BYTES); out.set(b.subarray(8, 16), 0); out.set(a.subarray(8, 16), 8);
  writeDest({ ...c, width: XMM_BYTES }, out, 8);
};
const movlhps: Op = (c) => {
  const a = readOp(c, 1, XMM_BYTES, 8), b = readOp(c, 2, XMM_BYTES, 8);
  const out = new Uint8Array(XMM_BYTES); out.set(a.subarray(0, 8), 0); out.set(b.subarray(0, 8), 8);
  writeDest({ ...c, width: XMM_BYTES }, out, 8);
};
/** VMOVSLDUP / VMOVSHDUP: even / odd dwords duplicated; VMOVDDUP: even qwords duplicated (xmm form: m64). */
function dup(es: number, odd: boolean): Op {
  return (c) => {
    const xmmDdup = es === 8 && c.width === XMM_BYTES;
    const src = xmmDdup && c.ins.opKind(1) === OpKind.Memory ? (() => { const t = new Uint8Array(16); t.set(memAt(c, 8)); return t; })() : readOp(c, 1, c.width, es, 0, false); // no fault suppression: an element feeds two
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i += 2) {
      const s = (odd ? i + 1 : i) * es;
      out.set(src.subarray(s, s + es), i * es); out.set(src.subarray(s, s + es), (i + 1) * es);
    }
    writeDest(c, out, es);
  };
}
defineOps([M.Vmovss], movScalar(4));
defineOps([M.Vmovsd], movScalar(8));
defineOps([M.Vmovhps, M.Vmovhpd], movHalf(true));
defineOps([M.Vmovlps, M.Vmovlpd], movHalf(false));
defineOps([M.Vmovhlps], movhlps);
defineOps([M.Vmovlhps], movlhps);
defineOps([M.Vmovsldup], dup(4, false));
defineOps([M.Vmovshdup], dup(4, true));
defineOps([M.Vmovddup], dup(8, false));

/* ------------------------------------------------------------ insert / extract */

/** VPEXTRB/W/D/Q, VEXTRACTPS: element imm (mod count) of the xmm to a GPR (zero-extended) or memory. */
function extractElem(es: number): Op {
  return (c) => {
    const { ins } = c;
    const src = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES);
    const i = ins.immediate8 % (XMM_BYTES / es);
    if (ins.opKind(0) === OpKind.Memory) { c.env.writeMem(effectiveAddress(ins, c.env), src.slice(i * es, (i + 1) * es)); return; }
    c.env.setGpr(ins.opRegister(0), rd(src, i, es));
  };
}
/** VPINSRB/W/D/Q: src1 with element imm replaced from a GPR or memory. */
function insertElem(es: number): Op {
  return (c) => {
    const { ins } = c;
    const out = readOp(c, 1, XMM_BYTES, es).slice();
    const i = ins.immediate8 % (XMM_BYTES / es);
    if (ins.opKind(2) === OpKind.Memory) out.set(memAt(c, es), i * es);
    else wr(out, i, es, c.env.getGpr(ins.opRegister(2)));
    writeDest({ ...c, width: XMM_BYTES }, out, es);
  };
}
/** VINSERTPS (SDM Vol. 2B INSERTPS): a dword from src2 (imm[7:6] of a register, or m32) into dword imm[5:4], then the imm[3:0] zero mask. */
const insertps: Op = (c) => {
  const { ins } = c;
  const imm = ins.immediate8;
  const out = readOp(c, 1, XMM_BYTES, 4).slice();
  const s = ins.opKind(2) === OpKind.Memory ? memAt(c, 4) : readOp(c, 2, XMM_BYTES, 4).slice(((imm >> 6) & 3) * 4, ((imm >> 6) & 3) * 4 + 4);
  out.set(s, ((imm >> 4) & 3) * 4);
  for (let i = 0; i < 4; i++) if ((imm >> i) & 1) out.fill(0, i * 4, i * 4 + 4);
  writeDest({ ...c, width: XMM_BYTES }, out, 4);
};
defineOps([M.Vpextrb], extractElem(1)); defineOps([M.Vpextrw], extractElem(2));
defineOps([M.Vpextrd, M.Vextractps], extractElem(4)); defineOps([M.Vpextrq], extractElem(8));
defineOps([M.Vpinsrb], insertElem(1)); defineOps([M.Vpinsrw], insertElem(2));
defineOps([M.Vpinsrd], insertElem(4)); defineOps([M.Vpinsrq], insertElem(8));
defineOps([M.Vinsertps], insertps);

/* ------------------------------------------------------------ sign bits, tests, masked moves */

/** VMOVMSKPS / VMOVMSKPD: the sign bit of each element to a GPR (zero-extended). */
function movmsk(es: number): Op {
  return (c) => {
    const r = c.ins.opRegister(1);
    const src = c.vec.read(vecIndex(r), vecWidth(r));
    let v = 0;
    for (let i = 0; i < src.length / es; i++) if (src[(i + 1) * es - 1] & 0x80) v |= 1 << i;
    c.env.setGpr(c.ins.opRegister(0), BigInt(v));
  };
}
/** VTESTPS / VTESTPD: PTEST on the sign bits only (SDM Vol. 2C VTESTPS): ZF, CF; AF OF PF SF cleared. */
function vtest(es: number): Op {
  return (c) => {
    const a = readOp(c, 0, c.width, es), b = readOp(c, 1, c.width, es);
    let zf = 1, cf = 1;
    for (let i = 0; i < c.width / es; i++) {
      const x = a[(i + 1) * es - 1] & 0x80, y = b[(i + 1) * es - 1] & 0x80;
      if (x & y) zf = 0;
      if (y & ~x) cf = 0;
    }
    c.env.setStatusFlags({ cf, pf: 0, af: 0, zf, sf: 0, of: 0 });
  };
}
/**
 * VMASKMOVPS/PD, VPMASKMOVD/Q (SDM Vol. 2C): elements whose mask (src1) sign bit is set are loaded
 * (the others are zero) or stored; masked-off elements are not accessed and cannot fault.
 */
function maskmov(es: number): Op {
  return (c) => {
    const { ins } = c;
    const store = ins.opKind(0) === OpKind.Memory;
    const m = readOp(c, 1, c.width, es);
    const ea = effectiveAddress(ins, c.env);
    const n = c.width / es;
    const on = (i: number): boolean => (m[(i + 1) * es - 1] & 0x80) !== 0;
    if (store) {
      const src = c.vec.read(vecIndex(ins.opRegister(2)), c.width);
      for (let i = 0; i < n; i++) if (on(i)) c.env.writeMem(ea + BigInt(i * es), src.slice(i * es, (i + 1) * es));
      return;
    }
    const out = new Uint8Array(c.width);
    for (let i = 0; i < n; i++) if (on(i)) out.set(c.env.readMem(ea + BigInt(i * es), es), i * es);
    writeDest(c, out, es);
  };
}
defineOps([M.Vmovmskps], movmsk(4)); defineOps([M.Vmovmskpd], movmsk(8));
defineOps([M.Vtestps], vtest(4)); defineOps([M.Vtestpd], vtest(8));
defineOps([M.Vmaskmovps, M.Vpmaskmovd], maskmov(4)); defineOps([M.Vmaskmovpd, M.Vpmaskmovq], maskmov(8));

/* ------------------------------------------------------------ AVX-512 CD, VBMI, BITALG */

/** VPCONFLICTD/Q: bit j of element i set when element j (j < i) equals element i. */
function conflict(es: number): Op {
  return (c) => {
    const a = readOp(c, 1, c.width, shapeOf(c.ins.code).bcstElem || es, 0, false);
    const n = c.width / es;
    const out = new Uint8Array(c.width);
    for (let i = 0; i < n; i++) {
      let v = 0n;
      const x = rd(a, i, es);
      for (let j = 0; j < i; j++) if (rd(a, j, es) === x) v |= 1n << BigInt(j);
      wr(out, i, es, v);
    }
    writeDest(c, out, es);
  };
}
/** VPMULTISHIFTQB: byte i of each qword = 8 bits of src2's qword starting at bit (src1 byte i & 63), wrapping. */
const multishift: Op = (c) => {
  // Byte masking; a broadcast reads one qword (SDM Vol. 2C VPMULTISHIFTQB: m64bcst).
  const a = readOp(c, 1, c.width, 1), b = readOp(c, 2, c.width, c.ins.isBroadcast ? 8 : 1, 0, false);
  const out = new Uint8Array(c.width);
  for (let q = 0; q < c.width / 8; q++) {
    const data = rd(b, q, 8);
    const rot = (data << 64n) | data;
    for (let i = 0; i < 8; i++) out[q * 8 + i] = Number((rot >> BigInt(a[q * 8 + i] & 63)) & 0xffn);
  }
  writeDest(c, out, 1);
};
/** VPSHUFBITQMB k, src1, src2: mask bit of byte i = bit (src2 byte i & 63) of src1's qword holding byte i; zeroed by the write mask. */
const shufbitqmb: Op = (c) => {
  const a = readOp(c, 1, c.width, 8), b = readOp(c, 2, c.width, 1, 0, false);
  let lo = 0, hi = 0;
  for (let i = 0; i < c.width; i++) {
    const q = rd(a, i >> 3, 8);
    if ((q >> BigInt(b[i] & 63)) & 1n) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
  }
  c.vec.writeK(kIndex(c.ins.opRegister(0)), fromHalves(lo, hi) & maskOf(c, c.width));
};
/** VPBROADCASTMB2Q / VPBROADCASTMW2D: the zero-extended low byte / word of a mask register in every element. */
function bcstMask(es: number, bits: bigint): Op {
  return (c) => {
    const v = c.vec.readK(kIndex(c.ins.opRegister(1))) & ((1n << bits) - 1n);
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) wr(out, i, es, v);
    writeDest(c, out, es);
  };
}
defineOps([M.Vpconflictd], conflict(4)); defineOps([M.Vpconflictq], conflict(8));
defineOps([M.Vpmultishiftqb], multishift);
defineOps([M.Vpshufbitqmb], shufbitqmb);
defineOps([M.Vpbroadcastmb2q], bcstMask(8, 8n)); defineOps([M.Vpbroadcastmw2d], bcstMask(4, 16n));

/** VPHMINPOSUW (SDM Vol. 2B PHMINPOSUW): the smallest unsigned word and its index, the rest zero. */
const phminposuw: Op = (c) => {
  const a = readOp(c, 1, XMM_BYTES, 2);
  let best = 0;
  for (let i = 1; i < 8; i++) if (rd(a, i, 2) < rd(a, best, 2)) best = i;
  const out = new Uint8Array(XMM_BYTES);
  out[0] = a[2 * best]; out[1] = a[2 * best + 1]; out[2] = best;
  writeDest({ ...c, width: XMM_BYTES }, out, 2);
};
defineOps([M.Vphminposuw], phminposuw);

/** VBROADCASTI32X2 / VBROADCASTF32X2: the low 64 bits of an xmm or m64 in every qword, masked per dword. */
const bcst32x2: Op = (c) => {
  const { ins } = c;
  const src = ins.opKind(1) === OpKind.Memory ? memAt(c, 8) : c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).subarray(0, 8);
  const out = new Uint8Array(c.width);
  for (let o = 0; o < c.width; o += 8) out.set(src, o);
  writeDest(c, out, 4);
};
defineOps([M.Vbroadcasti32x2, M.Vbroadcastf32x2], bcst32x2);

/**
 * VP2INTERSECTD/Q k, src1, src2 (SDM Vol. 2C): k (even) gets bit i when element i of src1 equals
 * some element of src2, k+1 gets bit j when element j of src2 equals some element of src1.
 */
function p2intersect(es: number): Op {
  return (c) => {
    const a = readOp(c, 1, c.width, es), b = readOp(c, 2, c.width, shapeOf(c.ins.code).bcstElem || es, 0, false);
    const n = c.width / es;
    let m1 = 0n, m2 = 0n;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (rd(a, i, es) === rd(b, j, es)) { m1 |= 1n << BigInt(i); m2 |= 1n << BigInt(j); }
    const k = kIndex(c.ins.opRegister(0)) & ~1;
    c.vec.writeK(k, m1);
    c.vec.writeK(k + 1, m2);
  };
}
defineOps([M.Vp2intersectd], p2intersect(4)); defineOps([M.Vp2intersectq], p2intersect(8));

/** VMOVW (AVX512-FP16): a word between a GPR/m16 and an xmm (zero-extended both ways). */
const vmovw: Op = (c) => {
  const { ins } = c;
  if (ins.opKind(0) === OpKind.Register && vecIndex(ins.opRegister(0)) >= 0) {
    const out = new Uint8Array(XMM_BYTES);
    if (ins.opKind(1) === OpKind.Memory) out.set(memAt(c, 2)); else wr(out, 0, 2, c.env.getGpr(ins.opRegister(1)) & 0xffffn);
    writeDest({ ...c, width: XMM_BYTES }, out, 2);
    return;
  }
  const v = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).slice(0, 2);
  if (ins.opKind(0) === OpKind.Memory) c.env.writeMem(effectiveAddress(ins, c.env), v);
  else c.env.setGpr(ins.opRegister(0), rd(v, 0, 2));
};
defineOps([M.Vmovw], vmovw);
defineOps([M.Vmovsh], movScalar(2));

/**
 * VMASKMOVDQU xmm1, xmm2 (SDM Vol. 2B MASKMOVDQU): the bytes of xmm1 whose xmm2 byte has bit 7 set
 * are stored at DS:RDI; the others are not accessed.
 */
const maskmovdqu: Op = (c) => {
  const { ins } = c;
  const data = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES), m = c.vec.read(vecIndex(ins.opRegister(2)), XMM_BYTES);
  const base = c.env.getGpr(Register.RDI);
  for (let i = 0; i < XMM_BYTES; i++) if (m[i] & 0x80) c.env.writeMem(base + BigInt(i), data.slice(i, i + 1));
};
defineOps([M.Vmaskmovdqu], maskmovdqu);

/* ------------------------------------------------------------ SSE4.2 string compares, VEX-encoded */

/**
 * VPCMPESTRI/M, VPCMPISTRI/M (SDM Vol. 2B PCMPESTRI, 4.1 "Imm8 control byte"): imm8[1:0] the
 * element format (unsigned/signed bytes/words), [3:2] the aggregation (equal any, ranges, equal
 * each, equal ordered), [5:4] the polarity, [6] the output (least/most significant index; bit or
 * element mask). Explicit lengths from EAX/EDX (RAX/RDX with W1), as absolute values saturated to
 * the element count; implicit lengths end at the first zero element. Invalid elements override the
 * comparisons as Table 4-7 says. Flags: CF = result != 0, ZF/SF = src2/src1 shorter than a vector,
 * OF = result bit 0, AF = PF = 0.
 */
function pcmpstr(explicit: boolean, mask: boolean): Op {
  return (c) => {
    const { ins, env } = c;
    const imm = ins.immediate8;
    const words = (imm & 1) === 1, signed = (imm & 2) === 2;
    const es = words ? 2 : 1, n = XMM_BYTES / es;
    // Operands: xmm1 (src1), xmm2/m128 (src2; no alignment rule), imm8.
    const a = readOp(c, 0, XMM_BYTES, 0).slice(0, XMM_BYTES);
    const b = (ins.opKind(1) === OpKind.Memory ? env.readMem(effectiveAddress(ins, env), XMM_BYTES) : readOp(c, 1, XMM_BYTES, 0)).slice(0, XMM_BYTES);
    const elem = (s: Uint8Array, i: number): number => { const v = es === 1 ? s[i] : s[2 * i] | (s[2 * i + 1] << 8); return signed ? (es === 1 ? (v << 24) >> 24 : (v << 16) >> 16) : v; };
    const implicitLen = (s: Uint8Array): number => { let i = 0; while (i < n && elem(s, i) !== 0) i++; return i; };
    const explicitLen = (r: Register): number => {
      const w64 = shapeOf(ins.code).w === 1;
      let v = env.getGpr(w64 ? r : r === Register.RAX ? Register.EAX : Register.EDX);
      v = w64 ? BigInt.asIntN(64, v) : BigInt.asIntN(32, v);
      if (v < 0n) v = -v;
      return v > BigInt(n) ? n : Number(v);
    };
    const la = explicit ? explicitLen(Register.RAX) : implicitLen(a);
    const lb = explicit ? explicitLen(Register.RDX) : implicitLen(b);
    const agg = (imm >> 2) & 3;
    // BoolRes[i][j]: src1 element i against src2 element j, with the invalid-element overrides.
    const boolRes = (i: number, j: number, cmp: (x: number, y: number) => boolean): boolean => {
      const va = i < la, vb = j < lb;
      if (va && vb) return cmp(elem(a, i), elem(b, j));
      if (agg === 2) return !va && !vb; // equal each: both invalid true
      if (agg === 3) return !va; // equal ordered: src1 invalid true
      return false;
    };
    const eq = (x: number, y: number): boolean => x === y;
    let r1 = 0;
    for (let j = 0; j < n; j++) {
      let bit = false;
      if (agg === 0) { for (let i = 0; i < n; i++) if (boolRes(i, j, eq)) { bit = true; break; } }
      else if (agg === 1) {
        for (let i = 0; i + 1 < n; i += 2) if (boolRes(i, j, (x, y) => y >= x) && boolRes(i + 1, j, (x, y) => y <= x)) { bit = true; break; }
      } else if (agg === 2) bit = boolRes(j, j, eq);
      else { bit = true; for (let i = 0; i < n - j; i++) if (!boolRes(i, j + i, eq)) { bit = false; break; } }
      if (bit) r1 |= 1 << j;
    }
    const all = (1 << n) - 1;
    const validB = (1 << lb) - 1;
    const pol = (imm >> 4) & 3;
    const r2 = pol === 1 ? ~r1 & all : pol === 3 ? (r1 ^ validB) & all : r1;
    if (mask) {
      const out = new Uint8Array(XMM_BYTES);
      if (imm & 0x40) { for (let i = 0; i < n; i++) if ((r2 >> i) & 1) out.fill(0xff, i * es, (i + 1) * es); }
      else { out[0] = r2 & 0xff; out[1] = r2 >> 8; }
      c.vec.write(0, out, UpperBits.Zero);
    } else {
      let idx = n;
      if (r2) idx = imm & 0x40 ? 31 - Math.clz32(r2) : 31 - Math.clz32(r2 & -r2);
      env.setGpr(Register.ECX, BigInt(idx));
    }
    env.setStatusFlags({ cf: +(r2 !== 0), pf: 0, af: 0, zf: +(lb < n), sf: +(la < n), of: r2 & 1 });
  };
}
defineOps([M.Vpcmpestri, M.Vpcmpestri64], pcmpstr(true, false));
defineOps([M.Vpcmpestrm, M.Vpcmpestrm64], pcmpstr(true, true));
defineOps([M.Vpcmpistri], pcmpstr(false, false));
defineOps([M.Vpcmpistrm], pcmpstr(false, true));
