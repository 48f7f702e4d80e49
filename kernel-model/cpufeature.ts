/**
 * The kernel's CPU capabilities (boot_cpu_data.x86_capability) and the boot options and kernel
 * configuration that change them: arch/x86/kernel/cpu/common.c (get_cpu_cap,
 * cpu_parse_early_param, parse_set_clear_cpuid, setup_pku, x86_nofsgsbase_setup,
 * setup_disable_pku), arch/x86/kernel/cpu/cpuid-deps.c (setup_clear_cpu_cap with cpuid_deps[]),
 * arch/x86/include/asm/cpufeatures.h (the feature words and /proc/cpuinfo names). Read at
 * Linux 6.18 (Kingxukai/linux@0291023e7330, a 6.18-era tree); where older kernels differ the
 * difference is a named behaviour of the variant. No kernel code copied.
 *
 * The kernel clears its own capability bits; CPUID itself is not changed by any of this: a task
 * still sees the CPU's CPUID bits (with OSXSAVE and OSPKE following CR4, and leaf 0DH following
 * XCR0), so a program that trusts CPUID.(07H,0):EBX.AVX512F without checking XGETBV gets #UD.
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { InputError } from '../src/errors.js';
import { KernelBehaviour, resolveKernelVariant, type KernelVariant } from './variants.js';

/** X86_FEATURE_* bits the model tracks, by the name /proc/cpuinfo and clearcpuid= use (x86_cap_flags). */
export enum X86Feature {
  FPU = 'fpu',
  FXSR = 'fxsr',
  XMM = 'sse',
  XMM2 = 'sse2',
  XSAVE = 'xsave',
  AVX = 'avx',
  FSGSBASE = 'fsgsbase',
  AVX2 = 'avx2',
  MPX = 'mpx',
  AVX512F = 'avx512f',
  AVX512DQ = 'avx512dq',
  AVX512IFMA = 'avx512ifma',
  INTEL_PT = 'intel_pt',
  AVX512CD = 'avx512cd',
  AVX512BW = 'avx512bw',
  AVX512VL = 'avx512vl',
  XSAVEOPT = 'xsaveopt',
  XSAVEC = 'xsavec',
  XGETBV1 = 'xgetbv1',
  XSAVES = 'xsaves',
  XFD = 'xfd',
  AVX512VBMI = 'avx512vbmi',
  PKU = 'pku',
  OSPKE = 'ospke',
  SHSTK = 'shstk',
  ENQCMD = 'enqcmd',
  AMX_BF16 = 'amx_bf16',
  AVX512_FP16 = 'avx512_fp16',
  AMX_TILE = 'amx_tile',
  AMX_INT8 = 'amx_int8',
  APX = 'apx',
  /** Linux-defined (word 11 bit 23): set by setup_cet when SHSTK and CONFIG_X86_USER_SHADOW_STACK, cleared by nousershstk. */
  USER_SHSTK = 'user_shstk',
}

/**
 * cpufeatures.h capability words that are one CPUID register each (enum cpuid_leafs): an
 * X86_FEATURE_ number there is word * 32 + the CPUID bit, which is what clearcpuid=<number> takes.
 */
const CPUID_WORDS: readonly { word: number; leaf: number; sub: number; reg: number; name: string }[] = [
  { word: 0, leaf: 1, sub: 0, reg: 3, name: 'CPUID_1_EDX' },
  { word: 4, leaf: 1, sub: 0, reg: 2, name: 'CPUID_1_ECX' },
  { word: 9, leaf: 7, sub: 0, reg: 1, name: 'CPUID_7_0_EBX' },
  { word: 10, leaf: 0xd, sub: 1, reg: 0, name: 'CPUID_D_1_EAX' },
  { word: 16, leaf: 7, sub: 0, reg: 2, name: 'CPUID_7_ECX' },
  { word: 18, leaf: 7, sub: 0, reg: 3, name: 'CPUID_7_EDX' },
];

interface FeatureInfo {
  /** Where get_cpu_cap() (or init_scattered_cpuid_features) reads it. */
  leaf: number; sub: number; reg: number; bit: number;
  /** Read into a scattered Linux-defined word: no stable number, so clearcpuid= takes only its name. */
  scattered?: true;
  /** Not read from CPUID at boot: the kernel sets it itself (OSPKE by setup_pku). */
  synthetic?: true;
}

const R = { EAX: 0, EBX: 1, ECX: 2, EDX: 3 } as const;
export const FEATURES: Readonly<Record<X86Feature, FeatureInfo>> = {
  [X86Feature.FPU]: { leaf: 1, sub: 0, reg: R.EDX, bit: 0 },
  [X86Feature.FXSR]: { leaf: 1, sub: 0, reg: R.EDX, bit: 24 },
  [X86Feature.XMM]: { leaf: 1, sub: 0, reg: R.EDX, bit: 25 },
  [X86Feature.XMM2]: { leaf: 1, sub: 0, reg: R.EDX, bit: 26 },
  [X86Feature.XSAVE]: { leaf: 1, sub: 0, reg: R.ECX, bit: 26 },
  [X86Feature.AVX]: { leaf: 1, sub: 0, reg: R.ECX, bit: 28 },
  [X86Feature.FSGSBASE]: { leaf: 7, sub: 0, reg: R.EBX, bit: 0 },
  [X86Feature.AVX2]: { leaf: 7, sub: 0, reg: R.EBX, bit: 5 },
  [X86Feature.MPX]: { leaf: 7, sub: 0, reg: R.EBX, bit: 14 },
  [X86Feature.AVX512F]: { leaf: 7, sub: 0, reg: R.EBX, bit: 16 },
  [X86Feature.AVX512DQ]: { leaf: 7, sub: 0, reg: R.EBX, bit: 17 },
  [X86Feature.AVX512IFMA]: { leaf: 7, sub: 0, reg: R.EBX, bit: 21 },
  [X86Feature.INTEL_PT]: { leaf: 7, sub: 0, reg: R.EBX, bit: 25 },
  [X86Feature.AVX512CD]: { leaf: 7, sub: 0, reg: R.EBX, bit: 28 },
  [X86Feature.AVX512BW]: { leaf: 7, sub: 0, reg: R.EBX, bit: 30 },
  [X86Feature.AVX512VL]: { leaf: 7, sub: 0, reg: R.EBX, bit: 31 },
  [X86Feature.XSAVEOPT]: { leaf: 0xd, sub: 1, reg: R.EAX, bit: 0 },
  [X86Feature.XSAVEC]: { leaf: 0xd, sub: 1, reg: R.EAX, bit: 1 },
  [X86Feature.XGETBV1]: { leaf: 0xd, sub: 1, reg: R.EAX, bit: 2 },
  [X86Feature.XSAVES]: { leaf: 0xd, sub: 1, reg: R.EAX, bit: 3 },
  [X86Feature.XFD]: { leaf: 0xd, sub: 1, reg: R.EAX, bit: 4 },
  [X86Feature.AVX512VBMI]: { leaf: 7, sub: 0, reg: R.ECX, bit: 1 },
  [X86Feature.PKU]: { leaf: 7, sub: 0, reg: R.ECX, bit: 3 },
  [X86Feature.OSPKE]: { leaf: 7, sub: 0, reg: R.ECX, bit: 4, synthetic: true },
  [X86Feature.SHSTK]: { leaf: 7, sub: 0, reg: R.ECX, bit: 7 },
  [X86Feature.ENQCMD]: { leaf: 7, sub: 0, reg: R.ECX, bit: 29 },
  [X86Feature.AMX_BF16]: { leaf: 7, sub: 0, reg: R.EDX, bit: 22 },
  [X86Feature.AVX512_FP16]: { leaf: 7, sub: 0, reg: R.EDX, bit: 23 },
  [X86Feature.AMX_TILE]: { leaf: 7, sub: 0, reg: R.EDX, bit: 24 },
  [X86Feature.AMX_INT8]: { leaf: 7, sub: 0, reg: R.EDX, bit: 25 },
  // CPUID.(07H,1):EDX[21] APX_F; a scattered bit in Linux (6.16).
  [X86Feature.APX]: { leaf: 7, sub: 1, reg: R.EDX, bit: 21, scattered: true },
  // Not a CPUID bit: setup_cet derives it from SHSTK (CPUID.(07H,0):ECX[7], given here as its source).
  [X86Feature.USER_SHSTK]: { leaf: 7, sub: 0, reg: R.ECX, bit: 7, scattered: true, synthetic: true },
};

/** The X86_FEATURE_ number of a feature in a CPUID word (clearcpuid=<number>), undefined for scattered ones. */
export function featureNumber(f: X86Feature): number | undefined {
  const i = FEATURES[f];
  if (i.scattered) return undefined;
  const w = CPUID_WORDS.find((x) => x.leaf === i.leaf && x.sub === i.sub && x.reg === i.reg);
  return w === undefined ? undefined : w.word * 32 + i.bit;
}

/**
 * cpuid_deps[] (cpuid-deps.c, 6.18), the rows among the features above: clearing `depends`
 * clears `feature` too. XFD->XSAVES/XGETBV1 and AMX_TILE->XFD came with AMX (5.16), SHSTK->XSAVES
 * with user shadow stacks (6.6), APX->XSAVE with APX (6.16); on older variants the components they
 * gate are not supported at all, so applying the 6.18 table to every variant changes nothing there.
 */
export const CPUID_DEPS: readonly (readonly [feature: X86Feature, depends: X86Feature])[] = [
  [X86Feature.FXSR, X86Feature.FPU],
  [X86Feature.XSAVEOPT, X86Feature.XSAVE],
  [X86Feature.XSAVEC, X86Feature.XSAVE],
  [X86Feature.XSAVES, X86Feature.XSAVE],
  [X86Feature.AVX, X86Feature.XSAVE],
  [X86Feature.PKU, X86Feature.XSAVE],
  [X86Feature.MPX, X86Feature.XSAVE],
  [X86Feature.XGETBV1, X86Feature.XSAVE],
  [X86Feature.APX, X86Feature.XSAVE],
  [X86Feature.XSAVE, X86Feature.FXSR],
  [X86Feature.XMM, X86Feature.FXSR],
  [X86Feature.XMM2, X86Feature.XMM],
  [X86Feature.AVX2, X86Feature.AVX],
  [X86Feature.AVX512F, X86Feature.AVX],
  [X86Feature.AVX512IFMA, X86Feature.AVX512F],
  [X86Feature.AVX512CD, X86Feature.AVX512F],
  [X86Feature.AVX512DQ, X86Feature.AVX512F],
  [X86Feature.AVX512BW, X86Feature.AVX512F],
  [X86Feature.AVX512VL, X86Feature.AVX512F],
  [X86Feature.AVX512VBMI, X86Feature.AVX512F],
  [X86Feature.AVX512_FP16, X86Feature.AVX512BW],
  [X86Feature.ENQCMD, X86Feature.XSAVES],
  [X86Feature.XFD, X86Feature.XSAVES],
  [X86Feature.XFD, X86Feature.XGETBV1],
  [X86Feature.AMX_TILE, X86Feature.XFD],
  [X86Feature.AMX_BF16, X86Feature.AMX_TILE],
  [X86Feature.AMX_INT8, X86Feature.AMX_TILE],
  [X86Feature.SHSTK, X86Feature.XSAVES],
];

// ------------------------------------------------------------------ boot options and configuration

/** Kernel command-line options that change extended state, as the model knows them. */
export enum BootOption {
  NoXsave = 'noxsave',
  NoXsaveopt = 'noxsaveopt',
  NoXsaves = 'noxsaves',
  NoPku = 'nopku',
  NoUserShstk = 'nousershstk',
  SetCpuid = 'setcpuid',
  NoFsgsbase = 'nofsgsbase',
  ClearCpuid = 'clearcpuid',
}

export interface BootOptionInfo {
  option: BootOption;
  /** How it is written. */
  syntax: string;
  /** The first modelled variant that has it, when not every one does. */
  since?: string;
  effect: string;
  source: string;
}

export const BOOT_OPTIONS: readonly BootOptionInfo[] = [
  { option: BootOption.NoXsave, syntax: 'noxsave', effect: 'setup_clear_cpu_cap(X86_FEATURE_XSAVE), with its dependents (XSAVEOPT, XSAVEC, XSAVES, AVX and AVX2/AVX-512, PKU, MPX, XGETBV1, APX, XFD, AMX): fpu__init_system_xstate returns at once, the kernel saves with FXSAVE, CR4.OSXSAVE stays 0 (XGETBV, XSAVE* and AVX #UD; CPUID.1:ECX.OSXSAVE 0), no NT_X86_XSTATE (-ENODEV), FXSAVE-format signal frames without FP_XSTATE_MAGIC2', source: 'arch/x86/kernel/cpu/common.c cpu_parse_early_param (6.18); arch/x86/kernel/fpu/init.c fpu__init_parse_early_param in earlier trees; arch/x86/kernel/fpu/xstate.c fpu__init_system_xstate ("x87 FPU will use FXSAVE")' },
  { option: BootOption.NoXsaveopt, syntax: 'noxsaveopt', effect: 'setup_clear_cpu_cap(X86_FEATURE_XSAVEOPT): the kernel saves with XSAVE where it would have used XSAVEOPT (no effect when XSAVES or XSAVEC is used); the UABI does not change', source: 'cpu_parse_early_param (6.18); os_xsave\'s alternatives XSAVE < XSAVEOPT < XSAVEC < XSAVES (asm/fpu/xstate.h)' },
  { option: BootOption.NoXsaves, syntax: 'noxsaves', effect: 'setup_clear_cpu_cap(X86_FEATURE_XSAVES) and its dependents ENQCMD, SHSTK, XFD and so AMX_TILE: no supervisor state (IA32_XSS 0: no PASID, CET), no AMX (XFD is needed for dynamic features; cpuid_deps AMX_TILE->XFD->XSAVES), the kernel saves with XSAVEC (compacted) or XSAVEOPT (standard)', source: 'cpu_parse_early_param and cpuid-deps.c (6.18)' },
  { option: BootOption.NoPku, syntax: 'nopku', effect: 'pku_disabled: setup_pku neither sets CR4.PKE nor X86_FEATURE_OSPKE (RDPKRU/WRPKRU #UD, CPUID OSPKE 0), X86_FEATURE_PKU kept ("pku" but no "ospke" in /proc/cpuinfo); PKRU stays in XCR0 and the ptrace/signal images until 6.6, and leaves them from 6.6 (behaviour pkru-xstate-needs-ospke)', source: 'arch/x86/kernel/cpu/common.c setup_disable_pku, __setup("nopku") (only with CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=y), setup_pku; 18032b47adf1 "x86/fpu/xstate: Fix PKRU covert channel" (6.6)' },
  { option: BootOption.NoFsgsbase, syntax: 'nofsgsbase', effect: 'setup_clear_cpu_cap(X86_FEATURE_FSGSBASE): CR4.FSGSBASE stays 0 (RDFSBASE & co. #UD), no HWCAP2_FSGSBASE in AT_HWCAP2', source: 'arch/x86/kernel/cpu/common.c x86_nofsgsbase_setup, __setup("nofsgsbase") (5.9), identify_cpu' },
  { option: BootOption.NoUserShstk, syntax: 'nousershstk', effect: 'setup_clear_cpu_cap(X86_FEATURE_USER_SHSTK), which setup_cet sets when the CPU has SHSTK (CONFIG_X86_USER_SHADOW_STACK assumed y): no user shadow stacks (ARCH_SHSTK_ENABLE -EOPNOTSUPP, NT_X86_SHSTK -ENODEV). The XSAVE state does not change: xsave_cpuid_features[] gates CET_USER on SHSTK, not USER_SHSTK, so IA32_XSS keeps it and the kernel\'s buffers keep its room; 6.6+ (user shadow stacks)', source: 'arch/x86/kernel/cpu/common.c cpu_parse_early_param, setup_cet; arch/x86/kernel/fpu/xstate.c xsave_cpuid_features[XFEATURE_CET_USER] = X86_FEATURE_SHSTK (6.18)' },
  { option: BootOption.SetCpuid, syntax: 'setcpuid=X[,X...]', effect: 'setup_force_cpu_cap of each X after clearcpuid= (apply_forced_caps: a forced bit wins over a cleared one; what depends on X is not forced back): a feature whose CPUID bit a VM hid turns the XSAVE components it gates on again where leaf 0DH enumerates them. Forcing an instruction the CPU lacks (XSAVE, XSAVEOPT, XSAVEC, XSAVES, XGETBV1, XFD, FXSR) is refused: the kernel would execute it and fault while booting, which the model does not model. Names or X86_FEATURE_ numbers as clearcpuid=; 6.15+', source: 'arch/x86/kernel/cpu/common.c parse_set_clear_cpuid(arg, true), cpu_parse_early_param, apply_forced_caps (6.18); Brendan Jackman, "x86/cpu: Add setcpuid= boot parameter" (tip x86/cpu, 2025; merged for 6.15)' },
  { option: BootOption.ClearCpuid, syntax: 'clearcpuid=X[,X...]', effect: 'setup_clear_cpu_cap of each X, with its dependents (cpuid_deps[]); X is a /proc/cpuinfo name (those the model tracks: the features that gate an XSAVE component or the kernel\'s save instruction, and their dependents) or an X86_FEATURE_ number word*32+bit of a CPUID word; names only from the 2022 change, numbers before it', source: 'arch/x86/kernel/cpu/common.c cpu_parse_early_param / parse_set_clear_cpuid (6.18); names: Borislav Petkov, "x86/cpu: Allow feature bit names from /proc/cpuinfo in clearcpuid=" (2022, lore 20220127115626.14179-2-bp@alien8.de; behaviour clearcpuid-names)' },
];

/** Kconfig symbols the model lets a run switch from its assumed configuration. */
export enum KconfigSymbol {
  X86IntelMemoryProtectionKeys = 'CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS',
}

export interface KconfigInfo { symbol: KconfigSymbol; assumed: 'y' | 'n'; effect: string; source: string }

export const KCONFIG: readonly KconfigInfo[] = [
  { symbol: KconfigSymbol.X86IntelMemoryProtectionKeys, assumed: 'y', effect: '=n: X86_FEATURE_PKU is a disabled feature (asm/disabled-features.h DISABLE_PKU), so cpu_feature_enabled(X86_FEATURE_PKU) is false: setup_pku does nothing (no CR4.PKE, no OSPKE) and "nopku" does not exist; PKRU stays in XCR0 until 6.6 (xstate.c tested boot_cpu_has(X86_FEATURE_PKU), which the disabled mask does not change), leaves it from 6.6', source: 'arch/x86/Kconfig X86_INTEL_MEMORY_PROTECTION_KEYS (default y, distributions build it in); common.c setup_pku; 18032b47adf1 (6.6)' },
];

/** One option of a command line as given. */
export interface BootParam { option: BootOption; /** clearcpuid=: the features, resolved. */ features?: readonly X86Feature[] }

/** A kernel's boot options and configuration changes (empty: the model's defaults). */
export interface KernelBootConfig {
  params: readonly BootParam[];
  /** Kconfig symbols set to n (each one the model knows; y is the assumed default). */
  configOff: readonly KconfigSymbol[];
  /** The command line and config as written, normalized (for ids and reports). */
  text: readonly string[];
}

/** X86_FEATURE_ names the model tracks, for messages. */
const featureNames = (): string => Object.values(X86Feature).filter((f) => !FEATURES[f].synthetic).join(', ');

/** What is wrong with a command line or configuration, and in which of the two (the caller places it in its file). */
export interface BootError { error: string; in: 'boot' | 'config' }

/** The release setcpuid= came in (the 2025 series merged for 6.15; cpu_parse_early_param of 6.12 has only clearcpuid=). */
const SETCPUID_SINCE = [6, 15] as const;
const atLeast = (release: string, [major, minor]: readonly [number, number]): boolean => {
  const [a = 0, b = 0] = release.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

/** Parse a kernel command line and Kconfig settings for variant `v`. */
export function parseKernelBoot(v: KernelVariant, cmdline: string, config: readonly string[] = []): KernelBootConfig | BootError {
  const inConfig = (error: string): BootError => ({ error, in: 'config' });
  const inBoot = (error: string): BootError => ({ error, in: 'boot' });
  const params: BootParam[] = [];
  const text: string[] = [];
  const configText: string[] = [];
  const configOff: KconfigSymbol[] = [];
  for (const c of config) {
    const m = /^(CONFIG_[A-Z0-9_]+)=([yn])$/.exec(c);
    if (!m) return inConfig(`kernel configuration '${c}': write CONFIG_NAME=y or CONFIG_NAME=n (known: ${KCONFIG.map((k) => k.symbol).join(', ')})`);
    const info = KCONFIG.find((k) => k.symbol === m[1]);
    if (!info) return inConfig(`kernel configuration '${m[1]}' is not modelled (known: ${KCONFIG.map((k) => `${k.symbol}, assumed =${k.assumed}`).join('; ')})`);
    if (m[2] === 'n' && !configOff.includes(info.symbol)) configOff.push(info.symbol);
    if (m[2] !== info.assumed) configText.push(c);
  }
  const pkeys = !configOff.includes(KconfigSymbol.X86IntelMemoryProtectionKeys);
  for (const tok of cmdline.split(/\s+/).filter(Boolean)) {
    const [name, ...rest] = tok.split('=');
    const value = rest.length ? rest.join('=') : undefined;
    const info = BOOT_OPTIONS.find((o) => o.option === name);
    if (!info) return inBoot(`boot option '${tok}' is not modelled (known: ${BOOT_OPTIONS.map((o) => o.syntax).join(', ')}; others do not change extended state here)`);
    if (info.option === BootOption.SetCpuid && !atLeast(v.release, SETCPUID_SINCE)) return inBoot(`'setcpuid=' came in ${SETCPUID_SINCE.join('.')} (parse_set_clear_cpuid(arg, true)); ${v.id} has no such option`);
    if (info.option === BootOption.ClearCpuid || info.option === BootOption.SetCpuid) {
      const opt = info.option;
      if (!value) return inBoot(`${opt}= needs features: ${opt}=${X86Feature.AVX512F} or ${opt}=${featureNumber(X86Feature.AVX512F)}`);
      const features: X86Feature[] = [];
      for (const x of value.split(',')) {
        let f: X86Feature | undefined;
        if (/^\d+$/.test(x)) {
          f = Object.values(X86Feature).find((g) => featureNumber(g) === Number(x));
          if (f === undefined) return inBoot(`${opt}=${x}: no feature the model tracks has X86_FEATURE_ number ${x} (word*32+bit; e.g. ${featureNumber(X86Feature.AVX512F)} is avx512f)`);
        } else {
          if (!v.has(KernelBehaviour.ClearcpuidNames)) return inBoot(`${opt}=${x}: ${v.id} takes only X86_FEATURE_ numbers (word*32+bit) in ${opt}=, names came in 2022 (behaviour clearcpuid-names)${Object.values(X86Feature).includes(x as X86Feature) && featureNumber(x as X86Feature) !== undefined ? `: write ${featureNumber(x as X86Feature)}` : ''}`);
          f = Object.values(X86Feature).find((g) => g === x);
          if (f === undefined || FEATURES[f].synthetic) return inBoot(`${opt}=${x}: not a feature the model tracks (${featureNames()})`);
        }
        features.push(f);
      }
      params.push({ option: info.option, features });
      text.push(`${opt}=${value}`);
      continue;
    }
    if (value !== undefined) return inBoot(`boot option '${name}' takes no value`);
    if (info.option === BootOption.NoPku && !pkeys) return inBoot(`'nopku' exists only with CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=y (setup_disable_pku is under that #ifdef): drop one of them`);
    if (info.option === BootOption.NoUserShstk && !v.has(KernelBehaviour.CetUserXstate)) return inBoot(`'nousershstk' came with user shadow stacks (6.6); ${v.id} has no such option`);
    if (info.option === BootOption.NoFsgsbase && !v.has(KernelBehaviour.UserFsgsbase)) return inBoot(`'nofsgsbase' came with user FSGSBASE (5.9); ${v.id} has no such option`);
    params.push({ option: info.option });
    text.push(name);
  }
  // The command line first, then the configuration (the order of a default name: linux-6.18+nopku+CONFIG_...).
  return { params, configOff, text: [...text, ...configText] };
}

// ------------------------------------------------------------------ the capabilities after boot

/** Why a capability is off: CPUID does not have it, or what cleared it. */
export interface CapabilityChange { feature: X86Feature; by: string }

/** boot_cpu_data.x86_capability for the features above, and what the boot options changed. */
export class CpuCaps {
  constructor(private readonly set: ReadonlySet<X86Feature>, readonly cleared: readonly CapabilityChange[], readonly notes: readonly string[]) {}
  has(f: X86Feature): boolean {
    return this.set.has(f);
  }
}

const cpuidHas = (cpu: CpuModel, i: FeatureInfo): boolean => {
  if (!cpu.cpuid.has(i.leaf, i.sub)) return false;
  return ((cpu.cpuid.get(i.leaf, i.sub)[i.reg] >>> i.bit) & 1) === 1;
};

/** Features whose instructions the kernel itself executes once the capability is set: forcing one the CPU lacks would fault at boot. */
const FORCING_FAULTS: ReadonlySet<X86Feature> = new Set([X86Feature.FXSR, X86Feature.XSAVE, X86Feature.XSAVEOPT, X86Feature.XSAVEC, X86Feature.XSAVES, X86Feature.XGETBV1, X86Feature.XFD]);

/**
 * The capabilities of `cpu` under variant `v` once identify_boot_cpu() is done: get_cpu_cap()
 * (CPUID as read; OSPKE is not read, CR4.PKE being clear at that point), the early command line
 * (cpu_parse_early_param: noxsave, noxsaveopt, noxsaves, nousershstk, clearcpuid=, setcpuid=), nofsgsbase, then
 * setup_pku() forcing OSPKE when PKU is enabled and not disabled by nopku or the configuration.
 */
export function bootCpuCaps(cpu: CpuModel, v: KernelVariant): CpuCaps {
  const set = new Set<X86Feature>();
  for (const f of Object.values(X86Feature)) if (!FEATURES[f].synthetic && cpuidHas(cpu, FEATURES[f])) set.add(f);
  const cleared: CapabilityChange[] = [];
  const notes: string[] = [];
  // setup_clear_cpu_cap (cpuid-deps.c do_clear_cpu_cap): the feature and, until stable, whatever depends on one cleared.
  const clear = (f: X86Feature, by: string): void => {
    const off = new Set<X86Feature>([f]);
    for (let changed = true; changed;) {
      changed = false;
      for (const [feature, depends] of CPUID_DEPS) if (off.has(depends) && !off.has(feature)) { off.add(feature); changed = true; }
    }
    for (const g of off) {
      if (set.delete(g)) cleared.push({ feature: g, by: g === f ? by : `${by} (depends on ${f})` });
    }
  };
  const boot = v.boot;
  const opt = (o: BootOption): boolean => boot.params.some((p) => p.option === o);
  // cpu_parse_early_param, in its order.
  if (opt(BootOption.NoXsave)) clear(X86Feature.XSAVE, 'noxsave');
  if (opt(BootOption.NoXsaveopt)) clear(X86Feature.XSAVEOPT, 'noxsaveopt');
  if (opt(BootOption.NoXsaves)) clear(X86Feature.XSAVES, 'noxsaves');
  // setup_cet (identify_cpu) sets USER_SHSTK from SHSTK; nousershstk's clear outlasts it (apply_forced_caps).
  if (set.has(X86Feature.SHSTK)) set.add(X86Feature.USER_SHSTK);
  if (opt(BootOption.NoUserShstk)) clear(X86Feature.USER_SHSTK, 'nousershstk');
  for (const p of boot.params) if (p.option === BootOption.ClearCpuid) for (const f of p.features ?? []) clear(f, `clearcpuid=${f}`);
  // setcpuid= (after clearcpuid=): setup_force_cpu_cap, the feature alone.
  for (const p of boot.params) {
    if (p.option !== BootOption.SetCpuid) continue;
    for (const f of p.features ?? []) {
      if (FORCING_FAULTS.has(f) && !cpuidHas(cpu, FEATURES[f])) {
        throw new InputError('<kernel boot options>', `setcpuid=${f}`, `${cpu.id} lacks ${f} (CPUID): the kernel would execute it and fault while booting, which the model does not model; drop it or use a CPU that has it`);
      }
      if (!set.has(f)) { set.add(f); notes.push(`setcpuid=${f}: forced on (setup_force_cpu_cap; features that depend on it stay as they were)`); }
      const k = cleared.findIndex((c) => c.feature === f);
      if (k >= 0) cleared.splice(k, 1);
    }
  }
  if (opt(BootOption.NoFsgsbase)) clear(X86Feature.FSGSBASE, 'nofsgsbase');
  // setup_pku (boot CPU): OSPKE forced with CR4.PKE unless pku_disabled or PKU not enabled.
  const pkeys = !boot.configOff.includes(KconfigSymbol.X86IntelMemoryProtectionKeys);
  if (set.has(X86Feature.PKU)) {
    if (!pkeys) notes.push('CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n: cpu_feature_enabled(X86_FEATURE_PKU) is false, setup_pku sets neither CR4.PKE nor OSPKE');
    else if (opt(BootOption.NoPku)) notes.push('nopku: pku_disabled, setup_pku sets neither CR4.PKE nor OSPKE (X86_FEATURE_PKU kept)');
    else set.add(X86Feature.OSPKE);
  }
  return new CpuCaps(set, cleared, notes);
}

/** The kernel feature each XSAVE component needs (xsave_cpuid_features[] names, emulator/xsave-cpuid-features.ts), as an X86Feature. */
export function xsaveCpuidFeature(name: string, v: KernelVariant): X86Feature | undefined {
  // 18032b47adf1 (6.6): PKRU is gated on OSPKE (pkeys enabled), before on PKU.
  if (name === 'PKU') return v.has(KernelBehaviour.PkruXstateNeedsOspke) ? X86Feature.OSPKE : X86Feature.PKU;
  const byName: Record<string, X86Feature> = { FPU: X86Feature.FPU, XMM: X86Feature.XMM, AVX: X86Feature.AVX, MPX: X86Feature.MPX, AVX512F: X86Feature.AVX512F, INTEL_PT: X86Feature.INTEL_PT, ENQCMD: X86Feature.ENQCMD, SHSTK: X86Feature.SHSTK, AMX_TILE: X86Feature.AMX_TILE, APX: X86Feature.APX };
  return byName[name];
}

/**
 * A kernel by name: a variant id, or a booted variant's default name (`linux-6.18+noxsaves+
 * clearcpuid=avx512f`, `linux-6.2+CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS=n`) as reports print it,
 * so `run --kernel` and `run --matrix --kernel` take what the reports show.
 */
export function resolveKernelName(name: string, file = '<command line>', place = '--kernel'): KernelVariant {
  const [id, ...opts] = name.split('+');
  const v = resolveKernelVariant(id!, file, place);
  if (!opts.length) return v;
  const b = parseKernelBoot(v, opts.filter((o) => !o.startsWith('CONFIG_')).join(' '), opts.filter((o) => o.startsWith('CONFIG_')));
  if ('error' in b) throw new InputError(file, place, `${name}: ${b.error}`);
  return v.withBoot(b);
}
