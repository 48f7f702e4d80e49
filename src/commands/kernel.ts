/** `xstate-lab kernel list | show NAME [--cpu CPU]`: the kernel variants and their named behaviours. */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { kernelView, type ViewFact } from '../../kernel-model/kernel-view.js';
import { ALL_KERNEL_VARIANTS, ARM64_KERNEL_VARIANTS, BEHAVIOURS, KernelArch, behaviourInfo, resolveArm64Variant, resolveKernelVariant } from '../../kernel-model/variants.js';

const names = (m: number): string => maskBits(m).map(xfeatureId).join(' ') || '-';

/** `kernel list --json`: one entry per variant or proposal; the field names are stable (README). */
export interface KernelListJson {
  format: 'xstate-lab.kernel-list/1';
  kernels: { id: string; release: string; proposal: boolean; about: string; behaviours: string[]; arch: string; sources: string[] }[];
}

export function kernelListJson(): KernelListJson {
  return {
    format: 'xstate-lab.kernel-list/1',
    kernels: ALL_KERNEL_VARIANTS.map((v) => ({ id: v.id, release: v.release, proposal: v.proposal, about: v.about, behaviours: [...v.behaviours], arch: v.arch, sources: v.behaviours.map((b) => behaviourInfo(b).source) })),
  };
}

export function kernelList(): string {
  const line = (v: (typeof ALL_KERNEL_VARIANTS)[number]): string => `${v.id.padEnd(18)} ${v.proposal ? 'proposal ' : 'Linux    '} ${v.about}`;
  const x86 = ALL_KERNEL_VARIANTS.filter((v) => v.arch === KernelArch.X86_64).map(line);
  // arm64: each variant with the sources of its behaviours (proposals say they were not merged).
  const arm64 = ARM64_KERNEL_VARIANTS.flatMap((v) => [line(v), ...v.behaviours.map((b) => `${''.padEnd(29)}source: ${behaviourInfo(b).source}`)]);
  return [...x86, '', 'arm64 (syscall-stop registers, kernel-model/arm64):', ...arm64].join('\n');
}

export function kernelShow(id: string, cpu?: CpuModel): string {
  const arm = ARM64_KERNEL_VARIANTS.some((x) => x.id === id);
  const v = arm ? resolveArm64Variant(id, '<command line>', 'kernel show') : resolveKernelVariant(id, '<command line>', 'kernel show');
  const out = [`${v.id}${v.proposal ? ' (proposal)' : ''}: release ${v.release}${arm ? ', arm64' : ''}`, `  ${v.about}`, '  behaviours:'];
  for (const b of BEHAVIOURS.filter((x) => x.arch === v.arch)) {
    const on = v.has(b.id);
    out.push(`    [${on ? 'x' : ' '}] ${b.id} (${b.since})`);
    if (on) out.push(`        ${behaviourInfo(b.id).summary}`, `        source: ${b.source}`);
  }
  if (cpu && !arm) {
    const c = fpu__init_system_xstate(cpu, v);
    out.push(`  on ${cpu.id}:`);
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
