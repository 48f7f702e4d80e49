/**
 * Gathers and scatters: memory operands with a vector index (VSIB, SDM Vol. 2A 2.3.12). Elements
 * are accessed in order from the lowest; each completed element clears its mask bit (element), so
 * a fault leaves the destination and the mask showing the progress (SDM Vol. 2C VPGATHERDD
 * "Operation": the partial state is architectural when the fault is delivered). A complete
 * instruction leaves the whole mask clear. Measured (AMD Zen 5, selfcheck insn): the cleared opmask
 * register is known zero for XINUSE, as after a zeroing idiom.
 */
import { Mnemonic, Register } from '../iced.js';
import { UpperBits, WriteKind } from '../vector-file.js';
import { CpuFault, Vector } from '../xsave.js';
import { MASK64, defineOps, kIndex, vecIndex, vecWidth, type Ctx, type Op } from './core.js';
import { rd, sx } from './elements.js';

const M = Mnemonic;

/** The address of element i: base + sign-extended index * scale + displacement, plus FS/GS base. */
function elemAddress(c: Ctx, idx: Uint8Array, i: number, idxEs: number): bigint {
  const { ins, env } = c;
  let a = ins.memoryDisplacementU64;
  if (ins.memoryBase !== Register.None) a += env.getGpr(ins.memoryBase);
  a += sx(rd(idx, i, idxEs), idxEs * 8) * BigInt(ins.memoryIndexScale);
  if (ins.memorySegment === Register.FS || ins.memorySegment === Register.GS) a += env.segmentBase(ins.memorySegment);
  return a & MASK64;
}

/**
 * VPGATHERDD/DQ/QD/QQ, VGATHERDPS/DPD/QPS/QPD. VEX: (dst, vsib, mask vector), an element loads
 * when its mask element's sign bit is set; #UD when any two of dst, index, mask are the same
 * register. EVEX: (dst {k}, vsib), #UD when dst is the index register or k is k0.
 */
function gather(idxEs: number, dataEs: number): Op {
  return (c) => {
    const { ins } = c;
    const dst = vecIndex(ins.opRegister(0));
    const ix = vecIndex(ins.memoryIndex);
    const width = vecWidth(ins.opRegister(0));
    // QD/QPS with an xmm index: two elements, the upper half of the destination (and mask) zeroed.
    const n = Math.min(width / dataEs, vecWidth(ins.memoryIndex) / idxEs);
    const idx = c.vec.read(ix, vecWidth(ins.memoryIndex));
    const out = c.vec.read(dst, width);
    out.fill(0, n * dataEs);
    if (c.evex) {
      if (ins.opMask === Register.None || ins.opMask === Register.K0 || dst === ix) throw new CpuFault(Vector.UD, `${Mnemonic[ins.mnemonic]}: k0 mask or destination = index register`);
      const kn = kIndex(ins.opMask);
      let k = c.vec.readK(kn) & ((1n << BigInt(n)) - 1n);
      const finish = (): void => { c.vec.write(dst, out, UpperBits.Zero); c.vec.writeK(kn, k, k === 0n ? WriteKind.Idiom : WriteKind.Compute); };
      try {
        for (let i = 0; i < n; i++) {
          if (!((k >> BigInt(i)) & 1n)) continue;
          out.set(c.env.readMem(elemAddress(c, idx, i, idxEs), dataEs), i * dataEs);
          k &= ~(1n << BigInt(i));
        }
      } finally { finish(); }
      return;
    }
    const mr = ins.opRegister(2);
    const mi = vecIndex(mr);
    if (mi === dst || mi === ix || dst === ix) throw new CpuFault(Vector.UD, `${Mnemonic[ins.mnemonic]}: destination, index and mask registers must differ`);
    const mask = c.vec.read(mi, width);
    const finish = (): void => { c.vec.write(dst, out, UpperBits.Zero, WriteKind.Compute); c.vec.write(mi, mask, UpperBits.Zero, WriteKind.Compute); };
    try {
      for (let i = 0; i < n; i++) {
        if (!(mask[(i + 1) * dataEs - 1] & 0x80)) continue;
        out.set(c.env.readMem(elemAddress(c, idx, i, idxEs), dataEs), i * dataEs);
        mask.fill(0, i * dataEs, (i + 1) * dataEs);
      }
      mask.fill(0);
    } finally { finish(); }
  };
}

/** VPSCATTERDD/DQ/QD/QQ, VSCATTERDPS/DPD/QPS/QPD (vsib {k}, src): #UD with k0 (SDM Vol. 2C VPSCATTERDD). */
function scatter(idxEs: number, dataEs: number): Op {
  return (c) => {
    const { ins } = c;
    const src = c.vec.read(vecIndex(ins.opRegister(1)), vecWidth(ins.opRegister(1)));
    const n = Math.min(src.length / dataEs, vecWidth(ins.memoryIndex) / idxEs);
    const idx = c.vec.read(vecIndex(ins.memoryIndex), vecWidth(ins.memoryIndex));
    if (ins.opMask === Register.None || ins.opMask === Register.K0) throw new CpuFault(Vector.UD, `${Mnemonic[ins.mnemonic]} with k0`);
    const kn = kIndex(ins.opMask);
    let k = c.vec.readK(kn) & ((1n << BigInt(n)) - 1n);
    try {
      for (let i = 0; i < n; i++) {
        if (!((k >> BigInt(i)) & 1n)) continue;
        c.env.writeMem(elemAddress(c, idx, i, idxEs), src.slice(i * dataEs, (i + 1) * dataEs));
        k &= ~(1n << BigInt(i));
      }
    } finally { c.vec.writeK(kn, k, k === 0n ? WriteKind.Idiom : WriteKind.Compute); }
  };
}

defineOps([M.Vpgatherdd, M.Vgatherdps], gather(4, 4));
defineOps([M.Vpgatherdq, M.Vgatherdpd], gather(4, 8));
defineOps([M.Vpgatherqd, M.Vgatherqps], gather(8, 4));
defineOps([M.Vpgatherqq, M.Vgatherqpd], gather(8, 8));
defineOps([M.Vpscatterdd, M.Vscatterdps], scatter(4, 4));
defineOps([M.Vpscatterdq, M.Vscatterdpd], scatter(4, 8));
defineOps([M.Vpscatterqd, M.Vscatterqps], scatter(8, 4));
defineOps([M.Vpscatterqq, M.Vscatterqpd], scatter(8, 8));
