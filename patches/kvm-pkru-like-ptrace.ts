/**
 * A counterfactual for reviewers: what if KVM_SET_XSAVE followed the ptrace PKRU rule (a cleared
 * XSTATE_BV[9] sets the guest's PKRU to 0) instead of KVM's "leave PKRU untouched"?
 *   xstate-lab diff --base linux-6.18 --with patches/kvm-pkru-like-ptrace.ts
 */
import type { KernelPatch } from '../src/commands/diff.js';

const patch: KernelPatch = {
  id: 'linux-6.18+kvm-pkru-ptrace-rule',
  base: 'linux-6.18',
  about: 'KVM_SET_XSAVE with bit 9 clear writes PKRU 0, as ptrace does since 6.2',
  on: ['kvm-set-xsave-pkru-ptrace-rule'],
};
export default patch;
