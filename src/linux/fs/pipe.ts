/**
 * Anonymous pipes as fs/pipe.c (Linux 6.18) has them: a ring of page-sized buffers
 * (pipe->bufs, max_usage slots, PIPE_DEF_BUFFERS = 16 by default: 65536 bytes), readers and
 * writers counted per open file description, pipe_read and pipe_write with their merge rule,
 * packet mode (O_DIRECT), O_NONBLOCK, EOF once every writer is gone and EPIPE + SIGPIPE once every
 * reader is gone, F_GETPIPE_SZ / F_SETPIPE_SZ (pipe_set_size) and FIONREAD.
 *
 * The descriptors and the sleeping are the process model's (src/linux/fs/file.ts, kernel/sched/core.ts);
 * this file owns the pipe and do_pipe2. A call that would sleep returns a `retry` closure that completes it once it can.
 */
import { GuestMemoryFault } from '../../../emulator/machine.js';
import { Errno, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_NOTIFICATION_PIPE, Poll, SI_USER, Sig } from '../abi.js';
import { ERESTARTSYS } from '../errno.js';
import type { Kernel } from '../kernel.js';
import type { Task, Process } from '../sched.js';
import { wake_up_poll, WaitQueueHead } from '../kernel/sched/wait.js';

/** PAGE_SIZE on x86-64: one pipe buffer's page. */
export const PIPE_PAGE = 4096;
/** PIPE_DEF_BUFFERS (include/linux/pipe_fs_i.h): slots of a new pipe. */
export const PIPE_DEF_BUFFERS = 16;
/** PIPE_BUF (include/uapi/linux/limits.h): writes up to this size are atomic. */
export const PIPE_BUF = 4096;
/** round_pipe_size(): sizes above 2^31 are refused (fs/pipe.c). */
const PIPE_SIZE_LIMIT = 2 ** 31;

/**
 * Counts every change to any pipe (data moved, an end released): a sleeper's retry that moved
 * data may let another sleeper go on, so the scheduler retries sleepers until this stops moving.
 */
export const pipeActivity = { changes: 0 };

/** struct pipe_buffer: a page, the offset and length of its data, and its flags. */
interface PipeBuffer {
  page: Uint8Array;
  offset: number;
  len: number;
  /** PIPE_BUF_FLAG_CAN_MERGE: anon_pipe_buf from an ordinary write; a packet buffer never merges. */
  canMerge: boolean;
  /** PIPE_BUF_FLAG_PACKET: written in packet mode; a read takes it whole or drops the rest. */
  packet: boolean;
}

/** struct pipe_inode_info. */
export class Pipe {
  readonly bufs: PipeBuffer[] = [];
  /** pipe->max_usage: slots usable (F_SETPIPE_SZ changes it). */
  maxUsage = PIPE_DEF_BUFFERS;
  /** Open file descriptions of each end (pipe->readers, pipe->writers). */
  readers = 0;
  writers = 0;
  /**
   * pipe->rd_wait and pipe->wr_wait: what pipe_poll registers a reading and a writing file on
   * (epoll's entries; the model's sleeping tasks are retried instead, kernel/sched/core.ts).
   */
  readonly rdWait = new WaitQueueHead();
  readonly wrWait = new WaitQueueHead();
  constructor(readonly ino: number) {}
  get empty(): boolean { return this.bufs.length === 0; }
  get full(): boolean { return this.bufs.length >= this.maxUsage; }
  /** FIONREAD: the bytes in every buffer. */
  get bytes(): number { return this.bufs.reduce((a, b) => a + b.len, 0); }
}

/** One end's open file description: O_NONBLOCK and O_DIRECT live here (f_flags), shared by dup and fork. */
export interface PipeFile {
  kind: 'pipe';
  pipe: Pipe;
  write: boolean;
  /** f_flags bits that matter to a pipe: O_NONBLOCK, O_DIRECT. */
  flags: number;
  /** Descriptors (in every process) that refer to this file; the last close releases the end. */
  refs: number;
}

/** create_pipe_files(): the two ends of a new pipe, each with one reference. */
export function create_pipe_files(ino: number, flags: number): [PipeFile, PipeFile] {
  const pipe = new Pipe(ino);
  const f = flags & (O_NONBLOCK | O_DIRECT);
  pipe.readers = 1;
  pipe.writers = 1;
  return [{ kind: 'pipe', pipe, write: false, flags: f, refs: 1 }, { kind: 'pipe', pipe, write: true, flags: f, refs: 1 }];
}

/** pipe_release(): the last descriptor of an end is closed. */
export function pipe_release(f: PipeFile): void {
  pipeActivity.changes++;
  const pipe = f.pipe;
  if (f.write) pipe.writers--;
  else pipe.readers--;
  // The last reader or writer went but not the other side: wake_up_interruptible_all on both queues (NULL key).
  if ((pipe.readers === 0) !== (pipe.writers === 0)) {
    wake_up_poll(pipe.rdWait, 0, 0);
    wake_up_poll(pipe.wrWait, 0, 0);
  }
}

/** Readers' wakeup (wake_up_interruptible_sync_poll(&pipe->rd_wait, EPOLLIN | EPOLLRDNORM)). */
const wakeReaders = (pipe: Pipe): void => wake_up_poll(pipe.rdWait, Poll.IN | Poll.RDNORM);
/** Writers' wakeup (wake_up_interruptible_sync_poll(&pipe->wr_wait, EPOLLOUT | EPOLLWRNORM)). */
const wakeWriters = (pipe: Pipe): void => wake_up_poll(pipe.wrWait, Poll.OUT | Poll.WRNORM);

/** What a read or write gives now: a result, or a closure that completes it later (undefined: not yet). */
export type PipeIo = bigint | { retry: () => bigint | undefined; interrupted: () => bigint };

const neg = (e: Errno): bigint => -BigInt(e);

/**
 * Up to `len` bytes from the ring, as takeBytes would take them, without taking them: pipe_read
 * copies to user space before it advances a buffer, so a copy that faults (-EFAULT) leaves the data.
 */
function peekBytes(pipe: Pipe, len: number): Uint8Array {
  const out: Uint8Array[] = [];
  let want = len;
  for (const buf of pipe.bufs) {
    if (want <= 0) break;
    const chars = Math.min(buf.len, want);
    out.push(buf.page.subarray(buf.offset, buf.offset + chars));
    want -= chars;
    if (buf.packet) break;
  }
  return Buffer.concat(out);
}

/**
 * Take up to `len` bytes from the ring (pipe_read's copy loop). `released.fromFull` is set when a
 * buffer left a full ring (anon_pipe_read's wake_writer: writers are woken only then).
 */
function takeBytes(pipe: Pipe, len: number, released: { fromFull: boolean }): Uint8Array {
  const out: Uint8Array[] = [];
  let want = len;
  if (!pipe.empty) pipeActivity.changes++;
  while (want > 0 && !pipe.empty) {
    const buf = pipe.bufs[0]!;
    const chars = Math.min(buf.len, want);
    out.push(buf.page.slice(buf.offset, buf.offset + chars));
    buf.offset += chars;
    buf.len -= chars;
    want -= chars;
    if (buf.packet) {
      // A packet is read once: what did not fit in the reader's buffer is dropped.
      buf.len = 0;
      want = 0;
    }
    if (buf.len === 0) {
      if (pipe.full) released.fromFull = true;
      pipe.bufs.shift();
    }
  }
  return Buffer.concat(out);
}

/**
 * pipe_read(): what is there (up to `len`), else 0 at EOF (no writer), else -EAGAIN with
 * O_NONBLOCK, else a wait until a writer writes or the last writer goes. `deliver` copies to user.
 */
export function pipe_read(f: PipeFile, len: number, deliver: (b: Uint8Array) => void): PipeIo {
  if (f.write) return neg(Errno.EBADF); // vfs_read: not opened for reading
  if (len === 0) return 0n;
  const pipe = f.pipe;
  // Set once the reader slept (anon_pipe_read's wake_next_reader): it then wakes the next reader if data is left.
  let slept = false;
  const attempt = (): bigint | undefined => {
    if (!pipe.empty) {
      deliver(peekBytes(pipe, len));
      const released = { fromFull: false };
      const b = takeBytes(pipe, len, released);
      if (released.fromFull) wakeWriters(pipe);
      if (slept && !pipe.empty) wakeReaders(pipe);
      return BigInt(b.length);
    }
    if (pipe.writers === 0) return 0n;
    return undefined;
  };
  const now = attempt();
  if (now !== undefined) return now;
  if (f.flags & O_NONBLOCK) return neg(Errno.EAGAIN);
  slept = true;
  // pipe_read: a signal before any data is -ERESTARTSYS.
  return { retry: attempt, interrupted: () => -BigInt(ERESTARTSYS) };
}

/**
 * pipe_write(): -EPIPE and SIGPIPE without readers; the part of the data below a page boundary
 * merges into the last buffer when it fits whole (so writes of PIPE_BUF or less stay atomic);
 * the rest fills new buffers while slots are free; a full pipe gives what was written, -EAGAIN
 * with O_NONBLOCK, or a wait.
 */
export function pipe_write(f: PipeFile, data: Uint8Array, sigpipe: () => void): PipeIo {
  if (!f.write) return neg(Errno.EBADF);
  const pipe = f.pipe;
  const packet = (f.flags & O_DIRECT) !== 0;
  if (pipe.readers === 0) { sigpipe(); return neg(Errno.EPIPE); }
  if (data.length === 0) return 0n;
  let done = 0;
  // anon_pipe_write's wakeups at `out`: the readers whenever the pipe is polled (poll_usage: any
  // epoll entry on rd_wait came through pipe_poll, so a write with an entry always wakes, even one
  // that wrote nothing), and the next writer once this one slept and left room.
  let sleptOnce = false;
  const out = (): void => {
    wakeReaders(pipe);
    if (sleptOnce && !pipe.full) wakeWriters(pipe);
  };
  // The merge step runs once, at the start of the call.
  const chars = data.length & (PIPE_PAGE - 1);
  const last = pipe.bufs[pipe.bufs.length - 1];
  if (chars && last && last.canMerge && last.offset + last.len + chars <= PIPE_PAGE) {
    last.page.set(data.subarray(0, chars), last.offset + last.len);
    last.len += chars;
    done = chars;
    pipeActivity.changes++;
  }
  const fill = (): void => {
    if (done < data.length && !pipe.full) pipeActivity.changes++;
    while (done < data.length && !pipe.full) {
      const n = Math.min(PIPE_PAGE, data.length - done);
      const page = new Uint8Array(PIPE_PAGE);
      page.set(data.subarray(done, done + n), 0);
      pipe.bufs.push({ page, offset: 0, len: n, canMerge: !packet, packet });
      done += n;
    }
  };
  let wasEmpty = pipe.empty;
  fill();
  if (done === data.length) { out(); return BigInt(done); }
  if (f.flags & O_NONBLOCK) { out(); return done ? BigInt(done) : neg(Errno.EAGAIN); }
  // Before sleeping on a full pipe: the readers, if this round began on an empty one.
  if (wasEmpty) wakeReaders(pipe);
  return {
    retry: () => {
      if (pipe.readers === 0) { sigpipe(); out(); return done ? BigInt(done) : neg(Errno.EPIPE); }
      // Still full: the writer sleeps on (pipe_writable is false), no new round.
      if (pipe.full) return undefined;
      sleptOnce = true;
      wasEmpty = pipe.empty;
      fill();
      if (done === data.length) { out(); return BigInt(done); }
      if (wasEmpty) wakeReaders(pipe);
      return undefined;
    },
    // pipe_write: a signal gives what was written, or -ERESTARTSYS before anything was.
    interrupted: () => { out(); return done ? BigInt(done) : -BigInt(ERESTARTSYS); },
  };
}

/** F_GETPIPE_SZ. */
export function pipe_get_size(pipe: Pipe): bigint {
  return BigInt(pipe.maxUsage * PIPE_PAGE);
}

/**
 * pipe_set_size() (F_SETPIPE_SZ): the size rounded up to a power-of-two number of pages (one page
 * at least); -EINVAL above 2^31; -EBUSY when the data in the pipe would not fit. The model's
 * task runs as uid 0 with CAP_SYS_RESOURCE, so /proc/sys/fs/pipe-max-size does not apply.
 */
export function pipe_set_size(pipe: Pipe, arg: bigint): bigint {
  const want = Number(BigInt.asUintN(32, arg));
  if (want > PIPE_SIZE_LIMIT) return neg(Errno.EINVAL);
  let size = PIPE_PAGE;
  while (size < want) size *= 2;
  const slots = size / PIPE_PAGE;
  if (slots < pipe.bufs.length) return neg(Errno.EBUSY);
  pipe.maxUsage = slots;
  return BigInt(size);
}

/** sys_pipe2's accepted flags (fs/pipe.c __do_pipe_flags). */
const PIPE2_FLAGS = O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE;
/** ENOPKG (include/uapi/asm-generic/errno.h): watch_queue_init() in a kernel without CONFIG_WATCH_QUEUE. */
const ENOPKG = 65;

/** A pipe read or write: done now, or the task sleeps until `retry` completes it. */
export function pipeIo(this: Kernel, t: Task, what: string, io: PipeIo): bigint | 'stop' {
  if (typeof io === 'bigint') return io;
  return this.block(t, { what, retry: io.retry, interrupted: io.interrupted });
}

/** pipe_write's send_sig(SIGPIPE, current, 0): si_code SI_USER from the writer itself. */
export function sigpipe(this: Kernel, t: Task): void {
  this.sendToThread(t, { signo: Sig.SIGPIPE, code: SI_USER, pid: t.proc.pid, uid: 0 });
}

/**
 * pipe and pipe2 (fs/pipe.c do_pipe2): flags beyond O_CLOEXEC, O_NONBLOCK, O_DIRECT and
 * O_NOTIFICATION_PIPE are -EINVAL; a notification pipe is -ENOPKG (named assumption: the model's
 * kernel is built without CONFIG_WATCH_QUEUE). fd[0] reads, fd[1] writes.
 */
export function pipe2(this: Kernel, p: Process, fds: bigint, flags: number): bigint {
  if (flags & ~PIPE2_FLAGS) return neg(Errno.EINVAL);
  if (flags & O_NOTIFICATION_PIPE) return -BigInt(ENOPKG);
  const [r, w] = create_pipe_files(this.nextPipeIno++, flags);
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const rfd = this.installFd(p, r, cloexec);
  if (rfd < 0) return BigInt(rfd);
  const wfd = this.installFd(p, w, cloexec);
  // __do_pipe_flags: the read end's descriptor is given back when the write end gets none.
  if (wfd < 0) { this.closeFd(p, rfd); return BigInt(wfd); }
  const b = new Uint8Array(8);
  new DataView(b.buffer).setInt32(0, rfd, true);
  new DataView(b.buffer).setInt32(4, wfd, true);
  try {
    p.machine.write(fds, b);
  } catch (e) {
    // do_pipe2: both descriptors are undone when the copy to user space fails.
    this.closeFd(p, rfd);
    this.closeFd(p, wfd);
    if (e instanceof GuestMemoryFault) return neg(Errno.EFAULT);
    throw e;
  }
  return 0n;
}
