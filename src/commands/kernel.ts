/** `xstate-lab kernel list | show NAME [--cpu CPU]`: the kernel variants and their named behaviours. */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { kernelView, type ViewFact } from '../../kernel-model/kernel-view.js';
import { ALL_KERNEL_VARIANTS, ARM64_KERNEL_VARIANTS, BEHAVIOURS, KernelArch, KernelPersonality, behaviourInfo, resolveArm64Variant, resolveKernelVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { cpu_probe_fpu } from '../../kernel-model/netbsd/fpu.js';
import { SIZEOF_XSTATE } from '../../kernel-model/netbsd/cpu_extended_state.js';
import { BOOT_OPTIONS, KCONFIG, X86Feature, bootCpuCaps } from '../../kernel-model/cpufeature.js';

const names = (m: number): string => maskBits(m).map(xfeatureId).join(' ') || '-';

/** `kernel list --json`: one entry per variant or proposal; the field names are stable (README). */
export interface KernelListJson {
  format: 'xstate-lab.kernel-list/1';
  kernels: { id: string; release: string; proposal: boolean; about: string; behaviours: string[]; arch: string; personality: string; sources: string[] }[];
  /** Boot options the model applies (kernel show V --boot, exec --boot, a scenario's kernels: {variant, boot}). */
  bootOptions: { option: string; syntax: string; since?: string; effect: string; source: string }[];
  /** Kconfig symbols a run may switch from the assumed value. */
  kconfig: { symbol: string; assumed: string; effect: string; source: string }[];
}

export function kernelListJson(): KernelListJson {
  return {
    format: 'xstate-lab.kernel-list/1',
    kernels: ALL_KERNEL_VARIANTS.map((v) => ({
      id: v.id, release: v.release, proposal: v.proposal, about: v.about, behaviours: [...v.behaviours], arch: v.arch, personality: v.personality,
      // A personality's own sources, else those of the variant's behaviours.
      sources: v.sources.length ? [...v.sources] : v.behaviours.map((b) => behaviourInfo(b).source),
    })),
    bootOptions: BOOT_OPTIONS.map((o) => ({ ...o })),
    kconfig: KCONFIG.map((k) => ({ ...k })),
  };
}

export function kernelList(): string {
  const kind = (v: KernelVariant): string => (v.proposal ? 'proposal ' : v.personality === KernelPersonality.NetBSD ? 'NetBSD   ' : 'Linux    ');
  const row = (v: KernelVariant): string => {
    const r = `${v.id.padEnd(18)} ${kind(v)} ${v.about}`;
    return v.sources.length ? [r, ...v.sources.map((s) => `${' '.repeat(29)}source: ${s}`)].join('\n') : r;
  };
  const out = ALL_KERNEL_VARIANTS.filter((v) => v.arch === KernelArch.X86_64).map(row);
  // arm64: each variant with the sources of its behaviours (proposals say they were not merged).
  out.push('', 'arm64 (syscall-stop registers, kernel-model/arm64):');
  out.push(...ARM64_KERNEL_VARIANTS.flatMap((v) => [row(v), ...v.behaviours.map((b) => `${''.padEnd(29)}source: ${behaviourInfo(b).source}`)]));
  out.push('', 'Boot options (kernel show V --boot OPTIONS, exec --boot, a scenario\'s kernels: [{variant: V, boot: OPTIONS}]):');
  for (const o of BOOT_OPTIONS) out.push(`  ${o.syntax}`, `      ${o.effect}`, `      source: ${o.source}`);
  out.push('', 'Kernel configuration (--kconfig, a scenario\'s kernels: [{variant: V, config: [...]}]):');
  for (const k of KCONFIG) out.push(`  ${k.symbol} (assumed =${k.assumed})`, `      ${k.effect}`, `      source: ${k.source}`);
  return out.join('\n');
}

export function kernelShow(id: string | KernelVariant, cpu?: CpuModel): string {
  const arm = typeof id === 'string' ? ARM64_KERNEL_VARIANTS.some((x) => x.id === id) : id.arch === KernelArch.Arm64;
  const v = typeof id !== 'string' ? id : arm ? resolveArm64Variant(id, '<command line>', 'kernel show') : resolveKernelVariant(id, '<command line>', 'kernel show');
  if (v.personality === KernelPersonality.NetBSD) return netbsdShow(v, cpu);
  const out = [`${v.id}${v.proposal ? ' (proposal)' : ''}: release ${v.release}${arm ? ', arm64' : ''}`, `  ${v.about}`];
  if (v.booted) out.push(`  booted with: ${v.boot.text.join(' ')}`);
  out.push('  behaviours:');
  for (const b of BEHAVIOURS.filter((x) => x.arch === v.arch)) {
    const on = v.has(b.id);
    out.push(`    [${on ? 'x' : ' '}] ${b.id} (${b.since})`);
    if (on) out.push(`        ${behaviourInfo(b.id).summary}`, `        source: ${b.source}`);
  }
  if (cpu && !arm) {
    const c = fpu__init_system_xstate(cpu, v);
    out.push(`  on ${cpu.id}:`);
    if (v.booted) {
      // What the boot options changed in the kernel's capabilities, and what the task still sees in CPUID.
      const caps = bootCpuCaps(cpu, v);
      for (const ch of caps.cleared) out.push(`    X86_FEATURE ${ch.feature} cleared by ${ch.by}`);
      for (const n of caps.notes) out.push(`    ${n}`);
      if (caps.cleared.length === 0 && caps.notes.length === 0) out.push('    the boot options change nothing on this CPU (what they clear it does not have)');
      const stillSeen = caps.cleared.map((ch) => ch.feature).filter((f) => f !== X86Feature.OSPKE);
      if (stillSeen.length) out.push(`    CPUID is not changed by the kernel: a task still sees ${stillSeen.join(', ')} set in CPUID (OSXSAVE and OSPKE follow CR4, leaf 0DH follows XCR0); a program must check XGETBV (and OSPKE) before using them`);
    }
    if (!c.useXsave) out.push('    no XSAVE: FXSR-only operation, no NT_X86_XSTATE');
    else {
      out.push(`    XCR0 0x${c.xcr0.toString(16)} (${names(c.xcr0)}), IA32_XSS 0x${c.xss.toString(16)} (${names(c.xss)})`);
      out.push(`    kernel features 0x${c.kernel.maxFeatures.toString(16)}, context size ${c.kernel.maxSize} bytes, '${c.compacted ? 'compacted' : 'standard'}' format, saves with ${c.saveInsn}`);
      out.push(`    user: max 0x${c.user.maxFeatures.toString(16)} (${c.user.maxSize} bytes, the NT_X86_XSTATE size), default 0x${c.user.defaultFeatures.toString(16)} (${c.user.defaultSize} bytes)`);
    }
    // What user space is shown (kernel-model/kernel-view.ts): each fact captured or derived, with its rule.
    const view = kernelView(cpu, v, c);
    const fact = <T>(name: string, f: ViewFact<T>, show: (x: T) => string): string => `    ${name} ${show(f.value)} (${f.basis}: ${f.rule})`;
    const hex = (n: number): string => `0x${n.toString(16)}`;
    out.push('  user-space view:');
    out.push(fact('AT_HWCAP', view.hwcap, hex), fact('AT_HWCAP2', view.hwcap2, hex));
    out.push(fact('AT_MINSIGSTKSZ', view.minsigstksz, (x) => (x === undefined ? 'absent' : String(x))));
    out.push(fact('CR4.FSGSBASE', view.cr4Fsgsbase, (x) => (x ? '1 (RDFSBASE & co. run)' : '0 (RDFSBASE & co. #UD)')));
    out.push(fact('CR4.PKE', view.cr4Pke, (x) => (x ? '1' : '0')));
  }
  return out.join('\n');
}

/** `kernel show` of the NetBSD personality: its sources, and what it enables on a CPU (cpu_probe_fpu). */
function netbsdShow(v: KernelVariant, cpu?: CpuModel): string {
  const out = [`${v.id}: NetBSD ${v.release} (amd64 personality, kernel-model/netbsd/)`, `  ${v.about}`, '  sources:', ...v.sources.map((s) => `    ${s}`)];
  if (cpu) {
    const c = cpu_probe_fpu(cpu);
    out.push(`  on ${cpu.id}:`);
    out.push(`    saves with ${c.fpuSave}, area ${c.saveSize} bytes (standard format), x86_fpu_mxcsr_mask 0x${c.mxcsrMask.toString(16)}`);
    if (c.xsaveFeatures) out.push(`    x86_xsave_features 0x${c.xsaveFeatures.toString(16)} (${names(c.xsaveFeatures)}); XCR0 0x${c.xcr0.toString(16)} (${names(c.xcr0)}): XCR0_FPU only`);
    else out.push('    no XSAVE: PT_GETXSTATE reports xs_rfbm = xs_xstate_bv = x87|SSE from the FXSAVE area');
    out.push(`    struct xstate: ${SIZEOF_XSTATE} bytes, the same on every CPU`);
  }
  return out.join('\n');
}
