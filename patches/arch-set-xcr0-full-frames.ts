/**
 * A variant of the per-thread XCR0 proposal: signal frames keep the full (kernel XCR0) layout,
 * as Andy Lutomirski asked in the review; the thread's narrow XCR0 applies to its own code only.
 *   xstate-lab diff --base arch-set-xcr0-v2 --with patches/arch-set-xcr0-full-frames.ts
 */
import type { KernelPatch } from '../src/commands/diff.js';

const patch: KernelPatch = {
  id: 'arch-set-xcr0-v2+full-frames',
  base: 'arch-set-xcr0-v2',
  about: 'switch XCR0 to the kernel mask while writing and reading signal frames',
  on: ['arch-set-xcr0-sigframe-full'],
};
export default patch;
