/**
 * What an imported CPUID dump cannot tell: MXCSR_MASK and the quirk list, chosen by the vendor's
 * rule. Only the fallback for profiles nobody measured (imported dumps, and a capture before its
 * probes fill `measured`): every value here is "assumed", whatever CPU the dump came from, and
 * names the reference host the vendor's rule was measured on. A profile measured on its own CPU
 * carries its own verdicts (profile.measured.quirks, checked against its list by validateProfile).
 */
import type { CpuidTable } from './cpuid-table.js';
import { Quirk } from './quirks.js';

/** CPUID 0x80000001 ECX bit 7: MisAlignSse, which adds MXCSR.MM (bit 17) (AMD APM Vol. 3 E.4.2). */
const AMD_MISALIGNSSE_ECX_BIT = 7;

/** CPUID.(EAX=07H,ECX=0):ECX bit 3: PKU (SDM Vol. 2A CPUID). */
const CPUID7_ECX_PKU_BIT = 3;

/** CPUID 0x80000008 EBX bit 2: XSaveErPtr (Linux cpufeatures.h X86_FEATURE_XSAVEERPTR). */
const AMD_XSAVEERPTR_EBX_BIT = 2;

/** The measurements the AMD rules come from: the AMD reference host (profile amd-zen5-epyc-vm). */
const AMD_REFERENCE = 'the AMD rule measured on the reference host amd-zen5-epyc-vm (AMD EPYC family 0x1A model 0x02, Zen 5) by xstate-lab selfcheck cpu, 2026-11';
/** The measurements the Intel rules come from: the Intel reference host (profile intel-xeon-spr-vm). */
const INTEL_REFERENCE = 'the Intel rule measured on the reference host intel-xeon-spr-vm (Sapphire Rapids-class Xeon VM) by xstate-lab selfcheck cpu, 2026-12';

/** Evidence of a vendor default: assumed for this CPU, from the named measurement. */
const assumed = (reference: string, detail = ''): string => `assumed: not measured on this CPU; ${reference}${detail}`;

/** Where the x87 pointer save rule was measured (test/guests/x87-pointers.c runs natively and in the model). */
const POINTERS_MEASURED_ON = 'measured on AMD EPYC family 0x1A model 0x02 (Zen 5, XSaveErPtr = 1) by test/guests/x87-pointers.c, 2026-12; the same seen on a Zen 4 recording';

/** Where the AVX-512 floating-point quirks were measured. */
const AVX512_FP_REFEREE_ON = 'measured on AMD EPYC family 0x1A model 0x02 (Zen 5) by xstate-lab selfcheck insn and test/vector-float.test.ts, 2026-12';

/** Where the x87 arithmetic quirks were measured. */
const X87_REFEREE_ON = 'measured on AMD EPYC family 0x1A model 0x02 (Zen 5) by xstate-lab selfcheck x87, 2026-12';

/** Where the SHA alignment quirk was measured. */
const SHA_ALIGNMENT_ON = 'measured on AMD EPYC family 0x1A model 0x02 (Zen 5) by test/guests/sha-gfni.c and src/host/quirk-probe.c, 2026-12';

export interface VendorDefaults {
  fxsave: { mxcsr_mask: string; evidence: string };
  quirks: { id: string; evidence: string }[];
}

export function vendorDefaults(vendor: string, cpuid: CpuidTable): VendorDefaults {
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') {
    const misalign = (cpuid.get(0x80000001)[2] >>> AMD_MISALIGNSSE_ECX_BIT) & 1;
    const xsaveErPtr = (cpuid.get(0x80000008)[1] >>> AMD_XSAVEERPTR_EBX_BIT) & 1;
    const a = (detail = ''): string => assumed(AMD_REFERENCE, detail);
    return {
      fxsave: misalign
        ? { mxcsr_mask: '0x0002ffff', evidence: a(' (AMD APM Vol. 1 4.2.2: MXCSR.MM with MisAlignSse, CPUID 0x80000001 ECX[7])') }
        : { mxcsr_mask: '0x0000ffff', evidence: 'assumed: AMD APM Vol. 1 4.2.2: no MisAlignSse, so MXCSR bits 31:16 are reserved' },
      quirks: [
        { id: Quirk.RestoreOfInitDataKeepsInit, evidence: a() },
        { id: Quirk.ZeroingIdiomKeepsInit, evidence: a() },
        { id: Quirk.XinuseTracksZeroRegisters, evidence: a(' (xstate-lab insn selfcheck)') },
        { id: Quirk.ModifiedOptimization, evidence: a(' (SDM Vol. 1 13.6 and 13.9 allow it)') },
        { id: Quirk.XsavesModifiedOptimization, evidence: 'assumed: SDM Vol. 1 13.11 allows it; XSAVES needs CPL 0, so user-space probes cannot measure it' },
        { id: Quirk.X87RestoreRecomputesEs, evidence: a() },
        { id: Quirk.X87PointersCanonical57, evidence: a(' (CPUID reported 48 linear-address bits there)') },
        // x87 error pointers (../shared/reference/xsave-hw-facts.md section 11). Saves: FXSAVE and
        // the XSAVE family store FOP/FIP/FDP as 0 unless FSW.ES = 1, measured on Zen 5 with
        // XSaveErPtr and seen on a Zen 4 recording; AMD APM Vol. 5 FXSAVE says so of parts
        // without XSaveErPtr. Restores drop them without ES only on parts without XSaveErPtr
        // (AMD APM; Linux X86_BUG_FXSAVE_LEAK): with it, Zen 5 loads them (FNSTENV shows them).
        { id: Quirk.X87PointersSavedOnlyWithEs, evidence: xsaveErPtr
          ? assumed(POINTERS_MEASURED_ON)
          : 'assumed: AMD APM Vol. 5 FXSAVE (error pointers saved only with an unmasked exception pending); CPUID 0x80000008 EBX[2] XSaveErPtr = 0' },
        // x87 arithmetic corner cases the SDM specifies otherwise (emulator/x87/fpu.ts), measured by selfcheck x87.
        { id: Quirk.X87UnmaskedCompareAndLoadComplete, evidence: assumed(X87_REFEREE_ON) },
        { id: Quirk.X87FcomiFcmovKeepC1, evidence: assumed(X87_REFEREE_ON) },
        { id: Quirk.VreduceNoPrecision, evidence: assumed(AVX512_FP_REFEREE_ON) },
        { id: Quirk.ShaUnalignedM128, evidence: assumed(SHA_ALIGNMENT_ON) },
        ...(xsaveErPtr ? [] : [{ id: Quirk.X87PointersOnlyWithEs, evidence: 'assumed: AMD APM Vol. 5 FXRSTOR; Linux X86_BUG_FXSAVE_LEAK (AMD without CPUID 0x80000008 EBX[2] XSaveErPtr)' }]),
      ],
    };
  }
  const pku = ((cpuid.get(7, 0)[2] >>> CPUID7_ECX_PKU_BIT) & 1) === 1;
  const i = (detail = ''): string => assumed(INTEL_REFERENCE, detail);
  return {
    fxsave: { mxcsr_mask: '0x0000ffff', evidence: i(' (Intel SDM Vol. 1 11.6.6: processors with DAZ store MXCSR_MASK 0000FFFFH)') },
    quirks: [
      { id: Quirk.ModifiedOptimization, evidence: i(' (Intel SDM Vol. 1 13.6 and 13.9 allow it)') },
      { id: Quirk.X87RestoreRecomputesEs, evidence: i() },
      { id: Quirk.XinuseFollowsVectorLength, evidence: i(' (xstate-lab insn selfcheck and XGETBV(1))') },
      { id: Quirk.X87FipCanonical57, evidence: i(' (FIP bits 63:57 read back as copies of bit 56; FDP keeps them)') },
      ...(pku ? [{ id: Quirk.PkruStateFourBytes, evidence: i() }] : []),
    ],
  };
}
