/**
 * Does the profile's CPU have what an instruction needs? iced-x86 names the CPUID features of each
 * instruction; this table says where each lives in CPUID (SDM Vol. 2A "CPUID", Tables 3-8 to 3-10;
 * AMD APM Vol. 3 Appendix E). Features not in the table are assumed present, so that an instruction
 * the model lacks is reported by name instead of becoming a silent SIGILL.
 */
import { CpuidFeature, EncodingKind, Instruction } from './iced.js';
import type { CpuModel } from './cpu-model.js';
import type { FaultInsn } from './profile-json.js';
import { XFeature, bit } from './xfeatures.js';
import { AMX_XCR0, isAmx } from './amx.js';

/** Register index in a CPUID answer [EAX, EBX, ECX, EDX]. */
enum CpuidReg { EAX = 0, EBX = 1, ECX = 2, EDX = 3 }

interface FeatureBit { leaf: number; subleaf: number; reg: CpuidReg; bit: number }

const at = (leaf: number, subleaf: number, reg: CpuidReg, b: number): FeatureBit => ({ leaf, subleaf, reg, bit: b });
/** CPUID.01H (SDM Vol. 2A Table 3-10). */
const L1 = (reg: CpuidReg, b: number): FeatureBit => at(1, 0, reg, b);
/** CPUID.(07H,0) (SDM Vol. 2A Table 3-8, leaf 07H). */
const L7 = (reg: CpuidReg, b: number): FeatureBit => at(7, 0, reg, b);

const F = CpuidFeature;
const R = CpuidReg;
const FEATURE_BITS = new Map<CpuidFeature, FeatureBit>([
  [F.SSE3, L1(R.ECX, 0)], [F.PCLMULQDQ, L1(R.ECX, 1)], [F.SSSE3, L1(R.ECX, 9)], [F.FMA, L1(R.ECX, 12)],
  [F.SSE4_1, L1(R.ECX, 19)], [F.SSE4_2, L1(R.ECX, 20)], [F.MOVBE, L1(R.ECX, 22)], [F.POPCNT, L1(R.ECX, 23)],
  [F.AES, L1(R.ECX, 25)], [F.XSAVE, L1(R.ECX, 26)], [F.AVX, L1(R.ECX, 28)], [F.F16C, L1(R.ECX, 29)],
  [F.RDRAND, L1(R.ECX, 30)],
  [F.BMI1, L7(R.EBX, 3)], [F.AVX2, L7(R.EBX, 5)], [F.BMI2, L7(R.EBX, 8)], [F.AVX512F, L7(R.EBX, 16)],
  [F.AVX512DQ, L7(R.EBX, 17)], [F.RDSEED, L7(R.EBX, 18)], [F.ADX, L7(R.EBX, 19)], [F.AVX512_IFMA, L7(R.EBX, 21)],
  [F.AVX512CD, L7(R.EBX, 28)], [F.SHA, L7(R.EBX, 29)], [F.AVX512BW, L7(R.EBX, 30)], [F.AVX512VL, L7(R.EBX, 31)],
  [F.AVX512_VBMI, L7(R.ECX, 1)], [F.AVX512_VBMI2, L7(R.ECX, 6)], [F.GFNI, L7(R.ECX, 8)],
  [F.VAES, L7(R.ECX, 9)], [F.VPCLMULQDQ, L7(R.ECX, 10)], [F.AVX512_VNNI, L7(R.ECX, 11)], [F.AVX512_BITALG, L7(R.ECX, 12)],
  [F.AVX512_VPOPCNTDQ, L7(R.ECX, 14)],
  [F.AVX512_VP2INTERSECT, L7(R.EDX, 8)], [F.AMX_BF16, L7(R.EDX, 22)], [F.AVX512_FP16, L7(R.EDX, 23)],
  [F.AMX_TILE, L7(R.EDX, 24)], [F.AMX_INT8, L7(R.EDX, 25)],
  // CPUID.(07H,1):EAX (SDM Vol. 2A Table 3-8).
  [F.AVX_VNNI, at(7, 1, R.EAX, 4)], [F.AVX512_BF16, at(7, 1, R.EAX, 5)], [F.AMX_FP16, at(7, 1, R.EAX, 21)], [F.AVX_IFMA, at(7, 1, R.EAX, 23)],
  // CPUID.(07H,1):EDX (SDM Vol. 2A Table 3-8).
  [F.AVX_VNNI_INT8, at(7, 1, R.EDX, 4)], [F.AVX_NE_CONVERT, at(7, 1, R.EDX, 5)], [F.AMX_COMPLEX, at(7, 1, R.EDX, 8)], [F.AVX_VNNI_INT16, at(7, 1, R.EDX, 10)],
  // Not here: XSAVEOPT, XSAVEC, XSAVES ((0DH,1).EAX), PKU and FSGSBASE. Their instructions check
  // their own CPUID bits (emulator/xsave.ts, Machine.emulatePkru/emulateFsgsbase), because a
  // hypervisor that hides the bit leaves the silicon's own fault (CpuModel.faultWhenNotEnumerated).
  // CPUID.80000001H:ECX[5] LZCNT (ABM) (SDM Vol. 2A Table 3-8).
  [F.LZCNT, at(0x80000001, 0, R.ECX, 5)],
  // CPUID.80000001H:EDX[27] RDTSCP, CPUID.(07H,0):ECX[22] RDPID (SDM Vol. 2A Table 3-8).
  [F.RDTSCP, at(0x80000001, 0, R.EDX, 27)], [F.RDPID, L7(R.ECX, 22)],
  // The instructions emulator/general-insns.ts runs (SDM Vol. 2A Table 3-8): CLFLUSHOPT (07H,0):EBX[23],
  // CLWB EBX[24], MOVDIRI ECX[27], MOVDIR64B ECX[28], SERIALIZE EDX[14], PCONFIG EDX[18];
  // HRESET (07H,1):EAX[22]; PTWRITE (14H,0):EBX[4].
  [F.CLFLUSHOPT, L7(R.EBX, 23)], [F.CLWB, L7(R.EBX, 24)], [F.MOVDIRI, L7(R.ECX, 27)], [F.MOVDIR64B, L7(R.ECX, 28)],
  // UINTR (07H,0):EDX[5], TSXLDTRK EDX[16], ENQCMD ECX[29].
  [F.ENQCMD, L7(R.ECX, 29)],
  [F.UINTR, L7(R.EDX, 5)], [F.TSXLDTRK, L7(R.EDX, 16)],
  [F.SERIALIZE, L7(R.EDX, 14)], [F.PCONFIG, L7(R.EDX, 18)], [F.HRESET, at(7, 1, R.EAX, 22)], [F.PTWRITE, at(0x14, 0, R.EBX, 4)],
]);

/**
 * Instructions a hypervisor can hide from CPUID while the silicon still runs them at CPL 3 (the
 * reference PVM host hides RDTSCP, RDPID and RDSEED, measured): the capture's measured fault decides.
 */
const HIDEABLE = new Map<CpuidFeature, FaultInsn>([[F.RDTSCP, 'RDTSCP'], [F.RDPID, 'RDPID'], [F.RDRAND, 'RDRAND'], [F.RDSEED, 'RDSEED']]);

/** Whether the table knows where `f` lives in CPUID (else missingFeature takes it as present). */
export function featureMapped(f: CpuidFeature): boolean {
  return FEATURE_BITS.has(f);
}

/** The first CPUID feature the instruction needs that the CPU lacks, or undefined. */
export function missingFeature(cpu: CpuModel, ins: Instruction): string | undefined {
  for (const f of ins.cpuidFeatures()) {
    const where = FEATURE_BITS.get(f);
    if (!where) continue;
    const regs = cpu.cpuid.get(where.leaf, where.subleaf);
    const hideable = HIDEABLE.get(f);
    if (hideable !== undefined && cpu.implementsDespiteCpuid(hideable)) continue;
    if (((regs[where.reg] >>> where.bit) & 1) === 0) return CpuidFeature[f];
  }
  return undefined;
}

/** XCR0 bits the OS must have enabled for an encoding (SDM Vol. 1 14.3 for VEX, 15.2 for EVEX). */
export function xcr0Needed(ins: Instruction): number {
  // AMX (VEX-encoded): XCR0[18:17] = 11b, every AMX exception class (SDM Vol. 2 2.10).
  if (isAmx(ins.mnemonic)) return AMX_XCR0;
  if (ins.encoding === EncodingKind.VEX) return bit(XFeature.SSE) | bit(XFeature.AVX);
  if (ins.encoding === EncodingKind.EVEX) return bit(XFeature.SSE) | bit(XFeature.AVX) | bit(XFeature.OPMASK) | bit(XFeature.ZMM_HI256) | bit(XFeature.HI16_ZMM);
  return 0;
}
