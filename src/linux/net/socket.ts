/**
 * Sockets (net/socket.c, net/unix/af_unix.c, Linux 6.18) as far as the model has them: AF_UNIX
 * sockets made by socket(2), which connect to nothing (the model is a machine with no other program
 * and no socket file: connect to a path is -ENOENT (unix_find_bsd: no such file), to an abstract
 * name -ECONNREFUSED (unix_find_abstract: nobody bound it), what a static glibc program's
 * name-service lookups meet), and socketpair's connected ends (net/unix.ts): read, write, send,
 * recv, sendmsg and recvmsg with SCM_RIGHTS, shutdown. Other families, bind, listen and accept are
 * not modelled.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, O_CLOEXEC, O_NONBLOCK, Poll } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { type FileRef, neg, type Task } from '../sched.js';
import { landFromFlight, sendInFlight } from '../fs/file.js';
import { DGRAM_MAX, SockType, UnixSock, unix_inq_len, unix_poll_connected, unix_recv, unix_release_sock, unix_send, unix_shutdown, unix_socketpair, type Received } from './unix.js';
import { ERESTARTSYS } from '../errno.js';
import { isProcPath } from '../fs/proc/base.js';

/** AF_UNIX, AF_INET, AF_INET6 (include/linux/socket.h); PF_UNIX is the same number. */
export const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
/** The flags socket(2) takes in the type (SOCK_CLOEXEC, SOCK_NONBLOCK) beside it. */
const SOCK_TYPE_MASK = 0xf;
const SOCK_CLOEXEC = O_CLOEXEC;
const SOCK_NONBLOCK = O_NONBLOCK;
/** offsetof(struct sockaddr_un, sun_path) and sizeof(struct sockaddr_un) (include/uapi/linux/un.h). */
const SUN_PATH_OFFSET = 2;
const SOCKADDR_UN_BYTES = 110;
/** Socket inode numbers (sock_alloc: the sockfs inode; the model counts from here). */
const FIRST_SOCKET_INO = 100_000;

/** An AF_UNIX socket's open file: its type, O_NONBLOCK, its sockfs inode number (socket:[ino]) and the socket. */
export interface SocketFile { kind: 'socket'; type: SockType; flags: number; ino: number; sk: UnixSock }

let nextIno = FIRST_SOCKET_INO;

/**
 * __sys_socket: -EINVAL for flags in the type other than SOCK_CLOEXEC and SOCK_NONBLOCK; AF_UNIX
 * (unix_create): -EPROTONOSUPPORT for a protocol other than 0 or PF_UNIX, -ESOCKTNOSUPPORT for a
 * type other than stream, datagram (RAW is one too) and seqpacket. Other families are not modelled.
 */
export function sys_socket(this: Kernel, t: Task, family: number, type: number, protocol: number, nr: number): bigint {
  if (type & ~(SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK)) return neg(Errno.EINVAL);
  if (family !== AF_UNIX) return this.unmodelled(nr);
  const u = unixType(type, protocol);
  if ('errno' in u) return neg(u.errno);
  const kind = u.kind;
  const f: SocketFile = { kind: 'socket', type: kind, flags: type & SOCK_NONBLOCK, ino: nextIno++, sk: new UnixSock(kind) };
  return BigInt(this.installFd(t.proc, f, (type & SOCK_CLOEXEC) !== 0));
}

/** The checks socket(2) and socketpair(2) share for AF_UNIX: the type's flags, the protocol, the type; the type or an errno. */
function unixType(type: number, protocol: number): { kind: SockType } | { errno: Errno } {
  if (protocol && protocol !== AF_UNIX) return { errno: Errno.EPROTONOSUPPORT };
  let kind = (type & SOCK_TYPE_MASK) as SockType;
  // unix_create: SOCK_RAW is turned into SOCK_DGRAM.
  if (kind === SockType.RAW) kind = SockType.DGRAM;
  return kind === SockType.STREAM || kind === SockType.DGRAM || kind === SockType.SEQPACKET ? { kind } : { errno: Errno.ESOCKTNOSUPPORT };
}

/**
 * __sys_socketpair: -EINVAL for other type flags, then AF_UNIX's checks (unix_create), two
 * descriptors (-EMFILE leaves none) written to sv (-EFAULT closes them again); other families are
 * not modelled.
 */
export function sys_socketpair(this: Kernel, t: Task, family: number, type: number, protocol: number, sv: bigint, nr: number): bigint {
  if (type & ~(SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK)) return neg(Errno.EINVAL);
  // inet's proto_ops have no socketpair (sock_no_socketpair).
  if (family === AF_INET || family === AF_INET6) return neg(Errno.EOPNOTSUPP);
  if (family !== AF_UNIX) return this.unmodelled(nr);
  const u = unixType(type, protocol);
  if ('errno' in u) return neg(u.errno);
  const kind = u.kind;
  const [a, b] = unix_socketpair(kind);
  const p = t.proc;
  const cloexec = (type & SOCK_CLOEXEC) !== 0;
  const fa = this.installFd(p, { kind: 'socket', type: kind, flags: type & SOCK_NONBLOCK, ino: nextIno++, sk: a }, cloexec);
  if (fa < 0) return BigInt(fa);
  const fb = this.installFd(p, { kind: 'socket', type: kind, flags: type & SOCK_NONBLOCK, ino: nextIno++, sk: b }, cloexec);
  if (fb < 0) { this.closeFd(p, fa); return BigInt(fb); }
  try { p.machine.writeU32(sv, fa); p.machine.writeU32(sv + 4n, fb); } catch (e) { this.closeFd(p, fa); this.closeFd(p, fb); throw e; }
  return 0n;
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

/** MSG_* flags (include/linux/socket.h) the model reads. */
export enum Msg { PEEK = 0x2, CTRUNC = 0x8, TRUNC = 0x20, DONTWAIT = 0x40, WAITALL = 0x100, NOSIGNAL = 0x4000, CMSG_CLOEXEC = 0x40000000 }
/** SOL_SOCKET and SCM_RIGHTS (include/linux/socket.h); SCM_MAX_FD (include/net/scm.h). */
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SCM_MAX_FD = 253;
/** struct cmsghdr: size_t cmsg_len, int cmsg_level, int cmsg_type (16 bytes); CMSG_ALIGN to 8. */
const CMSGHDR_BYTES = 16;
const cmsgAlign = (n: number): number => (n + 7) & ~7;
/** struct user_msghdr: msg_name 0, msg_namelen 8, msg_iov 16, msg_iovlen 24, msg_control 32, msg_controllen 40, msg_flags 48. */
enum MsgHdr { name = 0, namelen = 8, iov = 16, iovlen = 24, control = 32, controllen = 40, flags = 48 }
/** UIO_MAXIOV: more iovecs is -EMSGSIZE. */
const UIO_MAXIOV = 1024;

/** A guest iovec array as (base, length) pairs. */
function readIov(t: Task, iov: bigint, count: number): { base: bigint; len: number }[] {
  const m = t.proc.machine;
  return Array.from({ length: count }, (_, k) => ({ base: m.readU64(iov + 16n * BigInt(k)), len: Number(m.readU64(iov + 16n * BigInt(k) + 8n)) }));
}


/**
 * A send on a socket (unix_stream_sendmsg, unix_dgram_sendmsg, unix_seqpacket_sendmsg): the data,
 * the descriptors of an SCM_RIGHTS message, an address (a connected stream socket: -EISCONN; a
 * seqpacket socket ignores it; a datagram socket looks it up: nothing there). -EPIPE on a stream
 * socket raises SIGPIPE unless MSG_NOSIGNAL. A full queue waits, or -EAGAIN with MSG_DONTWAIT or
 * O_NONBLOCK (a stream write that queued part returns that part).
 */
function socketSend(k: Kernel, t: Task, f: SocketFile, data: Uint8Array, flags: number, fds: FileRef[] | undefined, hasName: boolean): bigint | 'stop' {
  if (hasName && f.type === SockType.STREAM) return neg(f.sk.connected ? Errno.EISCONN : Errno.EOPNOTSUPP);
  if (hasName && f.type === SockType.DGRAM) return neg(Errno.ENOENT);
  if (!f.sk.connected) return neg(Errno.ENOTCONN);
  const nonblock = (flags & Msg.DONTWAIT) !== 0 || (f.flags & O_NONBLOCK) !== 0;
  const pipeErr = (r: number): bigint => {
    if (r === -Errno.EPIPE && f.type === SockType.STREAM && !(flags & Msg.NOSIGNAL)) k.sigpipe(t);
    return BigInt(r);
  };
  if (fds) for (const x of fds) sendInFlight(x);
  // The passed files go with the first message queued; if none is (an error, a stream write of 0 bytes), scm_destroy drops them.
  let sent = 0;
  const unsent = (r: bigint): bigint => { if (fds && sent === 0 && !(data.length === 0 && f.type !== SockType.STREAM && r === 0n)) dropFds(k, fds); return r; };
  const attempt = (): bigint | undefined => {
    const r = unix_send(f.sk, data, sent ? undefined : fds, sent);
    if (r === 'wait') return undefined;
    if (r < 0) return unsent(pipeErr(r));
    sent = r;
    if (sent >= data.length) return sent === 0 ? unsent(0n) : BigInt(sent);
    return undefined;
  };
  const now = attempt();
  if (now !== undefined) return now;
  if (nonblock) return sent ? BigInt(sent) : unsent(neg(Errno.EAGAIN));
  return k.block(t, { what: 'socket send', retry: attempt, interrupted: () => (sent ? BigInt(sent) : unsent(-BigInt(ERESTARTSYS))) });
}

/**
 * A receive: what unix_recv gives, or a wait (-EAGAIN with MSG_DONTWAIT or O_NONBLOCK, -ERESTARTSYS
 * on a signal); MSG_WAITALL on a stream socket gathers until `len`, the end or an error.
 * `deliver` copies the result out and gives the call's return.
 */
function socketRecv(k: Kernel, t: Task, f: SocketFile, len: number, flags: number, deliver: (r: Received) => bigint): bigint | 'stop' {
  const nonblock = (flags & Msg.DONTWAIT) !== 0 || (f.flags & O_NONBLOCK) !== 0;
  const waitall = (flags & Msg.WAITALL) !== 0 && f.type === SockType.STREAM && !(flags & Msg.PEEK);
  const parts: Uint8Array[] = [];
  let got = 0;
  const attempt = (): bigint | undefined => {
    const r = unix_recv(f.sk, len - got, (flags & Msg.PEEK) !== 0);
    if (typeof r === 'number') return got ? deliver({ data: Buffer.concat(parts), fds: [], truncated: false, whole: got }) : BigInt(r);
    if (r === undefined) return got && !waitall ? deliver({ data: Buffer.concat(parts), fds: [], truncated: false, whole: got }) : undefined;
    if (!waitall || r.data.length === 0 || r.fds.length || got + r.data.length >= len) {
      parts.push(r.data);
      return deliver({ ...r, data: Buffer.concat(parts), whole: got ? got + r.whole : r.whole });
    }
    parts.push(r.data);
    got += r.data.length;
    return undefined;
  };
  const now = attempt();
  if (now !== undefined) return now;
  if (nonblock) return got ? deliver({ data: Buffer.concat(parts), fds: [], truncated: false, whole: got }) : neg(Errno.EAGAIN);
  return k.block(t, { what: 'socket recv', retry: attempt, interrupted: () => (got ? deliver({ data: Buffer.concat(parts), fds: [], truncated: false, whole: got }) : -BigInt(ERESTARTSYS)) });
}

/** Descriptors received without room for them (read, recv, a short control buffer) are closed (__scm_destroy). */
function dropFds(k: Kernel, fds: FileRef[]): void {
  for (const f of fds) k.dropReference(f, true);
}

/** read(2) on a socket: recv with no flags; descriptors that came are closed. */
export function socketRead(this: Kernel, t: Task, f: SocketFile, buf: bigint, len: number): bigint | 'stop' {
  return socketRecv(this, t, f, len, 0, (r) => { dropFds(this, r.fds); t.proc.machine.write(buf, r.data); return BigInt(r.data.length); });
}

/** readv(2) on a socket: one receive scattered over the iovecs. */
export function socketReadv(this: Kernel, t: Task, f: SocketFile, iov: bigint, count: number): bigint | 'stop' {
  const v = readIov(t, iov, count);
  const m = t.proc.machine;
  return socketRecv(this, t, f, v.reduce((a, x) => a + x.len, 0), 0, (r) => {
    dropFds(this, r.fds);
    let off = 0;
    for (const x of v) { if (off >= r.data.length) break; const n = Math.min(x.len, r.data.length - off); m.write(x.base, r.data.subarray(off, off + n)); off += n; }
    return BigInt(r.data.length);
  });
}

/** write(2) on a socket: send with no flags. */
export function socketWrite(this: Kernel, t: Task, f: SocketFile, data: Uint8Array): bigint | 'stop' {
  return socketSend(this, t, f, data, 0, undefined, false);
}

/** The socket behind a descriptor: -EBADF, -ENOTSOCK. */
function sockfd(t: Task, fd: number): SocketFile | Errno {
  const f = t.proc.files.get(fd);
  if (!f) return Errno.EBADF;
  return f.kind === 'socket' ? f : Errno.ENOTSOCK;
}

/** sendto (__sys_sendto): the address (if any) read first, then the send. */
export function sys_sendto(this: Kernel, t: Task, fd: number, buf: bigint, len: number, flags: number, addr: bigint, alen: number): bigint | 'stop' {
  const f = sockfd(t, fd);
  if (typeof f === 'number') return neg(f);
  if (addr && (alen < 0 || alen > SOCKADDR_STORAGE_BYTES)) return neg(Errno.EINVAL);
  const data = t.proc.machine.read(buf, len);
  return socketSend(this, t, f, data, flags, undefined, addr !== 0n && alen > 0);
}

/** recvfrom (__sys_recvfrom): the data, MSG_TRUNC giving a datagram's whole length; a socketpair's peer has no address (addrlen 0). */
export function sys_recvfrom(this: Kernel, t: Task, fd: number, buf: bigint, len: number, flags: number, addr: bigint, alen: bigint): bigint | 'stop' {
  const f = sockfd(t, fd);
  if (typeof f === 'number') return neg(f);
  const m = t.proc.machine;
  return socketRecv(this, t, f, len, flags, (r) => {
    dropFds(this, r.fds);
    m.write(buf, r.data);
    if (addr && alen) m.writeU32(alen, 0);
    return BigInt((flags & Msg.TRUNC) && f.type !== SockType.STREAM ? r.whole : r.data.length);
  });
}

/** sizeof(struct user_msghdr). */
const MSGHDR_BYTES = 56;

/** copy_msghdr_from_user and the socket: the header (-EFAULT), -EMSGSIZE past UIO_MAXIOV iovecs, -EBADF / -ENOTSOCK, the iovecs. */
function readMsghdr(t: Task, fd: number, msg: bigint): { h: DataView; f: SocketFile; iov: { base: bigint; len: number }[] } | Errno {
  const h = new DataView(t.proc.machine.read(msg, MSGHDR_BYTES).buffer);
  const iovlen = Number(h.getBigUint64(MsgHdr.iovlen, true));
  if (iovlen > UIO_MAXIOV) return Errno.EMSGSIZE;
  const f = sockfd(t, fd);
  if (typeof f === 'number') return f;
  return { h, f, iov: readIov(t, h.getBigUint64(MsgHdr.iov, true), iovlen) };
}

/**
 * sendmsg (___sys_sendmsg, __scm_send): -EMSGSIZE past UIO_MAXIOV iovecs; each SOL_SOCKET control
 * message checked (CMSG_OK: -EINVAL), SCM_RIGHTS descriptors taken (-EINVAL past SCM_MAX_FD,
 * -EBADF for one not open); other levels ignored.
 */
export function sys_sendmsg(this: Kernel, t: Task, fd: number, msg: bigint, flags: number): bigint | 'stop' {
  const m = t.proc.machine;
  const got = readMsghdr(t, fd, msg);
  if (typeof got === 'number') return neg(got);
  const { h, f, iov } = got;
  const data = Buffer.concat(iov.map((v) => m.read(v.base, v.len)));
  const control = h.getBigUint64(MsgHdr.control, true), controllen = Number(h.getBigUint64(MsgHdr.controllen, true));
  let fds: FileRef[] | undefined;
  for (let at = 0; controllen >= CMSGHDR_BYTES && at + CMSGHDR_BYTES <= controllen;) {
    const c = new DataView(m.read(control + BigInt(at), CMSGHDR_BYTES).buffer);
    const clen = Number(c.getBigUint64(0, true)), level = c.getInt32(8, true), type = c.getInt32(12, true);
    if (clen < CMSGHDR_BYTES || at + clen > controllen) return neg(Errno.EINVAL);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      const n = Math.floor((clen - CMSGHDR_BYTES) / 4);
      if (n > 0) {
        if (n + (fds?.length ?? 0) > SCM_MAX_FD) return neg(Errno.EINVAL);
        const raw = new DataView(m.read(control + BigInt(at + CMSGHDR_BYTES), n * 4).buffer);
        for (let i = 0; i < n; i++) {
          const file = t.proc.files.get(raw.getInt32(i * 4, true));
          if (!file) return neg(Errno.EBADF);
          (fds ??= []).push(file);
        }
      }
    }
    at += cmsgAlign(clen);
  }
  if (f.type !== SockType.STREAM && data.length > DGRAM_MAX) return neg(Errno.EMSGSIZE);
  const hasName = h.getBigUint64(MsgHdr.name, true) !== 0n && h.getUint32(MsgHdr.namelen, true) !== 0;
  return socketSend(this, t, f, data, flags, fds, hasName && f.type !== SockType.SEQPACKET);
}

/**
 * recvmsg (___sys_recvmsg, scm_detach_fds): the data scattered over the iovecs, msg_namelen 0, the
 * descriptors installed (O_CLOEXEC with MSG_CMSG_CLOEXEC) as one SCM_RIGHTS message as far as
 * msg_controllen holds them (the rest closed, MSG_CTRUNC), msg_controllen the control bytes used,
 * msg_flags MSG_TRUNC for a cut datagram.
 */
export function sys_recvmsg(this: Kernel, t: Task, fd: number, msg: bigint, flags: number): bigint | 'stop' {
  const m = t.proc.machine;
  const got = readMsghdr(t, fd, msg);
  if (typeof got === 'number') return neg(got);
  const { h, f, iov } = got;
  const len = iov.reduce((a, v) => a + v.len, 0);
  return socketRecv(this, t, f, len, flags, (r) => {
    let off = 0;
    for (const v of iov) { if (off >= r.data.length) break; const n = Math.min(v.len, r.data.length - off); m.write(v.base, r.data.subarray(off, off + n)); off += n; }
    let outFlags = r.truncated ? Msg.TRUNC : 0;
    const control = h.getBigUint64(MsgHdr.control, true), controllen = Number(h.getBigUint64(MsgHdr.controllen, true));
    let used = 0;
    if (r.fds.length) {
      const fdmax = Math.min(r.fds.length, controllen > CMSGHDR_BYTES ? Math.floor((controllen - CMSGHDR_BYTES) / 4) : 0);
      const installed: number[] = [];
      for (let i = 0; i < fdmax; i++) {
        const nfd = this.installFd(t.proc, r.fds[i]!, (flags & Msg.CMSG_CLOEXEC) !== 0);
        if (nfd < 0) break;
        landFromFlight(r.fds[i]!);
        installed.push(nfd);
      }
      if (installed.length) {
        const cm = new DataView(new ArrayBuffer(CMSGHDR_BYTES + installed.length * 4));
        cm.setBigUint64(0, BigInt(CMSGHDR_BYTES + installed.length * 4), true);
        cm.setInt32(8, SOL_SOCKET, true); cm.setInt32(12, SCM_RIGHTS, true);
        installed.forEach((x, i) => cm.setInt32(CMSGHDR_BYTES + i * 4, x, true));
        m.write(control, new Uint8Array(cm.buffer));
        used = Math.min(controllen, cmsgAlign(CMSGHDR_BYTES + installed.length * 4));
      }
      if (installed.length < r.fds.length) outFlags |= Msg.CTRUNC;
      dropFds(this, r.fds.slice(installed.length));
    }
    m.writeU32(msg + BigInt(MsgHdr.namelen), 0);
    m.writeU64(msg + BigInt(MsgHdr.controllen), BigInt(used));
    m.writeU32(msg + BigInt(MsgHdr.flags), outFlags);
    return BigInt((flags & Msg.TRUNC) && f.type !== SockType.STREAM ? r.whole : r.data.length);
  });
}

/** shutdown (__sys_shutdown, unix_shutdown). */
export function sys_shutdown(this: Kernel, t: Task, fd: number, how: number): bigint {
  const f = sockfd(t, fd);
  if (typeof f === 'number') return neg(f);
  return BigInt(unix_shutdown(f.sk, how));
}

/** The last descriptor of a socket went (sock_close, unix_release_sock): its queued descriptors are closed. */
export function socketRelease(this: Kernel, f: SocketFile): void {
  dropFds(this, unix_release_sock(f.sk));
}

/** FIONREAD on a socket (unix_inq_len). */
export function socketInq(f: SocketFile): number {
  return unix_inq_len(f.sk);
}

/** sizeof(struct sockaddr_storage): move_addr_to_kernel's limit. */
const SOCKADDR_STORAGE_BYTES = 128;
/** AF_UNSPEC. */
const AF_UNSPEC = 0;

/**
 * unix_poll / unix_dgram_poll: a socket connected to nothing is writable (OUT, WRNORM, WRBAND), a
 * stream or seqpacket one in TCP_CLOSE also HUP; a connected one as net/unix.ts says.
 */
export function unix_poll(f: SocketFile): number {
  if (f.sk.connected) return unix_poll_connected(f.sk);
  const writable = Poll.OUT | Poll.WRNORM | Poll.WRBAND;
  return f.type === SockType.DGRAM ? writable : writable | Poll.HUP;
}
