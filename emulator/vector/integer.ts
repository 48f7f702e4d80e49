/** Integer logic, arithmetic, compares and mask extraction on vector registers (SDM Vol. 2). */
import { Mnemonic, OpKind, Register } from '../iced.js';
import { WriteKind } from '../vector-file.js';
import { defineOps, elemSize, fromHalves, isK, kIndex, maskBit, maskHalves, maskOf, readOp, vecIndex, vecWidth, writeDest, type Op } from './core.js';

const M = Mnemonic;

/** Bitwise logic on three operands: dst = f(src1, src2); a zeroing idiom when both sources are one register. */
function logic(f: (a: number, b: number) => number, idiomWhenSame: boolean): Op {
  return (c) => {
    const es = elemSize(c.ins.mnemonic);
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, es);
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width; i++) out[i] = f(a[i], b[i]) & 0xff;
    const same = idiomWhenSame && c.ins.opKind(2) === OpKind.Register && c.ins.opRegister(1) === c.ins.opRegister(2) && (c.ins.opMask === Register.None || c.ins.zeroingMasking);
    writeDest(c, out, es, same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/**
 * Element-wise arithmetic (VPADDx, VPSUBx): wrap-around on the element size, computed byte by
 * byte with the carry (borrow) propagated inside each element and dropped at its top.
 */
function arith(subtract: boolean, idiomWhenSame: boolean): Op {
  return (c) => {
    const es = elemSize(c.ins.mnemonic);
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, es);
    const width = c.width;
    const out = new Uint8Array(width);
    for (let e = 0; e < width; e += es) {
      let carry = 0;
      for (let k = e; k < e + es; k++) {
        const v = subtract ? a[k] - b[k] - carry : a[k] + b[k] + carry;
        out[k] = v & 0xff;
        carry = subtract ? (v < 0 ? 1 : 0) : v >> 8;
      }
    }
    const same = idiomWhenSame && c.ins.opKind(2) === OpKind.Register && c.ins.opRegister(1) === c.ins.opRegister(2) && (c.ins.opMask === Register.None || c.ins.zeroingMasking);
    writeDest(c, out, es, same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/** VPTERNLOGD/Q: each result bit is imm8[(dst << 2) | (src1 << 1) | src2] (SDM Vol. 2C VPTERNLOGD). */
const vpternlog: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const n = vecIndex(c.ins.opRegister(0));
  const d = c.vec.read(n, c.width);
  const a = readOp(c, 1, c.width, es);
  const b = readOp(c, 2, c.width, es);
  const imm = c.ins.immediate8;
  const out = new Uint8Array(c.width);
  for (let i = 0; i < c.width; i++) {
    let v = 0;
    for (let bitn = 0; bitn < 8; bitn++) {
      const idx = (((d[i] >> bitn) & 1) << 2) | (((a[i] >> bitn) & 1) << 1) | ((b[i] >> bitn) & 1);
      v |= ((imm >> idx) & 1) << bitn;
    }
    out[i] = v;
  }
  writeDest(c, out, es);
};

/**
 * Compare predicates of VPCMP[U]{B,W,D,Q} imm8 (SDM Vol. 2C VPCMPB: 0 EQ, 1 LT, 2 LE, 3 FALSE,
 * 4 NEQ, 5 NLT, 6 NLE, 7 TRUE), over `order` = sign of (a - b).
 */
function predicate(p: number, order: number): boolean {
  switch (p & 7) {
    case 0: return order === 0;
    case 1: return order < 0;
    case 2: return order <= 0;
    case 3: return false;
    case 4: return order !== 0;
    case 5: return order >= 0;
    case 6: return order > 0;
    default: return true;
  }
}

/** Sign of (a - b) for the element of `es` bytes at byte offset o, little-endian, signed or unsigned. */
function compareElem(a: Uint8Array, b: Uint8Array, o: number, es: number, signedCmp: boolean): number {
  let k = o + es - 1;
  let x = a[k], y = b[k];
  if (signedCmp) { x = (x << 24) >> 24; y = (y << 24) >> 24; }
  if (x !== y) return x < y ? -1 : 1;
  for (k--; k >= o; k--) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

/**
 * Integer compares. VEX forms (VPCMPEQx, VPCMPGTx) write all-ones/zero elements; EVEX forms write
 * a mask register, zeroing bits above the element count and masked-off bits (SDM Vol. 2C).
 */
function compare(kind: 'eq' | 'gt' | 'imm-signed' | 'imm-unsigned' | 'test' | 'testn'): Op {
  return (c) => {
    const { ins } = c;
    const es = elemSize(ins.mnemonic);
    const srcW = vecWidth(ins.opRegister(1)) || c.width;
    const a = readOp(c, 1, srcW, es);
    const b = readOp(c, 2, srcW, es);
    const elems = srcW / es;
    const imm = kind === 'imm-signed' || kind === 'imm-unsigned' ? ins.immediate8 : 0;
    // The result bits, elements 0-31 in lo and 32-63 in hi.
    let lo = 0, hi = 0;
    for (let i = 0; i < elems; i++) {
      const o = i * es;
      let r: boolean;
      switch (kind) {
        case 'eq': r = compareElem(a, b, o, es, false) === 0; break;
        case 'gt': r = compareElem(a, b, o, es, true) > 0; break;
        case 'imm-signed': r = predicate(imm, compareElem(a, b, o, es, true)); break;
        case 'imm-unsigned': r = predicate(imm, compareElem(a, b, o, es, false)); break;
        default: {
          let any = false;
          for (let k = o; k < o + es; k++) if (a[k] & b[k]) { any = true; break; }
          r = kind === 'test' ? any : !any;
        }
      }
      if (r) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
    }
    if (isK(ins.opRegister(0))) {
      const m = maskOf(c, elems);
      const v = fromHalves(lo, hi);
      const sameSrc = ins.opKind(2) === OpKind.Register && ins.opRegister(1) === ins.opRegister(2);
      // Measured (AMD Zen 5): under a write mask the compare is not a zeroing idiom.
      c.vec.writeK(kIndex(ins.opRegister(0)), v & m, kind === 'gt' && sameSrc && ins.opMask === Register.None ? WriteKind.Idiom : WriteKind.Compute);
      return;
    }
    const out = new Uint8Array(srcW);
    const same = ins.opKind(2) === OpKind.Register && ins.opRegister(1) === ins.opRegister(2);
    for (let i = 0; i < elems; i++) if (maskBit(lo, hi, i)) for (let k = i * es; k < (i + 1) * es; k++) out[k] = 0xff;
    writeDest({ ...c, width: srcW }, out, es, kind === 'gt' && same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/** VPMOVMSKB r32/64, xmm/ymm: the top bit of each byte (SDM Vol. 2B PMOVMSKB). */
const vpmovmskb: Op = (c) => {
  const r = c.ins.opRegister(1);
  const src = c.vec.read(vecIndex(r), vecWidth(r));
  let lo = 0, hi = 0;
  for (let i = 0; i < src.length; i++) if (src[i] & 0x80) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
  c.env.setGpr(c.ins.opRegister(0), fromHalves(lo, hi));
};

/** VPMOVB2M/W2M/D2M/Q2M: top bit of each element into a mask register. */
const vpmov2m: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const r = c.ins.opRegister(1);
  const src = c.vec.read(vecIndex(r), vecWidth(r));
  let lo = 0, hi = 0;
  for (let i = 0; i < src.length / es; i++) if (src[i * es + es - 1] & 0x80) { if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32); }
  c.vec.writeK(kIndex(c.ins.opRegister(0)), fromHalves(lo, hi));
};

/** VPMOVM2B/W/D/Q: each mask bit to an all-ones or zero element. */
const vpmovm2: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const [lo, hi] = maskHalves(c.vec.readK(kIndex(c.ins.opRegister(1))));
  const out = new Uint8Array(c.width);
  for (let i = 0; i < c.width / es; i++) if (maskBit(lo, hi, i)) for (let k = i * es; k < (i + 1) * es; k++) out[k] = 0xff;
  writeDest(c, out, es);
};

/** VPTEST: ZF = (src & dst) == 0, CF = (src & ~dst) == 0; AF, OF, PF, SF cleared (SDM Vol. 2B PTEST). */
const vptest: Op = (c) => {
  const a = readOp(c, 0, c.width, 1);
  const b = readOp(c, 1, c.width, 1);
  let zf = 1, cf = 1;
  for (let i = 0; i < c.width; i++) { if (a[i] & b[i]) zf = 0; if (b[i] & ~a[i]) cf = 0; }
  c.env.setStatusFlags({ cf, pf: 0, af: 0, zf, sf: 0, of: 0 });
};

defineOps([M.Vpxor, M.Vpxord, M.Vpxorq, M.Vxorps, M.Vxorpd], logic((a, b) => a ^ b, true));
defineOps([M.Vpand, M.Vpandd, M.Vpandq, M.Vandps, M.Vandpd], logic((a, b) => a & b, false));
defineOps([M.Vpandn, M.Vpandnd, M.Vpandnq, M.Vandnps, M.Vandnpd], logic((a, b) => ~a & b, true));
defineOps([M.Vpor, M.Vpord, M.Vporq, M.Vorps, M.Vorpd], logic((a, b) => a | b, false));
defineOps([M.Vpaddb, M.Vpaddw, M.Vpaddd, M.Vpaddq], arith(false, false));
defineOps([M.Vpsubb, M.Vpsubw, M.Vpsubd, M.Vpsubq], arith(true, true));
defineOps([M.Vpternlogd, M.Vpternlogq], vpternlog);
defineOps([M.Vpcmpeqb, M.Vpcmpeqw, M.Vpcmpeqd, M.Vpcmpeqq], compare('eq'));
defineOps([M.Vpcmpgtb, M.Vpcmpgtw, M.Vpcmpgtd, M.Vpcmpgtq], compare('gt'));
defineOps([M.Vpcmpb, M.Vpcmpw, M.Vpcmpd, M.Vpcmpq], compare('imm-signed'));
defineOps([M.Vpcmpub, M.Vpcmpuw, M.Vpcmpud, M.Vpcmpuq], compare('imm-unsigned'));
defineOps([M.Vptestmb, M.Vptestmw, M.Vptestmd, M.Vptestmq], compare('test'));
defineOps([M.Vptestnmb, M.Vptestnmw, M.Vptestnmd, M.Vptestnmq], compare('testn'));
defineOps([M.Vpmovmskb], vpmovmskb);
defineOps([M.Vpmovb2m, M.Vpmovw2m, M.Vpmovd2m, M.Vpmovq2m], vpmov2m);
defineOps([M.Vpmovm2b, M.Vpmovm2w, M.Vpmovm2d, M.Vpmovm2q], vpmovm2);
defineOps([M.Vptest], vptest);
