/** Opmask instructions (SDM Vol. 2B "K*"). */
import { Mnemonic, OpKind } from '../iced.js';
import { WriteKind } from '../vector-file.js';
import { defineOps, effectiveAddress, elemSize, getElem, isK, kIndex, setElem, type Op } from './core.js';

const M = Mnemonic;


const kBits = (m: Mnemonic): bigint => BigInt(elemSize(m) * 8);
const K_MASK = new Map<Mnemonic, bigint>();
const kMask = (m: Mnemonic): bigint => {
  let v = K_MASK.get(m);
  if (v === undefined) { v = (1n << kBits(m)) - 1n; K_MASK.set(m, v); }
  return v;
};

/** KMOVB/W/D/Q: k <- k/m/r, m <- k, r <- k; the destination k is zero-extended. */
const kmov: Op = (c) => {
  const { ins, env } = c;
  const m = kMask(ins.mnemonic), bytes = elemSize(ins.mnemonic);
  let v: bigint;
  if (ins.opKind(1) === OpKind.Memory) v = getElem(env.readMem(effectiveAddress(ins, env), bytes), 0, bytes);
  else if (isK(ins.opRegister(1))) v = c.vec.readK(kIndex(ins.opRegister(1)));
  else v = env.getGpr(ins.opRegister(1));
  v &= m;
  if (ins.opKind(0) === OpKind.Memory) { const b = new Uint8Array(bytes); setElem(b, 0, bytes, v); env.writeMem(effectiveAddress(ins, env), b); }
  else if (isK(ins.opRegister(0))) {
    const fromK = ins.opKind(1) === OpKind.Register && isK(ins.opRegister(1));
    c.vec.writeK(kIndex(ins.opRegister(0)), v, fromK ? WriteKind.Move : WriteKind.Load, fromK ? kIndex(ins.opRegister(1)) : -1);
  } else env.setGpr(ins.opRegister(0), v);
};

function kbinary(f: (a: bigint, b: bigint) => bigint, idiomWhenSame: boolean): Op {
  return (c) => {
    const { ins } = c;
    const a = c.vec.readK(kIndex(ins.opRegister(1))), b = c.vec.readK(kIndex(ins.opRegister(2)));
    const same = idiomWhenSame && ins.opRegister(1) === ins.opRegister(2);
    c.vec.writeK(kIndex(ins.opRegister(0)), f(a, b) & kMask(ins.mnemonic), same ? WriteKind.Idiom : WriteKind.Compute);
  };
}

const knot: Op = (c) => c.vec.writeK(kIndex(c.ins.opRegister(0)), ~c.vec.readK(kIndex(c.ins.opRegister(1))) & kMask(c.ins.mnemonic));

/** KORTEST: ZF = (a|b) == 0, CF = (a|b) all ones; KTEST: ZF = (a&b) == 0, CF = (~a&b) == 0. */
function ktestLike(kind: 'or' | 'and'): Op {
  return (c) => {
    const m = kMask(c.ins.mnemonic);
    const a = c.vec.readK(kIndex(c.ins.opRegister(0))) & m, b = c.vec.readK(kIndex(c.ins.opRegister(1))) & m;
    const zf = kind === 'or' ? (a | b) === 0n : (a & b) === 0n;
    const cf = kind === 'or' ? (a | b) === m : (~a & b & m) === 0n;
    c.env.setStatusFlags({ cf: +cf, pf: 0, af: 0, zf: +zf, sf: 0, of: 0 });
  };
}

function kshift(left: boolean): Op {
  return (c) => {
    const m = kMask(c.ins.mnemonic);
    const n = BigInt(c.ins.immediate8);
    const a = c.vec.readK(kIndex(c.ins.opRegister(1))) & m;
    const v = n >= kBits(c.ins.mnemonic) ? 0n : left ? (a << n) & m : a >> n;
    c.vec.writeK(kIndex(c.ins.opRegister(0)), v);
  };
}

/** KUNPCKBW/WD/DQ: dst = (src1 low half << half) | src2 low half. */
const kunpck: Op = (c) => {
  const half = BigInt(elemSize(c.ins.mnemonic) * 4);
  const low = (1n << half) - 1n;
  const a = c.vec.readK(kIndex(c.ins.opRegister(1))) & low, b = c.vec.readK(kIndex(c.ins.opRegister(2))) & low;
  c.vec.writeK(kIndex(c.ins.opRegister(0)), (a << half) | b);
};

defineOps([M.Kmovb, M.Kmovw, M.Kmovd, M.Kmovq], kmov);
defineOps([M.Kandb, M.Kandw, M.Kandd, M.Kandq], kbinary((a, b) => a & b, false));
defineOps([M.Kandnb, M.Kandnw, M.Kandnd, M.Kandnq], kbinary((a, b) => ~a & b, true));
defineOps([M.Korb, M.Korw, M.Kord, M.Korq], kbinary((a, b) => a | b, false));
defineOps([M.Kxorb, M.Kxorw, M.Kxord, M.Kxorq], kbinary((a, b) => a ^ b, true));
defineOps([M.Kxnorb, M.Kxnorw, M.Kxnord, M.Kxnorq], kbinary((a, b) => ~(a ^ b), false));
defineOps([M.Kaddb, M.Kaddw, M.Kaddd, M.Kaddq], kbinary((a, b) => a + b, false));
defineOps([M.Knotb, M.Knotw, M.Knotd, M.Knotq], knot);
defineOps([M.Kortestb, M.Kortestw, M.Kortestd, M.Kortestq], ktestLike('or'));
defineOps([M.Ktestb, M.Ktestw, M.Ktestd, M.Ktestq], ktestLike('and'));
defineOps([M.Kshiftlb, M.Kshiftlw, M.Kshiftld, M.Kshiftlq], kshift(true));
defineOps([M.Kshiftrb, M.Kshiftrw, M.Kshiftrd, M.Kshiftrq], kshift(false));
defineOps([M.Kunpckbw, M.Kunpckwd, M.Kunpckdq], kunpck);
