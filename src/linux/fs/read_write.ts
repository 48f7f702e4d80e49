/**
 * read and write (fs/read_write.c vfs_read / vfs_write, Linux 6.18) on stdio and the named files.
 * Stdio is the host's descriptors, or KernelOptions.stdio (a scenario's guest run in-process).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { readSync, writeSync } from 'node:fs';
import { Errno, SI_USER, Sig } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, Process } from '../sched.js';

export function read(this: Kernel, p: Process, fd: number, buf: bigint, len: number): bigint {
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind !== 'file' && f.kind !== 'host') return neg(Errno.EINVAL); // KVM's file_operations have no read (vfs_read)
  if (f.kind === 'file') {
    // seq_read: a /proc file's text is made on a read from offset 0 (fs/proc/base.ts).
    if (f.proc?.list) return neg(Errno.EISDIR); // generic_read_dir
    if (f.proc && f.pos === 0) f.data = Buffer.from(f.proc.make());
    const chunk = f.data.subarray(f.pos, f.pos + len);
    p.machine.write(buf, chunk);
    f.pos += chunk.length;
    return BigInt(chunk.length);
  }
  const b = Buffer.alloc(Math.min(len, 1 << 16));
  let n: number;
  const io = this.o.stdio;
  try { n = io ? io.read(f.hostFd, b) : readSync(f.hostFd, b, 0, b.length, null); } catch { return 0n; }
  p.machine.write(buf, b.subarray(0, n));
  return BigInt(n);
}

/**
 * pread64 (ksys_pread64): -EINVAL for a negative offset, -EBADF for no descriptor, -ESPIPE for a
 * file without FMODE_PREAD (pipes, stdio as a terminal, the anonymous-inode files, KVM's); the
 * named and /proc files read at the offset without moving the file position.
 */
export function pread64(this: Kernel, p: Process, fd: number, buf: bigint, len: number, pos: bigint): bigint {
  if (BigInt.asIntN(64, pos) < 0n) return neg(Errno.EINVAL);
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind !== 'file') return neg(Errno.ESPIPE);
  if (f.proc?.list) return neg(Errno.EISDIR);
  // A /proc file's text is made for the call (seq_read_iter), leaving the position's text alone.
  const data = f.proc ? Buffer.from(f.proc.make()) : f.data;
  const at = Number(pos < BigInt(data.length) ? pos : BigInt(data.length));
  const chunk = data.subarray(at, at + len);
  p.machine.write(buf, chunk);
  return BigInt(chunk.length);
}

/** pwrite64: -EINVAL for a negative offset, -EBADF for no descriptor or one not open for writing (the named files are read-only), -ESPIPE for the rest. */
export function pwrite64(this: Kernel, p: Process, fd: number, pos: bigint): bigint {
  if (BigInt.asIntN(64, pos) < 0n) return neg(Errno.EINVAL);
  const f = p.files.get(fd);
  if (!f || f.kind === 'file') return neg(Errno.EBADF);
  return neg(Errno.ESPIPE);
}

export function write(this: Kernel, p: Process, fd: number, data: Uint8Array): bigint {
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind === 'file') return neg(Errno.EBADF);
  if (f.kind !== 'host') return neg(Errno.EINVAL); // nor a write
  const io = this.o.stdio;
  let off = 0;
  while (off < data.length) {
    try {
      off += io ? io.write(f.hostFd, data.subarray(off)) : writeSync(f.hostFd, data, off, data.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // a non-blocking host descriptor: the guest sees a blocking write
      if (code === 'EPIPE') {
        // The reader went away: SIGPIPE and -EPIPE, as pipe_write does.
        const t = p.loaded;
        if (t) this.sendToThread(t, { signo: Sig.SIGPIPE, code: SI_USER, pid: p.pid, uid: 0 });
        return off ? BigInt(off) : neg(Errno.EPIPE);
      }
      return off ? BigInt(off) : neg(Errno.EBADF);
    }
  }
  return BigInt(data.length);
}
