/**
 * A CPU as the model sees it: derived once from a profile's raw CPUID data. Nothing here is
 * stored twice: sizes, offsets, alignment and XFD capability come from CPUID leaf 0xD; the
 * leaf-0xD values that depend on XCR0 / IA32_XSS are recomputed for any value.
 */
import { CpuidTable, type CpuidRegs } from './cpuid-table.js';
import type { FaultInsn, MeasuredFault, ProfileJson } from './profile-json.js';
import { Quirk } from './quirks.js';
import { MAX_XFEATURE, XFeature, bit } from './xfeatures.js';

/** Byte offsets fixed by the architecture (SDM Vol. 1 13.4). */
export const LEGACY_REGION_SIZE = 512;
export const XSAVE_HEADER_OFFSET = 512;
export const XSAVE_HEADER_SIZE = 64;
/** First byte of the extended region; also the first compacted offset (SDM Vol. 1 13.4.3). */
export const EXTENDED_REGION_OFFSET = 576;
/** A component whose CPUID.(0DH,i).ECX[1] is set starts on this boundary in the compacted form (SDM Vol. 1 13.4.3). */
export const COMPACTED_ALIGN = 64;
/** XCOMP_BV bit 63: the area is in the compacted format (SDM Vol. 1 13.4.2). */
export const XCOMP_BV_COMPACTED_HI = 0x80000000; // bit 63 seen in the high dword
/** MXCSR after reset / in the SSE initial configuration (SDM Vol. 1 13.6). */
export const MXCSR_INIT = 0x1f80;
/** FCW in the x87 initial configuration (SDM Vol. 1 13.6, FNINIT). */
export const FCW_INIT = 0x037f;

/** CPUID feature bits the model uses (SDM Vol. 2A CPUID tables, AMD APM Vol. 3 Appendix E). */
export const CPUID_BITS = {
  leaf1Ecx: { SSE3: 0, XSAVE: 26, OSXSAVE: 27, AVX: 28 },
  leaf1Edx: { FXSR: 24, SSE: 25, SSE2: 26 },
  leaf7Ebx: { FSGSBASE: 0, AVX2: 5, FDP_EXCPTN_ONLY: 6, MPX: 14, AVX512F: 16, FCS_FDS_DEPRECATED: 13 },
  leaf7Ecx: { PKU: 3, OSPKE: 4 },
  leaf7Edx: { AMX_BF16: 22, AMX_TILE: 24, AMX_INT8: 25 },
  leafDsub1Eax: { XSAVEOPT: 0, XSAVEC: 1, XGETBV1: 2, XSAVES: 3, XFD: 4 },
  leafDsubIEcx: { SUPERVISOR: 0, ALIGN64: 1, XFD: 2 },
  /** CPUID 0x80000008 EBX[2] XSaveErPtr: "always save/restore FP error pointers" (Linux cpufeatures.h X86_FEATURE_XSAVEERPTR). */
  ext8Ebx: { XSAVEERPTR: 2 },
} as const;

const has = (reg: number, b: number): boolean => ((reg >>> b) & 1) === 1;

export interface ComponentInfo {
  number: number;
  size: number;
  /** CPUID.(0DH,i).EBX; 0 for supervisor components (they only exist in the compacted format). */
  standardOffset: number;
  supervisor: boolean;
  /** CPUID.(0DH,i).ECX[1]: 64-byte aligned in the compacted format. */
  align64: boolean;
  /** CPUID.(0DH,i).ECX[2]: XFD may be armed for it. */
  xfdCapable: boolean;
}

export interface CpuFeatures {
  fxsr: boolean;
  xsave: boolean;
  xsaveopt: boolean;
  xsavec: boolean;
  xgetbv1: boolean;
  xsaves: boolean;
  xfd: boolean;
  avx: boolean;
  avx2: boolean;
  avx512f: boolean;
  pku: boolean;
  /** CPUID.(07H,0):EBX[0]: RDFSBASE & co. exist (the OS still has to set CR4.FSGSBASE). */
  fsgsbase: boolean;
  amxTile: boolean;
  fdpExcptnOnly: boolean;
  fcsFdsDeprecated: boolean;
  xsaveErPtr: boolean;
}

/** Where a fact of the model comes from. */
export enum Evidence {
  /** A probe on the profile's own CPU recorded it (profile.measured). */
  Measured = 'measured',
  /** The manuals' rule (or a vendor default), not measured on this CPU. */
  Assumed = 'assumed',
}

/** What an instruction does at CPL 3 when its CPUID enumeration is absent, and on what grounds. */
export interface AbsentEnumerationFault {
  /** 'none': the silicon runs it although CPUID does not enumerate it. */
  vector: MeasuredFault;
  evidence: Evidence;
  /** The manual's condition, or the measurement. */
  source: string;
}

/**
 * The vector the manuals give each instruction when the CPUID bit that enumerates it is 0
 * (SDM Vol. 2B, "Protected Mode Exceptions" / "64-Bit Mode Exceptions" of each instruction).
 */
const SDM_ABSENT_FAULT: Readonly<Record<FaultInsn, { vector: MeasuredFault; source: string }>> = {
  XSAVE: { vector: '#UD', source: 'SDM Vol. 2B XSAVE: #UD if CPUID.01H:ECX.XSAVE[bit 26] = 0' },
  XRSTOR: { vector: '#UD', source: 'SDM Vol. 2B XRSTOR: #UD if CPUID.01H:ECX.XSAVE[bit 26] = 0' },
  XSAVEOPT: { vector: '#UD', source: 'SDM Vol. 2B XSAVEOPT: #UD if CPUID.(EAX=0DH,ECX=1):EAX.XSAVEOPT[bit 0] = 0' },
  XSAVEC: { vector: '#UD', source: 'SDM Vol. 2B XSAVEC: #UD if CPUID.(EAX=0DH,ECX=1):EAX.XSAVEC[bit 1] = 0' },
  XSAVES: { vector: '#UD', source: 'SDM Vol. 2B XSAVES: #UD if CPUID.(EAX=0DH,ECX=1):EAX.XSAVES[bit 3] = 0' },
  XRSTORS: { vector: '#UD', source: 'SDM Vol. 2B XRSTORS: #UD if CPUID.(EAX=0DH,ECX=1):EAX.XSAVES[bit 3] = 0' },
  XGETBV0: { vector: '#UD', source: 'SDM Vol. 2B XGETBV: #UD if CPUID.01H:ECX.XSAVE[bit 26] = 0' },
  // ECX = 1 names no XCR without XGETBV(1): "#GP(0) If an invalid XCR is specified in ECX".
  XGETBV1: { vector: '#GP', source: 'SDM Vol. 2B XGETBV: #GP(0) for ECX = 1 if CPUID.(EAX=0DH,ECX=1):EAX[bit 2] = 0' },
  XSETBV: { vector: '#UD', source: 'SDM Vol. 2B XSETBV: #UD if CPUID.01H:ECX.XSAVE[bit 26] = 0' },
  FXSAVE: { vector: '#UD', source: 'SDM Vol. 2A FXSAVE: #UD if CPUID.01H:EDX.FXSR[bit 24] = 0' },
  FXRSTOR: { vector: '#UD', source: 'SDM Vol. 2A FXRSTOR: #UD if CPUID.01H:EDX.FXSR[bit 24] = 0' },
  // CR4.PKE cannot be set without CPUID.(07H,0):ECX.PKU (SDM Vol. 3A 2.5), and RDPKRU/WRPKRU #UD without CR4.PKE.
  RDPKRU: { vector: '#UD', source: 'SDM Vol. 2B RDPKRU: #UD if CR4.PKE = 0 (CR4.PKE needs CPUID.(07H,0):ECX.PKU[bit 3], Vol. 3A 2.5)' },
  WRPKRU: { vector: '#UD', source: 'SDM Vol. 2B WRPKRU: #UD if CR4.PKE = 0 (CR4.PKE needs CPUID.(07H,0):ECX.PKU[bit 3], Vol. 3A 2.5)' },
  RDFSBASE: { vector: '#UD', source: 'SDM Vol. 2B RDFSBASE: #UD if CPUID.07H.0H:EBX.FSGSBASE[bit 0] = 0' },
  RDGSBASE: { vector: '#UD', source: 'SDM Vol. 2B RDGSBASE: #UD if CPUID.07H.0H:EBX.FSGSBASE[bit 0] = 0' },
  WRFSBASE: { vector: '#UD', source: 'SDM Vol. 2B WRFSBASE: #UD if CPUID.07H.0H:EBX.FSGSBASE[bit 0] = 0' },
  WRGSBASE: { vector: '#UD', source: 'SDM Vol. 2B WRGSBASE: #UD if CPUID.07H.0H:EBX.FSGSBASE[bit 0] = 0' },
  RDTSCP: { vector: '#UD', source: 'SDM Vol. 2B RDTSCP: #UD if CPUID.80000001H:EDX.RDTSCP[bit 27] = 0' },
  RDPID: { vector: '#UD', source: 'SDM Vol. 2B RDPID: #UD if CPUID.7H.0:ECX.RDPID[bit 22] = 0' },
  RDRAND: { vector: '#UD', source: 'SDM Vol. 2B RDRAND: #UD if CPUID.01H:ECX.RDRAND[bit 30] = 0' },
  RDSEED: { vector: '#UD', source: 'SDM Vol. 2B RDSEED: #UD if CPUID.(EAX=07H, ECX=0H):EBX.RDSEED[bit 18] = 0' },
};

/** The OS state CPUID reflects (SDM Vol. 2A CPUID): XCR0, IA32_XSS, CR4.OSXSAVE and CR4.PKE. */
export interface CpuidOsState {
  xcr0: number;
  xss: number;
  osxsave: boolean;
  ospke: boolean;
}

/** A validated profile (see emulator/schema/profile.schema.json). */
export type Profile = ProfileJson;

export class CpuModel {
  readonly id: string;
  readonly cpuid: CpuidTable;
  readonly features: CpuFeatures;
  /** Indexed by component number; undefined when the CPU does not support it. x87 and SSE have no entry (legacy region). */
  readonly components: readonly (ComponentInfo | undefined)[];
  /** Bits settable in XCR0: CPUID.(0DH,0).EDX:EAX (SDM Vol. 1 13.3). */
  readonly xcr0Supported: number;
  /** Bits settable in IA32_XSS: CPUID.(0DH,1).EDX:ECX. */
  readonly xssSupported: number;
  readonly mxcsrMask: number;
  readonly quirks: ReadonlySet<Quirk>;
  /** Supported components with number >= 2, ascending: the ones placed in the extended region. */
  readonly extendedComponents: readonly ComponentInfo[];

  constructor(readonly profile: Profile) {
    this.id = profile.id;
    this.cpuid = CpuidTable.fromJson(profile.cpuid);
    const l1 = this.cpuid.get(1);
    const l7 = this.cpuid.get(7, 0);
    const d0 = this.cpuid.get(0xd, 0);
    const d1 = this.cpuid.get(0xd, 1);
    const xsave = has(l1[2], CPUID_BITS.leaf1Ecx.XSAVE);
    const B = CPUID_BITS;
    this.features = {
      fxsr: has(l1[3], B.leaf1Edx.FXSR),
      xsave,
      xsaveopt: xsave && has(d1[0], B.leafDsub1Eax.XSAVEOPT),
      xsavec: xsave && has(d1[0], B.leafDsub1Eax.XSAVEC),
      xgetbv1: xsave && has(d1[0], B.leafDsub1Eax.XGETBV1),
      xsaves: xsave && has(d1[0], B.leafDsub1Eax.XSAVES),
      xfd: xsave && has(d1[0], B.leafDsub1Eax.XFD),
      avx: has(l1[2], B.leaf1Ecx.AVX),
      avx2: has(l7[1], B.leaf7Ebx.AVX2),
      avx512f: has(l7[1], B.leaf7Ebx.AVX512F),
      pku: has(l7[2], B.leaf7Ecx.PKU),
      fsgsbase: has(l7[1], B.leaf7Ebx.FSGSBASE),
      amxTile: has(l7[3], B.leaf7Edx.AMX_TILE),
      fdpExcptnOnly: has(l7[1], B.leaf7Ebx.FDP_EXCPTN_ONLY),
      fcsFdsDeprecated: has(l7[1], B.leaf7Ebx.FCS_FDS_DEPRECATED),
      xsaveErPtr: has(this.cpuid.get(0x80000008)[1], B.ext8Ebx.XSAVEERPTR),
    };
    // Only components below 32 are modelled; a dump with higher bits keeps them in its raw data.
    this.xcr0Supported = xsave ? d0[0] & ((1 << (MAX_XFEATURE + 1)) - 1) : 0;
    this.xssSupported = xsave ? d1[2] & ((1 << (MAX_XFEATURE + 1)) - 1) : 0;
    const comps: (ComponentInfo | undefined)[] = [];
    const all = (this.xcr0Supported | this.xssSupported) >>> 0;
    for (let i = 2; i <= MAX_XFEATURE; i++) {
      if (!((all >>> i) & 1)) continue;
      const r = this.cpuid.get(0xd, i);
      comps[i] = {
        number: i,
        size: r[0],
        standardOffset: r[1],
        supervisor: has(r[2], B.leafDsubIEcx.SUPERVISOR),
        align64: has(r[2], B.leafDsubIEcx.ALIGN64),
        xfdCapable: has(r[2], B.leafDsubIEcx.XFD),
      };
    }
    this.components = comps;
    this.extendedComponents = comps.filter((c): c is ComponentInfo => c !== undefined);
    this.mxcsrMask = parseInt(profile.fxsave.mxcsr_mask, 16) >>> 0;
    this.quirks = new Set(profile.quirks.map((q) => q.id as Quirk));
  }

  /** 0, 1, then the supported extended components ascending: the order restores visit them. */
  get componentOrder(): readonly number[] {
    return (this._order ??= [0, 1, ...this.extendedComponents.map((c) => c.number)]);
  }
  private _order: number[] | undefined;
  private readonly offsetCache = new Map<number, number[]>();

  /** compactedLayout(mask).offsets, cached: restores look it up on every compacted XRSTOR. */
  compactedOffsets(mask: number): number[] {
    let o = this.offsetCache.get(mask);
    if (!o) {
      o = this.compactedLayout(mask).offsets;
      if (this.offsetCache.size < 4096) this.offsetCache.set(mask, o);
    }
    return o;
  }

  hasQuirk(q: Quirk): boolean {
    return this.quirks.has(q);
  }

  /**
   * Which fault `insn` raises at CPL 3 when the CPUID bit that enumerates it is 0 on this CPU.
   * The manuals say #UD (#GP for XGETBV with ECX = 1), and that is what a CPU without the
   * instruction does. But a hypervisor can hide a CPUID bit without taking the instruction out of
   * the silicon, whose own checks then still run: XSAVES hidden gives #GP at CPL 3 (SDM XSAVES
   * lists "#GP(0) if CPL > 0" beside "#UD if CPUID...XSAVES = 0", and the silicon's CPL check
   * wins). So when the profile's capture measured the instruction (profile.measured.faults), the
   * measurement is the answer (Evidence.Measured); otherwise the manual's vector (Evidence.Assumed).
   * Only meaningful when the enumeration is absent: callers ask it after checking the CPUID bit.
   */
  faultWhenNotEnumerated(insn: FaultInsn): AbsentEnumerationFault {
    const measured = this.profile.measured?.faults?.[insn];
    if (measured !== undefined) {
      return { vector: measured, evidence: Evidence.Measured, source: `measured at CPL 3 on the capturing host (${this.profile.measured!.evidence})` };
    }
    return { ...SDM_ABSENT_FAULT[insn], evidence: Evidence.Assumed };
  }

  /**
   * Does the silicon implement `insn` although CPUID does not enumerate it? True when the capture
   * measured something other than the manual's vector for a missing instruction (the hypervisor
   * hid the bit); false without a measurement.
   */
  implementsDespiteCpuid(insn: FaultInsn): boolean {
    const f = this.faultWhenNotEnumerated(insn);
    return f.evidence === Evidence.Measured && f.vector !== SDM_ABSENT_FAULT[insn].vector;
  }

  /** Size of the standard-format area for the user components in `mask` (CPUID.(0DH,0).EBX for XCR0 = mask). */
  standardSize(mask: number): number {
    let end = EXTENDED_REGION_OFFSET;
    for (const c of this.extendedComponents) {
      if (!c.supervisor && (mask >>> c.number) & 1) end = Math.max(end, c.standardOffset + c.size);
    }
    return end;
  }

  /**
   * Compacted-format offsets for the components in `mask` (XCOMP_BV[62:0]): each follows the previous
   * one, rounded up to 64 when its CPUID.(0DH,i).ECX[1] is set (SDM Vol. 1 13.4.3). Returns the
   * offsets indexed by component number and the total size.
   */
  compactedLayout(mask: number): { offsets: number[]; size: number } {
    const offsets: number[] = [];
    let loc = EXTENDED_REGION_OFFSET;
    for (const c of this.extendedComponents) {
      if (!((mask >>> c.number) & 1)) continue;
      if (c.align64) loc = Math.ceil(loc / COMPACTED_ALIGN) * COMPACTED_ALIGN;
      offsets[c.number] = loc;
      loc += c.size;
    }
    return { offsets, size: loc };
  }

  /**
   * CPUID leaf 0xD as software sees it with the given XCR0 and IA32_XSS (SDM Vol. 1 13.2):
   * (0,EBX) is the standard size for XCR0; (1,EBX) is "the size in bytes of the XSAVE area
   * containing all states enabled by XCR0 | IA32_XSS", i.e. the compacted size, on every CPU that
   * has the compacted format (XSAVEC or XSAVES). On a CPU with XSAVEC but without XSAVES, IA32_XSS
   * does not exist and is 0 (Vol. 1 13.3 "IA32_XSS ... if CPUID.(0DH,1):EAX[3] = 1"), so EBX is the
   * compacted size of XCR0 (a Zen 5 VM whose hypervisor hides XSAVES reports 0x980 for XCR0 0xe7).
   * A CPU without compaction (Sandy Bridge) gives the raw value. The rest is raw.
   */
  leafD(subleaf: number, xcr0: number, xss: number): CpuidRegs {
    const raw = this.cpuid.get(0xd, subleaf);
    if (subleaf === 0) return [raw[0], this.standardSize(xcr0), raw[2], raw[3]];
    if (subleaf === 1) {
      const compacted = this.features.xsaves || this.features.xsavec;
      const ebx = compacted ? this.compactedLayout((xcr0 | (this.features.xsaves ? xss : 0)) >>> 0).size : raw[1];
      return [raw[0], ebx, raw[2], raw[3]];
    }
    return raw;
  }

  /**
   * The one answer to CPUID for software running on this CPU (guests under exec, scenario steps,
   * readers, explain): the profile's raw values, with what the OS state changes recomputed (SDM
   * Vol. 2A CPUID): leaf 1 ECX.OSXSAVE = CR4.OSXSAVE, leaf 7.0 ECX.OSPKE = CR4.PKE, and leaf 0DH
   * for XCR0 / IA32_XSS (leafD).
   */
  cpuidAnswer(leaf: number, sub: number, os: CpuidOsState): CpuidRegs {
    if (leaf === 0xd) return this.leafD(sub, os.xcr0, os.xss);
    const r: [number, number, number, number] = [...this.cpuid.get(leaf, sub)];
    const setBit = (v: number, b: number, on: boolean): number => (on ? v | (1 << b) : v & ~(1 << b)) >>> 0;
    if (leaf === 1 && this.features.xsave) r[2] = setBit(r[2], CPUID_BITS.leaf1Ecx.OSXSAVE, os.osxsave);
    if (leaf === 7 && sub === 0 && this.features.pku) r[2] = setBit(r[2], CPUID_BITS.leaf7Ecx.OSPKE, os.ospke);
    return r.map((v) => v >>> 0) as [number, number, number, number];
  }

  /** Is component i supported as a user (XCR0) component? */
  isUser(i: number): boolean {
    return ((this.xcr0Supported >>> i) & 1) === 1;
  }
}

/** Components that are always user state (x87, SSE) and live in the legacy region. */
export const LEGACY_COMPONENTS = bit(XFeature.X87) | bit(XFeature.SSE);
