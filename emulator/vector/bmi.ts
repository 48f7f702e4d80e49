/**
 * The VEX-encoded general-purpose instructions of BMI1 and BMI2 (SDM Vol. 2A/2B: ANDN, BEXTR,
 * BLSI, BLSMSK, BLSR, BZHI, MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX). The machine hands them to
 * unicorn when unicorn computes them as the CPU does (machine.ts vexGprOnly); these are the model's
 * own definitions, checked against the host by `selfcheck insn`.
 *
 * Flags the SDM leaves undefined (AF and PF everywhere, SF of BEXTR) are set as measured on AMD
 * Zen 5 by the referee (assumption bmi-undefined-flags: the same on the Intel profiles; no Intel
 * CPU was measured).
 */
import { Mnemonic, OpKind, Register, RegisterExt } from '../iced.js';
import { defineOps, effectiveAddress, type Ctx, type Op } from './core.js';
import { rd } from './elements.js';

const M = Mnemonic;

/** The operand size in bits (32 or 64) from the destination register. */
const sizeOf = (c: Ctx): number => RegisterExt.size(c.ins.opRegister(0)) * 8;
/** A general-purpose source: register or memory of the operand size. */
function src(c: Ctx, k: number, bits: number): bigint {
  if (c.ins.opKind(k) === OpKind.Memory) return rd(c.env.readMem(effectiveAddress(c.ins, c.env), bits / 8), 0, bits / 8);
  return c.env.getGpr(c.ins.opRegister(k));
}
const top = (v: bigint, bits: number): number => Number((v >> BigInt(bits - 1)) & 1n);

/** Even parity of the result's low byte: the undefined PF as the referee measured it (assumption bmi-undefined-flags). */
function parityLow8(v: bigint): number {
  let b = Number(v & 0xffn);
  b ^= b >> 4; b ^= b >> 2; b ^= b >> 1;
  return (~b) & 1;
}

/** A flag-setting BMI1/BMI2 operation: result and CF from the sources; OF = 0; ZF, SF from the result unless said. */
type FlagOp = (a: bigint, b: bigint, bits: number) => { v: bigint; cf: number; zf?: number; sf?: number; af?: number };
function withFlags(f: FlagOp, srcs: number[]): Op {
  return (c) => {
    const bits = sizeOf(c);
    const mask = (1n << BigInt(bits)) - 1n;
    const a = src(c, srcs[0], bits) & mask, b = srcs.length > 1 ? src(c, srcs[1], bits) & mask : 0n;
    const r = f(a, b, bits);
    const v = r.v & mask;
    c.env.setGpr(c.ins.opRegister(0), v);
    c.env.setStatusFlags({ cf: r.cf, pf: parityLow8(v), af: r.af ?? 0, zf: r.zf ?? +(v === 0n), sf: r.sf ?? top(v, bits), of: 0 });
  };
}

/** ANDN r, src1, src2: ~src1 & src2. */
const andn: FlagOp = (a, b) => ({ v: ~a & b, cf: 0 });
/** BEXTR r, src1, src2: bits [start, start+len) of src1, start = src2[7:0], len = src2[15:8]; SF undefined (measured 0). */
const bextr: FlagOp = (a, b, bits) => {
  const start = Number(b & 0xffn), len = Number((b >> 8n) & 0xffn);
  const v = start >= bits ? 0n : (a >> BigInt(start)) & (len >= bits ? (1n << BigInt(bits)) - 1n : (1n << BigInt(len)) - 1n);
  return { v, cf: 0, sf: 0, af: 1 };
};
/** BLSI: lowest set bit; CF = (src != 0). BLSMSK: mask up to the lowest set bit; CF = (src == 0), ZF = 0. BLSR: lowest set bit cleared; CF = (src == 0). */
const blsi: FlagOp = (a) => ({ v: -a & a, cf: +(a !== 0n) });
const blsmsk: FlagOp = (a, _b, bits) => ({ v: ((a - 1n) ^ a) & ((1n << BigInt(bits)) - 1n), cf: +(a === 0n), zf: 0 });
const blsr: FlagOp = (a) => ({ v: (a - 1n) & a, cf: +(a === 0n) });
/** BZHI r, src1, src2: src1 with bits from index src2[7:0] up cleared; CF = (index > operand size - 1). */
const bzhi: FlagOp = (a, b, bits) => {
  const n = Number(b & 0xffn);
  return n < bits ? { v: a & ((1n << BigInt(n)) - 1n), cf: 0 } : { v: a, cf: 1 };
};

defineOps([M.Andn], withFlags(andn, [1, 2]));
defineOps([M.Bextr], withFlags(bextr, [1, 2]));
defineOps([M.Blsi], withFlags(blsi, [1]));
defineOps([M.Blsmsk], withFlags(blsmsk, [1]));
defineOps([M.Blsr], withFlags(blsr, [1]));
defineOps([M.Bzhi], withFlags(bzhi, [1, 2]));

/** MULX hi, lo, src: RDX/EDX * src unsigned, flags unchanged; the same register twice gets the high half (SDM Vol. 2B MULX). */
const mulx: Op = (c) => {
  const bits = sizeOf(c);
  const mask = (1n << BigInt(bits)) - 1n;
  const d = c.env.getGpr(Register.RDX) & mask;
  const p = d * (src(c, 2, bits) & mask);
  c.env.setGpr(c.ins.opRegister(1), p & mask);
  c.env.setGpr(c.ins.opRegister(0), (p >> BigInt(bits)) & mask);
};
/** PDEP: the low bits of src1 deposited at the set bits of the mask src2; PEXT: the bits of src1 at the mask's set bits, packed low. */
function depositOrExtract(deposit: boolean): Op {
  return (c) => {
    const bits = sizeOf(c);
    const mask = (1n << BigInt(bits)) - 1n;
    const a = src(c, 1, bits) & mask, m = src(c, 2, bits) & mask;
    let v = 0n, k = 0n;
    for (let i = 0n; i < BigInt(bits); i++) {
      if (!((m >> i) & 1n)) continue;
      if (deposit) { if ((a >> k) & 1n) v |= 1n << i; } else if ((a >> i) & 1n) v |= 1n << k;
      k++;
    }
    c.env.setGpr(c.ins.opRegister(0), v);
  };
}
/** RORX r, src, imm8: rotate right by imm mod size, flags unchanged. */
const rorx: Op = (c) => {
  const bits = sizeOf(c);
  const B = BigInt(bits), mask = (1n << B) - 1n;
  const a = src(c, 1, bits) & mask, n = BigInt(c.ins.immediate8 % bits);
  c.env.setGpr(c.ins.opRegister(0), ((a >> n) | (a << ((B - n) % B))) & mask);
};
/** SARX / SHLX / SHRX r, src1, src2: shift by src2 mod size (5 or 6 bits), flags unchanged. */
function shiftx(kind: 'sar' | 'shl' | 'shr'): Op {
  return (c) => {
    const bits = sizeOf(c);
    const B = BigInt(bits), mask = (1n << B) - 1n;
    const a = src(c, 1, bits) & mask, n = c.env.getGpr(c.ins.opRegister(2)) & (B - 1n);
    const v = kind === 'shl' ? a << n : kind === 'shr' ? a >> n : BigInt.asIntN(bits, a) >> n;
    c.env.setGpr(c.ins.opRegister(0), v & mask);
  };
}
defineOps([M.Mulx], mulx);
defineOps([M.Pdep], depositOrExtract(true));
defineOps([M.Pext], depositOrExtract(false));
defineOps([M.Rorx], rorx);
defineOps([M.Sarx], shiftx('sar'));
defineOps([M.Shlx], shiftx('shl'));
defineOps([M.Shrx], shiftx('shr'));

/** MOVBE r, m / m, r (16, 32, 64 bits; SDM Vol. 2B MOVBE): the bytes swapped, flags unchanged. */
const movbe: Op = (c) => {
  const { ins, env } = c;
  const toMem = ins.opKind(0) === OpKind.Memory;
  const reg = ins.opRegister(toMem ? 1 : 0);
  const n = RegisterExt.size(reg);
  const ea = effectiveAddress(ins, env);
  if (toMem) {
    const v = env.getGpr(reg);
    const b = new Uint8Array(n);
    for (let k = 0; k < n; k++) b[n - 1 - k] = Number((v >> BigInt(8 * k)) & 0xffn);
    env.writeMem(ea, b);
    return;
  }
  const b = env.readMem(ea, n);
  let v = 0n;
  for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(b[k]);
  env.setGpr(reg, v);
};
defineOps([M.Movbe], movbe);

/** POPCNT r, r/m (16, 32, 64 bits; SDM Vol. 2B POPCNT): ZF = (source == 0); CF, OF, SF, AF, PF cleared. */
const popcnt: Op = (c) => {
  const bits = RegisterExt.size(c.ins.opRegister(0)) * 8;
  const v = src(c, 1, bits) & ((1n << BigInt(bits)) - 1n);
  let n = 0n;
  for (let x = v; x; x >>= 1n) n += x & 1n;
  c.env.setGpr(c.ins.opRegister(0), n);
  c.env.setStatusFlags({ cf: 0, pf: 0, af: 0, zf: +(v === 0n), sf: 0, of: 0 });
};
defineOps([M.Popcnt], popcnt);
