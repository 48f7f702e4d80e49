/**
 * stat and fstat (fs/stat.c, Linux 6.18): struct stat of the files the model has.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Machine } from '../../../emulator/machine.js';
import { Errno, S_IFCHR, S_IFIFO, S_IFREG } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, Process } from '../sched.js';

/** struct stat st_blksize reported for every file. */
const BLKSIZE = 4096n;
/** sizeof(struct stat) on x86-64 (arch/x86/include/uapi/asm/stat.h). */
const STAT_BYTES = 144;
/** Modes and inode numbers this model reports: stdio as a tty-like character device, named files read-only. */
const STDIO_MODE = 0o620;
const NAMED_FILE_MODE = 0o444;
const FIRST_FILE_INO = 100;
/** A pipe's inode (fs/pipe.c get_pipe_inode: S_IFIFO | S_IRUSR | S_IWUSR) and st_blksize (PAGE_SIZE, pipefs). */
const PIPE_MODE = 0o600;
const PIPE_BLKSIZE = 4096n;
/** /dev/kvm's permissions as udev leaves them without a kvm group (crw-------), and an inode number for it. */
const DEV_KVM_MODE = 0o600;
const DEV_KVM_INO = 232;

/** struct stat (arch/x86/include/uapi/asm/stat.h). */
export function writeStat(this: Kernel, m: Machine, addr: bigint, mode: number, size: number, ino: number, blksize = BLKSIZE): void {
  const b = new Uint8Array(STAT_BYTES);
  const v = new DataView(b.buffer);
  v.setBigUint64(8, BigInt(ino), true);
  v.setBigUint64(16, 1n, true);
  v.setUint32(24, mode, true);
  v.setBigUint64(48, BigInt(size), true);
  v.setBigUint64(56, blksize, true);
  v.setBigUint64(64, BigInt(Math.ceil(size / 512)), true);
  m.write(addr, b);
}

export function fstat(this: Kernel, p: Process, fd: number, addr: bigint): bigint {
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind === 'host') this.writeStat(p.machine, addr, S_IFCHR | STDIO_MODE, 0, fd + 1);
  else if (f.kind === 'pipe') this.writeStat(p.machine, addr, S_IFIFO | PIPE_MODE, 0, f.pipe.ino, PIPE_BLKSIZE);
  else if (f.kind === 'kvm') this.writeStat(p.machine, addr, S_IFCHR | DEV_KVM_MODE, 0, DEV_KVM_INO);
  else if (f.kind !== 'file') this.writeStat(p.machine, addr, DEV_KVM_MODE, 0, DEV_KVM_INO + 1); // an anon inode
  else this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, f.data.length, FIRST_FILE_INO + fd);
  return 0n;
}

export function statPath(this: Kernel, p: Process, path: string, addr: bigint): bigint {
  if (this.isDevKvm(path)) { this.writeStat(p.machine, addr, S_IFCHR | DEV_KVM_MODE, 0, DEV_KVM_INO); return 0n; }
  if (!this.allowed(path)) return neg(Errno.ENOENT);
  let size: number;
  try { size = readFileSync(resolve(path)).length; } catch { return neg(Errno.ENOENT); }
  this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, size, FIRST_FILE_INO);
  return 0n;
}
