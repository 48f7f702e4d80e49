/**
 * KVM's XSAVE ioctls (arch/x86/kvm/x86.c, cpuid.c) over the kernel model's guest fpstate
 * (arch/x86/kernel/fpu/core.c fpu_alloc_guest_fpstate, fpu_copy_guest_fpstate_to_uabi,
 * fpu_copy_uabi_to_guest_fpstate). Behaviour read from the kernel source and the reference
 * (../shared/reference/linux-fpu-uabi.md §3.3, §6, §8); no kernel code copied.
 *
 * The vCPU never runs here: every ioctl is a copy between a user buffer and the guest fpstate,
 * so no XSAVE/XRSTOR is involved. Guest state as KVM keeps it: the guest fpstate (kernel format,
 * user_xfeatures = fpu_user_cfg.default_features until a dynamic feature is enabled),
 * vcpu->arch.pkru (PKRU lives outside the buffer), vcpu->arch.xcr0 and guest_supported_xcr0.
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { LEGACY } from '../emulator/register-file.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { XFEATURE_MASK_FPSSE, XFEATURE_MASK_USER_DYNAMIC, fpu__init_system_xstate, xfeatureMax, type FpuConfig } from './fpu-config.js';
import { newFpstate, type Fpstate } from './fpstate.js';
import { KernelBehaviour, type KernelVariant } from './variants.js';
import { Errno, XstateCopyMode, copy_uabi_to_xstate, copy_xstate_to_uabi_buf } from './xstate.js';
import { KvmVendorModule } from './kvm-vendor.js';

export { KvmVendorModule };

/** KVM_CHECK_EXTENSION capabilities (include/uapi/linux/kvm.h). */
export enum KvmCap {
  KVM_CAP_XSAVE = 55,
  KVM_CAP_XCRS = 56,
  KVM_CAP_XSAVE2 = 208,
}

/** Errnos of the arch_prctl guest-permission calls and KVM_SET_CPUID2 (errno-base.h / errno.h). */
export enum KvmErrno {
  EPERM = 1,
  EBUSY = 16,
  EINVAL = 22,
  EOPNOTSUPP = 95,
}


const m = (...fs: XFeature[]): number => fs.reduce((a, f) => (a | bit(f)) >>> 0, 0);
const XFEATURE_MASK_FP = bit(XFeature.X87);
const XFEATURE_MASK_SSE = bit(XFeature.SSE);
const XFEATURE_MASK_YMM = bit(XFeature.AVX);
const XFEATURE_MASK_PKRU = bit(XFeature.PKRU);
/** XFEATURE_MASK_AVX512 (asm/fpu/xstate.h): opmask, ZMM_Hi256, Hi16_ZMM. */
const XFEATURE_MASK_AVX512 = m(XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM);
/** XFEATURE_MASK_XTILE: XTILE_CFG | XTILE_DATA. */
const XFEATURE_MASK_XTILE = m(XFeature.TILECFG, XFeature.TILEDATA);
/** KVM_SUPPORTED_XCR0 (arch/x86/kvm/x86.c): what KVM can virtualize (APX, 6.19+, not modelled). */
export const KVM_SUPPORTED_XCR0 = m(XFeature.X87, XFeature.SSE, XFeature.AVX, XFeature.BNDREGS, XFeature.BNDCSR, XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM, XFeature.PKRU, XFeature.TILECFG, XFeature.TILEDATA);
/** sizeof(struct kvm_xsave) without its flexible tail (arch/x86/include/uapi/asm/kvm.h). */
export const KVM_XSAVE_REGION_SIZE = 4096;
/** KVM_MAX_XCRS (uapi/asm/kvm.h). */
export const KVM_MAX_XCRS = 16;
/** sizeof(struct kvm_xcrs): nr_xcrs, flags, xcrs[16] of {xcr, reserved, value}, padding[16]. */
export const KVM_XCRS_SIZE = 8 + KVM_MAX_XCRS * 16 + 16 * 8;
/** XCR_XFEATURE_ENABLED_MASK: XCR0's index for XSETBV (asm/fpu/xcr.h). */
export const XCR_XFEATURE_ENABLED_MASK = 0;
/** CPUID.(0DH,1).EAX bits KVM can offer (cpuid.c kvm_set_cpu_caps CPUID_D_1_EAX): XSAVEOPT, XSAVEC, XGETBV1, XSAVES, XFD. */
const CPUID_D_1_EAX_KVM_CAPS = 0x1f;

/** What the vendor module leaves of kvm_caps. kvm_pvm: measured on this project's Intel host (Linux 6.18, PVM). */
const VENDOR_CAPS: Record<KvmVendorModule, { xcr0Mask: number; d1Eax: number; forcesGuestXcr0: boolean; source: string }> = {
  [KvmVendorModule.KvmIntel]: { xcr0Mask: KVM_SUPPORTED_XCR0, d1Eax: CPUID_D_1_EAX_KVM_CAPS, forcesGuestXcr0: false, source: 'vmx.c hardware_setup (MPX dropped without VMX MPX controls: not modelled)' },
  [KvmVendorModule.KvmAmd]: { xcr0Mask: KVM_SUPPORTED_XCR0, d1Eax: CPUID_D_1_EAX_KVM_CAPS, forcesGuestXcr0: false, source: 'svm.c svm_set_cpu_caps (assumed: the full set)' },
  // PVM guests share the host's XCR0 context: after KVM_SET_CPUID2, KVM_GET_CPUID2 shows leaf
  // 0xD sub-leaf 0 EAX = the supported XCR0 whatever was set, and KVM_GET_XSAVE / KVM_SET_XCRS
  // follow that, not the caller's CPUID.
  [KvmVendorModule.KvmPvm]: { xcr0Mask: (KVM_SUPPORTED_XCR0 & ~XFEATURE_MASK_XTILE) >>> 0, d1Eax: 0, forcesGuestXcr0: true, source: 'measured on kvm_pvm, Linux 6.18: KVM_GET_SUPPORTED_CPUID leaf 0xD (no AMX, sub-leaf 1 all zero), KVM_GET_CPUID2 after KVM_SET_CPUID2 (sub-leaf 0 forced to the supported XCR0)' },
};

const u32 = (a: Uint8Array, o: number): number => (a[o] | (a[o + 1] << 8) | (a[o + 2] << 16) | (a[o + 3] << 24)) >>> 0;
const put32 = (a: Uint8Array, o: number, v: number): void => new DataView(a.buffer, a.byteOffset).setUint32(o, v >>> 0, true);

export interface KvmIoctlResult {
  /** 0, or the errno the ioctl fails with. */
  errno: number;
  data?: Uint8Array;
  reason?: string;
}

/** struct fpu_guest (asm/fpu/types.h): the guest fpstate and its sizes. */
export interface FpuGuest {
  fpstate: Fpstate;
  /** fpu_guest::xfeatures: features this guest fpstate holds (grows with dynamic features). */
  xfeatures: number;
  /** fpu_guest::uabi_size: the KVM_GET/SET_XSAVE{2} buffer size. */
  uabiSize: number;
}

/**
 * The host side: /dev/kvm with kvm_caps, and the calling process's guest FPU permission
 * (fpu->guest_perm of the group leader, arch_prctl ARCH_{GET,REQ}_XCOMP_GUEST_PERM).
 */
export class KvmHost {
  readonly cfg: FpuConfig;
  /** kvm_caps.supported_xcr0 = host XCR0 & KVM_SUPPORTED_XCR0 & what the vendor module keeps. */
  readonly supportedXcr0: number;
  /** guest_perm.__state_perm (user part): starts at the default features (xstate.c fpstate_reset). */
  guestPerm: number;
  /** FPU_GUEST_PERM_LOCKED: set by the first guest fpstate (fpu_alloc_guest_fpstate). */
  guestPermLocked = false;

  constructor(
    readonly cpu: CpuModel,
    readonly variant: KernelVariant,
    readonly vendor: KvmVendorModule = KvmVendorModule.KvmIntel,
  ) {
    this.cfg = fpu__init_system_xstate(cpu, variant);
    this.supportedXcr0 = this.cfg.useXsave ? (this.cfg.xcr0 & KVM_SUPPORTED_XCR0 & VENDOR_CAPS[vendor].xcr0Mask) >>> 0 : 0;
    this.guestPerm = this.cfg.user.defaultFeatures;
  }

  /** ARCH_GET_XCOMP_GUEST_PERM (xstate.c fpu_xstate_prctl): the permitted user features. */
  arch_get_xcomp_guest_perm(): number {
    return this.guestPerm;
  }

  /** ARCH_REQ_XCOMP_GUEST_PERM: xstate_request_perm(idx, guest = true), rules of §6.2. */
  arch_req_xcomp_guest_perm(idx: number): number {
    if (!this.variant.has(KernelBehaviour.DynamicXfeatures) || idx >= xfeatureMax(this.variant)) return KvmErrno.EINVAL;
    // xstate_prctl_req[]: only XTILE_DATA can be requested.
    if (idx !== XFeature.TILEDATA) return KvmErrno.EOPNOTSUPP;
    const want = bit(XFeature.TILEDATA);
    if ((want & this.cfg.user.maxFeatures) !== want) return KvmErrno.EOPNOTSUPP;
    if ((this.guestPerm & want) === want) return 0;
    if (this.guestPermLocked) return KvmErrno.EBUSY;
    this.guestPerm = (this.guestPerm | want) >>> 0;
    return 0;
  }

  /** kvm_get_filtered_xcr0() (x86.h): supported XCR0 cut to the guest permission; TILECFG goes with TILEDATA. */
  kvm_get_filtered_xcr0(): number {
    let x = this.supportedXcr0;
    if (x & XFEATURE_MASK_USER_DYNAMIC) {
      x &= this.guestPerm;
      if (!(x & bit(XFeature.TILEDATA))) x &= ~bit(XFeature.TILECFG);
    }
    return x >>> 0;
  }

  /** xstate_required_size(xstate_bv, false) (cpuid.c): the standard-format size, at least 576. */
  xstate_required_size(mask: number): number {
    return this.cpu.standardSize(mask);
  }

  /** KVM_CHECK_EXTENSION (kvm_vm_ioctl_check_extension) for the XSAVE capabilities. */
  kvm_check_extension(cap: KvmCap): number {
    switch (cap) {
      case KvmCap.KVM_CAP_XSAVE:
      case KvmCap.KVM_CAP_XCRS:
        return this.cfg.useXsave ? 1 : 0;
      case KvmCap.KVM_CAP_XSAVE2:
        if (!this.variant.has(KernelBehaviour.KvmXsave2)) return 0;
        return Math.max(this.xstate_required_size(this.kvm_get_filtered_xcr0()), KVM_XSAVE_REGION_SIZE);
    }
  }

  /**
   * KVM_GET_SUPPORTED_CPUID leaf 0xD (cpuid.c __do_cpuid_func): sub-leaf 0 EAX/EDX = the host's
   * CPUID & the filtered XCR0, EBX = ECX = its standard size; sub-leaf 1 EAX = the host's & KVM's
   * caps, EBX the compacted size only with XSAVES/XSAVEC, ECX/EDX = supported XSS (0 here: no
   * supervisor state is modelled for guests); sub-leaves i >= 2 of permitted features = the
   * host's CPUID with EDX 0 and ECX[2] (XFD) only when KVM offers XFD. undefined = not listed.
   */
  supportedCpuidLeafD(sub: number): [number, number, number, number] | undefined {
    if (!this.cfg.useXsave) return undefined;
    const permitted = this.kvm_get_filtered_xcr0();
    const host = this.cpu.cpuid.get(0xd, sub);
    if (sub === 0) {
      const size = this.xstate_required_size(permitted);
      return [(host[0] & permitted) >>> 0, size, size, 0];
    }
    if (sub === 1) {
      const eax = (host[0] & VENDOR_CAPS[this.vendor].d1Eax) >>> 0;
      const ebx = eax & 0xa ? this.cpu.compactedLayout(permitted).size : 0;
      return [eax, ebx, 0, 0];
    }
    if (sub >= 2 && sub < 32 && (permitted >>> sub) & 1) {
      const xfd = (VENDOR_CAPS[this.vendor].d1Eax >>> 4) & 1;
      return [host[0], host[1], xfd ? host[2] : host[2] & ~0x4, 0];
    }
    return undefined;
  }

  /** KVM_CREATE_VM. */
  createVm(): KvmVm {
    return new KvmVm(this);
  }
}

export class KvmVm {
  constructor(readonly host: KvmHost) {}

  kvm_check_extension(cap: KvmCap): number {
    return this.host.kvm_check_extension(cap);
  }

  /** KVM_CREATE_VCPU: kvm_arch_vcpu_create -> fpu_alloc_guest_fpstate, then kvm_vcpu_reset. */
  createVcpu(): KvmVcpu {
    return new KvmVcpu(this.host);
  }
}

export class KvmVcpu {
  readonly guestFpu: FpuGuest;
  /** vcpu->arch.pkru: 0 in a fresh (zero-allocated) vCPU. */
  pkru = 0;
  /** vcpu->arch.xcr0: XFEATURE_MASK_FP after kvm_vcpu_reset (64-bit: bigint). */
  xcr0 = BigInt(XFEATURE_MASK_FP);
  /** vcpu->arch.guest_supported_xcr0: 0 until KVM_SET_CPUID2 (cpuid_get_supported_xcr0). */
  guestSupportedXcr0 = 0;

  constructor(readonly host: KvmHost) {
    const cfg = host.cfg;
    // fpu_alloc_guest_fpstate(): a fresh fpstate (XSTATE_BV 0, FCW 037FH, MXCSR 1F80H) with the
    // default features, uabi_size = sizeof(struct kvm_xsave); the first one locks the permission.
    this.guestFpu = {
      fpstate: newFpstate(cfg, cfg.kernel.defaultFeatures, cfg.user.defaultFeatures, cfg.user.defaultSize),
      xfeatures: cfg.kernel.defaultFeatures,
      uabiSize: Math.max(KVM_XSAVE_REGION_SIZE, cfg.user.defaultSize),
    };
    this.guestFpu.fpstate.xfd = 0; // __fpstate_reset: a guest's XFD starts at its RESET value 0
    host.guestPermLocked = true;
  }

  private get v(): KernelVariant {
    return this.host.variant;
  }

  /**
   * The XSAVE part of KVM_SET_CPUID2 (kvm_set_cpuid): only CPUID.(0DH,0) EDX:EAX (`xcr0Lo`, high
   * word 0) is taken from the caller. kvm_check_cpuid enables dynamic features in the guest
   * fpstate (fpu_enable_guest_xfd_features: -EPERM without guest permission, and the old CPUID
   * stays); then guest_supported_xcr0 = the CPUID's XCR0 & kvm_caps.supported_xcr0 (kvm_pvm
   * replaces the CPUID's XCR0 with the supported one first, measured).
   */
  kvm_vcpu_ioctl_set_cpuid2_leaf_d(xcr0Lo: number): number {
    // Before dynamic features (5.16; KVM's AMX enabling, 5.17) kvm_check_cpuid has no permission check.
    const dynamic = this.v.has(KernelBehaviour.DynamicXfeatures) ? (xcr0Lo & XFEATURE_MASK_USER_DYNAMIC) >>> 0 : 0;
    const r = this.fpu_enable_guest_xfd_features(dynamic);
    if (r) return r;
    const cpuidXcr0 = VENDOR_CAPS[this.host.vendor].forcesGuestXcr0 ? this.host.supportedXcr0 : xcr0Lo;
    this.guestSupportedXcr0 = (cpuidXcr0 & this.host.supportedXcr0) >>> 0;
    return 0;
  }

  /**
   * fpu_enable_guest_xfd_features -> __xfd_enable_feature -> fpstate_realloc (xstate.c): a new
   * zeroed fpstate for the permitted sizes (the old contents are not copied), uabi_size grows.
   */
  private fpu_enable_guest_xfd_features(xfeatures: number): number {
    const gfpu = this.guestFpu;
    const want = (xfeatures & ~gfpu.xfeatures) >>> 0;
    if (!want) return 0;
    if ((this.host.guestPerm & want) !== want) return KvmErrno.EPERM;
    const cfg = this.host.cfg;
    const old = gfpu.fpstate;
    const user = (old.userXfeatures | want) >>> 0;
    const usize = this.host.cpu.standardSize(this.host.guestPerm);
    gfpu.fpstate = newFpstate(cfg, (old.xfeatures | want) >>> 0, user, usize, true);
    gfpu.fpstate.xfd = (old.xfd & ~want) >>> 0;
    gfpu.xfeatures = (gfpu.xfeatures | want) >>> 0;
    gfpu.uabiSize = usize;
    return 0;
  }

  /** KVM_GET_XSAVE: -EINVAL once the guest fpstate is larger than struct kvm_xsave. */
  kvm_vcpu_ioctl_x86_get_xsave(): KvmIoctlResult {
    if (this.guestFpu.uabiSize > KVM_XSAVE_REGION_SIZE) return { errno: Errno.EINVAL, reason: `uabi_size ${this.guestFpu.uabiSize} > ${KVM_XSAVE_REGION_SIZE}: use KVM_GET_XSAVE2` };
    return { errno: 0, data: this.kvm_vcpu_ioctl_x86_get_xsave2(KVM_XSAVE_REGION_SIZE) };
  }

  /**
   * kvm_vcpu_ioctl_x86_get_xsave2(): `size` bytes (KVM_GET_XSAVE2: uabi_size). Only features the
   * guest's CPUID enables, plus FP|SSE, are shown (6.6 "Constrain guest-supported xfeatures only
   * at KVM_GET_XSAVE{2}"; ASSUMPTION: the same mask for 5.16 to 6.5, where it was applied to the
   * fpstate's user_xfeatures at KVM_SET_CPUID2 instead).
   */
  kvm_vcpu_ioctl_x86_get_xsave2(size = this.guestFpu.uabiSize): Uint8Array {
    const mask = (this.guestSupportedXcr0 | XFEATURE_MASK_FPSSE) >>> 0;
    if (!this.v.has(KernelBehaviour.KvmFpuUabiCopy)) return this.fill_xsave(size, mask);
    return this.fpu_copy_guest_fpstate_to_uabi(size, mask);
  }

  /** fpu_copy_guest_fpstate_to_uabi() (core.c): a zeroed buffer, then the XSAVE-mode UABI copy with KVM's mask and vcpu->arch.pkru. */
  private fpu_copy_guest_fpstate_to_uabi(size: number, xfeatures: number): Uint8Array {
    const { cpu, cfg } = this.host;
    const fps = this.guestFpu.fpstate;
    const out = new Uint8Array(size);
    if (!cfg.useXsave) {
      out.set(fps.regs.subarray(0, 512));
      put32(out, XSAVE_HEADER_OFFSET, XFEATURE_MASK_FPSSE); // "make it restorable on a XSAVE enabled host"
      return out;
    }
    const img = copy_xstate_to_uabi_buf(cpu, { maxFeatures: cfg.user.maxFeatures, maxSize: Math.max(size, cfg.user.maxSize) },
      { regs: fps.regs, userXfeatures: (fps.userXfeatures & xfeatures) >>> 0, compacted: fps.compacted }, this.pkru, XstateCopyMode.XSAVE, size, this.v);
    out.set(img.subarray(0, size));
    return out;
  }

  /**
   * Before 5.16, KVM's own fill_xsave() (x86.c; reference §3.3, from memory of the removed code:
   * unverified): bytes 0..511 of the guest buffer verbatim, XSTATE_BV masked, each set extended
   * component at its standard offset, PKRU from vcpu->arch.pkru.
   */
  private fill_xsave(size: number, mask: number): Uint8Array {
    const { cpu } = this.host;
    const fps = this.guestFpu.fpstate;
    const out = new Uint8Array(size);
    out.set(fps.regs.subarray(0, XSAVE_HEADER_OFFSET));
    const bv = (u32(fps.regs, XSAVE_HEADER_OFFSET) & mask) >>> 0;
    put32(out, XSAVE_HEADER_OFFSET, bv);
    const offsets = fps.compacted ? cpu.compactedLayout(u32(fps.regs, XSAVE_HEADER_OFFSET + 8)).offsets : undefined;
    for (const c of cpu.extendedComponents) {
      if (c.supervisor || !((bv >>> c.number) & 1)) continue;
      if (c.number === XFeature.PKRU) { put32(out, c.standardOffset, this.pkru); continue; }
      const from = offsets ? offsets[c.number] : c.standardOffset;
      if (from !== undefined) out.set(fps.regs.subarray(from, from + c.size), c.standardOffset);
    }
    return out;
  }

  /**
   * KVM_SET_XSAVE (kvm_vcpu_ioctl_x86_set_xsave): uabi_size bytes; XSTATE_BV bits armed in the
   * guest's XFD are cleared first; then fpu_copy_uabi_to_guest_fpstate() with
   * kvm_caps.supported_xcr0 and &vcpu->arch.pkru.
   */
  kvm_vcpu_ioctl_x86_set_xsave(region: Uint8Array): KvmIoctlResult {
    const buf = region.slice(0, this.guestFpu.uabiSize);
    const fps = this.guestFpu.fpstate;
    put32(buf, XSAVE_HEADER_OFFSET, u32(buf, XSAVE_HEADER_OFFSET) & ~fps.xfd);
    if (!this.v.has(KernelBehaviour.KvmFpuUabiCopy)) return this.load_xsave(buf);
    return this.fpu_copy_uabi_to_guest_fpstate(buf);
  }

  /**
   * fpu_copy_uabi_to_guest_fpstate() (core.c, 5.16+): XSTATE_BV outside the supported XCR0 ->
   * -EINVAL; KVM's PKRU rule: with XSTATE_BV[9] clear the pkru pointer is NULL, so the guest PKRU
   * keeps its value (ptrace since 6.2 sets 0; the proposal kvm-set-xsave-pkru-ptrace-rule models
   * that); then copy_uabi_to_xstate's header, MXCSR and component rules.
   */
  private fpu_copy_uabi_to_guest_fpstate(buf: Uint8Array): KvmIoctlResult {
    const { cpu, cfg, supportedXcr0 } = this.host;
    const fps = this.guestFpu.fpstate;
    const bv = u32(buf, XSAVE_HEADER_OFFSET), bvHi = u32(buf, XSAVE_HEADER_OFFSET + 4);
    if (!cfg.useXsave) {
      if (bvHi || bv & ~XFEATURE_MASK_FPSSE) return { errno: Errno.EINVAL, reason: 'XSTATE_BV beyond FP|SSE without XSAVE' };
      if (u32(buf, LEGACY.MXCSR) & ~cfg.mxcsrFeatureMask) return { errno: Errno.EINVAL, reason: 'reserved MXCSR bits' };
      fps.regs.set(buf.subarray(0, 512));
      return { errno: 0 };
    }
    if (bvHi || bv & ~supportedXcr0) return { errno: Errno.EINVAL, reason: `XSTATE_BV 0x${bvHi.toString(16)}${bv.toString(16).padStart(8, '0')} outside kvm_caps.supported_xcr0 0x${supportedXcr0.toString(16)}` };
    // The existing copy is called without a pkru pointer; KVM's rule is applied here.
    const r = copy_uabi_to_xstate(cpu, cfg.mxcsrFeatureMask, fps, buf, null, this.v);
    if (r.errno) return r;
    const pk = cpu.components[XFeature.PKRU];
    if (bv & XFEATURE_MASK_PKRU && pk) this.pkru = u32(buf, pk.standardOffset);
    else if (this.v.has(KernelBehaviour.KvmSetXsavePkruPtraceRule)) this.pkru = 0;
    return { errno: 0 };
  }

  /**
   * Before 5.16, KVM's own load_xsave() (reference §3.3, from tglx's removal diff): XSTATE_BV
   * within the supported XCR0 and MXCSR within mxcsr_feature_mask (always) -> else -EINVAL;
   * XCOMP_BV and the reserved header bytes are not looked at; bytes 0..511 copied verbatim;
   * XSTATE_BV taken as given; each set extended component copied, PKRU to vcpu->arch.pkru only.
   */
  private load_xsave(buf: Uint8Array): KvmIoctlResult {
    const { cpu, cfg, supportedXcr0 } = this.host;
    const fps = this.guestFpu.fpstate;
    const bv = u32(buf, XSAVE_HEADER_OFFSET), bvHi = u32(buf, XSAVE_HEADER_OFFSET + 4);
    if (bvHi || bv & ~supportedXcr0) return { errno: Errno.EINVAL, reason: 'XSTATE_BV outside kvm_caps.supported_xcr0' };
    if (u32(buf, LEGACY.MXCSR) & ~cfg.mxcsrFeatureMask) return { errno: Errno.EINVAL, reason: 'reserved MXCSR bits' };
    const k = fps.regs;
    k.set(buf.subarray(0, XSAVE_HEADER_OFFSET));
    put32(k, XSAVE_HEADER_OFFSET, bv);
    put32(k, XSAVE_HEADER_OFFSET + 4, 0);
    const offsets = fps.compacted ? cpu.compactedLayout(u32(k, XSAVE_HEADER_OFFSET + 8)).offsets : undefined;
    for (const c of cpu.extendedComponents) {
      if (c.supervisor || !((bv >>> c.number) & 1)) continue;
      if (c.number === XFeature.PKRU) { this.pkru = u32(buf, c.standardOffset); continue; }
      const to = offsets ? offsets[c.number] : c.standardOffset;
      if (to !== undefined) k.set(buf.subarray(c.standardOffset, c.standardOffset + c.size), to);
    }
    return { errno: 0 };
  }

  /** KVM_GET_XCRS (kvm_vcpu_ioctl_x86_get_xcrs): a zeroed struct kvm_xcrs with XCR0, or nr_xcrs 0 without XSAVE. */
  kvm_vcpu_ioctl_x86_get_xcrs(): Uint8Array {
    const out = new Uint8Array(KVM_XCRS_SIZE);
    if (!this.host.cfg.useXsave) return out;
    const dv = new DataView(out.buffer);
    dv.setUint32(0, 1, true);
    dv.setUint32(8, XCR_XFEATURE_ENABLED_MASK, true);
    dv.setBigUint64(16, this.xcr0, true);
    return out;
  }

  /**
   * KVM_SET_XCRS (kvm_vcpu_ioctl_x86_set_xcrs): no XSAVE, nr_xcrs > KVM_MAX_XCRS or flags -> -EINVAL;
   * the first entry naming XCR0 goes through __kvm_set_xcr (refusal -> -EINVAL), the rest are
   * ignored; no XCR0 entry -> 0.
   */
  kvm_vcpu_ioctl_x86_set_xcrs(xcrs: Uint8Array): KvmIoctlResult {
    if (!this.host.cfg.useXsave) return { errno: Errno.EINVAL, reason: 'no XSAVE' };
    const dv = new DataView(xcrs.buffer, xcrs.byteOffset);
    const nr = dv.getUint32(0, true), flags = dv.getUint32(4, true);
    if (nr > KVM_MAX_XCRS || flags) return { errno: Errno.EINVAL, reason: `nr_xcrs ${nr}, flags 0x${flags.toString(16)}` };
    for (let i = 0; i < nr; i++) {
      if (dv.getUint32(8 + 16 * i, true) !== XCR_XFEATURE_ENABLED_MASK) continue;
      const why = this.__kvm_set_xcr(XCR_XFEATURE_ENABLED_MASK, dv.getBigUint64(8 + 16 * i + 8, true));
      return why ? { errno: Errno.EINVAL, reason: why } : { errno: 0 };
    }
    return { errno: 0 };
  }

  /**
   * __kvm_set_xcr() (x86.c): the XCR0 rules a guest XSETBV (#GP) and KVM_SET_XCRS (-EINVAL) share.
   * Returns why a value is refused, or undefined when it is taken.
   */
  __kvm_set_xcr(index: number, xcr: bigint): string | undefined {
    if (index !== XCR_XFEATURE_ENABLED_MASK) return `XCR${index} is not XCR0`;
    const has = (mask: number): boolean => (xcr & BigInt(mask)) !== 0n;
    if (!has(XFEATURE_MASK_FP)) return 'FP (bit 0) clear';
    if (has(XFEATURE_MASK_YMM) && !has(XFEATURE_MASK_SSE)) return 'YMM without SSE';
    const valid = BigInt((this.guestSupportedXcr0 | XFEATURE_MASK_FP) >>> 0);
    if (xcr & ~valid) return `bits 0x${(xcr & ~valid).toString(16)} outside guest_supported_xcr0 | FP`;
    if (has(bit(XFeature.BNDREGS)) !== has(bit(XFeature.BNDCSR))) return 'BNDREGS without BNDCSR or the reverse';
    const avx512 = Number(xcr & BigInt(XFEATURE_MASK_AVX512));
    if (avx512 && (!has(XFEATURE_MASK_YMM) || avx512 !== XFEATURE_MASK_AVX512)) return 'AVX-512 bits without YMM or not all three';
    const xtile = Number(xcr & BigInt(XFEATURE_MASK_XTILE));
    if (xtile && xtile !== XFEATURE_MASK_XTILE) return 'XTILE_CFG and XTILE_DATA not together';
    this.xcr0 = xcr;
    return undefined;
  }
}
