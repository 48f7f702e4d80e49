/**
 * KVM's XSAVE ioctls (kernel-model/kvm.ts): against this host's /dev/kvm (selfcheck kvm), and,
 * where the host cannot show a rule (other versions, AMX guests, KVM's PKRU rule), against the
 * kernel source each rule cites (linux-fpu-uabi.md §3.2, §3.3, §6, §8).
 */
import { describe, expect, it } from 'vitest';
import { XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { resolveCpu } from '../emulator/profile.js';
import { LEGACY } from '../emulator/register-file.js';
import { XsaveContext } from '../emulator/xsave.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../kernel-model/fpu-config.js';
import { TaskFpu, restore_fpregs_from_fpstate, save_fpregs_to_fpstate, wrpkru } from '../kernel-model/fpstate.js';
import { KVM_XCRS_SIZE, KVM_XSAVE_REGION_SIZE, KvmCap, KvmErrno, KvmHost, KvmVendorModule, type KvmVcpu } from '../kernel-model/kvm.js';
import { NoteType, ptrace_getregset, ptrace_setregset } from '../kernel-model/regset.js';
import { KernelBehaviour, resolveKernelVariant, type KernelVariant } from '../kernel-model/variants.js';
import { Errno } from '../kernel-model/xstate.js';
import { HostProbeError } from '../src/native.js';
import { runKvmSelfcheck } from '../src/selfcheck/kvm-selfcheck.js';
import { hostModel } from './helpers.js';

const get32 = (a: Uint8Array, o: number): number => new DataView(a.buffer, a.byteOffset).getUint32(o, true);
const put32 = (a: Uint8Array, o: number, v: number): void => new DataView(a.buffer, a.byteOffset).setUint32(o, v >>> 0, true);

/** Run the referee, or say why this host cannot (no /dev/kvm, KVM_CREATE_VM refused). */
function referee(o: Omit<Parameters<typeof runKvmSelfcheck>[0], 'cpu' | 'log'>): { s?: ReturnType<typeof runKvmSelfcheck>; lines: string[]; cannot?: string } {
  const lines: string[] = [];
  try {
    return { s: runKvmSelfcheck({ cpu: hostModel(), log: (l) => lines.push(l), ...o }), lines };
  } catch (e) {
    if (e instanceof HostProbeError && /cannot be refereed here/.test(e.message)) return { lines, cannot: e.message };
    throw e;
  }
}

/** A vCPU on a profile, with the guest CPUID's XCR0 = everything KVM offers. */
function vcpuOn(cpuId: string, variant: string | KernelVariant, vendor = KvmVendorModule.KvmIntel, amx = false): { host: KvmHost; vcpu: KvmVcpu } {
  const host = new KvmHost(resolveCpu(cpuId), typeof variant === 'string' ? resolveKernelVariant(variant) : variant, vendor);
  if (amx) expect(host.arch_req_xcomp_guest_perm(XFeature.TILEDATA)).toBe(0);
  const vcpu = host.createVm().createVcpu();
  expect(vcpu.kvm_vcpu_ioctl_set_cpuid2_leaf_d(host.kvm_get_filtered_xcr0())).toBe(0);
  return { host, vcpu };
}

/** The vCPU's own KVM_GET_XSAVE2 image with PKRU = `pkru` and XSTATE_BV[9] set or clear. */
function withPkru(host: KvmHost, vcpu: KvmVcpu, pkru: number, bit9: boolean): Uint8Array {
  const buf = vcpu.kvm_vcpu_ioctl_x86_get_xsave2().slice();
  put32(buf, host.cpu.components[XFeature.PKRU]!.standardOffset, pkru);
  const bv = get32(buf, XSAVE_HEADER_OFFSET);
  put32(buf, XSAVE_HEADER_OFFSET, bit9 ? bv | bit(XFeature.PKRU) : bv & ~bit(XFeature.PKRU));
  return buf;
}

describe('selfcheck kvm (this host\'s /dev/kvm as referee)', () => {
  it('matches the host on 1,000 cases (with and without guest AMX permission)', () => {
    const r = referee({ cases: 1000, seed: 1, detail: 5 });
    if (r.cannot) {
      console.log(`this host cannot show KVM's XSAVE ioctls: ${r.cannot}; checked against the kernel source only (below)`);
      // Not vacuous: the source rules the referee would have shown, on the model.
      const { vcpu } = vcpuOn('intel-sapphire-rapids', 'linux-6.18');
      expect(vcpu.kvm_vcpu_ioctl_x86_get_xsave().data!.length).toBe(KVM_XSAVE_REGION_SIZE);
      expect(vcpu.kvm_vcpu_ioctl_x86_get_xcrs().length).toBe(KVM_XCRS_SIZE);
      return;
    }
    console.log(r.lines.join('\n'));
    expect(r.s!.cases).toBe(1000);
    expect(r.s!.mismatches, r.lines.join('\n')).toBe(0);
    const results = r.lines.find((l) => l.startsWith('host results'))!;
    // Every outcome is reached: success and -EINVAL for both setters, -EINVAL from KVM_GET_XSAVE
    // (guest fpstate grown past 4096 bytes), -EPERM from KVM_SET_CPUID2 (AMX without permission).
    for (const want of ['SET_XSAVE ok', 'SET_XSAVE errno 22', 'SET_XCRS ok', 'SET_XCRS errno 22', 'GET_XSAVE ok', 'GET_XSAVE errno 22', 'SET_CPUID2 errno 1']) expect(results).toContain(want);
    expect(r.lines.at(-1)).toMatch(/^kvm selfcheck: 1000 cases, 0 mismatches, host kernel \S+, variant linux-/);
  });

  it('disagrees with the host when KVM_SET_XSAVE is modelled with the pre-5.16 load_xsave() rules: the comparison can fail', () => {
    const v = resolveKernelVariant('linux-6.18').with([], [KernelBehaviour.KvmFpuUabiCopy], 'linux-6.18-kvm-load-xsave');
    const r = referee({ cases: 300, seed: 2, variant: v });
    if (r.cannot) { console.log(`cannot show: ${r.cannot}`); return; }
    expect(r.s!.mismatches).toBeGreaterThan(0);
    expect(r.lines.join('\n')).toMatch(/SET_XSAVE errno: kernel 22, model 0/);
  });

  it('disagrees with the host when modelled as Linux 6.2 (PKRU in the image without XSTATE_BV[9], before 736a40b52861)', () => {
    const r = referee({ cases: 300, seed: 3, variant: resolveKernelVariant('linux-6.2') });
    if (r.cannot) { console.log(`cannot show: ${r.cannot}`); return; }
    expect(r.s!.mismatches).toBeGreaterThan(0);
    expect(r.lines.join('\n')).toMatch(/pkru\.PKRU/);
  });

  it('cannot tell KVM\'s PKRU rule from the ptrace rule on 6.3+: with XSTATE_BV[9] clear the image shows no PKRU, so vcpu->arch.pkru is invisible without running the guest', () => {
    const v = resolveKernelVariant('linux-6.18').with([KernelBehaviour.KvmSetXsavePkruPtraceRule], [], 'linux-6.18+kvm-set-xsave-pkru-ptrace-rule');
    const r = referee({ cases: 300, seed: 4, variant: v });
    if (r.cannot) { console.log(`cannot show: ${r.cannot}`); return; }
    console.log('KVM PKRU rule vs ptrace rule through the ioctls on this host: indistinguishable (see the model tests below for where they differ)');
    expect(r.s!.mismatches).toBe(0);
  });
});

describe("KVM_SET_XSAVE's PKRU rule versus ptrace's (linux-fpu-uabi.md §3.2, §3.3)", () => {
  const INITIAL = 0x55555550;
  /** ptrace: a stopped tracee with PKRU INITIAL gets a SETREGSET of PKRU 0x2a; what it then runs with. */
  function ptraceResult(variantId: string, bit9: boolean): number {
    const cpu = resolveCpu('intel-skylake-sp');
    const v = resolveKernelVariant(variantId);
    const ctx = new XsaveContext(cpu);
    const fpu = new TaskFpu(fpu__init_system_xstate(cpu, v), v);
    restore_fpregs_from_fpstate(ctx, fpu);
    wrpkru(ctx, INITIAL);
    save_fpregs_to_fpstate(ctx, fpu);
    fpu.threadPkru = INITIAL; // stopped: the context switch left thread.pkru = the register
    const size = fpu.cfg.user.maxSize;
    const buf = ptrace_getregset(cpu, fpu, NoteType.NT_X86_XSTATE, size).data!.slice();
    put32(buf, cpu.components[XFeature.PKRU]!.standardOffset, 0x2a);
    const bv = get32(buf, XSAVE_HEADER_OFFSET);
    put32(buf, XSAVE_HEADER_OFFSET, bit9 ? bv | bit(XFeature.PKRU) : bv & ~bit(XFeature.PKRU));
    expect(ptrace_setregset(cpu, fpu, NoteType.NT_X86_XSTATE, buf, size).errno).toBe(0);
    restore_fpregs_from_fpstate(ctx, fpu);
    const pkru = ctx.regs.comp[XFeature.PKRU]!; // a view into the register file's one store
    return new DataView(pkru.buffer, pkru.byteOffset, pkru.byteLength).getUint32(0, true);
  }
  /** KVM: a vCPU whose PKRU is INITIAL gets a KVM_SET_XSAVE of PKRU 0x2a; vcpu->arch.pkru after. */
  function kvmResult(variantId: string, bit9: boolean, proposal = false): number {
    const v = resolveKernelVariant(variantId);
    const { host, vcpu } = vcpuOn('intel-skylake-sp', proposal ? v.with([KernelBehaviour.KvmSetXsavePkruPtraceRule]) : v);
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(withPkru(host, vcpu, INITIAL, true)).errno).toBe(0);
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(withPkru(host, vcpu, 0x2a, bit9)).errno).toBe(0);
    return vcpu.pkru;
  }
  const table: [string, boolean, number, number][] = [
    // variant, XSTATE_BV[9], ptrace result, KVM result
    ['linux-5.14', true, INITIAL, 0x2a], // ptrace loses the write (5.14..6.1); KVM took PKRU itself
    ['linux-5.14', false, INITIAL, INITIAL],
    ['linux-6.2', true, 0x2a, 0x2a],
    ['linux-6.2', false, 0, INITIAL], // ptrace: XRSTOR semantics, 0; KVM: NULL pointer, kept
    ['linux-6.18', false, 0, INITIAL],
  ];
  for (const [variant, bit9, ptrace, kvm] of table) {
    it(`${variant}, XSTATE_BV[9] ${bit9 ? 'set' : 'clear'}: ptrace -> 0x${ptrace.toString(16)}, KVM -> 0x${kvm.toString(16)}`, () => {
      expect(ptraceResult(variant, bit9)).toBe(ptrace);
      expect(kvmResult(variant, bit9)).toBe(kvm);
    });
  }
  it('the proposal kvm-set-xsave-pkru-ptrace-rule gives KVM the ptrace rule: a clear bit 9 sets the guest PKRU to 0', () => {
    expect(kvmResult('linux-6.2', false, true)).toBe(0);
    expect(kvmResult('linux-6.2', true, true)).toBe(0x2a);
  });
  it('on 6.2 the kept guest PKRU shows in KVM_GET_XSAVE even with bit 9 clear; from 6.3 the image has no PKRU then (736a40b52861)', () => {
    for (const [variant, shown] of [['linux-6.2', INITIAL], ['linux-6.18', 0]] as const) {
      const { host, vcpu } = vcpuOn('intel-skylake-sp', variant);
      vcpu.kvm_vcpu_ioctl_x86_set_xsave(withPkru(host, vcpu, INITIAL, true));
      expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(withPkru(host, vcpu, 0x2a, false)).errno).toBe(0);
      const img = vcpu.kvm_vcpu_ioctl_x86_get_xsave().data!;
      expect(get32(img, XSAVE_HEADER_OFFSET) & bit(XFeature.PKRU), variant).toBe(0);
      expect(get32(img, host.cpu.components[XFeature.PKRU]!.standardOffset), variant).toBe(shown);
    }
  });
});

describe('KVM ioctl rules from the kernel source (linux-fpu-uabi.md §6, §8)', () => {
  it('KVM_CAP_XSAVE2 grows with guest AMX permission; the grown vCPU refuses KVM_GET_XSAVE (kvm-xsave2, 5.17)', () => {
    const without = new KvmHost(resolveCpu('intel-sapphire-rapids'), resolveKernelVariant('linux-6.18'));
    expect(without.kvm_check_extension(KvmCap.KVM_CAP_XSAVE2)).toBe(KVM_XSAVE_REGION_SIZE);
    expect(without.kvm_get_filtered_xcr0() & (bit(XFeature.TILECFG) | bit(XFeature.TILEDATA))).toBe(0); // TILECFG goes with TILEDATA
    const { host, vcpu } = vcpuOn('intel-sapphire-rapids', 'linux-6.18', KvmVendorModule.KvmIntel, true);
    expect(host.kvm_check_extension(KvmCap.KVM_CAP_XSAVE2)).toBe(11008);
    expect(host.supportedCpuidLeafD(0)![1]).toBe(11008);
    expect(vcpu.guestFpu.uabiSize).toBe(11008);
    expect(vcpu.kvm_vcpu_ioctl_x86_get_xsave().errno).toBe(Errno.EINVAL);
    expect(vcpu.kvm_vcpu_ioctl_x86_get_xsave2().length).toBe(11008);
    // Before 5.17 there is no KVM_CAP_XSAVE2.
    expect(new KvmHost(resolveCpu('intel-sapphire-rapids'), resolveKernelVariant('linux-5.14')).kvm_check_extension(KvmCap.KVM_CAP_XSAVE2)).toBe(0);
  });
  it('guest permission: EBUSY once a vCPU exists, unless already granted; AMX in the guest CPUID without it: -EPERM', () => {
    const host = new KvmHost(resolveCpu('intel-sapphire-rapids'), resolveKernelVariant('linux-6.18'));
    const vcpu = host.createVm().createVcpu();
    expect(host.arch_req_xcomp_guest_perm(XFeature.TILEDATA)).toBe(KvmErrno.EBUSY);
    expect(host.arch_req_xcomp_guest_perm(XFeature.TILECFG)).toBe(KvmErrno.EOPNOTSUPP);
    expect(host.arch_req_xcomp_guest_perm(20)).toBe(KvmErrno.EINVAL);
    expect(vcpu.kvm_vcpu_ioctl_set_cpuid2_leaf_d(0x602e7)).toBe(KvmErrno.EPERM);
    const { host: h2 } = vcpuOn('intel-sapphire-rapids', 'linux-6.18', KvmVendorModule.KvmIntel, true);
    expect(h2.arch_req_xcomp_guest_perm(XFeature.TILEDATA)).toBe(0);
  });
  it('KVM_GET_XSAVE shows only what the guest CPUID enables, plus FP|SSE (6.6); KVM_SET_XSAVE checks kvm_caps.supported_xcr0', () => {
    const { host, vcpu } = vcpuOn('intel-skylake-sp', 'linux-6.18');
    const img = vcpu.kvm_vcpu_ioctl_x86_get_xsave2().slice();
    put32(img, XSAVE_HEADER_OFFSET, 0x2e7);
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(img).errno).toBe(0);
    expect(vcpu.kvm_vcpu_ioctl_set_cpuid2_leaf_d(0x7)).toBe(0);
    expect(get32(vcpu.kvm_vcpu_ioctl_x86_get_xsave().data!, XSAVE_HEADER_OFFSET)).toBe(0x7 & 0x2e7);
    put32(img, XSAVE_HEADER_OFFSET, 0x2e7 | bit(XFeature.PT));
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(img).errno).toBe(Errno.EINVAL);
    // kvm_pvm forces the guest's XCR0 to the supported one (measured), so nothing is hidden there.
    const pvm = vcpuOn('intel-skylake-sp', 'linux-6.18', KvmVendorModule.KvmPvm);
    put32(img, XSAVE_HEADER_OFFSET, 0x2e7 & pvm.host.supportedXcr0);
    pvm.vcpu.kvm_vcpu_ioctl_x86_set_xsave(img);
    pvm.vcpu.kvm_vcpu_ioctl_set_cpuid2_leaf_d(0x7);
    expect(get32(pvm.vcpu.kvm_vcpu_ioctl_x86_get_xsave().data!, XSAVE_HEADER_OFFSET)).toBe(0x2e7 & pvm.host.supportedXcr0);
    void host;
  });
  it('pre-5.16 load_xsave(): XCOMP_BV and reserved header bytes ignored, MXCSR refused even with XSTATE_BV 0', () => {
    for (const [variant, xcompErr, mxcsrErr] of [['linux-5.14', 0, Errno.EINVAL], ['linux-6.18', Errno.EINVAL, 0]] as const) {
      const { vcpu } = vcpuOn('intel-skylake-sp', variant);
      const a = vcpu.kvm_vcpu_ioctl_x86_get_xsave2().slice();
      a[XSAVE_HEADER_OFFSET + 15] = 0x80;
      a[XSAVE_HEADER_OFFSET + 40] = 1;
      expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(a).errno, variant).toBe(xcompErr);
      const b = vcpu.kvm_vcpu_ioctl_x86_get_xsave2().slice();
      put32(b, XSAVE_HEADER_OFFSET, 0);
      put32(b, LEGACY.MXCSR, 0x80001f80);
      expect(vcpu.kvm_vcpu_ioctl_x86_set_xsave(b).errno, variant).toBe(mxcsrErr);
    }
  });
  it('__kvm_set_xcr and KVM_SET_XCRS: the XCR0 rules and the struct rules', () => {
    const { vcpu } = vcpuOn('intel-sapphire-rapids', 'linux-6.18', KvmVendorModule.KvmIntel, true);
    const ok = (x: bigint): boolean => vcpu.__kvm_set_xcr(0, x) === undefined;
    expect([0x1n, 0x3n, 0x7n, 0xe7n, 0x2e7n, 0x602e7n].every(ok)).toBe(true);
    for (const bad of [0x0n, 0x2n, 0x5n /* YMM without SSE */, 0x27n /* AVX-512 partial */, 0xe3n /* AVX-512 without YMM */, 0x20007n /* TILECFG alone */, 0x8n /* BNDREGS: not on SPR */, 0x100000003n]) expect(ok(bad), bad.toString(16)).toBe(false);
    expect(vcpu.__kvm_set_xcr(1, 0x3n)).toBeDefined();
    const xcrs = (nr: number, flags: number, entries: [number, bigint][]): Uint8Array => {
      const b = new Uint8Array(KVM_XCRS_SIZE);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, nr, true);
      dv.setUint32(4, flags, true);
      entries.forEach(([x, v], i) => { dv.setUint32(8 + 16 * i, x, true); dv.setBigUint64(16 + 16 * i, v, true); });
      return b;
    };
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xcrs(xcrs(17, 0, [])).errno).toBe(Errno.EINVAL);
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xcrs(xcrs(1, 1, [[0, 7n]])).errno).toBe(Errno.EINVAL);
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xcrs(xcrs(2, 0, [[1, 0n], [5, 0n]])).errno).toBe(0); // no XCR0 entry
    expect(vcpu.kvm_vcpu_ioctl_x86_set_xcrs(xcrs(2, 0, [[0, 7n], [0, 0n]])).errno).toBe(0); // only the first XCR0 entry counts
    const got = new DataView(vcpu.kvm_vcpu_ioctl_x86_get_xcrs().buffer);
    expect([got.getUint32(0, true), got.getUint32(8, true), got.getBigUint64(16, true)]).toEqual([1, 0, 7n]);
  });
});
