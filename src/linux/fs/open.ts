/**
 * open (fs/open.c, Linux 6.18) of the files the user named (read-only), of /dev/kvm and of the
 * modelled /proc (fs/proc/base.ts). Guests reach no other host file.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Errno, O_ACCMODE, O_CLOEXEC } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, Process } from '../sched.js';
import { isProcPath } from './proc/base.js';
import { pipe_release } from './pipe.js';

/** The device node of /dev/kvm (misc device 10:232, include/linux/miscdevice.h KVM_MINOR). */
const DEV_KVM = '/dev/kvm';

/** A guest path as a host path: relative ones start at KernelOptions.cwd (the host's working directory without it). */
export function hostPath(this: Kernel, path: string): string {
  return this.o.cwd === undefined ? resolve(path) : resolve(this.o.cwd, path);
}

export function allowed(this: Kernel, path: string): boolean {
  return this.o.allowedFiles.includes(this.hostPath(path));
}

export function isDevKvm(this: Kernel, path: string): boolean {
  return this.o.kvmVendor !== undefined && this.hostPath(path) === DEV_KVM;
}

export function open(this: Kernel, p: Process, path: string, flags: number): bigint {
  if (this.hostPath(path) === DEV_KVM) {
    if (this.isDevKvm(path)) return BigInt(this.installFd(p, { kind: 'kvm' }, (flags & O_CLOEXEC) !== 0));
    if (!this.kvmWarned) this.o.stderr('xstate-lab: warning: the guest opened /dev/kvm, which this run has not (name a vendor module with --kvm-vendor)');
    this.kvmWarned = true;
    return neg(Errno.ENOENT);
  }
  if (isProcPath(path)) {
    const f = this.procOpen(p.loaded!, path, flags);
    if (typeof f === 'number') return neg(f);
    const fd = this.installFd(p, f, (flags & O_CLOEXEC) !== 0);
    // A pipe end reopened through /proc/<pid>/fd that got no descriptor is released again.
    if (fd < 0 && f.kind === 'pipe') pipe_release(f);
    return BigInt(fd);
  }
  if (!this.allowed(path)) return neg(Errno.ENOENT);
  if ((flags & O_ACCMODE) !== 0) return neg(Errno.EACCES); // read-only access to the named files
  let data: Buffer;
  try { data = readFileSync(this.hostPath(path)); } catch { return neg(Errno.ENOENT); }
  return BigInt(this.installFd(p, { kind: 'file', path, data, pos: 0 }, (flags & O_CLOEXEC) !== 0));
}
