/**
 * The modelled /proc (fs/proc/base.c, fs/proc/root.c, fs/proc/self.c, fs/proc/thread_self.c,
 * Linux 6.18): /proc/self, /proc/thread-self, /proc/<pid>, /proc/<pid>/task/<tid> and the files
 * test programs read in them. Every byte comes from the model; /proc never reads the host's.
 *
 * A file's text is made when it is read from offset 0 (seq_file builds it on the first read, and
 * again after a seek to 0), so a status read after PTRACE_ATTACH shows the tracer.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { Errno, O_ACCMODE, O_NONBLOCK } from '../../abi.js';
import type { Kernel } from '../../kernel.js';
import { type FileRef, type MemFile, type Process, type Task, TaskState } from '../../sched.js';
import { do_task_stat, proc_pid_status, taskComm } from './array.js';
import { show_map } from './task_mmu.js';
import { show_cpuinfo } from './cpuinfo.js';
import { proc_pid_arch_status } from '../../arch/x86/kernel/fpu/xstate.js';

/** The mount point of procfs. */
export const PROC_ROOT = '/proc';

/** What a /proc path names: a file made from the model, a symbolic link, or a directory. */
export type ProcNode =
  | { kind: 'file'; path: string; make: () => Uint8Array }
  | { kind: 'link'; path: string; target: () => string; file?: FileRef }
  | { kind: 'dir'; path: string; list: () => string[] };

/** A /proc file the guest opened: its text is made again on each read from offset 0. */
export type ProcFile = MemFile;

/** The entries of /proc/<pid> and /proc/<pid>/task/<tid> (tgid_base_stuff / tid_base_stuff) the model has. */
enum PidEntry { Status = 'status', Stat = 'stat', Maps = 'maps', Cmdline = 'cmdline', Comm = 'comm', Auxv = 'auxv', Exe = 'exe', Fd = 'fd', Task = 'task', ArchStatus = 'arch_status', Cwd = 'cwd', Root = 'root' }
const TGID_ENTRIES: readonly PidEntry[] = Object.values(PidEntry);
const TID_ENTRIES: readonly PidEntry[] = TGID_ENTRIES.filter((e) => e !== PidEntry.Task);
/** The model's working and root directory (named assumption `proc-cwd-root`: the model has no chdir; both are /). */
const MODELLED_CWD = '/';

const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Whether a path is under /proc (after normalisation). */
export function isProcPath(path: string): boolean {
  const n = posix.normalize(path);
  return n === PROC_ROOT || n.startsWith(`${PROC_ROOT}/`);
}

/** A task /proc can show: alive, or a zombie not yet reaped (pid_alive / the pid still hashed). */
function visible(t: Task): boolean {
  if (t.proc.reaped) return false;
  // A thread that exited is gone at once (release_task); the group leader stays while the group lives.
  return t.state !== TaskState.Dead || (t.tid === t.proc.pid && !t.proc.alive);
}

/** proc_pid_lookup: any visible task by its id (a thread id works too, though /proc lists only tgids). */
function taskById(k: Kernel, id: number): Task | undefined {
  return k.tasks.find((t) => t.tid === id && visible(t));
}

/** The leader of a thread group (the task whose tid is the pid). */
function leader(p: Process): Task {
  return p.threads.find((t) => t.tid === p.pid) ?? p.threads[0]!;
}

/** proc_pid_cmdline_read (fs/proc/base.c, 6.18): the bytes from arg_start to arg_end, read live from the process's memory. */
function cmdline(p: Process): Uint8Array {
  if (!p.alive || p.argEnd <= p.argStart) return new Uint8Array(0);
  try { return p.machine.read(p.argStart, Number(p.argEnd - p.argStart)); } catch { return new Uint8Array(0); }
}

/** proc_pid_auxv (fs/proc/base.c): mm->saved_auxv up to and including AT_NULL. */
function auxv(p: Process): Uint8Array {
  const b = new Uint8Array(8 * p.auxv.length);
  const v = new DataView(b.buffer);
  p.auxv.forEach((w, i) => v.setBigUint64(8 * i, w, true));
  return b;
}

/** proc_fd_link: what /proc/<pid>/fd/<n> points at (d_path of the open file, or the pseudo-file names). */
function fdTarget(f: FileRef): string {
  switch (f.kind) {
    // Named assumption `proc-fd-stdio`: stdio is a terminal in the model (fs/stat.ts reports a character device).
    case 'host': return '/dev/pts/0';
    case 'file': return f.path;
    case 'pipe': return `pipe:[${f.pipe.ino}]`;
    case 'kvm': return '/dev/kvm';
    // anon_inode_getfile's names (virt/kvm/kvm_main.c: "kvm-vm", "kvm-vcpu:%d").
    case 'kvm-vm': return 'anon_inode:kvm-vm';
    case 'kvm-vcpu': return `anon_inode:kvm-vcpu:${f.id}`;
    // signalfd_create's anon_inode_getfile name (fs/signalfd.c: "[signalfd]").
    case 'signalfd': return 'anon_inode:[signalfd]';
    // do_eventfd's and do_epoll_create's names ("[eventfd]", "[eventpoll]").
    case 'eventfd': return 'anon_inode:[eventfd]';
    case 'epoll': return 'anon_inode:[eventpoll]';
    case 'timerfd': return 'anon_inode:[timerfd]';
    case 'socket': return `socket:[${f.ino}]`;
  }
}

/** One entry of /proc/<pid> or /proc/<pid>/task/<tid> for task `t` (`group`: the tgid directory). */
function pidEntry(k: Kernel, t: Task, group: boolean, entry: string, rest: string[], path: string): ProcNode | undefined {
  const p = t.proc;
  const subject = group ? leader(p) : t;
  if (!(group ? TGID_ENTRIES : TID_ENTRIES).includes(entry as PidEntry)) return undefined;
  const dirPath = path;
  switch (entry as PidEntry) {
    case PidEntry.Status: return rest.length ? undefined : { kind: 'file', path, make: () => text(proc_pid_status(k, subject)) };
    case PidEntry.Stat: return rest.length ? undefined : { kind: 'file', path, make: () => text(do_task_stat(k, subject, group)) };
    case PidEntry.Maps: return rest.length ? undefined : { kind: 'file', path, make: () => text(p.alive ? show_map(p) : '') };
    case PidEntry.Cmdline: return rest.length ? undefined : { kind: 'file', path, make: () => cmdline(p) };
    case PidEntry.Comm: return rest.length ? undefined : { kind: 'file', path, make: () => text(`${taskComm(p)}\n`) };
    case PidEntry.Auxv: return rest.length ? undefined : { kind: 'file', path, make: () => auxv(p) };
    case PidEntry.ArchStatus: return rest.length ? undefined : { kind: 'file', path, make: () => text(proc_pid_arch_status(k, subject)) };
    case PidEntry.Exe: return rest.length ? undefined : { kind: 'link', path, target: () => p.exePath };
    case PidEntry.Cwd: case PidEntry.Root: return rest.length ? undefined : { kind: 'link', path, target: () => MODELLED_CWD };
    case PidEntry.Fd: {
      if (!rest.length) return { kind: 'dir', path, list: () => [...p.files.keys()].sort((a, b) => a - b).map(String) };
      if (rest.length > 1 || !/^\d+$/.test(rest[0]!)) return undefined;
      const f = p.files.get(Number(rest[0]));
      return f ? { kind: 'link', path, target: () => fdTarget(f), file: f } : undefined;
    }
    case PidEntry.Task: {
      const tasks = (): Task[] => p.threads.filter(visible);
      if (!rest.length) return { kind: 'dir', path, list: () => tasks().map((x) => String(x.tid)) };
      const tt = tasks().find((x) => String(x.tid) === rest[0]);
      if (!tt) return undefined;
      if (rest.length === 1) return { kind: 'dir', path: `${dirPath}/${rest[0]}`, list: () => [...TID_ENTRIES] };
      return pidEntry(k, tt, false, rest[1]!, rest.slice(2), path);
    }
  }
}

/**
 * Walk a /proc path (proc_root_lookup, proc_pid_lookup, proc_task_lookup): /proc/self and
 * /proc/thread-self follow the caller (proc_self_get_link: the caller's tgid; thread-self:
 * tgid/task/tid). `follow`: a final symbolic link is followed as open() does (exe opens the
 * program, fd/<n> the open file); readlink passes false. Undefined: ENOENT.
 */
export function procLookup(this: Kernel, t: Task, path: string, follow = true): ProcNode | undefined {
  const n = posix.normalize(path);
  const parts = n.split('/').filter((x) => x).slice(1);
  if (parts.length === 1 && parts[0] === 'cpuinfo') return { kind: 'file', path: n, make: () => text(show_cpuinfo(this)) };
  if (!parts.length) return { kind: 'dir', path: PROC_ROOT, list: () => ['cpuinfo', 'self', 'thread-self', ...this.tasks.filter((x) => visible(x) && x.tid === x.proc.pid).map((x) => String(x.tid))] };
  const [head, ...rest] = parts as [string, ...string[]];
  if (head === 'self' || head === 'thread-self') {
    const target = head === 'self' ? `${t.proc.pid}` : `${t.proc.pid}/task/${t.tid}`;
    if (!rest.length && !follow) return { kind: 'link', path: n, target: () => target };
    return this.procLookup(t, `${PROC_ROOT}/${target}/${rest.join('/')}`, follow);
  }
  if (!/^\d+$/.test(head)) return undefined;
  const task = taskById(this, Number(head));
  if (!task) return undefined;
  if (!rest.length) return { kind: 'dir', path: n, list: () => [...TGID_ENTRIES] };
  return pidEntry(this, task, true, rest[0]!, rest.slice(1), n);
}

/** Open access modes (include/uapi/asm-generic/fcntl.h). */
const O_WRONLY = 1;
const O_RDWR = 2;

/**
 * open() of /proc/<pid>/fd/<n> (proc_fd_link, then the path's own open): a new open file
 * description of what the descriptor refers to, not a dup. A pipe is opened as a FIFO
 * (fifo_open: an anonymous pipe never waits for a partner): O_RDONLY a new reader, O_WRONLY a new
 * writer, with this open's O_NONBLOCK; O_RDWR on a pipe is not modelled (one PipeFile is one end:
 * -ENXIO with a warning). A named file or a /proc file opens again at offset 0 (read-only: EACCES
 * for writing); /dev/kvm opens a new /dev/kvm. Anonymous inodes (signalfd, KVM's VM and vCPU) have
 * no open (anon_inode_fops: -ENXIO). The host's stdio: named assumption `proc-fd-stdio-dup`, the
 * model has no terminal to open, so it shares the open file (a dup).
 */
export function reopenFdTarget(this: Kernel, f: FileRef, flags: number): FileRef | Errno {
  const mode = flags & O_ACCMODE;
  switch (f.kind) {
    case 'pipe': {
      if (mode === O_RDWR) {
        if (!this.warnedOnce.has('proc-fd-pipe-rdwr')) {
          this.warnedOnce.add('proc-fd-pipe-rdwr');
          this.o.stderr('xstate-lab: warning: opening a pipe read-write through /proc/<pid>/fd is not modelled; it returns -ENXIO');
        }
        return Errno.ENXIO;
      }
      const write = mode === O_WRONLY;
      if (write) f.pipe.writers++; else f.pipe.readers++;
      return { kind: 'pipe', pipe: f.pipe, write, flags: flags & O_NONBLOCK, refs: 1 };
    }
    case 'file':
      if (mode !== 0) return Errno.EACCES;
      return { ...f, pos: 0 };
    case 'kvm': return { kind: 'kvm' };
    case 'host': return f;
    case 'signalfd': case 'eventfd': case 'epoll': case 'timerfd': case 'socket': case 'kvm-vm': case 'kvm-vcpu': return Errno.ENXIO;
  }
}

/** readlink(2) of a /proc path (fs/proc/base.c proc_pid_readlink / proc_self_get_link). */
export function procReadlink(this: Kernel, t: Task, path: string): string | Errno {
  const node = this.procLookup(t, path, false);
  if (!node) return Errno.ENOENT;
  if (node.kind !== 'link') return Errno.EINVAL;
  return node.target();
}

/** open(2) of a /proc path: a file made from the model, opened read-only (proc files refuse writes here: EACCES). */
export function procOpen(this: Kernel, t: Task, path: string, flags: number): FileRef | Errno {
  const writing = (flags & O_ACCMODE) !== 0;
  const node = this.procLookup(t, path);
  if (!node) return Errno.ENOENT;
  if (node.kind === 'dir') return writing ? Errno.EISDIR : { kind: 'file', path: node.path, data: Buffer.alloc(0), pos: 0, proc: { make: () => new Uint8Array(0), list: node.list } };
  if (node.kind === 'link') {
    // The links open() follows (proc_exe_link, proc_fd_link): the program's file, or the open file behind fd/<n>.
    if (node.path.endsWith('/exe')) {
      if (writing) return Errno.EACCES; // ETXTBSY on Linux for a running program's writer; the model's files are read-only
      const exe = node.target();
      let data: Buffer;
      try { data = readFileSync(exe); } catch { return Errno.ENOENT; }
      return { kind: 'file', path: exe, data, pos: 0 };
    }
    if (node.file) return this.reopenFdTarget(node.file, flags);
    return Errno.ENOENT;
  }
  if (writing) return Errno.EACCES;
  return { kind: 'file', path: node.path, data: Buffer.alloc(0), pos: 0, proc: { make: node.make } };
}
