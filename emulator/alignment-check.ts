/**
 * Alignment checking (#AC, SDM Vol. 3A 6.15 "Interrupt 17—Alignment Check Exception"): with CR0.AM
 * set (Linux always sets it: CR0_STATE in arch/x86/include/asm/processor-flags.h), RFLAGS.AC set and
 * CPL 3, a data or stack access whose address is not a multiple of its data type's alignment faults
 * before the instruction changes anything. unicorn never raises #AC, so while the guest's AC is set
 * the machine checks each instruction's accesses here before it runs (Machine.run).
 *
 * The alignment of an access, as measured on AMD Zen 5 (probe: every line below gave SIGBUS
 * BUS_ADRALN at the misaligned offset and none at the aligned one) and as the SDM's Table 6-7 gives
 * it for the data types up to 8 bytes:
 * - 2, 4 and 8 bytes: their size (word, doubleword, quadword; MOV, ALU operands, MOVSW/LODSD/STOSD
 *   elements, PUSH/CALL/RET/ENTER/LEAVE on the stack, BT with a register offset, CMPXCHG8B, MOVBE,
 *   CRC32, MOVD/MOVQ/MOVSS/MOVSD/MOVHPS to XMM, x87 integer and real operands, MOV to/from a segment
 *   register);
 * - 10 bytes (x87 extended real, packed BCD, 80-bit far pointers) 8; 6 (48-bit far pointer) 4: the
 *   largest power of two not above the size;
 * - FNSTENV/FLDENV/FNSAVE/FRSTOR areas: 4 (2 with a 16-bit operand size), Table 6-7;
 * - wider operands (MOVUPS, LDDQU, PCMPISTRI, VMOVUPS ymm/zmm, VMOVDQU8 zmm, VPMOVZXBW ymm,
 *   VINSERTF128 ...): the SDM leaves it to the implementation ("may or may not be generated ... when
 *   data addresses are not aligned on an 8-byte boundary", 6.15); Zen 5 checks 16 (VMOVUPS ymm at
 *   +16 and zmm at +16/+32 do not fault, at +8 they do). The vendor rule `wideOperandAlignment`:
 *   16 on AMD (measured), 8 on Intel (named assumption `ac-wide-operands-intel`: the SDM's bound;
 *   no Intel CPU measured);
 * - an EVEX operand with a mask register (k1-k7), and a broadcast: its element's size (VMOVDQU32
 *   {k1} at +4 does not fault, at +2 it does, whatever the mask's value; VCOMPRESSPS/VPEXPANDD too);
 * - never: gathers and scatters, VMASKMOV/VPMASKMOV, prefetches, CLFLUSH, LEA, a REP string
 *   instruction with RCX = 0, a masked EVEX access whose mask enables no element (measured).
 * Instructions whose misaligned operand raises #GP instead (MOVAPS, VMOVAPS, MOVNTDQA, legacy SSE
 * arithmetic on 16 bytes, FXSAVE and the XSAVE family, CMPXCHG16B: measured #GP with AC set) are not
 * checked here: their own execution raises the #GP. Not modelled: SGDT/SIDT (Zen 5 faults at +8 of a
 * 10-byte area, no rule found; Linux's UMIP makes them #GP anyway where the CPU has UMIP).
 */
import { EncodingKind, InstructionInfoFactory, MemorySizeExt, Mnemonic, OpAccess, OpKind, Register, RegisterExt, type Instruction } from './iced.js';

/** What differs between vendors. */
export interface AlignmentRules {
  /** The alignment checked for an operand wider than 8 bytes (AMD 16 measured; Intel 8 assumed). */
  wideOperandAlignment: number;
}

/** The registers and segment bases the address computation needs. */
export interface AlignmentEnv {
  getGpr(reg: Register): bigint;
  segmentBase(seg: Register): bigint;
  /** Opmask register k`n` (its 64 bits). */
  readK(n: number): bigint;
}

/** The largest alignment the SDM's table names for data up to 8 bytes (quadword). */
const NARROW_MAX = 8;
/** FNSTENV/FLDENV/FNSAVE/FRSTOR area alignment with a 32-bit (4) or 16-bit (2) operand size (Table 6-7). */
const X87_AREA_ALIGN_32 = 4, X87_AREA_ALIGN_16 = 2;
/** The 16-bit-operand-size environment (14 bytes) and state (94 bytes) areas (SDM Vol. 1 Figures 8-10, 8-12). */
const X87_AREA_16BIT_SIZES = new Set([14, 94]);
const X87_AREA = new Set<Mnemonic>([Mnemonic.Fnstenv, Mnemonic.Fstenv, Mnemonic.Fldenv, Mnemonic.Fnsave, Mnemonic.Fsave, Mnemonic.Frstor]);

/** Misaligned operands of these raise #GP (or nothing is checked), never #AC (measured / SDM). */
const NOT_CHECKED = new Set<Mnemonic>([
  Mnemonic.Movaps, Mnemonic.Movapd, Mnemonic.Movdqa, Mnemonic.Movntps, Mnemonic.Movntpd, Mnemonic.Movntdq, Mnemonic.Movntdqa,
  Mnemonic.Vmovaps, Mnemonic.Vmovapd, Mnemonic.Vmovdqa, Mnemonic.Vmovdqa32, Mnemonic.Vmovdqa64, Mnemonic.Vmovntps,
  Mnemonic.Vmovntpd, Mnemonic.Vmovntdq, Mnemonic.Vmovntdqa,
  Mnemonic.Fxsave, Mnemonic.Fxsave64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64, Mnemonic.Xsave, Mnemonic.Xsave64,
  Mnemonic.Xsaveopt, Mnemonic.Xsaveopt64, Mnemonic.Xsavec, Mnemonic.Xsavec64, Mnemonic.Xsaves, Mnemonic.Xsaves64,
  Mnemonic.Xrstor, Mnemonic.Xrstor64, Mnemonic.Xrstors, Mnemonic.Xrstors64, Mnemonic.Cmpxchg16b,
  Mnemonic.Vmaskmovps, Mnemonic.Vmaskmovpd, Mnemonic.Vpmaskmovd, Mnemonic.Vpmaskmovq,
  Mnemonic.Sgdt, Mnemonic.Sidt, Mnemonic.Clflush, Mnemonic.Clflushopt, Mnemonic.Clwb,
]);
/** Legacy SSE instructions whose 16-byte memory operand may be misaligned (SDM Vol. 1 12.4/11.4.1.1: the "U" moves, LDDQU, the string compares, MASKMOVDQU). */
const LEGACY_UNALIGNED_16 = new Set<Mnemonic>([
  Mnemonic.Movups, Mnemonic.Movupd, Mnemonic.Movdqu, Mnemonic.Lddqu, Mnemonic.Maskmovdqu,
  Mnemonic.Pcmpestri, Mnemonic.Pcmpestri64, Mnemonic.Pcmpestrm, Mnemonic.Pcmpestrm64, Mnemonic.Pcmpistri, Mnemonic.Pcmpistrm,
]);

let factory: InstructionInfoFactory | undefined;

function floorPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/** The alignment #AC checks for one access of `size` bytes (element size `elem`) of `ins`. */
function requiredAlignment(ins: Instruction, size: number, elem: number, broadcast: boolean, rules: AlignmentRules): number {
  if (X87_AREA.has(ins.mnemonic)) return X87_AREA_16BIT_SIZES.has(size) ? X87_AREA_ALIGN_16 : X87_AREA_ALIGN_32;
  const evexMasked = ins.encoding === EncodingKind.EVEX && ins.opMask !== Register.None;
  const n = broadcast || evexMasked ? elem : size;
  if (n <= 1) return 1;
  return Math.min(floorPow2(n), n > NARROW_MAX ? rules.wideOperandAlignment : NARROW_MAX);
}

/**
 * The address of the first access of `ins` that #AC would fault on, or undefined when every access
 * is aligned (or not checked). Runs before the instruction: registers hold their values before it.
 */
export function misalignedAccess(ins: Instruction, env: AlignmentEnv, rules: AlignmentRules): bigint | undefined {
  if (NOT_CHECKED.has(ins.mnemonic)) return undefined;
  const legacySse16 = ins.encoding === EncodingKind.Legacy && MemorySizeExt.size(ins.memorySize) === 16 && !LEGACY_UNALIGNED_16.has(ins.mnemonic) &&
    isSseRegisterInstruction(ins);
  if (legacySse16) return undefined; // a 16-byte SSE operand that must be aligned: #GP, from its execution
  if (ins.isStringInstruction && (ins.hasRepPrefix || ins.hasRepePrefix || ins.hasRepnePrefix) && env.getGpr(Register.RCX) === 0n) return undefined;
  factory ??= new InstructionInfoFactory();
  const info = factory.info(ins);
  for (const m of info.usedMemory()) {
    const acc = m.access;
    if (acc === OpAccess.None || acc === OpAccess.NoMemAccess) continue;
    // VSIB (gathers, scatters): not checked (measured).
    if (m.index !== Register.None && (RegisterExt.isXMM(m.index) || RegisterExt.isYMM(m.index) || RegisterExt.isZMM(m.index))) continue;
    let ms = m.memorySize;
    if (MemorySizeExt.size(ms) === 0) ms = ins.memorySize; // REP string forms: iced reports no size per access
    const size = MemorySizeExt.size(ms);
    if (size <= 1) continue;
    // A masked EVEX access with every element masked off touches nothing: no #AC (measured: VMOVDQU32 {k1} with k1 = 0 at +2).
    if (ins.encoding === EncodingKind.EVEX && ins.opMask !== Register.None && ins.opMask !== Register.K0) {
      const elems = MemorySizeExt.elementCount(ms);
      const enabled = env.readK(ins.opMask - Register.K0) & (elems >= 64 ? (1n << 64n) - 1n : (1n << BigInt(elems)) - 1n);
      if (enabled === 0n) continue;
    }
    const align = requiredAlignment(ins, size, MemorySizeExt.elementSize(ms), MemorySizeExt.isBroadcast(ms), rules);
    if (align <= 1) continue;
    let a = m.displacement;
    if (m.base !== Register.None) a += env.getGpr(m.base);
    if (m.index !== Register.None) a += env.getGpr(m.index) * BigInt(m.scale);
    if (m.segment === Register.FS || m.segment === Register.GS) a += env.segmentBase(m.segment);
    // A 32-bit address size (67H) wraps at 4 GiB.
    const baseReg = m.base !== Register.None ? m.base : m.index;
    a = baseReg !== Register.None && RegisterExt.size(baseReg) === 4 ? a & 0xffffffffn : BigInt.asUintN(64, a);
    if (a % BigInt(align) !== 0n) return a;
  }
  return undefined;
}

/** An instruction with an XMM register operand (legacy SSE), as opposed to a GPR or x87 form. */
function isSseRegisterInstruction(ins: Instruction): boolean {
  for (let i = 0; i < ins.opCount; i++) {
    if (ins.opKind(i) === OpKind.Register && RegisterExt.isXMM(ins.opRegister(i))) return true;
  }
  return false;
}
