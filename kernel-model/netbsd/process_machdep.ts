/**
 * NetBSD/amd64 ptrace glue for the FPU requests: PT_GETXSTATE / PT_SETXSTATE
 * (sys/arch/amd64/amd64/process_machdep.c rev. 1.49 2020/10/19: ptrace_machdep_dorequest,
 * process_machdep_doxstate, process_machdep_validfpu) and PT_GETFPREGS / PT_SETFPREGS
 * (sys/kern/sys_process_lwpstatus.c rev. 1.4 2022/07/10: process_dofpregs, proc_regio,
 * ptrace_update_lwp), request numbers from sys/arch/amd64/include/ptrace.h rev. 1.22 and
 * PT_FIRSTMACH from sys/sys/ptrace.h. Behaviour read from the source; no NetBSD code copied.
 */
import {
  NetbsdErrno, NetbsdLwpFpu, process_read_fpregs_xmm, process_read_xstate, process_verify_xstate, process_write_fpregs_xmm, process_write_xstate,
} from './fpu.js';
import { SIZEOF_FXSAVE, SIZEOF_XSTATE } from './cpu_extended_state.js';

/** sys/sys/ptrace.h: the first machine-dependent request. */
export const PT_FIRSTMACH = 32;

/** amd64 machine-dependent requests (amd64/include/ptrace.h). */
export enum PtRequest {
  PT_GETREGS = PT_FIRSTMACH + 1,
  PT_SETREGS = PT_FIRSTMACH + 2,
  PT_GETFPREGS = PT_FIRSTMACH + 3,
  PT_SETFPREGS = PT_FIRSTMACH + 4,
  PT_GETXSTATE = PT_FIRSTMACH + 9,
  PT_SETXSTATE = PT_FIRSTMACH + 10,
}

/**
 * PTRACE_REGS_ALIGN (amd64/include/ptrace.h): proc_regio's on-stack buffer is 16-byte aligned
 * because struct fpreg holds an FXSAVE area (a misaligned one faulted in the kernel: the syzbot
 * report that added it). The model's buffers have no addresses; kept as the documented constant.
 */
export const PTRACE_REGS_ALIGN = 16;

/** A traced process as these paths see it. */
export interface NetbsdProc {
  /** PK_SYSTEM: a kernel process (process_machdep_validfpu refuses it). */
  system: boolean;
  lwps: NetbsdLwpFpu[];
}

/** The tracer's side of one request: the iovec (or struct fpreg) and the memory it points to. */
export interface TracerMemory {
  /** `addr` can be read (the struct iovec for PT_*XSTATE): false gives copyin's EFAULT. */
  addrMapped: boolean;
  /** iov_base (PT_*XSTATE) or `addr` (PT_*FPREGS) can be read / written: false gives uiomove's EFAULT. */
  baseMapped: boolean;
  /** iov_len as the tracer passed it. */
  len: number;
  /** SET: the bytes at iov_base (at least the clamped length). */
  data?: Uint8Array;
}

export interface NetbsdPtraceResult {
  /** 0 or a NetBSD errno. */
  errno: number;
  /** The length the kernel worked with (iov_len clamped to sizeof(struct xstate)). */
  len: number;
  /** GET: the bytes copied out to the tracer. */
  data?: Uint8Array;
  reason?: string;
}

/**
 * ptrace_update_lwp(): `data` names the LWP. 0, the current one, or any value when the process has
 * a single LWP select it; otherwise an unknown id is ESRCH (a system LWP EINVAL, which a user
 * process cannot have).
 */
export function ptrace_update_lwp(p: NetbsdProc, lid: number): NetbsdLwpFpu | NetbsdPtraceResult {
  if (lid === 0 || p.lwps.length === 1) return p.lwps[0];
  return p.lwps.find((l) => l.lid === lid) ?? { errno: NetbsdErrno.ESRCH, len: 0, reason: `no LWP ${lid} in the process` };
}

/**
 * process_machdep_doxstate(): a zeroed struct xstate filled by process_read_xstate(), for GET
 * and SET alike; uiomove copies min(iov_len, sizeof) bytes out (GET: a prefix) or in (SET: the
 * tracer's prefix over the current state, the rest of the struct keeps what was read); a SET is
 * then verified and written.
 */
export function process_machdep_doxstate(lwp: NetbsdLwpFpu, write: boolean, io: TracerMemory, kl: number): NetbsdPtraceResult {
  const r = new Uint8Array(SIZEOF_XSTATE);
  process_read_xstate(lwp, r);
  if (kl > 0 && !io.baseMapped) return { errno: NetbsdErrno.EFAULT, len: kl, reason: 'iov_base is not mapped in the tracer (uiomove)' };
  if (!write) return { errno: 0, len: kl, data: r.slice(0, kl) };
  if (kl > 0) r.set(io.data!.subarray(0, kl), 0);
  const v = process_verify_xstate(lwp.cfg, r);
  if (v.errno) return { errno: v.errno, len: kl, reason: v.reason };
  process_write_xstate(lwp, r);
  return { errno: 0, len: kl };
}

/**
 * ptrace_machdep_dorequest() for PT_GETXSTATE / PT_SETXSTATE: `addr` is a struct iovec *, `data`
 * the LWP id. LWP lookup, then EINVAL for a system process, the iovec copied in (EFAULT),
 * iov_len clamped to sizeof(struct xstate), then process_machdep_doxstate.
 */
export function ptrace_xstate(p: NetbsdProc, req: PtRequest.PT_GETXSTATE | PtRequest.PT_SETXSTATE, io: TracerMemory, lid: number): NetbsdPtraceResult {
  const lt = ptrace_update_lwp(p, lid);
  if (!(lt instanceof NetbsdLwpFpu)) return lt;
  if (p.system) return { errno: NetbsdErrno.EINVAL, len: 0, reason: 'a system process (process_machdep_validfpu)' };
  if (!io.addrMapped) return { errno: NetbsdErrno.EFAULT, len: 0, reason: 'the struct iovec at addr is not mapped (copyin)' };
  const kl = Math.min(io.len, SIZEOF_XSTATE);
  return process_machdep_doxstate(lt, req === PtRequest.PT_SETXSTATE, io, kl);
}

/**
 * PT_GETFPREGS / PT_SETFPREGS (process_dofpregs -> proc_regio with sizeof(struct fpreg), 512):
 * `addr` is the struct fpreg itself, `data` the LWP id. Read first (process_read_fpregs_xmm),
 * copied out or in whole; a SET needs the LWP stopped (EBUSY) and then writes
 * (process_write_fpregs_xmm).
 */
export function ptrace_fpregs(p: NetbsdProc, req: PtRequest.PT_GETFPREGS | PtRequest.PT_SETFPREGS, io: TracerMemory, lid: number, stopped = true): NetbsdPtraceResult {
  const lt = ptrace_update_lwp(p, lid);
  if (!(lt instanceof NetbsdLwpFpu)) return lt;
  const buf = process_read_fpregs_xmm(lt);
  if (!io.baseMapped) return { errno: NetbsdErrno.EFAULT, len: SIZEOF_FXSAVE, reason: 'addr is not mapped in the tracer (uiomove)' };
  if (req === PtRequest.PT_GETFPREGS) return { errno: 0, len: SIZEOF_FXSAVE, data: buf };
  buf.set(io.data!.subarray(0, SIZEOF_FXSAVE), 0);
  if (!stopped) return { errno: NetbsdErrno.EBUSY, len: SIZEOF_FXSAVE, reason: 'the LWP is not stopped (proc_regio)' };
  process_write_fpregs_xmm(lt, buf);
  return { errno: 0, len: SIZEOF_FXSAVE };
}
