/** `xstate-lab kernel list | show NAME [--cpu CPU]`: the kernel variants and their named behaviours. */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { kernelView, type ViewFact } from '../../kernel-model/kernel-view.js';
import { BEHAVIOURS, KERNEL_VARIANTS, behaviourInfo, resolveKernelVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { BOOT_OPTIONS, KCONFIG, X86Feature, bootCpuCaps } from '../../kernel-model/cpufeature.js';

const names = (m: number): string => maskBits(m).map(xfeatureId).join(' ') || '-';

/** `kernel list --json`: one entry per variant or proposal; the field names are stable (README). */
export interface KernelListJson {
  format: 'xstate-lab.kernel-list/1';
  kernels: { id: string; release: string; proposal: boolean; about: string; behaviours: string[] }[];
  /** Boot options the model applies (kernel show V --boot, exec --boot, a scenario's kernels: {variant, boot}). */
  bootOptions: { option: string; syntax: string; since?: string; effect: string; source: string }[];
  /** Kconfig symbols a run may switch from the assumed value. */
  kconfig: { symbol: string; assumed: string; effect: string; source: string }[];
}

export function kernelListJson(): KernelListJson {
  return {
    format: 'xstate-lab.kernel-list/1',
    kernels: KERNEL_VARIANTS.map((v) => ({ id: v.id, release: v.release, proposal: v.proposal, about: v.about, behaviours: [...v.behaviours] })),
    bootOptions: BOOT_OPTIONS.map((o) => ({ ...o })),
    kconfig: KCONFIG.map((k) => ({ ...k })),
  };
}

export function kernelList(): string {
  const out = KERNEL_VARIANTS.map((v) => `${v.id.padEnd(18)} ${v.proposal ? 'proposal ' : 'Linux    '} ${v.about}`);
  out.push('', 'Boot options (kernel show V --boot OPTIONS, exec --boot, a scenario\'s kernels: [{variant: V, boot: OPTIONS}]):');
  for (const o of BOOT_OPTIONS) out.push(`  ${o.syntax}`, `      ${o.effect}`, `      source: ${o.source}`);
  out.push('', 'Kernel configuration (--kconfig, a scenario\'s kernels: [{variant: V, config: [...]}]):');
  for (const k of KCONFIG) out.push(`  ${k.symbol} (assumed =${k.assumed})`, `      ${k.effect}`, `      source: ${k.source}`);
  return out.join('\n');
}

export function kernelShow(id: string | KernelVariant, cpu?: CpuModel): string {
  const v = typeof id === 'string' ? resolveKernelVariant(id, '<command line>', 'kernel show') : id;
  const out = [`${v.id}${v.proposal ? ' (proposal)' : ''}: release ${v.release}`, `  ${v.about}`];
  if (v.booted) out.push(`  booted with: ${v.boot.text.join(' ')}`);
  out.push('  behaviours:');
  for (const b of BEHAVIOURS) {
    const on = v.has(b.id);
    out.push(`    [${on ? 'x' : ' '}] ${b.id} (${b.since})`);
    if (on) out.push(`        ${behaviourInfo(b.id).summary}`, `        source: ${b.source}`);
  }
  if (cpu) {
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
