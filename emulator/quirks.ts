/**
 * Named quirks: behaviours where vendors differ or the manuals allow a choice. A profile lists
 * the quirks its CPU has, each with evidence; the instruction semantics test them by name.
 * Without a quirk the model follows the Intel SDM pseudocode literally.
 */
export enum Quirk {
  /**
   * XRSTOR/XRSTORS/FXRSTOR leave XINUSE[i] = 0 when the data loaded for component i equals its
   * initial configuration (SDM Vol. 1 13.6 allows XINUSE[i] to be 0 or 1 for a component in
   * its initial configuration; the Vol. 2 pseudocode sets 1).
   */
  RestoreOfInitDataKeepsInit = 'restore-of-init-data-keeps-init',
  /**
   * Writes of zero by a zeroing idiom (VPXOR/VXORPS/KXOR reg,reg,reg...) leave XINUSE[i] = 0
   * when it was 0. Used by guest execution (issue 3); recorded here because it is a CPU fact.
   */
  ZeroingIdiomKeepsInit = 'zeroing-idiom-keeps-init',
  /** XSAVEOPT applies the modified optimization (SDM Vol. 1 13.6 and 13.9: "may"). */
  ModifiedOptimization = 'modified-optimization',
  /**
   * XSAVES applies the modified optimization too (SDM Vol. 1 13.11: "may"). Not measurable at
   * CPL 3; on the Intel host Linux's XSAVES at a ptrace stop after its own XRSTORS of the same
   * buffer wrote every in-use component (selfcheck kernel), so Intel profiles lack it.
   */
  XsavesModifiedOptimization = 'xsaves-modified-optimization',
  /**
   * Restores recompute FSW.ES (bit 7) and FSW.B (bit 15) from the loaded exception flags and
   * FCW masks instead of keeping the bits from memory.
   */
  X87RestoreRecomputesEs = 'x87-restore-recomputes-es',
  /**
   * x87 FOP, FIP, FDP (and FCS/FDS) are restored by FXRSTOR/XRSTOR only when the loaded FSW.ES is
   * 1, and read as 0 otherwise (AMD APM Vol. 2 11.4.4 / Vol. 5 FXSAVE: "the x87 error pointers are
   * saved only if an unmasked exception is pending"; Linux X86_BUG_FXSAVE_LEAK for AMD without
   * CPUID 0x80000008 EBX[2] XSaveErPtr). Assumed for AMD parts without XSaveErPtr only: on Zen 5
   * (with XSaveErPtr) FXRSTOR64/XRSTOR64 of an ES = 0 image do load the pointers (FNSTENV after
   * the restore shows them; ../shared/reference/xsave-hw-facts.md section 11).
   */
  X87PointersOnlyWithEs = 'x87-pointers-only-with-es',
  /**
   * FXSAVE, XSAVE, XSAVEOPT, XSAVEC (and, assumed, XSAVES) store FOP, FIP, FDP, FCS and FDS as 0
   * unless FSW.ES = 1, whatever the last x87 instruction set; FNSTENV/FNSAVE always store them.
   * Measured on AMD Zen 5 with XSaveErPtr, every form (32-bit and REX.W), also with a masked
   * exception flag set; seen on a Zen 4 recording (../shared/reference/xsave-hw-facts.md section
   * 11). AMD APM Vol. 5 FXSAVE says the same of CPUs without XSaveErPtr. Intel stores the pointers
   * whatever ES is (SDM Vol. 2A FXSAVE), so Intel profiles lack it.
   */
  X87PointersSavedOnlyWithEs = 'x87-pointers-saved-only-with-es',
  /**
   * 64-bit FIP and FDP loaded by FXRSTOR64/XRSTOR64 keep bits 56:0 and read back bits 63:57 as
   * copies of bit 56 (57-bit canonical form), whatever linear-address width CPUID reports.
   */
  X87PointersCanonical57 = 'x87-pointers-canonical-57',
  /**
   * As x87-pointers-canonical-57 for FIP only: FDP keeps all 64 bits as loaded (measured on Intel).
   */
  X87FipCanonical57 = 'x87-fip-canonical-57',
  /**
   * XINUSE of the vector and opmask components is the OR, over their registers, of "not known
   * to be zero", as a register renamer tracks it: zeroing idioms and VEX/EVEX zeroing of upper
   * bits make a register known zero, register-to-register moves copy the source's state, loads
   * from memory make it not known zero even when the data is zero.
   */
  XinuseTracksZeroRegisters = 'xinuse-tracks-zero-registers',
  /**
   * The PKRU component is 8 bytes (CPUID.(EAX=0DH,ECX=9):EAX) but only its first 4 bytes, the
   * PKRU register, are state: saves write bytes 3:0 and leave bytes 7:4 of memory untouched,
   * restores read bytes 3:0 only. Without the quirk all 8 bytes are saved and restored as loaded
   * (measured on AMD Zen 5).
   */
  PkruStateFourBytes = 'pkru-state-four-bytes',
  /**
   * A VEX/EVEX instruction that writes vector register 0-15 puts SSE in use, AVX too when its
   * vector length (VEX.L / EVEX.L'L) is 256 or 512, and ZMM_Hi256 too when it is 512, whatever
   * the destination's width: VEXTRACTI128 to an xmm register sets XINUSE[2] (measured on Intel
   * with XGETBV(1)). Registers 16-31 only ever touch Hi16_ZMM; reads and stores touch nothing.
   */
  XinuseFollowsVectorLength = 'xinuse-follows-vector-length',
  /**
   * An x87 compare (FCOM/FUCOM/FCOMI/FUCOMI and their pops, FICOM, FTST) whose invalid-operation
   * exception is unmasked (stack underflow, SNaN, a NaN for the ordered forms) still reports
   * "unordered" (C3 C2 C0 = 111, or ZF PF CF = 111), popping nothing; with an unmasked
   * denormal-operand exception it still compares (no pop), and FLD m32/m64 of a denormal still
   * loads. The SDM's instruction pages say the condition codes are not set when the exception is
   * unmasked, and treat #D as a pre-computation exception (SDM Vol. 1 4.9.1.2). Measured on AMD
   * Zen 5 by the x87 referee (selfcheck x87); without the quirk the model follows the SDM.
   */
  X87UnmaskedCompareAndLoadComplete = 'x87-unmasked-compare-and-load-complete',
  /**
   * FCOMI, FCOMIP, FUCOMI, FUCOMIP and FCMOVcc leave FSW.C1 as it was unless the stack
   * underflows (measured on AMD Zen 5 by the x87 referee); without the quirk they clear it, as the
   * SDM's flag tables for them read (C1 "set to 0" / cleared).
   */
  X87FcomiFcmovKeepC1 = 'x87-fcomi-fcmov-keep-c1',
  /**
   * VREDUCEPS/PD/SS/SD report no precision exception for the rounding step, whatever imm8[3]
   * (SPE) says: PE comes only from flushing a denormal result under FTZ. The SDM's operation
   * reports PE when the rounding is inexact and SPE is 0. Measured on AMD Zen 5 by selfcheck insn
   * and test/vector-float.test.ts; without the quirk the model follows the SDM.
   */
  VreduceNoPrecision = 'vreduce-no-precision',
  /**
   * Breakpoints in DR0-DR3 never raise #DB at CPL 3: an enabled execute breakpoint (DR7 R/W 00)
   * on a function that then runs is not counted (the probe: a perf_event_open breakpoint, the
   * kernel loading DR7 itself, arch_install_hw_breakpoint). A hypervisor that does not give the
   * guest's debug registers to the CPU behaves so (measured under PVM on AMD Zen 5). Without the
   * quirk breakpoints fire as SDM Vol. 3 18.2-18.3 describe.
   */
  DebugRegistersInert = 'debug-registers-inert',
  /**
   * FNINIT/FINIT leave XINUSE[0] = 0 when the x87 state they leave is in its initial
   * configuration, i.e. when the data registers, which FNINIT keeps (SDM Vol. 1 8.1.8 / Vol. 2A
   * FINIT), are all zero, and XINUSE[0] = 1 otherwise. SDM Vol. 1 13.6 allows XINUSE[0] = 0 or 1
   * for an x87 state in its initial configuration; without the quirk FNINIT sets it as any other
   * x87 instruction. Measured on AMD Zen 5 with XGETBV(1) (src/host/quirk-probe.c): XRSTOR of
   * all-initial state, FLDCW 027FH (control: XINUSE[0] = 1), FNINIT gives 0; FLD1, FSTP ST(0),
   * FNINIT gives 1; FLDZ, FSTP ST(0), FNINIT gives 0. FLDCW, FNCLEX and EMMS that leave the
   * state initial keep XINUSE[0] = 0 when it was 0 (measured: FNINIT then each of them).
   * Not modelled (measured with XGETBV(1) in a guest program): the same CPU also clears
   * XINUSE[0] at FLDCW 037FH after FLDCW 027FH when no data register was written, and keeps it 0
   * at FFREE after FNINIT; the model sets it in both cases.
   */
  FninitOfInitDataKeepsInit = 'fninit-of-init-data-keeps-init',
  /**
   * The SHA extensions' m128 operand (SHA1RNDS4, SHA1NEXTE, SHA1MSG1, SHA1MSG2, SHA256RNDS2,
   * SHA256MSG1, SHA256MSG2) needs no 16-byte alignment: a misaligned one is read without #GP.
   * The SDM lists "Exceptions Type 4" for them (Vol. 2A Table 2-21: #GP for a legacy SSE operand
   * not aligned on 16 bytes); without the quirk the model follows it. Measured on AMD Zen 5 by
   * test/guests/sha-gfni.c and src/host/quirk-probe.c: all seven run at an address 4 mod 16,
   * while PCLMULQDQ and the GFNI forms raise #GP there.
   */
  ShaUnalignedM128 = 'sha-unaligned-m128',
}

export interface QuirkInfo {
  id: Quirk;
  summary: string;
}

export const QUIRKS: readonly QuirkInfo[] = [
  { id: Quirk.RestoreOfInitDataKeepsInit, summary: 'restoring data equal to the initial configuration leaves XINUSE[i] clear' },
  { id: Quirk.ZeroingIdiomKeepsInit, summary: 'zeroing idioms leave XINUSE[i] clear' },
  { id: Quirk.ModifiedOptimization, summary: 'XSAVEOPT skips components not modified since the XRSTOR from the same address' },
  { id: Quirk.XsavesModifiedOptimization, summary: 'XSAVES skips components not modified since the XRSTORS from the same address' },
  { id: Quirk.X87RestoreRecomputesEs, summary: 'x87 restores recompute FSW.ES and FSW.B from flags and masks' },
  { id: Quirk.XinuseTracksZeroRegisters, summary: 'vector XINUSE follows per-register known-zero state (moves copy it, loads set it)' },
  { id: Quirk.X87PointersCanonical57, summary: 'x87 FIP/FDP loaded with REX.W are sign-extended from bit 56' },
  { id: Quirk.PkruStateFourBytes, summary: 'only bytes 3:0 of the 8-byte PKRU component are saved and restored' },
  { id: Quirk.X87FipCanonical57, summary: 'x87 FIP (not FDP) loaded with REX.W is sign-extended from bit 56' },
  { id: Quirk.XinuseFollowsVectorLength, summary: 'a VEX/EVEX write to xmm/ymm/zmm 0-15 puts AVX (VL 256+) and ZMM_Hi256 (VL 512) in use by the vector length' },
  { id: Quirk.X87PointersOnlyWithEs, summary: 'x87 FOP/FIP/FDP are restored only with a pending unmasked exception (FSW.ES=1)' },
  { id: Quirk.X87UnmaskedCompareAndLoadComplete, summary: 'x87 compares report unordered despite an unmasked #IA; unmasked #D still compares and loads' },
  { id: Quirk.X87FcomiFcmovKeepC1, summary: 'FCOMI/FUCOMI(P) and FCMOVcc leave FSW.C1 unless the stack underflows' },
  { id: Quirk.VreduceNoPrecision, summary: 'VREDUCE reports no PE for its rounding step (only for a denormal result flushed by FTZ)' },
  { id: Quirk.DebugRegistersInert, summary: 'breakpoints in DR0-DR3 never raise #DB (a hypervisor that does not load them)' },
  { id: Quirk.FninitOfInitDataKeepsInit, summary: 'FNINIT leaves XINUSE[0] clear when the x87 data registers it keeps are all zero' },
  { id: Quirk.ShaUnalignedM128, summary: 'the SHA extensions read a misaligned m128 operand without #GP (SDM: Exceptions Type 4)' },
  { id: Quirk.X87PointersSavedOnlyWithEs, summary: 'x87 FOP/FIP/FDP are stored as 0 by FXSAVE/XSAVE* unless FSW.ES=1 (FNSTENV/FNSAVE always store them)' },
];

const known = new Set<string>(QUIRKS.map((q) => q.id));
export function isQuirkId(s: string): s is Quirk {
  return known.has(s);
}
