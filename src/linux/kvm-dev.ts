/**
 * /dev/kvm for guests: the system, VM and vCPU file descriptors and their ioctls
 * (virt/kvm/kvm_main.c kvm_dev_ioctl, kvm_vm_ioctl, kvm_vcpu_ioctl; arch/x86/kvm/x86.c
 * kvm_arch_dev_ioctl, kvm_arch_vm_ioctl, kvm_arch_vcpu_ioctl; cpuid.c), over the KVM model of
 * kernel-model/kvm.ts. Behaviour read from the kernel source; no kernel code copied.
 *
 * Only the XSAVE side of KVM is modelled: the vCPU never runs. A KVM ioctl the model lacks gets
 * the errno Linux gives an unknown ioctl on that descriptor, with one warning.
 */
import { existsSync } from 'node:fs';
import {
  KVM_XCRS_SIZE, KVM_XSAVE_REGION_SIZE, KvmCap, KvmVendorModule, type KvmHost, type KvmVcpu, type KvmVm,
} from '../../kernel-model/kvm.js';
import { KernelBehaviour } from '../../kernel-model/variants.js';
import { Errno } from './abi.js';

/** ioctl number fields (include/uapi/asm-generic/ioctl.h). */
const _IOC_NRSHIFT = 0;
const _IOC_TYPESHIFT = 8;
const _IOC_SIZESHIFT = 16;
const _IOC_DIRSHIFT = 30;
const _IOC_TYPEMASK = 0xff;
enum IocDir { _IOC_NONE = 0, _IOC_WRITE = 1, _IOC_READ = 2 }
const _IOC = (dir: IocDir, type: number, nr: number, size: number): number =>
  ((dir << _IOC_DIRSHIFT) | (type << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT) | (size << _IOC_SIZESHIFT)) >>> 0;
const _IO = (type: number, nr: number): number => _IOC(IocDir._IOC_NONE, type, nr, 0);
const _IOR = (type: number, nr: number, size: number): number => _IOC(IocDir._IOC_READ, type, nr, size);
const _IOW = (type: number, nr: number, size: number): number => _IOC(IocDir._IOC_WRITE, type, nr, size);
const _IOWR = (type: number, nr: number, size: number): number => _IOC(IocDir._IOC_READ | IocDir._IOC_WRITE, type, nr, size);
const _IOC_TYPE = (cmd: number): number => (cmd >>> _IOC_TYPESHIFT) & _IOC_TYPEMASK;

/** KVMIO (include/uapi/linux/kvm.h). */
export const KVMIO = 0xae;
/** KVM_API_VERSION (include/uapi/linux/kvm.h). */
export const KVM_API_VERSION = 12;
/** sizeof(struct kvm_cpuid2): nent, padding; the entries follow (arch/x86/include/uapi/asm/kvm.h). */
const SIZEOF_KVM_CPUID2 = 8;
/** sizeof(struct kvm_cpuid_entry2): function, index, flags, eax, ebx, ecx, edx, padding[3]. */
const SIZEOF_KVM_CPUID_ENTRY2 = 40;
/** KVM_CPUID_FLAG_SIGNIFCANT_INDEX (arch/x86/include/uapi/asm/kvm.h; the kernel's spelling). */
const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;
/** KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h). */
const KVM_MAX_CPUID_ENTRIES = 256;
/** KVM_X86_DEFAULT_VM (arch/x86/include/uapi/asm/kvm.h): the only VM type modelled. */
const KVM_X86_DEFAULT_VM = 0;
/** PAGE_SIZE on x86-64. */
const PAGE_SIZE = 4096;

/** The ioctls modelled, numbered as include/uapi/linux/kvm.h defines them. */
export enum KvmIoctl {
  KVM_GET_API_VERSION = _IO(KVMIO, 0x00),
  KVM_CREATE_VM = _IO(KVMIO, 0x01),
  KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03),
  KVM_GET_VCPU_MMAP_SIZE = _IO(KVMIO, 0x04),
  KVM_GET_SUPPORTED_CPUID = _IOWR(KVMIO, 0x05, SIZEOF_KVM_CPUID2),
  KVM_CREATE_VCPU = _IO(KVMIO, 0x41),
  KVM_SET_CPUID2 = _IOW(KVMIO, 0x90, SIZEOF_KVM_CPUID2),
  KVM_GET_XSAVE = _IOR(KVMIO, 0xa4, KVM_XSAVE_REGION_SIZE),
  KVM_SET_XSAVE = _IOW(KVMIO, 0xa5, KVM_XSAVE_REGION_SIZE),
  KVM_GET_XCRS = _IOR(KVMIO, 0xa6, KVM_XCRS_SIZE),
  KVM_SET_XCRS = _IOW(KVMIO, 0xa7, KVM_XCRS_SIZE),
  KVM_GET_XSAVE2 = _IOR(KVMIO, 0xcf, KVM_XSAVE_REGION_SIZE),
}

/** A VM as its descriptors see it: the model's VM, the mm that created it (kvm->mm), its vCPU ids. */
export interface KvmVmObject { vm: KvmVm; mm: object; vcpuIds: Set<number> }

/** The open files of /dev/kvm: the system descriptor, a VM, a vCPU (anon inodes "kvm-vm", "kvm-vcpu:N"). */
export type KvmFile =
  | { kind: 'kvm' }
  | { kind: 'kvm-vm'; vm: KvmVmObject }
  | { kind: 'kvm-vcpu'; vm: KvmVmObject; vcpu: KvmVcpu; id: number; cpuid: Uint8Array };

/** What an ioctl needs of the calling task. Guest memory access throws on a bad address (-EFAULT). */
export interface KvmCaller {
  /** current->mm: VM and vCPU ioctls from another address space are -EIO. */
  mm: object;
  /** The calling process's KVM (kvm_caps, its guest permission). */
  host: KvmHost;
  read(addr: bigint, len: number): Uint8Array;
  write(addr: bigint, data: Uint8Array): void;
  /** Installs a new descriptor (anon_inode_getfd): its number. */
  installFd(f: KvmFile): number;
  warn(key: string, line: string): void;
}

const neg = (e: number): bigint => BigInt(-e);

/** The vendor module a CPU profile's vendor loads (kvm_intel / kvm_amd); none for other vendors. */
export function kvmVendorForCpuVendor(vendor: string): KvmVendorModule | undefined {
  if (vendor === 'GenuineIntel') return KvmVendorModule.KvmIntel;
  if (vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') return KvmVendorModule.KvmAmd;
  return undefined;
}

/** The vendor module this host has loaded, from /sys/module (never /dev/kvm itself); undefined when none is. */
export function detectHostKvmVendor(sysModule = '/sys/module'): KvmVendorModule | undefined {
  // kvm_pvm first: it can sit beside kvm_intel, and it is the one serving /dev/kvm then.
  for (const v of [KvmVendorModule.KvmPvm, KvmVendorModule.KvmIntel, KvmVendorModule.KvmAmd]) if (existsSync(`${sysModule}/${v}`)) return v;
  return undefined;
}

/** KVM_CHECK_EXTENSION: the capabilities kernel-model/kvm.ts knows; every other one reads 0 (not offered). */
function checkExtension(cap: bigint, ask: (c: KvmCap) => number): bigint {
  const c = Number(BigInt.asUintN(32, cap));
  return c === KvmCap.KVM_CAP_XSAVE || c === KvmCap.KVM_CAP_XCRS || c === KvmCap.KVM_CAP_XSAVE2 ? BigInt(ask(c)) : 0n;
}

/** One struct kvm_cpuid_entry2. */
function cpuidEntry(fn: number, index: number, flags: number, r: readonly number[]): Uint8Array {
  const b = new Uint8Array(SIZEOF_KVM_CPUID_ENTRY2);
  const v = new DataView(b.buffer);
  [fn, index, flags, r[0]!, r[1]!, r[2]!, r[3]!].forEach((x, i) => v.setUint32(4 * i, x >>> 0, true));
  return b;
}

/** The entries KVM_GET_SUPPORTED_CPUID gives: only leaf 0xD is modelled (kvm.ts supportedCpuidLeafD). */
function supportedCpuid(host: KvmHost): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let sub = 0; sub < 64; sub++) {
    const r = host.supportedCpuidLeafD(sub);
    if (r) out.push(cpuidEntry(0xd, sub, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, r));
  }
  return out;
}

/** The ioctl syscall on a KVM descriptor; cmd is the syscall's unsigned int. */
export function kvmIoctl(f: KvmFile, cmd: number, arg: bigint, c: KvmCaller): bigint {
  switch (f.kind) {
    case 'kvm': return kvm_dev_ioctl(cmd, arg, c);
    case 'kvm-vm': return kvm_vm_ioctl(f.vm, cmd, arg, c);
    case 'kvm-vcpu': return kvm_vcpu_ioctl(f, cmd, arg, c);
  }
}

const ioctlName = (cmd: number): string => KvmIoctl[cmd] ?? `0x${cmd.toString(16)}`;

/** kvm_dev_ioctl (kvm_main.c): what /dev/kvm itself answers; the rest goes to kvm_arch_dev_ioctl, whose default is -EINVAL. */
function kvm_dev_ioctl(cmd: number, arg: bigint, c: KvmCaller): bigint {
  switch (cmd as KvmIoctl) {
    case KvmIoctl.KVM_GET_API_VERSION: return arg ? neg(Errno.EINVAL) : BigInt(KVM_API_VERSION);
    case KvmIoctl.KVM_CREATE_VM: {
      // kvm_arch_init_vm: a type KVM does not support is -EINVAL.
      if (arg !== BigInt(KVM_X86_DEFAULT_VM)) return neg(Errno.EINVAL);
      const vm: KvmVmObject = { vm: c.host.createVm(), mm: c.mm, vcpuIds: new Set() };
      return BigInt(c.installFd({ kind: 'kvm-vm', vm }));
    }
    case KvmIoctl.KVM_CHECK_EXTENSION: return checkExtension(arg, (cap) => c.host.kvm_check_extension(cap));
    // The kvm_run page, the PIO data page, the coalesced MMIO ring (x86, CONFIG_KVM_MMIO).
    case KvmIoctl.KVM_GET_VCPU_MMAP_SIZE: return arg ? neg(Errno.EINVAL) : BigInt(3 * PAGE_SIZE);
    case KvmIoctl.KVM_GET_SUPPORTED_CPUID: {
      const v = new DataView(c.read(arg, SIZEOF_KVM_CPUID2).slice().buffer);
      let nent = v.getUint32(0, true);
      // kvm_dev_ioctl_get_cpuid: nent < 1 or fewer than the entries -> -E2BIG, nent not written back.
      if (nent < 1) return neg(Errno.E2BIG);
      nent = Math.min(nent, KVM_MAX_CPUID_ENTRIES);
      const entries = supportedCpuid(c.host);
      if (entries.length > nent) return neg(Errno.E2BIG);
      c.write(arg + BigInt(SIZEOF_KVM_CPUID2), Buffer.concat(entries));
      const hdr = new Uint8Array(SIZEOF_KVM_CPUID2);
      new DataView(hdr.buffer).setUint32(0, entries.length, true);
      hdr.set(new Uint8Array(v.buffer).subarray(4, 8), 4);
      c.write(arg, hdr);
      return 0n;
    }
    default:
      if (_IOC_TYPE(cmd) === KVMIO) c.warn(`dev:${cmd}`, `xstate-lab: warning: KVM ioctl ${ioctlName(cmd)} on /dev/kvm is not modelled; it returns -EINVAL, as an unknown one does`);
      return neg(Errno.EINVAL);
  }
}

/** kvm_vm_ioctl (kvm_main.c): -EIO from another mm; the default of kvm_arch_vm_ioctl is -ENOTTY. */
function kvm_vm_ioctl(o: KvmVmObject, cmd: number, arg: bigint, c: KvmCaller): bigint {
  if (o.mm !== c.mm) return neg(Errno.EIO);
  switch (cmd as KvmIoctl) {
    case KvmIoctl.KVM_CREATE_VCPU: {
      const id = Number(BigInt.asUintN(32, arg));
      // kvm_vm_ioctl_create_vcpu: the vCPU (and its guest fpstate, which locks the guest
      // permission) is created before the duplicate id is found.
      const vcpu = o.vm.createVcpu();
      if (o.vcpuIds.has(id)) return neg(Errno.EEXIST);
      o.vcpuIds.add(id);
      return BigInt(c.installFd({ kind: 'kvm-vcpu', vm: o, vcpu, id, cpuid: new Uint8Array(0) }));
    }
    case KvmIoctl.KVM_CHECK_EXTENSION: return checkExtension(arg, (cap) => o.vm.kvm_check_extension(cap));
    default:
      if (_IOC_TYPE(cmd) === KVMIO) c.warn(`vm:${cmd}`, `xstate-lab: warning: KVM ioctl ${ioctlName(cmd)} on a VM is not modelled; it returns -ENOTTY, as an unknown one does`);
      return neg(Errno.ENOTTY);
  }
}

/** kvm_vcpu_ioctl (kvm_main.c): -EIO from another mm, -EINVAL for a non-KVM type and (kvm_arch_vcpu_ioctl's default) an unknown one. */
function kvm_vcpu_ioctl(f: Extract<KvmFile, { kind: 'kvm-vcpu' }>, cmd: number, arg: bigint, c: KvmCaller): bigint {
  if (f.vm.mm !== c.mm) return neg(Errno.EIO);
  if (_IOC_TYPE(cmd) !== KVMIO) return neg(Errno.EINVAL);
  const vcpu = f.vcpu;
  const xsave2 = vcpu.host.variant.has(KernelBehaviour.KvmXsave2);
  switch (cmd as KvmIoctl) {
    case KvmIoctl.KVM_GET_XSAVE: {
      const r = vcpu.kvm_vcpu_ioctl_x86_get_xsave();
      if (r.errno) return neg(r.errno);
      c.write(arg, r.data!);
      return 0n;
    }
    case KvmIoctl.KVM_SET_XSAVE: {
      // memdup_user of guest_fpu.uabi_size bytes (struct kvm_xsave before 5.17).
      const size = xsave2 ? vcpu.guestFpu.uabiSize : KVM_XSAVE_REGION_SIZE;
      const r = vcpu.kvm_vcpu_ioctl_x86_set_xsave(c.read(arg, size).slice());
      return r.errno ? neg(r.errno) : 0n;
    }
    case KvmIoctl.KVM_GET_XCRS: c.write(arg, vcpu.kvm_vcpu_ioctl_x86_get_xcrs()); return 0n;
    case KvmIoctl.KVM_SET_XCRS: {
      const r = vcpu.kvm_vcpu_ioctl_x86_set_xcrs(c.read(arg, KVM_XCRS_SIZE).slice());
      return r.errno ? neg(r.errno) : 0n;
    }
    case KvmIoctl.KVM_SET_CPUID2: return set_cpuid2(f, arg, c);
    default:
      if (cmd === KvmIoctl.KVM_GET_XSAVE2 && xsave2) {
        c.write(arg, vcpu.kvm_vcpu_ioctl_x86_get_xsave2());
        return 0n;
      }
      if (cmd !== KvmIoctl.KVM_GET_XSAVE2) c.warn(`vcpu:${cmd}`, `xstate-lab: warning: KVM ioctl ${ioctlName(cmd)} on a vCPU is not modelled; it returns -EINVAL, as an unknown one does`);
      return neg(Errno.EINVAL);
  }
}

/**
 * KVM_SET_CPUID2 (kvm_vcpu_ioctl_set_cpuid2, kvm_set_cpuid, kvm_check_cpuid): more than
 * KVM_MAX_CPUID_ENTRIES is -E2BIG; a 0x80000008 entry with a virtual-address width other than
 * 48 or 57 (or 0) is -EINVAL; the XSAVE part goes to the model; the entries are kept.
 */
function set_cpuid2(f: Extract<KvmFile, { kind: 'kvm-vcpu' }>, arg: bigint, c: KvmCaller): bigint {
  const nent = new DataView(c.read(arg, SIZEOF_KVM_CPUID2).slice().buffer).getUint32(0, true);
  if (nent > KVM_MAX_CPUID_ENTRIES) return neg(Errno.E2BIG);
  const raw = c.read(arg + BigInt(SIZEOF_KVM_CPUID2), nent * SIZEOF_KVM_CPUID_ENTRY2).slice();
  const v = new DataView(raw.buffer);
  // cpuid_entry2_find: the first entry of the function whose index matches or does not matter.
  const find = (fn: number, index: number): number | undefined => {
    for (let i = 0; i < nent; i++) {
      const o = i * SIZEOF_KVM_CPUID_ENTRY2;
      if (v.getUint32(o, true) !== fn) continue;
      if (!(v.getUint32(o + 8, true) & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || v.getUint32(o + 4, true) === index) return o;
    }
    return undefined;
  };
  const ext8 = find(0x80000008, 0);
  if (ext8 !== undefined) {
    const vaddrBits = (v.getUint32(ext8 + 12, true) >>> 8) & 0xff;
    if (vaddrBits !== 48 && vaddrBits !== 57 && vaddrBits !== 0) return neg(Errno.EINVAL);
  }
  const d0 = find(0xd, 0);
  const r = f.vcpu.kvm_vcpu_ioctl_set_cpuid2_leaf_d(d0 === undefined ? 0 : v.getUint32(d0 + 12, true));
  if (r) return neg(r);
  f.cpuid = raw;
  return 0n;
}
