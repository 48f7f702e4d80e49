/**
 * The NetBSD personality's side of a scenario run: each task is a single-LWP process (lwpid 1)
 * whose pcb_savefpu the kernel model keeps (kernel-model/netbsd/), on the same CPU model as the
 * Linux personality. Steps call the model by NetBSD's names (ptrace_xstate = ptrace_machdep_dorequest,
 * ptrace_fpregs = process_dofpregs, netbsd_coredump_notes); nothing here decides an ABI rule.
 */
import { XsaveContext } from '../../emulator/xsave.js';
import { bit } from '../../emulator/xfeatures.js';
import { SIZEOF_FXSAVE, SIZEOF_XSTATE, XS_RFBM, XS_XSTATE_BV } from '../../kernel-model/netbsd/cpu_extended_state.js';
import { NetbsdLwpFpu, cpu_probe_fpu, fpu_area_restore, fpu_area_save, fpu_clear, type NetbsdFpuConfig } from '../../kernel-model/netbsd/fpu.js';
import { PtRequest, ptrace_fpregs, ptrace_xstate, type NetbsdProc, type NetbsdPtraceResult } from '../../kernel-model/netbsd/process_machdep.js';
import { netbsd_coredump_notes } from '../../kernel-model/netbsd/core_elf32.js';
import { BufferFormat, resolveXstateField } from './buffer-format.js';
import { fieldEnd, readField, writeField } from './fields.js';
import { StepError, errnoName, toBig, type ScenarioTask, type Value, type World } from './world.js';

/** The LWP id of every modelled process's only LWP (lwp_create gives the first LWP id 1). */
const FIRST_LWPID = 1;

/** Which of the tracer's pointers is bad (EFAULT): the struct iovec itself, or the memory it points to. */
export enum BadAddress {
  Iovec = 'iovec',
  Base = 'base',
}

export class NetbsdWorld {
  readonly cfg: NetbsdFpuConfig;
  private lwps = 0;

  constructor(private readonly w: World) {
    this.cfg = cpu_probe_fpu(w.cpu);
  }

  /** A process fresh from execve: setregs' fpu_clear(), then the return to user space loads it. */
  newTask(name: string): ScenarioTask {
    const ctx = new XsaveContext(this.w.cpu);
    ctx.cr4Osxsave = this.w.cpu.features.xsave;
    ctx.xcr0 = this.cfg.xcr0 || 1;
    const lwp = new NetbsdLwpFpu(this.cfg, FIRST_LWPID, this.lwps++);
    fpu_clear(lwp);
    fpu_area_restore(ctx, lwp);
    return { name, ctx, lwp, stopped: false };
  }

  private lwpOf(t: ScenarioTask): NetbsdLwpFpu {
    if (!t.lwp) throw new StepError(`task '${t.name}' has no NetBSD LWP`);
    return t.lwp;
  }

  /** The LWP stops (fpu_switch / fpu_save_lwp): its registers go to pcb_savefpu. */
  switchOut(t: ScenarioTask): void {
    fpu_area_save(t.ctx, this.lwpOf(t));
  }

  /** Back to user space (fpu_handle_deferred): pcb_savefpu is loaded. */
  returnToUser(t: ScenarioTask): void {
    fpu_area_restore(t.ctx, this.lwpOf(t));
    t.ctx.cpl = 3;
  }

  private proc(t: ScenarioTask): NetbsdProc {
    return { system: false, lwps: [this.lwpOf(t)] };
  }

  private report(as: string, r: NetbsdPtraceResult): void {
    this.w.observe(`${as}.errno`, errnoName(r.errno));
    this.w.observe(`${as}.len`, BigInt(r.len));
  }

  /** PT_GETXSTATE: `addr` a struct iovec of iov_len `len` (default sizeof(struct xstate)); `data` the LWP id. */
  getxstate(t: ScenarioTask, len: number | undefined, lid: number, into: string, bad?: BadAddress): NetbsdPtraceResult {
    const r = ptrace_xstate(this.proc(t), PtRequest.PT_GETXSTATE, { addrMapped: bad !== BadAddress.Iovec, baseMapped: bad !== BadAddress.Base, len: len ?? SIZEOF_XSTATE }, lid);
    this.report(into, r);
    if (r.data) this.w.setBuffer(into, r.data.slice(), BufferFormat.NetbsdXstate);
    return r;
  }

  /** PT_SETXSTATE from buffer `from` (iov_len `len`, default the buffer's length). */
  setxstate(t: ScenarioTask, from: string, len: number | undefined, lid: number, as: string, bad?: BadAddress): NetbsdPtraceResult {
    const data = this.w.buffer(from);
    const l = len ?? data.length;
    if (Math.min(l, SIZEOF_XSTATE) > data.length) throw new StepError(`pt-setxstate: iov_len ${l} reaches past buffer '${from}' (${data.length} bytes): the kernel would read tracer memory the scenario does not describe`);
    const r = ptrace_xstate(this.proc(t), PtRequest.PT_SETXSTATE, { addrMapped: bad !== BadAddress.Iovec, baseMapped: bad !== BadAddress.Base, len: l, data }, lid);
    this.report(as, r);
    return r;
  }

  /** PT_GETFPREGS: `addr` a struct fpreg (512 bytes). */
  getfpregs(t: ScenarioTask, lid: number, into: string, bad?: BadAddress): void {
    const r = ptrace_fpregs(this.proc(t), PtRequest.PT_GETFPREGS, { addrMapped: true, baseMapped: bad === undefined, len: SIZEOF_FXSAVE }, lid);
    this.report(into, r);
    if (r.data) this.w.setBuffer(into, r.data.slice(), BufferFormat.NetbsdFpreg);
  }

  /** PT_SETFPREGS from buffer `from` (its first 512 bytes). */
  setfpregs(t: ScenarioTask, from: string, lid: number, as: string, bad?: BadAddress): void {
    const data = this.w.buffer(from);
    if (data.length < SIZEOF_FXSAVE) throw new StepError(`pt-setfpregs: buffer '${from}' has ${data.length} bytes; struct fpreg is ${SIZEOF_FXSAVE}`);
    const r = ptrace_fpregs(this.proc(t), PtRequest.PT_SETFPREGS, { addrMapped: true, baseMapped: bad === undefined, len: SIZEOF_FXSAVE, data }, lid, t.stopped);
    this.report(as, r);
  }

  /**
   * The process dumps core: `into` gets the NetBSD-CORE@1 PT_GETXSTATE note; `into.notes` lists
   * the notes as NAME/0xTYPE. The dumping LWP's registers are saved first (fpu_lwp_area -> fpu_save).
   */
  core(t: ScenarioTask, into: string): void {
    const lwp = this.lwpOf(t);
    fpu_area_save(t.ctx, lwp);
    const notes = netbsd_coredump_notes([lwp]);
    const xs = notes.find((n) => n.type === PtRequest.PT_GETXSTATE);
    if (xs?.desc) this.w.setBuffer(into, xs.desc.slice(), BufferFormat.NetbsdXstate);
    this.w.observe(`${into}.notes`, notes.map((n) => `${n.name}/0x${n.type.toString(16)}`).join(' '));
    // The LWP keeps running after fpu_save: its state is loaded again on the way back to user space.
    fpu_area_restore(t.ctx, lwp);
    t.ctx.cpl = 3;
  }

  /**
   * Portable intent "read register `reg`": PT_GETXSTATE of iov_len `len` (default the whole
   * struct); `as.value` is the register as the returned bytes hold it, or `not-in-buffer` when the
   * prefix does not reach it.
   */
  getRegister(t: ScenarioTask, reg: string, len: number | undefined, as: string): void {
    const f = this.xstateField(reg);
    const r = this.getxstate(t, len, FIRST_LWPID, as);
    this.w.observe(`${as}.via`, 'PT_GETXSTATE');
    if (r.errno) return;
    this.w.observe(`${as}.value`, r.data!.length >= fieldEnd(f) ? readField(r.data!, f) : 'not-in-buffer');
  }

  /**
   * Portable intent "set register `reg` to `value`, leave the rest": PT_GETXSTATE of the whole
   * struct, the register written, xs_rfbm = xs_xstate_bv = the register's components only (the
   * data of those components is the current one, so nothing else changes), then PT_SETXSTATE with iov_len `len` (default the whole struct). The buffer
   * `as` is what was passed. (A tracer could keep the rfbm it read; with the values just read the
   * other components would be rewritten unchanged, MXCSR again masked.)
   */
  setRegister(t: ScenarioTask, reg: string, value: Value, len: number | undefined, as: string): void {
    const f = this.xstateField(reg);
    const got = this.getxstate(t, SIZEOF_XSTATE, FIRST_LWPID, `${as}.get`);
    this.w.observations.delete(`${as}.get.len`);
    if (got.errno) { this.w.observe(`${as}.errno`, errnoName(got.errno)); return; }
    this.w.buffers.delete(`${as}.get`);
    this.w.bufferFormats.delete(`${as}.get`);
    const buf = got.data!.slice();
    writeField(buf, f, toBig(value));
    const comps = f.reduce((m, x) => (x.component === undefined ? m : m | bit(x.component)), 0) >>> 0;
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(XS_RFBM, BigInt(comps), true);
    // xs_xstate_bv must lie within xs_rfbm (process_verify_xstate): exactly the components written.
    dv.setBigUint64(XS_XSTATE_BV, BigInt(comps), true);
    this.w.setBuffer(as, buf, BufferFormat.NetbsdXstate);
    this.setxstate(t, as, len ?? SIZEOF_XSTATE, FIRST_LWPID, as);
    this.w.observe(`${as}.via`, 'PT_SETXSTATE');
  }

  private xstateField(reg: string): ReturnType<typeof resolveXstateField> & object {
    const f = resolveXstateField(reg);
    if (typeof f === 'string') throw new StepError(`NetBSD has no interface for '${reg}': ${f}`);
    return f;
  }
}
