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
}

/** No boot options, the assumed configuration (kernel-model/cpufeature.ts). */
export const DEFAULT_BOOT: KernelBootConfig = { params: [], configOff: [], text: [] };

export interface BehaviourInfo {
  id: KernelBehaviour;
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
    return new KernelVariant(id, this.release, this.about, next, true, this.boot);
  }

  /** The same kernel booted with `boot` (parseKernelBoot), named `id`. */
  withBoot(boot: KernelBootConfig, id = bootVariantId(this.id, boot)): KernelVariant {
    return new KernelVariant(id, this.release, this.about, this.behaviours, this.proposal, boot, this.baseId);
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
  return { ...b, id: b.id as KernelBehaviour };
});

export const KERNEL_VARIANTS: readonly KernelVariant[] = variantData.variants.map((v, i) => {
  for (const [j, b] of v.behaviours.entries()) {
    if (!BEHAVIOUR_IDS.has(b)) throw new InputError(DATA_FILE, `/variants/${i}/behaviours/${j}`, `unknown behaviour '${b}' (known: ${[...BEHAVIOUR_IDS].join(', ')})`);
  }
  return new KernelVariant(v.id, v.release, v.about, v.behaviours as KernelBehaviour[], (v as { proposal?: boolean }).proposal ?? false);
});

export const DEFAULT_KERNEL_VARIANT = 'linux-6.18';

export function behaviourInfo(b: KernelBehaviour): BehaviourInfo {
  return BEHAVIOURS.find((x) => x.id === b)!;
}

export function resolveKernelVariant(id: string, file = '<command line>', place = '--kernel'): KernelVariant {
  const v = KERNEL_VARIANTS.find((x) => x.id === id);
  if (!v) throw new InputError(file, place, `unknown kernel variant '${id}' (known: ${KERNEL_VARIANTS.map((x) => x.id).join(', ')})`);
  return v;
}

const versionKey = (release: string): number => {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
};

/** The merged-kernel variant closest to a `uname -r` string at or below it (the host's referee variant). */
export function closestVariantTo(release: string): KernelVariant {
  const want = versionKey(release);
  const merged = KERNEL_VARIANTS.filter((v) => !v.proposal).sort((a, b) => versionKey(a.release) - versionKey(b.release));
  return merged.filter((v) => versionKey(v.release) <= want).pop() ?? merged[0];
}
