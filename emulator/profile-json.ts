/**
 * The JSON shape of a CPU profile file, mirroring emulator/schema/profile.schema.json. The schema
 * is the authority (the loader validates against it with ajv); this type lets code that writes
 * profiles (the dump importer, `cpu capture`) be checked by the compiler.
 */

/** CPUID leaf 0 vendor strings the schema accepts ("vendor" enum). */
export const PROFILE_VENDORS = ['GenuineIntel', 'AuthenticAMD', 'HygonGenuine', 'CentaurHauls', '  Shanghai  '] as const;
export type ProfileVendor = (typeof PROFILE_VENDORS)[number];

export const isProfileVendor = (v: string): v is ProfileVendor => (PROFILE_VENDORS as readonly string[]).includes(v);

/** "source.kind" enum. */
export type ProfileSourceKind = 'instlatx64-dump' | 'cpuid-r-dump' | 'host-capture' | 'hand-written';

/** Schema pattern of "id". */
export const PROFILE_ID_PATTERN = /^[a-z0-9][a-z0-9.-]*$/;

/** `0x` + 8 lowercase hex digits ("hex32"). */
export type Hex32 = string;
/** `0x` + 1..16 lowercase hex digits ("hex64"). */
export type Hex64 = string;

export interface ProfileSourceJson {
  kind: ProfileSourceKind;
  /** Repository, path and commit; bug report; or host and date of a capture. */
  reference: string;
  logical_cpu?: number;
  /** XCR0 in force when the CPUID values were read, when known. */
  captured_xcr0?: Hex64;
  captured_xss?: Hex64;
  notes?: string[];
}

/** Instructions whose CPL-3 fault `cpu capture` measures ("faultInsn"); XGETBV0/1 name ECX. */
export const FAULT_INSNS = ['XSAVE', 'XSAVEOPT', 'XSAVEC', 'XSAVES', 'XRSTOR', 'XRSTORS', 'XGETBV0', 'XGETBV1', 'XSETBV', 'FXSAVE', 'FXRSTOR', 'RDPKRU', 'WRPKRU', 'RDFSBASE', 'RDGSBASE', 'WRFSBASE', 'WRGSBASE', 'RDTSCP', 'RDPID', 'RDRAND', 'RDSEED'] as const;
export type FaultInsn = (typeof FAULT_INSNS)[number];
/** "faultVector": what the instruction raised at CPL 3; 'none' when it ran. */
export type MeasuredFault = 'none' | '#UD' | '#GP' | '#NM';

/** "measured": probe results of a host capture. */
export interface ProfileMeasuredJson {
  evidence: string;
  faults?: Partial<Record<FaultInsn, MeasuredFault>>;
  /** Quirk id -> the probe's verdict. */
  quirks?: Record<string, boolean>;
}

/** "kernel": the capturing kernel's view of the CPU. */
export interface ProfileKernelJson {
  evidence: string;
  release?: string;
  xcr0?: Hex64;
  xfeatures?: Hex64;
  context_size?: number;
  format?: 'standard' | 'compacted';
  xstate_regset_size?: number;
  hwcap?: Hex32;
  hwcap2?: Hex32;
  minsigstksz?: number;
  cpuinfo_flags?: string[];
  dmesg_fpu?: string[];
  hypervisor?: { signature: string; max_leaf?: Hex32 };
}

export interface ProfileJson {
  $schema?: string;
  /** Short name used by --cpu; matches PROFILE_ID_PATTERN. */
  id: string;
  vendor: ProfileVendor;
  /** Brand string (CPUID 0x80000002..4) or a descriptive name. */
  name: string;
  /** Display family, model and stepping (checked against CPUID leaf 1 EAX). */
  family: number;
  model: number;
  stepping: number;
  source: ProfileSourceJson;
  /** Key `LLLLLLLL` or `LLLLLLLL.SS`; value [EAX, EBX, ECX, EDX]. */
  cpuid: Record<string, [Hex32, Hex32, Hex32, Hex32]>;
  fxsave: { mxcsr_mask: Hex32; evidence: string };
  quirks: { id: string; evidence: string }[];
  measured?: ProfileMeasuredJson;
  kernel?: ProfileKernelJson;
}

/**
 * A profile as file text: JSON.stringify(p, null, 2) layout plus a final newline, but with the
 * cpuid keys in sorted order. (A plain JSON.stringify would not keep them sorted: keys such as
 * "80000000" are canonical array indices, which JavaScript objects always enumerate first.)
 */
export function formatProfileJson(p: ProfileJson): string {
  const placeholder = '__sorted_cpuid__';
  const text = JSON.stringify({ ...p, cpuid: placeholder }, null, 2);
  const keys = Object.keys(p.cpuid).sort();
  const entries = keys.map((k) => `    ${JSON.stringify(k)}: ${JSON.stringify(p.cpuid[k], null, 2).replace(/\n/g, '\n    ')}`);
  return text.replace(JSON.stringify(placeholder), keys.length ? `{\n${entries.join(',\n')}\n  }` : '{}') + '\n';
}
