/**
 * Restartable sequences as kernel/rseq.c (Linux 6.18; 6.3 for the extensible ABI) has them:
 * sys_rseq's registration rules, the ids written to struct rseq on return to user space
 * (rseq_update_cpu_node_id) and the critical-section abort (rseq_ip_fixup) after a preemption,
 * a migration or a signal.
 *
 * struct rseq (include/uapi/linux/rseq.h): cpu_id_start u32 @0, cpu_id u32 @4, rseq_cs u64 @8,
 * flags u32 @16, node_id u32 @20, mm_cid u32 @24, end @28; aligned to 32 bytes.
 * struct rseq_cs: version u32 @0, flags u32 @4, start_ip u64 @8, post_commit_offset u64 @16,
 * abort_ip u64 @24.
 *
 * rseqReturnToUser is a function of the Kernel class (src/linux/kernel.ts), called as its method.
 *
 * Named assumption `one-cpu-at-a-time`: the model runs one task at a time, so a task that another
 * task ran in between was preempted (rseq_preempt), whatever CPU numbers the two carry.
 */
import { GuestMemoryFault } from '../../../emulator/machine.js';
import { Errno } from '../abi.js';
import { X86Reg } from '../../../emulator/unicorn.js';
import { Sig } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { MODELLED_NODE } from './sched/affinity.js';
import { SI_KERNEL } from './signal.js';
import { Task } from '../sched.js';
import { TASK_SIZE } from '../../loader/elf.js';

/** ORIG_RSEQ_SIZE: the size of the original struct rseq, and its alignment. */
export const ORIG_RSEQ_SIZE = 32;
/** offsetof(struct rseq, end): AT_RSEQ_FEATURE_SIZE (6.3+). */
export const RSEQ_FEATURE_SIZE = 28;
/** __alignof__(struct rseq): AT_RSEQ_ALIGN (6.3+). */
export const RSEQ_ALIGN = 32;
/** auxv tags AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN (include/uapi/linux/auxvec.h). */
export const AT_RSEQ_FEATURE_SIZE = 27;
export const AT_RSEQ_ALIGN = 28;
/** RSEQ_FLAG_UNREGISTER (include/uapi/linux/rseq.h). */
export const RSEQ_FLAG_UNREGISTER = 1;
/** RSEQ_CPU_ID_UNINITIALIZED: cpu_id of an unregistered area. */
const RSEQ_CPU_ID_UNINITIALIZED = 0xffffffff;
const RSEQ = { CPU_ID_START: 0n, CPU_ID: 4n, RSEQ_CS: 8n, NODE_ID: 20n, MM_CID: 24n } as const;
const RSEQ_CS = { VERSION: 0n, FLAGS: 4n, START_IP: 8n, POST_COMMIT_OFFSET: 16n, ABORT_IP: 24n } as const;

/** The first release with the extensible struct rseq (AT_RSEQ_*, node_id, mm_cid; commit "rseq: Extend struct rseq with numa node id", 6.3). */
const EXTENSIBLE_SINCE: readonly [number, number] = [6, 3];

/** True for a release string at or after 6.3. */
export function rseqExtensible(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return true;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > EXTENSIBLE_SINCE[0] || (maj === EXTENSIBLE_SINCE[0] && min >= EXTENSIBLE_SINCE[1]);
}

/** current->rseq, rseq_len, rseq_sig, and rseq_event_mask (something happened since the last return to user). */
export interface RseqRegistration { addr: bigint; len: number; sig: number }
export interface RseqTask {
  rseq: RseqRegistration | undefined;
  /** rseq_event_mask != 0: preempted, signalled or migrated; rseq_set_notify_resume pending. */
  rseqEvent: boolean;
  rseqNotify: boolean;
}

/** What rseq needs of memory: a fault throws (GuestMemoryFault), as get_user/put_user fail. */
export interface RseqMemory {
  readU32(a: bigint): number;
  readU64(a: bigint): bigint;
  writeU32(a: bigint, v: number): void;
  writeU64(a: bigint, v: bigint): void;
}

/** The ids a task shows: its CPU, that CPU's node, its mm concurrency id. */
export interface RseqIds { cpu: number; node: number; mmCid: number }

const neg = (e: Errno): bigint => -BigInt(e);

/** sys_rseq(). `clear` is rseq_reset_rseq_cpu_node_id's write on unregistration. */
export function sys_rseq(t: RseqTask, mem: RseqMemory, extensible: boolean, addr: bigint, len: number, flags: number, sig: number): bigint {
  const cur = t.rseq;
  if (flags & RSEQ_FLAG_UNREGISTER) {
    if (flags & ~RSEQ_FLAG_UNREGISTER) return neg(Errno.EINVAL);
    if (!cur || cur.addr !== addr) return neg(Errno.EINVAL);
    if (len !== cur.len) return neg(Errno.EINVAL);
    if (cur.sig !== sig) return neg(Errno.EPERM);
    mem.writeU32(addr + RSEQ.CPU_ID_START, 0);
    mem.writeU32(addr + RSEQ.CPU_ID, RSEQ_CPU_ID_UNINITIALIZED);
    if (extensible) { mem.writeU32(addr + RSEQ.NODE_ID, 0); mem.writeU32(addr + RSEQ.MM_CID, 0); }
    t.rseq = undefined;
    return 0n;
  }
  if (flags) return neg(Errno.EINVAL);
  if (cur) {
    if (cur.addr !== addr || len !== cur.len) return neg(Errno.EINVAL);
    if (cur.sig !== sig) return neg(Errno.EPERM);
    return neg(Errno.EBUSY);
  }
  if (extensible) {
    const bad = len < ORIG_RSEQ_SIZE
      || (len === ORIG_RSEQ_SIZE && addr % BigInt(ORIG_RSEQ_SIZE) !== 0n)
      || (len !== ORIG_RSEQ_SIZE && (addr % BigInt(RSEQ_ALIGN) !== 0n || len < RSEQ_FEATURE_SIZE));
    if (bad) return neg(Errno.EINVAL);
  } else if (addr % BigInt(RSEQ_ALIGN) !== 0n || len !== ORIG_RSEQ_SIZE) return neg(Errno.EINVAL);
  if (addr + BigInt(len) > TASK_SIZE) return neg(Errno.EFAULT); // access_ok
  // A non-null rseq_cs left by an older libc is cleared at registration (6.18's sys_rseq).
  if (mem.readU64(addr + RSEQ.RSEQ_CS) !== 0n) mem.writeU64(addr + RSEQ.RSEQ_CS, 0n);
  t.rseq = { addr, len, sig };
  t.rseqNotify = true;
  return 0n;
}

/**
 * rseq_handle_notify_resume() on return to user space: the critical-section fixup when an event
 * happened, then the ids. Returns the new instruction pointer when a critical section was
 * aborted, 'segv' when the area or the descriptor is bad (force_sig(SIGSEGV)), undefined otherwise.
 */
export function rseq_handle_notify_resume(t: RseqTask, mem: RseqMemory, extensible: boolean, ids: RseqIds, ip: bigint): bigint | 'segv' | undefined {
  const r = t.rseq;
  t.rseqNotify = false;
  if (!r) return undefined;
  let newIp: bigint | undefined;
  try {
    const fix = rseq_ip_fixup(t, r, mem, ip);
    if (fix === 'segv') return 'segv';
    newIp = fix;
    mem.writeU32(r.addr + RSEQ.CPU_ID_START, ids.cpu);
    mem.writeU32(r.addr + RSEQ.CPU_ID, ids.cpu);
    if (extensible) { mem.writeU32(r.addr + RSEQ.NODE_ID, ids.node); mem.writeU32(r.addr + RSEQ.MM_CID, ids.mmCid); }
  } catch (e) {
    if (e instanceof GuestMemoryFault) return 'segv'; // rseq_handle_notify_resume's error path: force_sigsegv
    throw e;
  }
  return newIp;
}

/**
 * rseq_ip_fixup(): with a descriptor in rseq_cs, validate it (rseq_get_rseq_cs: version 0, every
 * address below TASK_SIZE, no overflow, abort_ip outside the section, the signature in the four
 * bytes before abort_ip); an ip outside the section clears rseq_cs; inside it, after an event,
 * rseq_cs is cleared and the task resumes at abort_ip.
 */
function rseq_ip_fixup(t: RseqTask, r: RseqRegistration, mem: RseqMemory, ip: bigint): bigint | 'segv' | undefined {
  const event = t.rseqEvent;
  t.rseqEvent = false;
  const ptr = mem.readU64(r.addr + RSEQ.RSEQ_CS);
  if (ptr === 0n) return undefined;
  if (ptr >= TASK_SIZE) return 'segv';
  const version = mem.readU32(ptr + RSEQ_CS.VERSION);
  const start = mem.readU64(ptr + RSEQ_CS.START_IP);
  const post = mem.readU64(ptr + RSEQ_CS.POST_COMMIT_OFFSET);
  const abort = mem.readU64(ptr + RSEQ_CS.ABORT_IP);
  if (start >= TASK_SIZE || start + post >= TASK_SIZE || abort >= TASK_SIZE || version > 0) return 'segv';
  if (((abort - start) & ((1n << 64n) - 1n)) < post) return 'segv'; // the abort handler inside the section
  if (mem.readU32(abort - 4n) !== r.sig) return 'segv';
  const inCs = ((ip - start) & ((1n << 64n) - 1n)) < post;
  if (!inCs) { mem.writeU64(r.addr + RSEQ.RSEQ_CS, 0n); return undefined; }
  if (!event) return undefined;
  mem.writeU64(r.addr + RSEQ.RSEQ_CS, 0n);
  return abort;
}

/**
 * rseq_handle_notify_resume() as the task (loaded on its engine) returns to user space: the
 * critical-section abort after an event, and cpu_id_start/cpu_id/node_id/mm_cid.
 */
export function rseqReturnToUser(this: Kernel, t: Task): void {
  if (!t.rseq || !t.rseqNotify) return;
  const m = t.proc.machine;
  const r = rseq_handle_notify_resume(t, m, this.rseqExt, { cpu: t.cpu, node: MODELLED_NODE, mmCid: t.mmCid }, m.uc.regRead(X86Reg.RIP));
  if (r === 'segv') this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: 'rseq: bad struct rseq or rseq_cs on return to user space' }, true);
  else if (r !== undefined) m.uc.regWrite(X86Reg.RIP, r);
}
