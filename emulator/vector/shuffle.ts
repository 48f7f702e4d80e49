/**
 * Data movement between elements: shuffles inside 128-bit lanes, unpacks, packs with saturation,
 * byte alignment, blends, permutes across lanes, two-table permutes, lane shuffles, element
 * alignment, compress and expand (SDM Vol. 2, each instruction's Operation section). Every
 * operation computes the full result and writes it through core.ts writeDest (masking per element).
 */
import { Mnemonic, OpKind } from '../iced.js';
import { XMM_BYTES } from '../vector-file.js';
import { defineOps, effectiveAddress, wideEvexToXmm, maskBit, maskHalves, maskOf, readOp, shapeOf, vecIndex, vecWidth, writeDest, type Ctx, type Op } from './core.js';
import { rd, satS, satU, sx, wr } from './elements.js';

const M = Mnemonic;
const LANE = XMM_BYTES;

const bcst = (c: Ctx, es: number): number => shapeOf(c.ins.code).bcstElem || es;
/** A source read without fault suppression (the SDM's E4NF class: shuffles, packs, permutes). */
const readNF = (c: Ctx, k: number, width: number, es: number): Uint8Array => readOp(c, k, width, es, 0, false);

/**
 * A lane-wise operation: for each 128-bit lane l, f fills out[0..16) from the lanes of src1 and
 * src2 (operands 1 and 2; src2 absent for two-operand forms) and the imm8. es: the write-mask
 * element size.
 */
type LaneFn = (out: Uint8Array, a: Uint8Array, b: Uint8Array, imm: number, lane: number) => void;
function laneOp(es: number, f: LaneFn, twoSources = true): Op {
  return (c) => {
    const a = readNF(c, 1, c.width, twoSources ? es : bcst(c, es));
    const hasB = twoSources && c.ins.opCount >= 3 && c.ins.opKind(2) !== OpKind.Immediate8;
    const b = hasB ? readNF(c, 2, c.width, bcst(c, es)) : a;
    const imm = c.ins.immediate8;
    const out = new Uint8Array(c.width);
    for (let l = 0; l < c.width / LANE; l++) {
      const o = l * LANE;
      f(out.subarray(o, o + LANE), a.subarray(o, o + LANE), b.subarray(o, o + LANE), imm, l);
    }
    writeDest(c, out, es);
  };
}

/** PSHUFB: each byte selects a byte of the same lane of src1 by src2's low 4 bits, or 0 when bit 7 is set. */
const pshufb: LaneFn = (out, a, b) => { for (let i = 0; i < 16; i++) out[i] = b[i] & 0x80 ? 0 : a[b[i] & 15]; };
/** PSHUFD: dword i of a lane = dword imm[2i+1:2i] of the source lane. */
const pshufd: LaneFn = (out, a, _b, imm) => { for (let i = 0; i < 4; i++) out.set(a.subarray(((imm >> (2 * i)) & 3) * 4, ((imm >> (2 * i)) & 3) * 4 + 4), i * 4); };
/** PSHUFHW / PSHUFLW: the high / low four words shuffled, the other half copied. */
function pshufw(high: boolean): LaneFn {
  return (out, a, _b, imm) => {
    out.set(a);
    const base = high ? 8 : 0;
    for (let i = 0; i < 4; i++) { const s = base + ((imm >> (2 * i)) & 3) * 2; out[base + 2 * i] = a[s]; out[base + 2 * i + 1] = a[s + 1]; }
  };
}
/** PUNPCKL / PUNPCKH: interleave the low / high halves of the lanes of src1 and src2, element size es. */
function unpack(es: number, high: boolean): LaneFn {
  return (out, a, b) => {
    const half = high ? 8 : 0;
    for (let i = 0; i < 8 / es; i++) {
      out.set(a.subarray(half + i * es, half + (i + 1) * es), 2 * i * es);
      out.set(b.subarray(half + i * es, half + (i + 1) * es), (2 * i + 1) * es);
    }
  };
}
/** PALIGNR: bytes imm..imm+15 of (src1 lane : src2 lane), zero beyond 32. */
const palignr: LaneFn = (out, a, b, imm) => {
  for (let i = 0; i < 16; i++) { const k = imm + i; out[i] = k < 16 ? b[k] : k < 32 ? a[k - 16] : 0; }
};
/** PSLLDQ / PSRLDQ: the lane shifted by imm bytes (imm > 15: zero). Two-operand form: the source is operand 1. */
const pslldq: LaneFn = (out, a, _b, imm) => { for (let i = 0; i < 16; i++) out[i] = i - imm >= 0 ? a[i - imm] : 0; };
const psrldq: LaneFn = (out, a, _b, imm) => { for (let i = 0; i < 16; i++) out[i] = i + imm < 16 ? a[i + imm] : 0; };
/** PACKSS / PACKUS: src1's elements then src2's, narrowed with signed / unsigned saturation (SDM Vol. 2B PACKSSWB, PACKUSWB). */
function pack(srcEs: number, unsigned: boolean): LaneFn {
  const dEs = srcEs / 2, bits = dEs * 8, n = LANE / srcEs;
  return (out, a, b) => {
    for (let i = 0; i < n; i++) {
      wr(out, i, dEs, narrow(sx(rd(a, i, srcEs), srcEs * 8)));
      wr(out, n + i, dEs, narrow(sx(rd(b, i, srcEs), srcEs * 8)));
    }
  };
  function narrow(v: bigint): bigint { return unsigned ? satU(v, bits) : BigInt.asUintN(bits, satS(v, bits)); }
}
/** SHUFPS: two dwords of src1 then two of src2, chosen by imm pairs; SHUFPD: one qword each, by imm bits per lane. */
const shufps: LaneFn = (out, a, b, imm) => {
  for (let i = 0; i < 4; i++) { const s = (imm >> (2 * i)) & 3; out.set((i < 2 ? a : b).subarray(s * 4, s * 4 + 4), i * 4); }
};
const shufpd: LaneFn = (out, a, b, imm, l) => {
  const s0 = (imm >> (2 * l)) & 1, s1 = (imm >> (2 * l + 1)) & 1;
  out.set(a.subarray(s0 * 8, s0 * 8 + 8), 0);
  out.set(b.subarray(s1 * 8, s1 * 8 + 8), 8);
};
/** VPERMILPS / VPERMILPD with imm8 (the same selection in every lane; PD: one bit per element). */
const permilpsImm: LaneFn = (out, a, _b, imm) => pshufd(out, a, a, imm, 0);
const permilpdImm: LaneFn = (out, a, _b, imm, l) => {
  for (let i = 0; i < 2; i++) { const s = (imm >> (2 * l + i)) & 1; out.set(a.subarray(s * 8, s * 8 + 8), i * 8); }
};
/** VPERMILPS / VPERMILPD with a control vector: bits 1:0 of each dword / bit 1 of each qword. */
const permilpsVar: LaneFn = (out, a, b) => { for (let i = 0; i < 4; i++) { const s = b[i * 4] & 3; out.set(a.subarray(s * 4, s * 4 + 4), i * 4); } };
const permilpdVar: LaneFn = (out, a, b) => { for (let i = 0; i < 2; i++) { const s = (b[i * 8] >> 1) & 1; out.set(a.subarray(s * 8, s * 8 + 8), i * 8); } };
/** PBLENDW: word i of each lane from src2 when imm bit i is set. */
const pblendw: LaneFn = (out, a, b, imm) => { for (let i = 0; i < 8; i++) { const s = (imm >> i) & 1 ? b : a; out[2 * i] = s[2 * i]; out[2 * i + 1] = s[2 * i + 1]; } };
/** PSADBW: per quadword, the sum of the absolute byte differences in its low word (SDM Vol. 2B). */
const psadbw: LaneFn = (out, a, b) => {
  for (let q = 0; q < 2; q++) {
    let s = 0;
    for (let k = q * 8; k < q * 8 + 8; k++) s += Math.abs(a[k] - b[k]);
    out.fill(0, q * 8, q * 8 + 8);
    out[q * 8] = s & 0xff; out[q * 8 + 1] = s >> 8;
  }
};
/** VMPSADBW (SDM Vol. 2B MPSADBW): eight sums of |src1 bytes - a src2 dword| over sliding src1 windows; lane 1 uses imm[5:3]. */
const mpsadbw: LaneFn = (out, a, b, imm, l) => {
  const ctl = (imm >> (3 * l)) & 7;
  const aOff = ((ctl >> 2) & 1) * 4, bOff = (ctl & 3) * 4;
  for (let j = 0; j < 8; j++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += Math.abs(a[aOff + j + k] - b[bOff + k]);
    out[2 * j] = s & 0xff; out[2 * j + 1] = s >> 8;
  }
};
/**
 * VDBPSADBW (SDM Vol. 2C): src2's dwords shuffled in each lane by imm8 (as PSHUFD), then per
 * quadword four word sums of |src1 byte - shuffled byte| over offset windows.
 */
const dbpsadbw: LaneFn = (out, a, b, imm) => {
  const t = new Uint8Array(16);
  pshufd(t, b, b, imm, 0);
  for (let q = 0; q < 16; q += 8) {
    const sum = (ao: number, to: number): number => { let s = 0; for (let k = 0; k < 4; k++) s += Math.abs(a[q + ao + k] - t[q + to + k]); return s; };
    const w = [sum(0, 0), sum(0, 1), sum(4, 2), sum(4, 3)];
    for (let j = 0; j < 4; j++) { out[q + 2 * j] = w[j] & 0xff; out[q + 2 * j + 1] = w[j] >> 8; }
  }
};
/** PMADDWD: signed word pairs multiplied and added into dwords (wrapping: 0x8000 pairs give 0x80000000). */
const pmaddwd: LaneFn = (out, a, b) => {
  for (let i = 0; i < 4; i++) wr(out, i, 4, BigInt.asUintN(32, sx(rd(a, 2 * i, 2), 16) * sx(rd(b, 2 * i, 2), 16) + sx(rd(a, 2 * i + 1, 2), 16) * sx(rd(b, 2 * i + 1, 2), 16)));
};
/** PMADDUBSW: unsigned bytes of src1 times signed bytes of src2, pairs added with signed word saturation. */
const pmaddubsw: LaneFn = (out, a, b) => {
  for (let i = 0; i < 8; i++) {
    const s = a[2 * i] * ((b[2 * i] << 24) >> 24) + a[2 * i + 1] * ((b[2 * i + 1] << 24) >> 24);
    wr(out, i, 2, BigInt.asUintN(16, satS(BigInt(s), 16)));
  }
};
/** PHADD/PHSUB W/D(S) (VEX only): horizontal pairs of src1 then of src2 in each lane (SDM Vol. 2B PHADDW). */
function hop(es: number, f: (x: bigint, y: bigint) => bigint, saturate: boolean): LaneFn {
  const n = LANE / es, bits = es * 8;
  return (out, a, b) => {
    for (let i = 0; i < n / 2; i++) {
      const r1 = f(sx(rd(a, 2 * i, es), bits), sx(rd(a, 2 * i + 1, es), bits));
      const r2 = f(sx(rd(b, 2 * i, es), bits), sx(rd(b, 2 * i + 1, es), bits));
      wr(out, i, es, BigInt.asUintN(bits, saturate ? satS(r1, bits) : r1));
      wr(out, n / 2 + i, es, BigInt.asUintN(bits, saturate ? satS(r2, bits) : r2));
    }
  };
}

defineOps([M.Vpshufb], laneOp(1, pshufb));
defineOps([M.Vpshufd], laneOp(4, pshufd, false));
defineOps([M.Vpshufhw], laneOp(2, pshufw(true), false));
defineOps([M.Vpshuflw], laneOp(2, pshufw(false), false));
defineOps([M.Vpunpcklbw], laneOp(1, unpack(1, false)));
defineOps([M.Vpunpckhbw], laneOp(1, unpack(1, true)));
defineOps([M.Vpunpcklwd], laneOp(2, unpack(2, false)));
defineOps([M.Vpunpckhwd], laneOp(2, unpack(2, true)));
defineOps([M.Vpunpckldq, M.Vunpcklps], laneOp(4, unpack(4, false)));
defineOps([M.Vpunpckhdq, M.Vunpckhps], laneOp(4, unpack(4, true)));
defineOps([M.Vpunpcklqdq, M.Vunpcklpd], laneOp(8, unpack(8, false)));
defineOps([M.Vpunpckhqdq, M.Vunpckhpd], laneOp(8, unpack(8, true)));
defineOps([M.Vpalignr], laneOp(1, palignr));
defineOps([M.Vpslldq], laneOp(1, pslldq, false));
defineOps([M.Vpsrldq], laneOp(1, psrldq, false));
defineOps([M.Vpacksswb], laneOp(1, pack(2, false)));
defineOps([M.Vpackssdw], laneOp(2, pack(4, false)));
defineOps([M.Vpackuswb], laneOp(1, pack(2, true)));
defineOps([M.Vpackusdw], laneOp(2, pack(4, true)));
defineOps([M.Vshufps], laneOp(4, shufps));
defineOps([M.Vshufpd], laneOp(8, shufpd));
defineOps([M.Vpblendw], laneOp(2, pblendw));
defineOps([M.Vpsadbw], laneOp(8, psadbw));
defineOps([M.Vmpsadbw], laneOp(2, mpsadbw));
defineOps([M.Vdbpsadbw], laneOp(2, dbpsadbw));
defineOps([M.Vpmaddwd], laneOp(4, pmaddwd));
defineOps([M.Vpmaddubsw], laneOp(2, pmaddubsw));
defineOps([M.Vphaddw], laneOp(2, hop(2, (x, y) => x + y, false)));
defineOps([M.Vphaddd], laneOp(4, hop(4, (x, y) => x + y, false)));
defineOps([M.Vphaddsw], laneOp(2, hop(2, (x, y) => x + y, true)));
defineOps([M.Vphsubw], laneOp(2, hop(2, (x, y) => x - y, false)));
defineOps([M.Vphsubd], laneOp(4, hop(4, (x, y) => x - y, false)));
defineOps([M.Vphsubsw], laneOp(2, hop(2, (x, y) => x - y, true)));

/** VPERMILPS/PD: imm8 form (dst, src/m, imm) or control-vector form (dst, src1, src2/m). */
function permil(es: number, immF: LaneFn, varF: LaneFn): Op {
  const immOp = laneOp(es, immF, false), varOp = laneOp(es, varF);
  return (c) => (c.ins.opKind(c.ins.opCount - 1) === OpKind.Immediate8 ? immOp(c) : varOp(c));
}
defineOps([M.Vpermilps], permil(4, permilpsImm, permilpsVar));
defineOps([M.Vpermilpd], permil(8, permilpdImm, permilpdVar));

/* ------------------------------------------------------------ blends */

/** VPBLENDD / VBLENDPS / VBLENDPD imm8: element i from src2 when imm bit (i mod 8) is set. */
function blendImm(es: number): Op {
  return (c) => {
    const a = readNF(c, 1, c.width, es), b = readNF(c, 2, c.width, es);
    const out = a.slice();
    for (let i = 0; i < c.width / es; i++) if ((c.ins.immediate8 >> (i % 8)) & 1) out.set(b.subarray(i * es, (i + 1) * es), i * es);
    writeDest(c, out, es);
  };
}
/** VPBLENDVB / VBLENDVPS / VBLENDVPD: element from src2 when the top bit of the same element of the fourth operand is set. */
function blendVar(es: number): Op {
  return (c) => {
    const a = readNF(c, 1, c.width, es), b = readNF(c, 2, c.width, es), m = readNF(c, 3, c.width, es);
    const out = a.slice();
    for (let i = 0; i < c.width / es; i++) if (m[(i + 1) * es - 1] & 0x80) out.set(b.subarray(i * es, (i + 1) * es), i * es);
    writeDest(c, out, es);
  };
}
/**
 * VPBLENDM / VBLENDMPS/PD (SDM Vol. 2C VPBLENDMB): src2 where the mask bit is set, else src1 (or 0
 * with zeroing); without a mask, src2. Written whole: the mask selects, it does not merge with dst.
 */
function blendMask(es: number): Op {
  return (c) => {
    const a = readOp(c, 1, c.width, es), b = readOp(c, 2, c.width, bcst(c, es));
    const [lo, hi] = maskHalves(maskOf(c, c.width / es));
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) {
      const s = maskBit(lo, hi, i) ? b : c.ins.zeroingMasking ? undefined : a;
      if (s) out.set(s.subarray(i * es, (i + 1) * es), i * es);
    }
    writeDest({ ...c, evex: false }, out, es);
  };
}
defineOps([M.Vpblendd, M.Vblendps], blendImm(4));
defineOps([M.Vblendpd], blendImm(8));
defineOps([M.Vpblendvb], blendVar(1));
defineOps([M.Vblendvps], blendVar(4));
defineOps([M.Vblendvpd], blendVar(8));
defineOps([M.Vpblendmb], blendMask(1));
defineOps([M.Vpblendmw], blendMask(2));
defineOps([M.Vpblendmd, M.Vblendmps], blendMask(4));
defineOps([M.Vpblendmq, M.Vblendmpd], blendMask(8));

/* ------------------------------------------------------------ permutes across lanes */

/** VPERMB/W/D/Q/PS/PD with an index vector: dst[i] = src2[src1[i] mod n] (SDM Vol. 2C VPERMD; operand 1 holds the indices). */
function permVar(es: number): Op {
  return (c) => {
    const idx = readNF(c, 1, c.width, es), t = readNF(c, 2, c.width, bcst(c, es));
    const n = c.width / es;
    const out = new Uint8Array(c.width);
    for (let i = 0; i < n; i++) { const s = idx[i * es] % n; out.set(t.subarray(s * es, (s + 1) * es), i * es); }
    writeDest(c, out, es);
  };
}
/** VPERMQ / VPERMPD imm8: in each 256-bit half, qword i = qword imm[2i+1:2i] of that half. */
const permQImm: Op = (c) => {
  const a = readNF(c, 1, c.width, bcst(c, 8));
  const out = new Uint8Array(c.width);
  for (let h = 0; h < c.width; h += 32) for (let i = 0; i < 4; i++) { const s = h + ((c.ins.immediate8 >> (2 * i)) & 3) * 8; out.set(a.subarray(s, s + 8), h + i * 8); }
  writeDest(c, out, 8);
};
function permQ(es: number): Op {
  const v = permVar(es);
  return (c) => (c.ins.opKind(c.ins.opCount - 1) === OpKind.Immediate8 ? permQImm(c) : v(c));
}
/**
 * VPERMI2x: the destination holds indices, src1 and src2 the two tables; VPERMT2x: the destination
 * is the first table, src1 the indices (SDM Vol. 2C). Index bit log2(n) picks the table.
 */
function perm2(es: number, indexInDest: boolean): Op {
  return (c) => {
    const n = c.width / es;
    const d = readNF(c, 0, c.width, es), s1 = readNF(c, 1, c.width, es), s2 = readNF(c, 2, c.width, bcst(c, es));
    const idx = indexInDest ? d : s1, t1 = indexInDest ? s1 : d;
    const out = new Uint8Array(c.width);
    for (let i = 0; i < n; i++) {
      const k = idx[i * es] % (2 * n);
      const src = k >= n ? s2 : t1, s = k % n;
      out.set(src.subarray(s * es, (s + 1) * es), i * es);
    }
    writeDest(c, out, es);
  };
}
/** VPERM2I128 / VPERM2F128: each 128-bit half from one of the four source halves or zero (imm nibbles). */
const perm2x128: Op = (c) => {
  const a = readNF(c, 1, 32, 0), b = readNF(c, 2, 32, 0);
  const out = new Uint8Array(32);
  for (let h = 0; h < 2; h++) {
    const ctl = (c.ins.immediate8 >> (4 * h)) & 0xf;
    if (ctl & 8) continue;
    const src = ctl & 2 ? b : a, o = (ctl & 1) * 16;
    out.set(src.subarray(o, o + 16), h * 16);
  }
  writeDest(c, out, 1);
};
/** VSHUFI32X4 & co.: lanes of the result from src1 (low half) and src2 (high half), 1 or 2 imm bits each. */
function shuf128(es: number): Op {
  return (c) => {
    const a = readNF(c, 1, c.width, es), b = readNF(c, 2, c.width, bcst(c, es));
    const lanes = c.width / LANE, bitsPer = lanes === 4 ? 2 : 1;
    const out = new Uint8Array(c.width);
    for (let l = 0; l < lanes; l++) {
      const s = (c.ins.immediate8 >> (bitsPer * l)) & ((1 << bitsPer) - 1);
      out.set((l < lanes / 2 ? a : b).subarray(s * LANE, (s + 1) * LANE), l * LANE);
    }
    writeDest(c, out, es);
  };
}
/** VALIGND / VALIGNQ: elements imm..imm+n-1 of (src1 : src2), imm taken modulo the element count (SDM Vol. 2C). */
function valign(es: number): Op {
  return (c) => {
    const a = readNF(c, 1, c.width, es), b = readNF(c, 2, c.width, bcst(c, es));
    const n = c.width / es, sh = c.ins.immediate8 & (n - 1);
    const cat = new Uint8Array(2 * c.width);
    cat.set(b, 0); cat.set(a, c.width);
    writeDest(c, cat.slice(sh * es, sh * es + c.width), es);
  };
}
defineOps([M.Vpermb], permVar(1));
defineOps([M.Vpermw], permVar(2));
defineOps([M.Vpermd, M.Vpermps], permVar(4));
defineOps([M.Vpermq, M.Vpermpd], permQ(8));
defineOps([M.Vpermi2b], perm2(1, true)); defineOps([M.Vpermi2w], perm2(2, true));
defineOps([M.Vpermi2d, M.Vpermi2ps], perm2(4, true)); defineOps([M.Vpermi2q, M.Vpermi2pd], perm2(8, true));
defineOps([M.Vpermt2b], perm2(1, false)); defineOps([M.Vpermt2w], perm2(2, false));
defineOps([M.Vpermt2d, M.Vpermt2ps], perm2(4, false)); defineOps([M.Vpermt2q, M.Vpermt2pd], perm2(8, false));
defineOps([M.Vperm2i128, M.Vperm2f128], perm2x128);
defineOps([M.Vshufi32x4, M.Vshuff32x4], shuf128(4));
defineOps([M.Vshufi64x2, M.Vshuff64x2], shuf128(8));
defineOps([M.Valignd], valign(4));
defineOps([M.Valignq], valign(8));

/* ------------------------------------------------------------ compress / expand */

/**
 * VPCOMPRESS / VCOMPRESSPS/PD (SDM Vol. 2C): the enabled elements packed to the low end. To a
 * register the rest is merged or zeroed; to memory only the packed elements are stored.
 */
function compress(es: number): Op {
  return (c) => {
    const { ins } = c;
    const src = c.vec.read(vecIndex(ins.opRegister(1)), c.width);
    const n = c.width / es;
    const [lo, hi] = maskHalves(maskOf(c, n));
    const packed = new Uint8Array(c.width);
    let k = 0;
    for (let i = 0; i < n; i++) if (maskBit(lo, hi, i)) { packed.set(src.subarray(i * es, (i + 1) * es), k * es); k++; }
    if (ins.opKind(0) === OpKind.Memory) { if (k) c.env.writeMem(effectiveAddress(ins, c.env), packed.slice(0, k * es)); return; }
    const d = vecIndex(ins.opRegister(0));
    const out = ins.zeroingMasking ? new Uint8Array(c.width) : c.vec.read(d, c.width);
    out.set(packed.subarray(0, k * es), 0);
    writeDest({ ...c, evex: false }, out, es);
  };
}
/** VPEXPAND / VEXPANDPS/PD: consecutive source elements (register or memory, only those read) to the enabled positions. */
function expand(es: number): Op {
  return (c) => {
    const { ins } = c;
    const n = c.width / es;
    const [lo, hi] = maskHalves(maskOf(c, n));
    let count = 0;
    for (let i = 0; i < n; i++) count += maskBit(lo, hi, i);
    const src = ins.opKind(1) === OpKind.Memory ? (count ? c.env.readMem(effectiveAddress(ins, c.env), count * es) : new Uint8Array(0)) : c.vec.read(vecIndex(ins.opRegister(1)), c.width);
    const out = new Uint8Array(c.width);
    let k = 0;
    for (let i = 0; i < n; i++) if (maskBit(lo, hi, i)) { out.set(src.subarray(k * es, (k + 1) * es), i * es); k++; }
    writeDest(c, out, es);
  };
}
defineOps([M.Vpcompressb], compress(1)); defineOps([M.Vpcompressw], compress(2));
defineOps([M.Vpcompressd, M.Vcompressps], compress(4)); defineOps([M.Vpcompressq, M.Vcompresspd], compress(8));
defineOps([M.Vpexpandb], expand(1)); defineOps([M.Vpexpandw], expand(2));
defineOps([M.Vpexpandd, M.Vexpandps], expand(4)); defineOps([M.Vpexpandq, M.Vexpandpd], expand(8));

/* ------------------------------------------------------------ widening and narrowing moves */

/** VPMOVZX / VPMOVSX: the low source elements (register or memory) widened from sEs to dEs bytes. */
function extend(sEs: number, dEs: number, signed: boolean): Op {
  return (c) => {
    const n = c.width / dEs;
    const src = readOp(c, 1, n * sEs, sEs);
    const out = new Uint8Array(c.width);
    for (let i = 0; i < n; i++) { const v = rd(src, i, sEs); wr(out, i, dEs, signed ? sx(v, sEs * 8) : v); }
    writeDest(c, out, dEs);
  };
}
/**
 * VPMOV{,S,US}{QB,QW,QD,DB,DW,WB} (SDM Vol. 2C VPMOVQB): each source element narrowed by
 * truncation, signed or unsigned saturation; to a register the rest of the xmm/ymm is zero, to
 * memory only the (enabled) narrowed elements are stored.
 */
enum Narrow { Truncate, Signed, Unsigned }
function down(sEs: number, dEs: number, how: Narrow): Op {
  const bits = dEs * 8;
  return (c) => {
    const { ins } = c;
    const r = ins.opRegister(1);
    const sw = vecWidth(r);
    const src = c.vec.read(vecIndex(r), sw);
    const n = sw / sEs;
    const res = new Uint8Array(n * dEs);
    for (let i = 0; i < n; i++) {
      const v = rd(src, i, sEs);
      wr(res, i, dEs, how === Narrow.Truncate ? v : how === Narrow.Signed ? BigInt.asUintN(bits, satS(sx(v, sEs * 8), bits)) : satU(v, bits));
    }
    if (ins.opKind(0) === OpKind.Memory) { writeDest({ ...c, width: res.length }, res, dEs); return; }
    const out = new Uint8Array(Math.max(XMM_BYTES, res.length));
    out.set(res);
    // Masking covers the n narrowed elements; the bytes above them are zero whatever the mask.
    const masked = new Uint8Array(out.length);
    const [lo, hi] = maskHalves(maskOf(c, n));
    const old = c.vec.read(vecIndex(ins.opRegister(0)), out.length);
    for (let i = 0; i < n; i++) {
      const s = maskBit(lo, hi, i) ? out : ins.zeroingMasking ? undefined : old;
      if (s) masked.set(s.subarray(i * dEs, (i + 1) * dEs), i * dEs);
    }
    writeDest({ ...c, evex: false, width: out.length }, masked, dEs, undefined, 0, -1, out.length === XMM_BYTES && wideEvexToXmm(c));
  };
}
const EXT: [Mnemonic, Mnemonic, number, number][] = [
  [M.Vpmovzxbw, M.Vpmovsxbw, 1, 2], [M.Vpmovzxbd, M.Vpmovsxbd, 1, 4], [M.Vpmovzxbq, M.Vpmovsxbq, 1, 8],
  [M.Vpmovzxwd, M.Vpmovsxwd, 2, 4], [M.Vpmovzxwq, M.Vpmovsxwq, 2, 8], [M.Vpmovzxdq, M.Vpmovsxdq, 4, 8],
];
for (const [z, s, a, b] of EXT) { defineOps([z], extend(a, b, false)); defineOps([s], extend(a, b, true)); }
const DOWN: [Mnemonic, Mnemonic, Mnemonic, number, number][] = [
  [M.Vpmovqb, M.Vpmovsqb, M.Vpmovusqb, 8, 1], [M.Vpmovqw, M.Vpmovsqw, M.Vpmovusqw, 8, 2], [M.Vpmovqd, M.Vpmovsqd, M.Vpmovusqd, 8, 4],
  [M.Vpmovdb, M.Vpmovsdb, M.Vpmovusdb, 4, 1], [M.Vpmovdw, M.Vpmovsdw, M.Vpmovusdw, 4, 2], [M.Vpmovwb, M.Vpmovswb, M.Vpmovuswb, 2, 1],
];
for (const [t, s, u, a, b] of DOWN) { defineOps([t], down(a, b, Narrow.Truncate)); defineOps([s], down(a, b, Narrow.Signed)); defineOps([u], down(a, b, Narrow.Unsigned)); }
