/**
 * Vagin's patch 2 (PTRACE_O_ARM64_RAW_REGS) applied to today's arm64 kernel without his patch 1:
 * the option is accepted, but report_syscall() still clobbers x7 in pt_regs itself, so a tracer
 * that sets it still reads 0/1 and still loses its x7 writes. The option only works on top of
 * patch 1's "don't clobber" (the two patches of the v2 series go together).
 *   xstate-lab diff --base linux-arm64 --with patches/arm64-raw-regs-option-alone.ts
 */
import type { KernelPatch } from '../src/commands/diff.js';

const patch: KernelPatch = {
  id: 'linux-arm64+raw-regs-option-only',
  base: 'linux-arm64',
  about: '"[PATCH 2/3] arm64/ptrace: introduce PTRACE_O_ARM64_RAW_REGS" (Andrei Vagin, 2021-02-01) without patch 1/3',
  on: ['arm64-raw-regs-option'],
};
export default patch;
