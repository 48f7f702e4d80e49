/**
 * getdents64 (fs/readdir.c, Linux 6.18) of the model's directories: those of /proc
 * (fs/proc/base.ts). Each call continues where the last stopped (the position counts entries).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, type Process } from '../sched.js';

/** d_type values (include/linux/fs_types.h DT_DIR, DT_REG, DT_LNK). */
const DT_DIR = 4, DT_REG = 8, DT_LNK = 10;
/** struct linux_dirent64 (include/linux/dirent.h): d_ino u64, d_off s64, d_reclen u16, d_type u8, then the name; records 8-byte aligned. */
const DIRENT64_HEADER = 19;
const DIRENT64_ALIGN = 8;
/** The inode numbers the model gives /proc's entries (assumption `proc-inode`, as fs/stat.ts). */
const PROC_INO = 0x1000n;

export function getdents64(this: Kernel, p: Process, fd: number, buf: bigint, count: number): bigint {
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind !== 'file' || !f.proc?.list) return neg(Errno.ENOTDIR);
  const names = ['.', '..', ...f.proc.list()];
  const out: Uint8Array[] = [];
  let used = 0;
  let k = f.pos;
  for (; k < names.length; k++) {
    const name = Buffer.from(names[k]!);
    const reclen = Math.ceil((DIRENT64_HEADER + name.length + 1) / DIRENT64_ALIGN) * DIRENT64_ALIGN;
    if (used + reclen > count) break;
    const node = k < 2 ? undefined : this.procLookup(p.loaded!, `${f.path}/${names[k]}`, false);
    const type = k < 2 || node?.kind === 'dir' ? DT_DIR : node?.kind === 'link' ? DT_LNK : DT_REG;
    const rec = new Uint8Array(reclen);
    const v = new DataView(rec.buffer);
    v.setBigUint64(0, PROC_INO + BigInt(k), true);
    v.setBigInt64(8, BigInt(k + 1), true);
    v.setUint16(16, reclen, true);
    rec[18] = type;
    rec.set(name, DIRENT64_HEADER);
    out.push(rec);
    used += reclen;
  }
  // filldir64: a buffer too small for the first record is -EINVAL.
  if (!out.length && k < names.length) return neg(Errno.EINVAL);
  f.pos = k;
  p.machine.write(buf, Buffer.concat(out));
  return BigInt(used);
}
