/**
 * stat and fstat (fs/stat.c, Linux 6.18): struct stat of the files the model has.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { readFileSync } from 'node:fs';
import { Machine } from '../../../emulator/machine.js';
import { Errno, S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG, S_IFSOCK } from '../abi.js';
import { isProcPath } from './proc/base.js';
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
/** A socket's inode (net/socket.c sock_alloc: S_IFSOCK | S_IRWXUGO). */
const SOCKET_MODE = 0o777;
const DEV_KVM_INO = 232;

/** /proc's directories (S_IFDIR | S_IRUGO | S_IXUGO) and the inode number the model gives every /proc node (named assumption `proc-inode`). */
const PROC_DIR_MODE = 0o555;
const PROC_INO = 0x1000;

/**
 * readlink and readlinkat (fs/stat.c do_readlinkat, Linux 6.18): -EINVAL for a buffer size
 * <= 0 or a path that is not a link; the target without a NUL, cut to the buffer. The model's
 * links are those of /proc (fs/proc/base.ts); a named file is no link.
 */
export function readlink(this: Kernel, p: Process, path: string, buf: bigint, bufsiz: number): bigint {
  if (bufsiz <= 0) return neg(Errno.EINVAL);
  if (isProcPath(path)) {
    const r = this.procReadlink(p.loaded!, path);
    if (typeof r === 'number') return neg(r);
    const b = Buffer.from(r).subarray(0, bufsiz);
    p.machine.write(buf, b);
    return BigInt(b.length);
  }
  return this.allowed(path) || this.isDevKvm(path) ? neg(Errno.EINVAL) : neg(Errno.ENOENT);
}

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
  else if (f.kind === 'socket') this.writeStat(p.machine, addr, S_IFSOCK | SOCKET_MODE, 0, f.ino); // sock_alloc: S_IFSOCK | S_IRWXUGO
  else if (f.kind !== 'file') this.writeStat(p.machine, addr, DEV_KVM_MODE, 0, DEV_KVM_INO + 1); // an anon inode
  else if (f.proc?.list) this.writeStat(p.machine, addr, S_IFDIR | PROC_DIR_MODE, 0, PROC_INO);
  else if (f.proc) this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, 0, PROC_INO); // proc files report size 0
  else this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, f.data.length, FIRST_FILE_INO + fd);
  return 0n;
}

export function statPath(this: Kernel, p: Process, path: string, addr: bigint): bigint {
  if (isProcPath(path)) {
    // proc_pid_lookup's inodes: regular files of size 0 (S_IRUGO), directories S_IRUGO|S_IXUGO; stat follows the links.
    const node = this.procLookup(p.loaded!, path);
    if (!node) return neg(Errno.ENOENT);
    if (node.kind === 'dir') this.writeStat(p.machine, addr, S_IFDIR | PROC_DIR_MODE, 0, PROC_INO);
    else this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, 0, PROC_INO);
    return 0n;
  }
  if (this.isDevKvm(path)) { this.writeStat(p.machine, addr, S_IFCHR | DEV_KVM_MODE, 0, DEV_KVM_INO); return 0n; }
  if (!this.allowed(path)) return neg(Errno.ENOENT);
  let size: number;
  try { size = readFileSync(this.hostPath(path)).length; } catch { return neg(Errno.ENOENT); }
  this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, size, FIRST_FILE_INO);
  return 0n;
}

/** faccessat (fs/open.c do_faccessat): the named files, /dev/kvm and what /proc has exist; nothing else. */
export function accessPath(this: Kernel, p: Process, path: string): bigint {
  if (isProcPath(path)) return this.procLookup(p.loaded!, path) ? 0n : neg(Errno.ENOENT);
  return this.allowed(path) || this.isDevKvm(path) ? 0n : neg(Errno.ENOENT);
}
