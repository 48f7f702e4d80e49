/**
 * What an imported CPUID dump cannot tell: MXCSR_MASK and the quirk list, chosen per vendor.
 * AMD values were measured on this project's reference host (AMD EPYC, family 0x1A, Zen 5) by
 * `xstate-lab selfcheck cpu` and the probes in test/; they are assumed for other Zen parts with
 * the same CPUID features. Intel values were measured on an Intel Xeon host (Sapphire
 * Rapids-class VM) the same way and are assumed for other Intel models, which the evidence says.
 */
import type { CpuidTable } from './cpuid-table.js';
import { Quirk } from './quirks.js';

/** CPUID 0x80000001 ECX bit 7: MisAlignSse, which adds MXCSR.MM (bit 17) (AMD APM Vol. 3 E.4.2). */
const AMD_MISALIGNSSE_ECX_BIT = 7;

/** CPUID.(EAX=07H,ECX=0):ECX bit 3: PKU (SDM Vol. 2A CPUID). */
const CPUID7_ECX_PKU_BIT = 3;

/** CPUID 0x80000008 EBX bit 2: XSaveErPtr (Linux cpufeatures.h X86_FEATURE_XSAVEERPTR). */
const AMD_XSAVEERPTR_EBX_BIT = 2;

/**
 * The Intel host the Intel rules were measured on (a Sapphire Rapids-class VM: AVX-512, AMX,
 * PKU, CET; CPUID.01H:EAX 000A0678H as the hypervisor reports it), by selfcheck cpu, 2026-12.
 */
const MEASURED_INTEL_LEAF1_EAX_NO_STEPPING = 0x000a0670;
const MEASURED_ON_INTEL = 'measured on an Intel Xeon (Sapphire Rapids-class VM, CPUID family 6 model 0xA7) by xstate-lab selfcheck cpu, 2026-12';

const MEASURED_ON = 'measured on AMD EPYC family 0x1A model 0x02 (Zen 5) by xstate-lab selfcheck cpu, 2026-11';

/** Where the x87 pointer save rule was measured (test/guests/x87-pointers.c runs natively and in the model). */
const POINTERS_MEASURED_ON = 'measured on AMD EPYC family 0x1A model 0x02 (Zen 5, XSaveErPtr = 1) by test/guests/x87-pointers.c, 2026-12; the same seen on a Zen 4 recording';

export interface VendorDefaults {
  fxsave: { mxcsr_mask: string; evidence: string };
  quirks: { id: string; evidence: string }[];
}

/** The CPU the AMD quirks were measured on: CPUID.01H:EAX of the reference host, stepping ignored. */
const MEASURED_AMD_LEAF1_EAX_NO_STEPPING = 0x00b00f20;

export function vendorDefaults(vendor: string, cpuid: CpuidTable): VendorDefaults {
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') {
    const measuredHere = (cpuid.get(1)[0] & ~0xf) === MEASURED_AMD_LEAF1_EAX_NO_STEPPING;
    const measured = measuredHere ? MEASURED_ON : `assumed: not measured on this model; ${MEASURED_ON}`;
    const misalign = (cpuid.get(0x80000001)[2] >>> AMD_MISALIGNSSE_ECX_BIT) & 1;
    const xsaveErPtr = (cpuid.get(0x80000008)[1] >>> AMD_XSAVEERPTR_EBX_BIT) & 1;
    return {
      fxsave: misalign
        ? { mxcsr_mask: '0x0002ffff', evidence: `AMD APM Vol. 1 4.2.2 (MXCSR.MM with MisAlignSse, CPUID 0x80000001 ECX[7]); ${measured}` }
        : { mxcsr_mask: '0x0000ffff', evidence: 'AMD APM Vol. 1 4.2.2: no MisAlignSse, so MXCSR bits 31:16 are reserved' },
      quirks: [
        { id: Quirk.RestoreOfInitDataKeepsInit, evidence: measured },
        { id: Quirk.ZeroingIdiomKeepsInit, evidence: measured },
        { id: Quirk.XinuseTracksZeroRegisters, evidence: `${measured} (xstate-lab insn selfcheck)` },
        { id: Quirk.ModifiedOptimization, evidence: measured },
        { id: Quirk.XsavesModifiedOptimization, evidence: 'assumed: SDM Vol. 1 13.11 allows it; XSAVES needs CPL 0, so user-space probes cannot measure it' },
        { id: Quirk.X87RestoreRecomputesEs, evidence: measured },
        { id: Quirk.X87PointersCanonical57, evidence: `${measured} (CPUID reported 48 linear-address bits)` },
        // x87 error pointers (../shared/reference/xsave-hw-facts.md section 11). Saves: FXSAVE and
        // the XSAVE family store FOP/FIP/FDP as 0 unless FSW.ES = 1, measured on Zen 5 with
        // XSaveErPtr and seen on a Zen 4 recording; AMD APM Vol. 5 FXSAVE says so of parts
        // without XSaveErPtr. Restores drop them without ES only on parts without XSaveErPtr
        // (AMD APM; Linux X86_BUG_FXSAVE_LEAK): with it, Zen 5 loads them (FNSTENV shows them).
        { id: Quirk.X87PointersSavedOnlyWithEs, evidence: xsaveErPtr
          ? `${measuredHere ? POINTERS_MEASURED_ON : `assumed: not measured on this model; ${POINTERS_MEASURED_ON}`}`
          : 'assumed: AMD APM Vol. 5 FXSAVE (error pointers saved only with an unmasked exception pending); CPUID 0x80000008 EBX[2] XSaveErPtr = 0' },
        ...(xsaveErPtr ? [] : [{ id: Quirk.X87PointersOnlyWithEs, evidence: 'assumed: AMD APM Vol. 5 FXRSTOR; Linux X86_BUG_FXSAVE_LEAK (AMD without CPUID 0x80000008 EBX[2] XSaveErPtr)' }]),
      ],
    };
  }
  const pku = ((cpuid.get(7, 0)[2] >>> CPUID7_ECX_PKU_BIT) & 1) === 1;
  const intelMeasuredHere = (cpuid.get(1)[0] & ~0xf) === MEASURED_INTEL_LEAF1_EAX_NO_STEPPING;
  const intelMeasured = intelMeasuredHere ? MEASURED_ON_INTEL : `assumed: not measured on this model; ${MEASURED_ON_INTEL}`;
  return {
    fxsave: { mxcsr_mask: '0x0000ffff', evidence: `Intel SDM Vol. 1 11.6.6: processors with DAZ store MXCSR_MASK 0000FFFFH; ${intelMeasured}` },
    quirks: [
      { id: Quirk.ModifiedOptimization, evidence: `Intel SDM Vol. 1 13.6 and 13.9; ${intelMeasured}` },
      { id: Quirk.X87RestoreRecomputesEs, evidence: intelMeasured },
      { id: Quirk.XinuseFollowsVectorLength, evidence: `${intelMeasured} (xstate-lab insn selfcheck and XGETBV(1))` },
      { id: Quirk.X87FipCanonical57, evidence: `${intelMeasured} (FIP bits 63:57 read back as copies of bit 56; FDP keeps them)` },
      ...(pku ? [{ id: Quirk.PkruStateFourBytes, evidence: intelMeasured }] : []),
    ],
  };
}
