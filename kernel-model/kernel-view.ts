/**
 * The kernel's view of the CPU: what Linux shows user space after it has read CPUID and cleared
 * what it will not use (arch/x86/kernel/cpu/common.c get_cpu_cap, apply_forced_caps, identify_cpu;
 * arch/x86/include/asm/elf.h ELF_HWCAP / ELF_HWCAP2; the FPU setup of kernel-model/fpu-config.ts).
 * A host capture records the capturing kernel's view (profile.kernel): each fact it holds is taken
 * as captured. For everything else (imported dumps, or a kernel variant other than the capturing
 * one for the version-dependent facts) the fact is derived by the kernel's rule, named in `rule`.
 * Behaviour read from the kernel source; no kernel code copied.
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { fpu__init_system_xstate, type FpuConfig } from './fpu-config.js';
import { atMinsigstksz } from './signal.js';
import { KernelBehaviour, closestVariantTo, type KernelVariant } from './variants.js';
import { FEATURES, X86Feature, bootCpuCaps } from './cpufeature.js';

/** Where a fact of the view comes from. */
export enum ViewBasis {
  /** The capturing kernel showed it (profile.kernel: auxv, /proc/cpuinfo, XGETBV, dmesg). */
  Captured = 'captured',
  /** Derived from CPUID by the kernel's rule (`rule` names it). */
  Derived = 'derived',
}

export interface ViewFact<T> {
  value: T;
  basis: ViewBasis;
  /** The capture's field, or the kernel rule applied. */
  rule: string;
}

/** HWCAP2_FSGSBASE (arch/x86/include/uapi/asm/hwcap2.h): bit 1 of AT_HWCAP2. */
export const HWCAP2_FSGSBASE = 1 << 1;
/** /proc/cpuinfo flag names (arch/x86/include/asm/cpufeatures.h, the "..." names x86_cap_flags prints). */
const CPUINFO_FSGSBASE = 'fsgsbase';
const CPUINFO_OSPKE = 'ospke';

export interface KernelView {
  /** AT_HWCAP: ELF_HWCAP, the kernel's CPUID.01H:EDX feature word. */
  hwcap: ViewFact<number>;
  /** AT_HWCAP2: ELF_HWCAP2 (elf_hwcap2). */
  hwcap2: ViewFact<number>;
  /** AT_MINSIGSTKSZ, undefined where the variant has no such entry (before 5.14). */
  minsigstksz: ViewFact<number | undefined>;
  /** CR4.FSGSBASE as user space meets it: RDFSBASE & co. run (measured, else the kernel's rule). */
  cr4Fsgsbase: ViewFact<boolean>;
  /** CR4.PKE: RDPKRU/WRPKRU run, CPUID shows OSPKE. */
  cr4Pke: ViewFact<boolean>;
  /** XCR0 in user space. */
  xcr0: ViewFact<number>;
  /** The kernel's buffer format. */
  format: ViewFact<'standard' | 'compacted'>;
  /** The instruction the kernel saves tasks' state with (os_xsave). */
  saveInsn: ViewFact<FpuConfig['saveInsn']>;
}

const captured = <T>(value: T, field: string): ViewFact<T> => ({ value, basis: ViewBasis.Captured, rule: `profile.kernel.${field}` });
const derived = <T>(value: T, rule: string): ViewFact<T> => ({ value, basis: ViewBasis.Derived, rule });
const hex = (s: string): number => parseInt(s, 16) >>> 0;

/**
 * get_cpu_cap() (common.c): x86_capability[CPUID_1_EDX] is CPUID.01H:EDX as read. The kernel may
 * clear bits afterwards (apply_forced_caps: clearcpuid=, MTRRs a hypervisor disables, ...); an
 * imported dump cannot show that, so the raw word is assumed.
 */
export function get_cpu_cap_1_edx(cpu: CpuModel): number {
  return cpu.cpuid.get(1)[3] >>> 0;
}

/**
 * X86_FEATURE_FSGSBASE as the kernel keeps it: the captured /proc/cpuinfo flag or AT_HWCAP2 bit
 * when there is a capture (a kernel clears it for nofsgsbase, x86_nofsgsbase_setup, or when it
 * runs where the hypervisor does not support it), else CPUID.(07H,0):EBX[0].
 */
function x86FeatureFsgsbase(cpu: CpuModel, v?: KernelVariant): ViewFact<boolean> {
  const off = v ? bootCpuCaps(cpu, v).cleared.find((c) => c.feature === X86Feature.FSGSBASE) : undefined;
  if (off) return derived(false, `X86_FEATURE_FSGSBASE cleared by ${off.by}`);
  const k = cpu.profile.kernel;
  if (k?.hwcap2 !== undefined) return captured((hex(k.hwcap2) & HWCAP2_FSGSBASE) !== 0, 'hwcap2 (bit 1, HWCAP2_FSGSBASE)');
  if (k?.cpuinfo_flags) return captured(k.cpuinfo_flags.includes(CPUINFO_FSGSBASE), `cpuinfo_flags ('${CPUINFO_FSGSBASE}')`);
  return derived(cpu.features.fsgsbase, 'get_cpu_cap: X86_FEATURE_FSGSBASE = CPUID.(07H,0):EBX[0] (assumed: not cleared by nofsgsbase or the platform)');
}

/** ELF_HWCAP (asm/elf.h): boot_cpu_data.x86_capability[CPUID_1_EDX]. */
export function ELF_HWCAP(cpu: CpuModel, v?: KernelVariant): ViewFact<number> {
  const k = cpu.profile.kernel;
  // Boot options that clear CPUID.01H:EDX capabilities (clearcpuid=sse2, ...) clear them in ELF_HWCAP.
  const off = v ? bootCpuCaps(cpu, v).cleared.filter((c) => FEATURES[c.feature].leaf === 1 && FEATURES[c.feature].reg === 3) : [];
  const mask = off.reduce((m, c) => (m & ~(1 << FEATURES[c.feature].bit)) >>> 0, 0xffffffff);
  const by = off.length ? ` without ${off.map((c) => `${c.feature} (${c.by})`).join(', ')}` : '';
  if (k?.hwcap !== undefined) return off.length ? derived((hex(k.hwcap) & mask) >>> 0, `profile.kernel.hwcap${by}`) : captured(hex(k.hwcap), 'hwcap');
  return derived((get_cpu_cap_1_edx(cpu) & mask) >>> 0, `ELF_HWCAP = x86_capability[CPUID_1_EDX] = CPUID.01H:EDX as read by get_cpu_cap${by || ' (assumed: apply_forced_caps cleared nothing)'}`);
}

/**
 * ELF_HWCAP2 (asm/elf.h elf_hwcap2): identify_cpu() sets HWCAP2_FSGSBASE with CR4.FSGSBASE (5.9+);
 * HWCAP2_RING3MWAIT (bit 0) only on Xeon Phi (intel.c probe_xeon_phi_r3mwait), which no derived
 * profile is. The captured value holds for the capturing kernel's variant, and for others with
 * FSGSBASE reapplied by the variant's rule.
 */
export function ELF_HWCAP2(cpu: CpuModel, v: KernelVariant): ViewFact<number> {
  const k = cpu.profile.kernel;
  // The kernel's own decision (X86_FEATURE_FSGSBASE), not whether RDFSBASE happens to run.
  const fsgs = v.has(KernelBehaviour.UserFsgsbase) ? x86FeatureFsgsbase(cpu, v) : derived(false, `${v.id} predates HWCAP2_FSGSBASE (5.9)`);
  if (k?.hwcap2 !== undefined) {
    const value = ((hex(k.hwcap2) & ~HWCAP2_FSGSBASE) | (fsgs.value ? HWCAP2_FSGSBASE : 0)) >>> 0;
    if (value === hex(k.hwcap2)) return captured(value, 'hwcap2');
    return derived(value, `profile.kernel.hwcap2 with HWCAP2_FSGSBASE by ${v.id}'s rule: ${fsgs.rule}`);
  }
  return derived(fsgs.value ? HWCAP2_FSGSBASE : 0, `elf_hwcap2 = HWCAP2_FSGSBASE iff X86_FEATURE_FSGSBASE (identify_cpu sets both with CR4.FSGSBASE; ${fsgs.rule}); HWCAP2_RING3MWAIT only on Xeon Phi`);
}

/**
 * What the capture measured for a user-mode instruction under the capturing kernel (profile
 * measured.faults): 'none' means it ran, so the CR4 bit it needs was set for user space, whoever
 * set it. Only for the capturing kernel's own variant; undefined otherwise or without a measurement.
 */
function measuredRuns(cpu: CpuModel, v: KernelVariant, insn: 'RDFSBASE' | 'RDPKRU'): boolean | undefined {
  const f = cpu.profile.measured?.faults?.[insn];
  return f === undefined || !captureIsOfVariant(cpu, v) ? undefined : f === 'none';
}

/**
 * identify_cpu() (common.c, 5.9+): `if (cpu_has(c, X86_FEATURE_FSGSBASE)) cr4_set_bits(X86_CR4_FSGSBASE)`;
 * before 5.9 the kernel never set CR4.FSGSBASE for user space. For the capturing kernel the
 * measured CPL-3 result of RDFSBASE decides: on the PVM reference host RDFSBASE runs although the
 * kernel cleared X86_FEATURE_FSGSBASE (AT_HWCAP2 = 0), so the CR4 user space meets is not the one
 * the kernel chose (how the hypervisor does it is not known here; only the measurement is).
 * `value` is whether RDFSBASE & co. run in user space.
 */
export function setup_cr4_fsgsbase(cpu: CpuModel, v: KernelVariant): ViewFact<boolean> {
  const off = bootCpuCaps(cpu, v).cleared.find((c) => c.feature === X86Feature.FSGSBASE);
  // The capture measured a kernel that set CR4.FSGSBASE; a boot option clearing the feature stops it (assumed: no hypervisor sets it behind the kernel's back, as the PVM host seems to).
  if (off) return derived(false, `CR4.FSGSBASE = 0: X86_FEATURE_FSGSBASE cleared by ${off.by}`);
  const runs = measuredRuns(cpu, v, 'RDFSBASE');
  if (runs !== undefined) return captured(runs, `measured.faults.RDFSBASE under the capturing kernel (${runs ? 'ran' : 'faulted'}), whatever X86_FEATURE_FSGSBASE says`);
  if (!v.has(KernelBehaviour.UserFsgsbase)) return derived(false, `${v.id} predates user FSGSBASE (5.9): CR4.FSGSBASE = 0`);
  const f = x86FeatureFsgsbase(cpu, v);
  return { value: f.value, basis: f.basis, rule: `CR4.FSGSBASE iff X86_FEATURE_FSGSBASE: ${f.rule}` };
}

/**
 * setup_pku() (common.c): CR4.PKE with X86_FEATURE_PKU (CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS,
 * assumed built in), then X86_FEATURE_OSPKE. Captured: RDPKRU's measured CPL-3 result under the
 * capturing kernel, else the 'ospke' /proc/cpuinfo flag.
 */
export function setup_pku(cpu: CpuModel, v: KernelVariant): ViewFact<boolean> {
  if (v.booted) {
    // Boot options or configuration: setup_pku's decision (kernel-model/cpufeature.ts bootCpuCaps).
    const caps = bootCpuCaps(cpu, v);
    const why = caps.cleared.find((c) => c.feature === X86Feature.PKU);
    if (why) return derived(false, `CR4.PKE = 0: X86_FEATURE_PKU cleared by ${why.by}`);
    const note = caps.notes.find((n) => n.startsWith('nopku') || n.startsWith('CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS'));
    if (note) return derived(false, `CR4.PKE = 0: ${note}`);
  }
  const runs = measuredRuns(cpu, v, 'RDPKRU');
  if (runs !== undefined) return captured(runs, `measured.faults.RDPKRU under the capturing kernel (${runs ? 'ran' : 'faulted'})`);
  const k = cpu.profile.kernel;
  if (k?.cpuinfo_flags) return captured(k.cpuinfo_flags.includes(CPUINFO_OSPKE), `cpuinfo_flags ('${CPUINFO_OSPKE}')`);
  return derived(cpu.features.pku, 'setup_pku: CR4.PKE iff X86_FEATURE_PKU = CPUID.(07H,0):ECX[3] (assumed: pkeys built in, not disabled)');
}

/**
 * Does the capture describe this variant's kernel? Version-dependent facts (XCR0, format, frame
 * sizes) are taken from the capture only for the variant closest to the capturing release.
 */
export function captureIsOfVariant(cpu: CpuModel, v: KernelVariant): boolean {
  const release = cpu.profile.kernel?.release;
  // A variant booted with options is its base variant for what the options do not change.
  return release !== undefined && closestVariantTo(release).id === v.baseId;
}

/** The kernel's view of `cpu` under variant `v`, each fact with its basis. */
export function kernelView(cpu: CpuModel, v: KernelVariant, cfg: FpuConfig = fpu__init_system_xstate(cpu, v)): KernelView {
  const k = cpu.profile.kernel;
  // XCR0 and the format depend on the boot options: taken from the capture only for a kernel booted as captured.
  const same = captureIsOfVariant(cpu, v) && !v.booted;
  const minsig = atMinsigstksz(cfg, v);
  const xcr0 = same && k?.xcr0 !== undefined
    ? captured(hex(k.xcr0), 'xcr0')
    : derived(cfg.xcr0, 'fpu__init_system_xstate: CPUID.(0DH,0) features with their CPUID feature flag, & XFEATURE_MASK_USER_SUPPORTED');
  return {
    hwcap: ELF_HWCAP(cpu, v),
    hwcap2: ELF_HWCAP2(cpu, v),
    // The model's signal frames are built from cfg, so AT_MINSIGSTKSZ is always the derived one
    // (a capture's value is compared with it in test/measured-faults.test.ts).
    minsigstksz: derived(minsig, minsig === undefined ? `${v.id} has no AT_MINSIGSTKSZ (5.14+)` : 'init_sigframe_size (signal.c): max_frame_size over fpu_user_cfg.max_size'),
    cr4Fsgsbase: setup_cr4_fsgsbase(cpu, v),
    cr4Pke: setup_pku(cpu, v),
    xcr0,
    format: same && k?.format !== undefined
      ? captured(k.format, 'format')
      : derived(cfg.compacted ? 'compacted' : 'standard', 'fpu__init_system_xstate: compacted with XSAVES or XSAVEC (X86_FEATURE_XCOMPACTED)'),
    saveInsn: derived(cfg.saveInsn, 'os_xsave (asm/fpu/xstate.h XSTATE_XSAVE): XSAVES > XSAVEC > XSAVEOPT > XSAVE, by the CPUID bits'),
  };
}
