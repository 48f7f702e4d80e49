/**
 * Sockets (net/socket.c, net/unix/af_unix.c, Linux 6.18) as far as the model has them: AF_UNIX
 * sockets that are created, connected to nothing and closed. The model is a machine with no other
 * program and no socket file: connect to a path is -ENOENT (unix_find_bsd: no such file), to an
 * abstract name -ECONNREFUSED (unix_find_abstract: nobody bound it). This is what a static glibc
 * program's name-service lookups meet (nscd's socket, then the files). Other families, and the
 * rest of a socket's life (bind, listen, socketpair, data), are not modelled.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, O_CLOEXEC, O_NONBLOCK, Poll } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, type Task } from '../sched.js';
import { ERESTARTSYS } from '../errno.js';
import { isProcPath } from '../fs/proc/base.js';

/** AF_UNIX (include/linux/socket.h); PF_UNIX is the same number. */
export const AF_UNIX = 1;
/** Socket types (include/linux/net.h enum sock_type) and the flags socket(2) takes in the type (SOCK_CLOEXEC, SOCK_NONBLOCK). */
export enum SockType { STREAM = 1, DGRAM = 2, RAW = 3, RDM = 4, SEQPACKET = 5, PACKET = 10 }
const SOCK_TYPE_MASK = 0xf;
const SOCK_CLOEXEC = O_CLOEXEC;
const SOCK_NONBLOCK = O_NONBLOCK;
/** offsetof(struct sockaddr_un, sun_path) and sizeof(struct sockaddr_un) (include/uapi/linux/un.h). */
const SUN_PATH_OFFSET = 2;
const SOCKADDR_UN_BYTES = 110;
/** Socket inode numbers (sock_alloc: the sockfs inode; the model counts from here). */
const FIRST_SOCKET_INO = 100_000;

/** An AF_UNIX socket's open file: its type, O_NONBLOCK, and its sockfs inode number (socket:[ino]). */
export interface SocketFile { kind: 'socket'; type: SockType; flags: number; ino: number }

let nextIno = FIRST_SOCKET_INO;

/**
 * __sys_socket: -EINVAL for flags in the type other than SOCK_CLOEXEC and SOCK_NONBLOCK; AF_UNIX
 * (unix_create): -EPROTONOSUPPORT for a protocol other than 0 or PF_UNIX, -ESOCKTNOSUPPORT for a
 * type other than stream, datagram (RAW is one too) and seqpacket. Other families are not modelled.
 */
export function sys_socket(this: Kernel, t: Task, family: number, type: number, protocol: number, nr: number): bigint {
  if (type & ~(SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK)) return neg(Errno.EINVAL);
  if (family !== AF_UNIX) return this.unmodelled(nr);
  if (protocol && protocol !== AF_UNIX) return neg(Errno.EPROTONOSUPPORT);
  let kind = (type & SOCK_TYPE_MASK) as SockType;
  // unix_create: SOCK_RAW is turned into SOCK_DGRAM.
  if (kind === SockType.RAW) kind = SockType.DGRAM;
  if (kind !== SockType.STREAM && kind !== SockType.DGRAM && kind !== SockType.SEQPACKET) return neg(Errno.ESOCKTNOSUPPORT);
  const f: SocketFile = { kind: 'socket', type: kind, flags: type & SOCK_NONBLOCK, ino: nextIno++ };
  return BigInt(this.installFd(t.proc, f, (type & SOCK_CLOEXEC) !== 0));
}

/**
 * __sys_connect on an AF_UNIX socket: the address is read first (-EINVAL past sockaddr_storage,
 * -EFAULT), -EBADF, -ENOTSOCK for another file; unix_validate_addr: -EINVAL for a length below
 * sun_path's offset or above sockaddr_un, or another family (a datagram socket takes AF_UNSPEC as
 * a disconnect: 0); then nothing to connect to: -ENOENT for a path, -ECONNREFUSED for an abstract
 * name (sun_path[0] = 0).
 */
export function sys_connect(this: Kernel, t: Task, fd: number, addr: bigint, len: number): bigint {
  if (len < 0 || len > SOCKADDR_STORAGE_BYTES) return neg(Errno.EINVAL);
  const sa = len ? t.proc.machine.read(addr, len) : new Uint8Array(0);
  const f = t.proc.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind !== 'socket') return neg(Errno.ENOTSOCK);
  const family = len >= 2 ? sa[0]! | (sa[1]! << 8) : -1;
  if (f.type === SockType.DGRAM && family === AF_UNSPEC && len >= 2) return 0n;
  if (len <= SUN_PATH_OFFSET || len > SOCKADDR_UN_BYTES || family !== AF_UNIX) return neg(Errno.EINVAL);
  if (sa[SUN_PATH_OFFSET] === 0) return neg(Errno.ECONNREFUSED);
  // unix_find_bsd: a file that is there but not a socket (a named or /proc file) refuses; nothing else exists.
  const end = sa.indexOf(0, SUN_PATH_OFFSET);
  const path = Buffer.from(sa.subarray(SUN_PATH_OFFSET, end < 0 ? len : end)).toString('latin1');
  return this.allowed(path) || (isProcPath(path) && this.procLookup(t, path)) ? neg(Errno.ECONNREFUSED) : neg(Errno.ENOENT);
}

/**
 * Reads and writes of a socket connected to nothing: a stream or seqpacket read is -EINVAL
 * (unix_stream_read_generic: not TCP_ESTABLISHED), a datagram read waits for a datagram that
 * never comes (-EAGAIN under O_NONBLOCK), a write is -ENOTCONN (no peer).
 */
export function socketRead(this: Kernel, t: Task, f: SocketFile): bigint | 'stop' {
  if (f.type !== SockType.DGRAM) return neg(Errno.EINVAL);
  if (f.flags & O_NONBLOCK) return neg(Errno.EAGAIN);
  return this.block(t, { what: 'recv on an unconnected datagram socket', restart: ERESTARTSYS });
}
export function socketWrite(this: Kernel): bigint {
  return neg(Errno.ENOTCONN);
}

/** sizeof(struct sockaddr_storage): move_addr_to_kernel's limit. */
const SOCKADDR_STORAGE_BYTES = 128;
/** AF_UNSPEC. */
const AF_UNSPEC = 0;

/**
 * unix_poll / unix_dgram_poll of a socket connected to nothing: writable (OUT, WRNORM, WRBAND); a
 * stream or seqpacket socket in TCP_CLOSE also HUP.
 */
export function unix_poll(f: SocketFile): number {
  const writable = Poll.OUT | Poll.WRNORM | Poll.WRBAND;
  return f.type === SockType.DGRAM ? writable : writable | Poll.HUP;
}
