/**
 * Connected AF_UNIX sockets (net/unix/af_unix.c, Linux 6.18): socketpair's two ends, their queues of
 * messages (sk_buffs) carrying data and passed descriptors (SCM_RIGHTS), shutdown, a peer's release,
 * and the wakeups poll and epoll see.
 *
 * Stream sockets glue the messages of one writer on reading and stop after a message that carried
 * descriptors; datagram and seqpacket sockets read one message per call (the rest of a longer one
 * is dropped: MSG_TRUNC). A sender waits while what it has queued (sk_wmem_alloc: each message's
 * truesize) reaches sk_sndbuf (212992, net.core.wmem_default); poll reports it writable while that
 * is at most a quarter of sk_sndbuf (unix_writable). max_dgram_qlen does not apply between a
 * socketpair's ends (unix_dgram_sendmsg checks it only when the receiver's peer is another socket).
 * A message's truesize is that of a linear sk_buff (named assumption `unix-skb-truesize`: the kmalloc
 * bucket of SKB_DATA_ALIGN(len) + 320 bytes of skb_shared_info, plus 256 for struct sk_buff, Linux
 * 6.18 x86-64's sizes; measured: 278 one-byte datagrams fill sk_sndbuf, 768 bytes each). Large
 * stream messages, which Linux builds from page fragments, are counted the same way.
 */
import { Errno, Poll } from '../abi.js';
import { wake_up_poll, WaitQueueHead } from '../kernel/sched/wait.js';
import type { FileRef } from '../sched.js';
import { pipeActivity } from '../fs/pipe.js';

/** Socket types (include/linux/net.h enum sock_type). */
export enum SockType { STREAM = 1, DGRAM = 2, RAW = 3, RDM = 4, SEQPACKET = 5, PACKET = 10 }
/** sk_shutdown bits (include/net/sock.h RCV_SHUTDOWN, SEND_SHUTDOWN). */
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
const SHUTDOWN_MASK = RCV_SHUTDOWN | SEND_SHUTDOWN;
/** net.core.wmem_default: a new socket's sk_sndbuf. */
export const SK_SNDBUF = 212_992;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) and SKB_DATA_ALIGN(sizeof(struct sk_buff)) (x86-64, 6.18). */
const SKB_SHINFO_BYTES = 320;
const SKB_STRUCT_BYTES = 256;
/** SMP_CACHE_BYTES: SKB_DATA_ALIGN's unit. */
const SKB_ALIGN = 64;
/** kmalloc's size classes (mm/slab_common.c kmalloc_info, with the 96 and 192 byte caches). */
const KMALLOC_SIZES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];

/** An sk_buff's truesize for `len` bytes of data (SKB_TRUESIZE of kmalloc_size_roundup; larger heads round to a power of two). */
export function skbTruesize(len: number): number {
  const head = Math.ceil(len / SKB_ALIGN) * SKB_ALIGN + SKB_SHINFO_BYTES;
  const bucket = KMALLOC_SIZES.find((b) => b >= head) ?? 2 ** Math.ceil(Math.log2(head));
  return bucket + SKB_STRUCT_BYTES;
}
/** A stream message is at most half of sk_sndbuf less 64 bytes (unix_stream_sendmsg). */
const STREAM_SKB_MAX = (SK_SNDBUF >> 1) - 64;
/** A datagram may be at most sk_sndbuf - 32 bytes (unix_dgram_sendmsg: -EMSGSIZE). */
export const DGRAM_MAX = SK_SNDBUF - 32;
/** sock_def_readable's and unix_write_space's poll keys. */
const READABLE_KEY = Poll.IN | Poll.PRI | Poll.RDNORM | Poll.RDBAND;
const WRITABLE_KEY = Poll.OUT | Poll.WRNORM | Poll.WRBAND;

/** An sk_buff as a unix socket queues it: the data, how much of it was read, who sent it, its truesize, the descriptors it carries. */
export interface Skb { data: Uint8Array; off: number; from: UnixSock; truesize: number; fds?: FileRef[] }

/** struct unix_sock. */
export class UnixSock {
  peer: UnixSock | undefined;
  /** sk_state TCP_ESTABLISHED: a socketpair's ends, for ever (a peer's release leaves it so). */
  connected = false;
  readonly queue: Skb[] = [];
  shutdown = 0;
  /** sk_err: ECONNRESET once a stream peer went with data unread. */
  err = 0;
  dead = false;
  /** The truesize of what this socket has queued at its peer and not yet read (sk_wmem_alloc). */
  wmem = 0;
  /** The socket's wait queue (sk_wq): what poll and epoll register on. */
  readonly wq = new WaitQueueHead();
  constructor(readonly type: SockType) {}
}

/** unix_socketpair: two connected ends. */
export function unix_socketpair(type: SockType): [UnixSock, UnixSock] {
  const a = new UnixSock(type), b = new UnixSock(type);
  a.peer = b; b.peer = a;
  a.connected = b.connected = true;
  return [a, b];
}

const changed = (): void => { pipeActivity.changes++; };

/** unix_writable: a quarter of sk_sndbuf or less queued, for poll. */
function writable(sk: UnixSock): boolean {
  return sk.wmem * 4 <= SK_SNDBUF;
}

/** An sk_buff freed: its sender's write space comes back (sock_wfree, unix_write_space). */
function freeSkb(skb: Skb): void {
  const from = skb.from;
  from.wmem -= skb.truesize;
  changed();
  if (writable(from)) wake_up_poll(from.wq, WRITABLE_KEY);
}

/** What sendmsg gives: bytes queued, an errno (negative), or "wait" (the queue is full). */
export type SendResult = number | 'wait';

/**
 * One send on a connected socket (unix_stream_sendmsg, unix_dgram_sendmsg): -ENOTCONN unconnected,
 * -EPIPE after SEND_SHUTDOWN or with a stream peer gone or shut for reading (the caller raises
 * SIGPIPE for a stream socket unless MSG_NOSIGNAL), -ECONNREFUSED for a datagram peer gone,
 * -EMSGSIZE for a datagram too large; a full queue is "wait" before anything was sent. `sent` is
 * what an earlier round of this call queued (a stream write in parts).
 */
export function unix_send(sk: UnixSock, data: Uint8Array, fds: FileRef[] | undefined, sent: number): SendResult {
  if (!sk.connected) return -Errno.ENOTCONN;
  if (sk.shutdown & SEND_SHUTDOWN) return -Errno.EPIPE;
  const other = sk.peer!;
  if (sk.type === SockType.STREAM) {
    while (sent < data.length) {
      if (other.dead || (other.shutdown & RCV_SHUTDOWN)) return sent || -Errno.EPIPE;
      if (sk.wmem >= SK_SNDBUF) return sent || 'wait';
      const n = Math.min(data.length - sent, STREAM_SKB_MAX);
      const skb: Skb = { data: data.slice(sent, sent + n), off: 0, from: sk, truesize: skbTruesize(n), ...(sent === 0 && fds ? { fds } : {}) };
      other.queue.push(skb);
      sk.wmem += skb.truesize;
      sent += n;
      changed();
      wake_up_poll(other.wq, READABLE_KEY);
    }
    return sent;
  }
  if (data.length > DGRAM_MAX) return -Errno.EMSGSIZE;
  if (other.dead) return sk.type === SockType.SEQPACKET ? -Errno.EPIPE : -Errno.ECONNREFUSED;
  if (sk.type === SockType.SEQPACKET && (other.shutdown & RCV_SHUTDOWN)) return -Errno.EPIPE;
  if (sk.wmem >= SK_SNDBUF) return 'wait';
  const skb: Skb = { data: data.slice(), off: 0, from: sk, truesize: skbTruesize(data.length), ...(fds ? { fds } : {}) };
  other.queue.push(skb);
  sk.wmem += skb.truesize;
  changed();
  wake_up_poll(other.wq, READABLE_KEY);
  return data.length;
}

/** What a receive gives: the bytes, the descriptors taken, whether a datagram was cut, its whole length. */
export interface Received { data: Uint8Array; fds: FileRef[]; truncated: boolean; whole: number }

/**
 * One receive (unix_stream_read_generic, unix_dgram_recvmsg): undefined when it must wait; an errno
 * (negative) for sk_err or a stream socket that is not connected. A stream read takes from the
 * queue in order up to `len`, stopping after a message that carried descriptors; with nothing
 * queued on a stream whose peer is gone or shut, 0 bytes. A datagram or seqpacket read takes one
 * message. `peek` leaves the queue as it was (and takes no descriptors: named simplification,
 * Linux installs duplicates). MSG_WAITALL's accumulation is the caller's.
 */
export function unix_recv(sk: UnixSock, len: number, peek: boolean): Received | number | undefined {
  const none: Received = { data: new Uint8Array(0), fds: [], truncated: false, whole: 0 };
  if (sk.type === SockType.STREAM) {
    if (!sk.connected) return -Errno.EINVAL;
    // A read of 0 bytes still waits for something to be there (sock_rcvlowat's target is at least 1).
    if (len === 0 && sk.queue.length) return none;
    const parts: Uint8Array[] = [];
    let copied = 0;
    let fds: FileRef[] = [];
    for (let i = 0, skip = 0; copied < len;) {
      const skb = peek ? sk.queue[i] : sk.queue[0];
      if (!skb) break;
      const start = skb.off + skip;
      const n = Math.min(len - copied, skb.data.length - start);
      parts.push(skb.data.subarray(start, start + n));
      copied += n;
      if (peek) {
        if (skb.fds) break;
        if (start + n >= skb.data.length) { i++; skip = 0; } else skip += n;
        continue;
      }
      if (skb.fds) { fds = skb.fds; skb.fds = undefined; }
      skb.off += n;
      if (skb.off >= skb.data.length) { sk.queue.shift(); freeSkb(skb); }
      if (fds.length) break;
    }
    if (copied > 0 || fds.length) return { data: Buffer.concat(parts), fds, truncated: false, whole: copied };
    if (sk.err) { const e = sk.err; sk.err = 0; return -e; }
    if (sk.shutdown & RCV_SHUTDOWN) return none;
    return undefined;
  }
  const skb = sk.queue[0];
  if (!skb) return (sk.shutdown & RCV_SHUTDOWN) ? none : undefined;
  const n = Math.min(len, skb.data.length);
  const r: Received = { data: skb.data.slice(0, n), fds: peek ? [] : (skb.fds ?? []), truncated: n < skb.data.length, whole: skb.data.length };
  if (!peek) { sk.queue.shift(); freeSkb(skb); }
  return r;
}

/** unix_shutdown: SHUT_RD, SHUT_WR, SHUT_RDWR (0..2; -EINVAL else); a stream or seqpacket peer gets the mirror bits; both are woken. */
export function unix_shutdown(sk: UnixSock, how: number): number {
  if (how < 0 || how > 2) return -Errno.EINVAL;
  const mode = how + 1;
  sk.shutdown |= mode;
  const other = sk.peer;
  if (other && sk.type !== SockType.DGRAM) {
    other.shutdown |= ((mode & RCV_SHUTDOWN) ? SEND_SHUTDOWN : 0) | ((mode & SEND_SHUTDOWN) ? RCV_SHUTDOWN : 0);
    changed();
    wake_up_poll(other.wq, other.shutdown === SHUTDOWN_MASK ? Poll.HUP : Poll.IN | Poll.RDHUP);
  }
  changed();
  wake_up_poll(sk.wq, 0);
  return 0;
}

/**
 * unix_release_sock: the socket is dead; a stream or seqpacket peer is shut both ways (and gets
 * ECONNRESET if this end left data unread) and woken; the descriptors in this end's queue are
 * returned for closing.
 */
export function unix_release_sock(sk: UnixSock): FileRef[] {
  sk.dead = true;
  sk.shutdown = SHUTDOWN_MASK;
  const other = sk.peer;
  if (other && sk.type !== SockType.DGRAM) {
    if (sk.queue.length) other.err = Errno.ECONNRESET;
    other.shutdown = SHUTDOWN_MASK;
    wake_up_poll(other.wq, Poll.HUP);
  } else if (other) wake_up_poll(other.wq, WRITABLE_KEY);
  changed();
  const fds: FileRef[] = [];
  for (const skb of sk.queue.splice(0)) { if (skb.fds) fds.push(...skb.fds); skb.from.wmem -= skb.truesize; }
  return fds;
}

/**
 * unix_poll and unix_dgram_poll of a connected socket: ERR for sk_err, HUP when shut both ways,
 * IN|RDNORM|RDHUP once shut for reading, IN|RDNORM with a message queued; writable (OUT, WRNORM,
 * WRBAND) by unix_writable.
 */
export function unix_poll_connected(sk: UnixSock): number {
  let mask = 0;
  if (sk.err) mask |= Poll.ERR;
  if (sk.shutdown === SHUTDOWN_MASK) mask |= Poll.HUP;
  if (sk.shutdown & RCV_SHUTDOWN) mask |= Poll.RDHUP | Poll.IN | Poll.RDNORM;
  if (sk.queue.length) mask |= Poll.IN | Poll.RDNORM;
  if (writable(sk)) mask |= WRITABLE_KEY;
  return mask;
}

/** FIONREAD (unix_inq_len): a stream socket's unread bytes, a datagram socket's first message's length. */
export function unix_inq_len(sk: UnixSock): number {
  if (sk.type === SockType.STREAM) return sk.queue.reduce((a, s) => a + s.data.length - s.off, 0);
  return sk.queue[0]?.data.length ?? 0;
}
