/**
 * Kernel variants: a Linux version, or a proposal on top of one, as the set of named behaviours
 * it has (data: kernel-model/data/variants.json, behaviours.json). The model's functions test a
 * behaviour by name with `variant.has(KernelBehaviour.X)`; a proposed patch is one more behaviour.
 */
import behaviourData from './data/behaviours.json' with { type: 'json' };
import variantData from './data/variants.json' with { type: 'json' };
import { InputError } from '../src/errors.js';
import type { KernelBootConfig } from './cpufeature.js';

export enum KernelBehaviour {
  PkruInThreadStruct = 'pkru-in-thread-struct',
  PkruPtraceWrite = 'pkru-ptrace-write',
  UabiPkruOnlyWithBit = 'uabi-pkru-only-with-bit',
  XstateregsSetStrict = 'xstateregs-set-strict',
  DynamicXfeatures = 'dynamic-xfeatures',
  CetUserXstate = 'cet-user-xstate',
  CetKernelXstateForKvm = 'cet-kernel-xstate-for-kvm',
  AtMinsigstksz = 'at-minsigstksz',
  UserFsgsbase = 'user-fsgsbase',
  XsaveLayoutNote = 'xsave-layout-note',
  SigframePkruUpdate = 'sigframe-pkru-update',
  ApxXstate = 'apx-xstate',
  ArchSetXcr0V2 = 'arch-set-xcr0-v2',
  ArchSetXcr0SigframeFull = 'arch-set-xcr0-sigframe-full',
  KvmFpuUabiCopy = 'kvm-fpu-uabi-copy',
  KvmXsave2 = 'kvm-xsave2',
  KvmSetXsavePkruPtraceRule = 'kvm-set-xsave-pkru-ptrace-rule',
  PkruXstateNeedsOspke = 'pkru-xstate-needs-ospke',
  ClearcpuidNames = 'clearcpuid-names',
  // arm64 syscall-stop registers (kernel-model/arm64/ptrace.ts).
  Arm64SyscallStopClobber = 'arm64-syscall-stop-clobber',
  Arm64SyscallStopView = 'arm64-syscall-stop-view',
  Arm64RawRegsOption = 'arm64-raw-regs-option',
  Arm64SyscallRegsRegset = 'arm64-syscall-regs-regset',
}

/** The architecture a variant or behaviour belongs to: x86 variants drive the XSAVE model, arm64 ones kernel-model/arm64. */
export enum KernelArch {
  X86_64 = 'x86_64',
  Arm64 = 'arm64',
}

/**
 * Whose rules a variant follows: Linux's (its named behaviours switch kernel-model/*.ts) or another
 * kernel's personality in its own room (kernel-model/netbsd/), which ignores Linux's behaviours.
 */
export enum KernelPersonality {
  Linux = 'linux',
  NetBSD = 'netbsd',
}

/** No boot options, the assumed configuration (kernel-model/cpufeature.ts). */
export const DEFAULT_BOOT: KernelBootConfig = { params: [], configOff: [], text: [] };

export interface BehaviourInfo {
  id: KernelBehaviour;
  arch: KernelArch;
  since: string;
  summary: string;
  source: string;
}

export class KernelVariant {
  private readonly set: ReadonlySet<KernelBehaviour>;
  constructor(
    readonly id: string,
    /** utsname.release as the model reports it. */
    readonly release: string,
    readonly about: string,
    readonly behaviours: readonly KernelBehaviour[],
    readonly proposal = false,
    readonly personality: KernelPersonality = KernelPersonality.Linux,
    /** The source files (and revisions) a non-Linux personality is read from. */
    readonly sources: readonly string[] = [],
    readonly arch: KernelArch = KernelArch.X86_64,
    /** Boot options and configuration changes (kernel-model/cpufeature.ts); none by default. */
    readonly boot: KernelBootConfig = DEFAULT_BOOT,
    /** The named variant this one boots (its own id without boot options). */
    readonly baseId = id,
  ) {
    this.set = new Set(behaviours);
  }

  has(b: KernelBehaviour): boolean {
    return this.set.has(b);
  }

  /** The same variant with behaviours switched on or off (the differ and tests use this). */
  with(on: readonly KernelBehaviour[], off: readonly KernelBehaviour[] = [], id = `${this.id}+custom`): KernelVariant {
    const next = this.behaviours.filter((b) => !off.includes(b));
    for (const b of on) if (!next.includes(b)) next.push(b);
    return new KernelVariant(id, this.release, this.about, next, true, this.personality, this.sources, this.arch, this.boot);
  }

  /** The same kernel booted with `boot` (parseKernelBoot), named `id`. */
  withBoot(boot: KernelBootConfig, id = bootVariantId(this.id, boot)): KernelVariant {
    return new KernelVariant(id, this.release, this.about, this.behaviours, this.proposal, this.personality, this.sources, this.arch, boot, this.baseId);
  }

  /** Booted with options or configuration other than the model's defaults. */
  get booted(): boolean {
    return this.boot.text.length > 0;
  }
}

/** The default name of a variant booted with options: `linux-6.18+nopku+clearcpuid=avx512f`. */
export function bootVariantId(id: string, boot: KernelBootConfig): string {
  return [id, ...boot.text].join('+');
}

const BEHAVIOUR_IDS = new Set<string>(Object.values(KernelBehaviour));
const DATA_FILE = 'kernel-model/data/variants.json';

export const BEHAVIOURS: readonly BehaviourInfo[] = behaviourData.behaviours.map((b, i) => {
  if (!BEHAVIOUR_IDS.has(b.id)) throw new InputError('kernel-model/data/behaviours.json', `/behaviours/${i}/id`, `unknown behaviour '${b.id}'`);
  return { ...b, id: b.id as KernelBehaviour, arch: archOf((b as { arch?: string }).arch, 'kernel-model/data/behaviours.json', `/behaviours/${i}/arch`) };
});

function archOf(a: string | undefined, file: string, place: string): KernelArch {
  if (a === undefined) return KernelArch.X86_64;
  if (!(Object.values(KernelArch) as string[]).includes(a)) throw new InputError(file, place, `unknown arch '${a}' (known: ${Object.values(KernelArch).join(', ')})`);
  return a as KernelArch;
}

/** Every variant of every architecture (kernel list shows them all). */
export const ALL_KERNEL_VARIANTS: readonly KernelVariant[] = variantData.variants.map((v, i) => {
  for (const [j, b] of v.behaviours.entries()) {
    if (!BEHAVIOUR_IDS.has(b)) throw new InputError(DATA_FILE, `/variants/${i}/behaviours/${j}`, `unknown behaviour '${b}' (known: ${[...BEHAVIOUR_IDS].join(', ')})`);
  }
  const extra = v as { proposal?: boolean; personality?: string; sources?: string[]; arch?: string };
  const personalities = Object.values(KernelPersonality) as string[];
  if (extra.personality !== undefined && !personalities.includes(extra.personality)) throw new InputError(DATA_FILE, `/variants/${i}/personality`, `unknown personality '${extra.personality}' (known: ${personalities.join(', ')})`);
  const arch = archOf(extra.arch, DATA_FILE, `/variants/${i}/arch`);
  for (const [j, b] of v.behaviours.entries()) {
    const info = BEHAVIOURS.find((x) => x.id === b)!;
    if (info.arch !== arch) throw new InputError(DATA_FILE, `/variants/${i}/behaviours/${j}`, `behaviour '${b}' is ${info.arch}, the variant is ${arch}`);
  }
  return new KernelVariant(v.id, v.release, v.about, v.behaviours as KernelBehaviour[], extra.proposal ?? false, (extra.personality as KernelPersonality | undefined) ?? KernelPersonality.Linux, extra.sources ?? [], arch);
});

/** The x86-64 variants: what the XSAVE model, scenarios without `arch`, exec and the referees use. */
export const KERNEL_VARIANTS: readonly KernelVariant[] = ALL_KERNEL_VARIANTS.filter((v) => v.arch === KernelArch.X86_64);
/** The arm64 variants (kernel-model/arm64): today's kernel and the two unmerged proposals. */
export const ARM64_KERNEL_VARIANTS: readonly KernelVariant[] = ALL_KERNEL_VARIANTS.filter((v) => v.arch === KernelArch.Arm64);

/** A variant of either architecture by id (run --kernel, diff, the matrix): the scenario decides which it can run. */
export function resolveAnyVariant(id: string, file = '<command line>', place = '--kernel'): KernelVariant {
  const v = ALL_KERNEL_VARIANTS.find((x) => x.id === id);
  if (!v) throw new InputError(file, place, `unknown kernel variant '${id}' (known: ${ALL_KERNEL_VARIANTS.map((x) => x.id).join(', ')})`);
  return v;
}

export function resolveArm64Variant(id: string, file = '<command line>', place = '--kernel'): KernelVariant {
  const v = ARM64_KERNEL_VARIANTS.find((x) => x.id === id);
  if (!v) throw new InputError(file, place, `unknown arm64 kernel variant '${id}' (known: ${ARM64_KERNEL_VARIANTS.map((x) => x.id).join(', ')})`);
  return v;
}

export const DEFAULT_KERNEL_VARIANT = 'linux-6.18';

export function behaviourInfo(b: KernelBehaviour): BehaviourInfo {
  return BEHAVIOURS.find((x) => x.id === b)!;
}

export function resolveKernelVariant(id: string, file = '<command line>', place = '--kernel'): KernelVariant {
  const v = KERNEL_VARIANTS.find((x) => x.id === id);
  if (!v) throw new InputError(file, place, `unknown kernel variant '${id}' (known: ${KERNEL_VARIANTS.map((x) => x.id).join(', ')})`);
  return v;
}

/**
 * A variant for a command that models Linux only (exec's syscall surface, explain's and readers'
 * Linux UABI images): another kernel's personality is refused, naming the Linux variants.
 */
export function resolveLinuxVariant(id: string, file = '<command line>', place = '--kernel'): KernelVariant {
  const linux = KERNEL_VARIANTS.filter((x) => x.personality === KernelPersonality.Linux);
  if (!KERNEL_VARIANTS.some((x) => x.id === id)) throw new InputError(file, place, `unknown kernel variant '${id}' (known: ${linux.map((x) => x.id).join(', ')})`);
  const v = resolveKernelVariant(id, file, place);
  if (v.personality !== KernelPersonality.Linux) throw new InputError(file, place, `'${id}' is the ${v.personality} personality; this models Linux only (Linux variants: ${KERNEL_VARIANTS.filter((x) => x.personality === KernelPersonality.Linux).map((x) => x.id).join(', ')})`);
  return v;
}

const versionKey = (release: string): number => {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
};

/** The merged-kernel variant closest to a `uname -r` string at or below it (the host's referee variant). */
export function closestVariantTo(release: string): KernelVariant {
  const want = versionKey(release);
  const merged = KERNEL_VARIANTS.filter((v) => !v.proposal && v.personality === KernelPersonality.Linux).sort((a, b) => versionKey(a.release) - versionKey(b.release));
  return merged.filter((v) => versionKey(v.release) <= want).pop() ?? merged[0];
}
