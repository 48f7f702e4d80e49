/**
 * The 6.2 PKRU fix (Kyle Huey's series, Cc stable) expressed as a patch on linux-5.14: ptrace and
 * sigreturn write thread.pkru again, and a cleared XSTATE_BV[9] sets it to 0.
 *   xstate-lab diff --base linux-5.14 --with patches/pkru-fix-on-5.14.ts
 */
import type { KernelPatch } from '../src/commands/diff.js';

const patch: KernelPatch = {
  id: 'linux-5.14+pkru-fix',
  base: 'linux-5.14',
  about: '4a804c4f8356 "x86/fpu: Allow PKRU to be (once again) written by ptrace." and the XRSTOR-emulation patch, backported',
  on: ['pkru-ptrace-write'],
};
export default patch;
