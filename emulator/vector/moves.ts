/** Vector moves, broadcasts, lane inserts and extracts, VMOVD/VMOVQ, VZEROUPPER/VZEROALL (SDM Vol. 2). */
import { Mnemonic, OpKind } from '../iced.js';
import { UpperBits, WriteKind, XMM_BYTES } from '../vector-file.js';
import { defineOps, effectiveAddress, wideEvexToXmm, elemSize, getElem, readOp, setElem, vecIndex, vecWidth, writeDest, type Op } from './core.js';

const M = Mnemonic;

/** Vector moves: VMOVDQA/U, VMOVAPS/UPS/APD/UPD, VMOVDQA32/64, VMOVDQU8/16/32/64, non-temporal forms (SDM Vol. 2). */
function move(aligned: boolean): Op {
  return (c) => {
    const es = elemSize(c.ins.mnemonic);
    const align = aligned ? c.width : 0;
    const fromMem = c.ins.opKind(1) === OpKind.Memory;
    const data = readOp(c, 1, c.width, es, fromMem ? align : 0);
    writeDest(c, data, es, fromMem ? WriteKind.Load : WriteKind.Move, c.ins.opKind(0) === OpKind.Memory ? align : 0, fromMem ? -1 : vecIndex(c.ins.opRegister(1)));
  };
}

/** Broadcasts of one element (VPBROADCASTB/W/D/Q, VBROADCASTSS/SD) from xmm, memory or a GPR (EVEX). */
const broadcastElem: Op = (c) => {
  const es = elemSize(c.ins.mnemonic);
  const { ins, env } = c;
  let e: Uint8Array;
  if (ins.opKind(1) === OpKind.Memory) e = env.readMem(effectiveAddress(ins, env), es);
  else {
    const r = ins.opRegister(1);
    if (vecIndex(r) >= 0) e = c.vec.read(vecIndex(r), XMM_BYTES).subarray(0, es);
    else { e = new Uint8Array(es); setElem(e, 0, es, env.getGpr(r)); }
  }
  const out = new Uint8Array(c.width);
  for (let o = 0; o < c.width; o += es) out.set(e.subarray(0, es), o);
  writeDest(c, out, es);
};

/** Broadcasts of a 128/256-bit block from memory (VBROADCASTI128, VBROADCASTI32X4, ...). */
const broadcastBlock: Op = (c) => {
  const { ins, env } = c;
  const name = Mnemonic[ins.mnemonic].toLowerCase();
  const block = /x8|x4$/.test(name) && /(32x8|64x4)/.test(name) ? 32 : 16;
  const src = ins.opKind(1) === OpKind.Memory ? env.readMem(effectiveAddress(ins, env), block) : c.vec.read(vecIndex(ins.opRegister(1)), block);
  const out = new Uint8Array(c.width);
  for (let o = 0; o < c.width; o += block) out.set(src, o);
  writeDest(c, out, elemSize(ins.mnemonic));
};

/** VINSERTI128/F128 and the EVEX VINSERTx32X4/64X2/32X8/64X4: replace one lane of src1. */
const insert: Op = (c) => {
  const { ins } = c;
  const name = Mnemonic[ins.mnemonic].toLowerCase();
  const lane = /(32x8|64x4)$/.test(name) ? 32 : 16;
  const es = /128$/.test(name) ? 16 : elemSize(ins.mnemonic);
  const out = readOp(c, 1, c.width, es).slice();
  const src = ins.opKind(2) === OpKind.Memory ? c.env.readMem(effectiveAddress(ins, c.env), lane) : c.vec.read(vecIndex(ins.opRegister(2)), lane);
  const pos = (ins.immediate8 % (c.width / lane)) * lane;
  out.set(src.subarray(0, lane), pos);
  writeDest(c, out, /128$/.test(name) ? 1 : es);
};

/** VEXTRACTI128/F128 and the EVEX VEXTRACTx32X4/...: one lane to xmm/ymm or memory. */
const extract: Op = (c) => {
  const { ins } = c;
  const name = Mnemonic[ins.mnemonic].toLowerCase();
  const lane = /(32x8|64x4)$/.test(name) ? 32 : 16;
  const srcReg = ins.opRegister(1);
  const src = c.vec.read(vecIndex(srcReg), vecWidth(srcReg));
  const pos = (ins.immediate8 % (vecWidth(srcReg) / lane)) * lane;
  const part = src.slice(pos, pos + lane);
  // Measured (AMD Zen 5): the EVEX extracts to xmm leave the destination's AVX part in use
  // [vector-int] when the operation is 512 bits wide (not from a ymm: selfcheck insn).
  const evexToXmm = c.evex && lane === 16 && ins.opKind(0) === OpKind.Register && wideEvexToXmm(c);
  writeDest(c, part, /128$/.test(name) ? 1 : elemSize(ins.mnemonic), WriteKind.Compute, 0, -1, evexToXmm);
};

/** VMOVD/VMOVQ between xmm and r/m (VEX/EVEX: upper bits of the xmm destination zeroed). */
const movdq: Op = (c) => {
  const { ins, env } = c;
  const size = ins.mnemonic === Mnemonic.Vmovd ? 4 : 8;
  const d = ins.opRegister(0);
  if (ins.opKind(0) === OpKind.Register && vecIndex(d) >= 0) {
    let src: Uint8Array;
    if (ins.opKind(1) === OpKind.Memory) src = env.readMem(effectiveAddress(ins, env), size);
    else if (vecIndex(ins.opRegister(1)) >= 0) src = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).subarray(0, size);
    else { src = new Uint8Array(size); setElem(src, 0, size, env.getGpr(ins.opRegister(1))); }
    const out = new Uint8Array(XMM_BYTES);
    out.set(src);
    c.vec.write(vecIndex(d), out, UpperBits.Zero);
    return;
  }
  const src = c.vec.read(vecIndex(ins.opRegister(1)), XMM_BYTES).subarray(0, size);
  if (ins.opKind(0) === OpKind.Memory) env.writeMem(effectiveAddress(ins, env), src.slice());
  else env.setGpr(d, getElem(src, 0, size));
};

defineOps([M.Vmovdqa, M.Vmovaps, M.Vmovapd, M.Vmovdqa32, M.Vmovdqa64, M.Vmovntdq, M.Vmovntps, M.Vmovntpd, M.Vmovntdqa], move(true));
defineOps([M.Vmovdqu, M.Vmovups, M.Vmovupd, M.Vmovdqu8, M.Vmovdqu16, M.Vmovdqu32, M.Vmovdqu64, M.Vlddqu], move(false));
defineOps([M.Vpbroadcastb, M.Vpbroadcastw, M.Vpbroadcastd, M.Vpbroadcastq, M.Vbroadcastss, M.Vbroadcastsd], broadcastElem);
defineOps([M.Vbroadcasti128, M.Vbroadcastf128, M.Vbroadcasti32x4, M.Vbroadcasti64x2, M.Vbroadcastf32x4, M.Vbroadcastf64x2, M.Vbroadcasti32x8, M.Vbroadcasti64x4, M.Vbroadcastf32x8, M.Vbroadcastf64x4], broadcastBlock);
defineOps([M.Vinserti128, M.Vinsertf128, M.Vinserti32x4, M.Vinserti64x2, M.Vinserti32x8, M.Vinserti64x4, M.Vinsertf32x4, M.Vinsertf64x2, M.Vinsertf32x8, M.Vinsertf64x4], insert);
defineOps([M.Vextracti128, M.Vextractf128, M.Vextracti32x4, M.Vextracti64x2, M.Vextracti32x8, M.Vextracti64x4, M.Vextractf32x4, M.Vextractf64x2, M.Vextractf32x8, M.Vextractf64x4], extract);
defineOps([M.Vmovd, M.Vmovq], movdq);
defineOps([M.Vzeroupper], (c) => c.vec.zeroUpper());
defineOps([M.Vzeroall], (c) => c.vec.zeroAll());
