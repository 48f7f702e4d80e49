/**
 * getcwd (fs/d_path.c, Linux 6.18).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, type Process } from '../sched.js';

/**
 * sys_getcwd: the working directory's path and its NUL, -ERANGE when `size` cannot hold them; the
 * length copied is returned. The guest's working directory is where its relative paths start:
 * KernelOptions.cwd (a scenario's folder) or the host's working directory (src/linux/fs/open.ts
 * hostPath), a path the user gave the run, not a way to reach the host's files.
 */
export function sys_getcwd(this: Kernel, p: Process, buf: bigint, size: bigint): bigint {
  const path = Buffer.from(`${this.hostPath('.')}\0`);
  if (BigInt(path.length) > size) return neg(Errno.ERANGE);
  p.machine.write(buf, path);
  return BigInt(path.length);
}
