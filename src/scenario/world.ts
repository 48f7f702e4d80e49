/**
 * One scenario run on one CPU and one kernel variant: the tasks (each a CPU register file plus
 * the kernel's TaskFpu), the tracer's buffers, KVM vCPUs, and the observations the steps record.
 * Every step calls the kernel model by its kernel names (ptrace_getregset, copy_fpstate_to_sigframe,
 * kvm_vcpu_ioctl_x86_set_xsave, writeElfCore, ...); nothing here decides an ABI rule itself.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { CpuFault, Vector, XsaveContext, fxrstor, fxsave, xgetbv, xrstor, xsave } from '../../emulator/xsave.js';
import { XFeature, bit } from '../../emulator/xfeatures.js';
import { CoreNote, USER_REGS, readCoreNotes, writeElfCore, type UserRegs } from '../../kernel-model/core.js';
import { XFEATURE_MASK_USER_DYNAMIC, fpu__init_system_xstate, type FpuConfig } from '../../kernel-model/fpu-config.js';
import { TaskFpu, grantPermission, restore_fpregs_from_fpstate, save_fpregs_to_fpstate, switch_fpu_prepare, userXrstor } from '../../kernel-model/fpstate.js';
import { KvmHost, KvmVendorModule, type KvmVcpu } from '../../kernel-model/kvm.js';
import { NoteType, ptrace_getregset, ptrace_setregset } from '../../kernel-model/regset.js';
import { copy_fpstate_to_sigframe, fpu__clear_user_states, fpu__restore_sig, sigframeFpstateAddress, xstate_sigframe_size, StackMemory } from '../../kernel-model/sigframe.js';
import { KernelPersonality, type KernelVariant } from '../../kernel-model/variants.js';
import { NetbsdWorld } from './netbsd-world.js';
import { BufferFormat, bvOffset, resolveFieldIn } from './buffer-format.js';
import type { NetbsdLwpFpu } from '../../kernel-model/netbsd/fpu.js';
import { kernelView, type KernelView } from '../../kernel-model/kernel-view.js';
import { GuestSourceError, runGuest } from './guest.js';
import { arch_set_xcr0, userXcr0 } from '../../kernel-model/arch-set-xcr0.js';
import { ReadVerdict, compareAllReaders } from '../readers/compare.js';
import { fieldEnd, resolveField, readField, writeField, type FieldRange } from './fields.js';

/** errno names the steps report (include/uapi/asm-generic/errno-base.h, errno.h). */
const ERRNO_NAMES: Record<number, string> = { 0: 'ok', 1: 'EPERM', 3: 'ESRCH', 14: 'EFAULT', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL', 28: 'ENOSPC', 95: 'EOPNOTSUPP' };
export const errnoName = (e: number): string => ERRNO_NAMES[e] ?? `errno ${e}`;

/** arch_prctl XCOMP options (arch/x86/include/uapi/asm/prctl.h). */
const ARCH_REQ_XCOMP_PERM = 'ARCH_REQ_XCOMP_PERM';
/** The ARCH_SET_XCR0 proposal (kernel-model/arch-set-xcr0.ts). */
const ARCH_SET_XCR0_OP = 'ARCH_SET_XCR0';
/** The stack a scenario's signal frames are written to, as guest memory. */
const SIGNAL_STACK_TOP = 0x7ffe00000000n;
const SIGNAL_STACK_BYTES = 64 * 1024;
const STACK_FILL = 0;
/** Where a task's own XSAVE/XRSTOR buffers live, for the CPU model (only distinctness matters). */
const TASK_BUFFER_ADDR = 0x10000;
/** The XSAVE header: 64 bytes after the legacy region (SDM Vol. 1, 13.4.2). */
const XSAVE_HEADER_BYTES = 64;

export type Value = bigint | string;

/**
 * What a guest printed, as an observation: a whole number (decimal, or hex with 0x) is a number
 * like the ones steps observe, so one report shows every number by one rule (hex, with the decimal
 * in the table: README "Numbers"); anything else (a word, a negative number, text) stays as printed.
 */
export function guestValue(printed: string): Value {
  return /^(0x[0-9a-f]+|\d+)$/i.test(printed) ? BigInt(printed) : printed;
}

export interface ScenarioTask {
  name: string;
  ctx: XsaveContext;
  /** Linux personality: the kernel's struct fpu of the task. */
  fpu?: TaskFpu;
  /** NetBSD personality: the LWP's pcb_savefpu (kernel-model/netbsd/fpu.ts). */
  lwp?: NetbsdLwpFpu;
  /** Stopped: switched out, its state in the fpstate (a tracer may look); otherwise running. */
  stopped: boolean;
}

export class StepError extends Error {}
/** A step found the scenario itself at fault (a guest source reaching outside its folder): an input error at the step. */
export class StepInputError extends Error {}

export class World {
  readonly cfg: FpuConfig;
  readonly tasks = new Map<string, ScenarioTask>();
  /** The tracer's buffers (GETREGSET images, signal frames, KVM regions, core notes). */
  readonly buffers = new Map<string, Uint8Array>();
  readonly frames = new Map<string, { task: string; mem: StackMemory; addr: bigint }>();
  readonly observations = new Map<string, Value>();
  /** What each buffer holds (absent: a standard-format XSAVE image), for fields by name and the differ. */
  readonly bufferFormats = new Map<string, BufferFormat>();
  /** The NetBSD personality's side, when the variant is NetBSD's (src/scenario/netbsd-world.ts). */
  readonly netbsd: NetbsdWorld | undefined;
  /** Buffers that hold a core file's NT_X86_XSTATE note (readers treat those as core files). */
  readonly coreBuffers = new Set<string>();
  private kvm: KvmHost | undefined;
  readonly vcpus = new Map<string, KvmVcpu>();

  /** The kernel's view of the CPU (CR4 bits, auxv). */
  readonly view: KernelView;

  /**
   * `cpuSpec`: what `exec --cpu` takes for this CPU (a built-in id, a profile or dump file, `host`);
   * the CPU's id when not given.
   */
  constructor(readonly cpu: CpuModel, readonly variant: KernelVariant, readonly scenarioFile = '', readonly cpuSpec = cpu.id) {
    this.cfg = fpu__init_system_xstate(cpu, variant);
    this.view = kernelView(cpu, variant, this.cfg);
    this.netbsd = variant.personality === KernelPersonality.NetBSD ? new NetbsdWorld(this) : undefined;
  }

  /** The XCR0 user space runs with under this personality. */
  get userXcr0(): number {
    return this.netbsd ? this.netbsd.cfg.xcr0 : this.cfg.xcr0;
  }

  /** A Linux-only interface: a StepError under another personality (the step is not applicable there). */
  linuxOnly(what: string): void {
    if (this.netbsd) throw new StepError(`${what} is a Linux interface; NetBSD has none (its FPU requests are pt-getxstate, pt-setxstate, pt-getfpregs, pt-setfpregs; portable steps: get-register, set-register)`);
  }

  /** The Linux struct fpu of a task (every caller checked linuxOnly first). */
  fpuOf(t: ScenarioTask): TaskFpu {
    if (!t.fpu) throw new StepError(`task '${t.name}' has no Linux FPU state under ${this.variant.id}`);
    return t.fpu;
  }

  formatOf(buf: string): BufferFormat {
    return this.bufferFormats.get(buf) ?? BufferFormat.Xsave;
  }

  /** Store a buffer a step produced, with its format. */
  setBuffer(name: string, data: Uint8Array, format: BufferFormat = BufferFormat.Xsave): void {
    this.buffers.set(name, data);
    if (format === BufferFormat.Xsave) this.bufferFormats.delete(name); else this.bufferFormats.set(name, format);
  }

  observe(name: string, v: Value): void {
    this.observations.set(name, v);
  }

  field(name: string): FieldRange[] {
    const f = resolveField(this.cpu, name);
    if (typeof f === 'string') throw new StepError(f);
    return f;
  }

  task(name: string): ScenarioTask {
    const t = this.tasks.get(name);
    if (!t) throw new StepError(`no task '${name}'`);
    return t;
  }

  buffer(name: string): Uint8Array {
    const b = this.buffers.get(name);
    if (!b) throw new StepError(`no buffer '${name}': the step that names it with 'into' gave no data (see its .errno)`);
    return b;
  }

  /** Buffer `name`, at least `bytes` long (`what` says who needs them). */
  private bufferOf(name: string, bytes: number, what: string): Uint8Array {
    const b = this.buffer(name);
    if (b.length < bytes) throw new StepError(`buffer '${name}' has ${b.length} bytes: too short for ${what} (${bytes} bytes needed)`);
    return b;
  }

  /**
   * A task fresh from execve (its fpstate initial, PKRU init_pkru_value) that then loads `state`
   * with one XRSTOR (fields set, their components' XSTATE_BV bits set). `amx`: it asked for AMX
   * permission first (ARCH_REQ_XCOMP_PERM).
   */
  addTask(name: string, state: Record<string, Value>, amx: boolean): void {
    if (this.netbsd) {
      if (amx) throw new StepError(`task '${name}': amx: NetBSD never enables AMX (XCR0_FPU)`);
      this.tasks.set(name, this.netbsd.newTask(name));
      if (Object.keys(state).length) this.write(name, state);
      return;
    }
    const ctx = new XsaveContext(this.cpu);
    const fpu = new TaskFpu(this.cfg, this.variant);
    // CR4.OSXSAVE as the kernel leaves it (fpu__init_cpu_xstate sets it only when it uses XSAVE; noxsave does not).
    ctx.cr4Osxsave = this.cfg.useXsave;
    restore_fpregs_from_fpstate(ctx, fpu);
    if (amx) grantPermission(fpu, this.cfg.user.maxFeatures & XFEATURE_MASK_USER_DYNAMIC);
    const t: ScenarioTask = { name, ctx, fpu, stopped: false };
    this.tasks.set(name, t);
    if (Object.keys(state).length) this.write(name, state);
  }

  /** The task writes registers: XSAVE of its state, the fields changed, XRSTOR back (bits set). */
  write(name: string, fields: Record<string, Value>, clear: string[] = []): void {
    const t = this.runningTask(name);
    const img = this.liveImage(t);
    const dv = new DataView(img.buffer);
    let bv = dv.getUint32(XSAVE_HEADER_OFFSET, true);
    for (const [f, v] of Object.entries(fields)) {
      const r = this.field(f);
      // Without CR4.OSXSAVE (noxsave) every VEX/EVEX, opmask, PKRU or AMX write is #UD.
      if (!this.cfg.useXsave && r.some((x) => x.component !== undefined && x.component >= XFeature.AVX)) throw new TaskSignal(name, 'SIGILL', `${f}: the instructions that write it raise #UD with CR4.OSXSAVE = 0 (the kernel does not use XSAVE)`);
      writeField(img, r, toBig(v));
      for (const x of r) if (x.component !== undefined) bv |= bit(x.component);
    }
    for (const f of clear) for (const x of this.field(f)) if (x.component !== undefined) bv &= ~bit(x.component);
    dv.setUint32(XSAVE_HEADER_OFFSET, bv >>> 0, true);
    this.userXrstor(t, img);
  }

  /**
   * The task runs XSAVE64 (RFBM all ones) into a buffer it filled with `fill` first: bytes and
   * XSTATE_BV bits of components outside its XCR0 keep what was in memory.
   */
  userXsave(name: string, into: string, fill: number): void {
    const t = this.runningTask(name);
    const img = new Uint8Array(this.cpu.standardSize(this.userXcr0 || 3)).fill(fill);
    t.ctx.cpl = 3;
    try { xsave(t.ctx, img, TASK_BUFFER_ADDR, 0xffffffff, 0xffffffff); } catch (e) {
      if (e instanceof CpuFault) throw new TaskSignal(t.name, e.vector === Vector.UD ? 'SIGILL' : 'SIGSEGV', e.message);
      throw e;
    }
    this.setBuffer(into, img);
  }

  /**
   * CPUID as the task sees it: the model's one CPUID answer (CpuModel.cpuidAnswer): the CPU's
   * bits (the kernel's boot options do not change them), OSXSAVE and OSPKE from the kernel's CR4,
   * leaf 0xD for the task's XCR0 and IA32_XSS.
   */
  cpuid(name: string, leaf: number, sub: number, as: string): void {
    const t = this.runningTask(name);
    const [eax, ebx, ecx, edx] = this.cpu.cpuidAnswer(leaf, sub, { xcr0: t.ctx.xcr0, xss: t.ctx.xss, osxsave: t.ctx.cr4Osxsave, ospke: this.view.cr4Pke.value });
    this.observe(`${as}.eax`, BigInt(eax >>> 0));
    this.observe(`${as}.ebx`, BigInt(ebx >>> 0));
    this.observe(`${as}.ecx`, BigInt(ecx >>> 0));
    this.observe(`${as}.edx`, BigInt(edx >>> 0));
  }

  /** What the running task reads from its registers (XSAVE64 of everything; `xinuse` is XGETBV(1)). */
  read(name: string, field: string): bigint {
    const t = this.runningTask(name);
    // XGETBV faults as the task would meet it (#UD without CR4.OSXSAVE, e.g. under noxsave): SIGILL.
    const getbv = (ecx: number): bigint => {
      try { return BigInt(xgetbv(t.ctx, ecx)[0]); } catch (e) {
        if (e instanceof CpuFault) throw new TaskSignal(t.name, e.vector === Vector.UD ? 'SIGILL' : 'SIGSEGV', e.message);
        throw e;
      }
    };
    if (field === 'xinuse') return this.cpu.features.xgetbv1 ? getbv(1) : 0n;
    if (field === 'xcr0') return getbv(0);
    return readField(this.liveImage(t), this.field(field));
  }

  private liveImage(t: ScenarioTask): Uint8Array {
    const img = new Uint8Array(this.cpu.standardSize(this.userXcr0 || 3) + 64);
    t.ctx.cpl = 3;
    // The registers as the task has them: FXSAVE64 on a CPU without XSAVE, or when the kernel does not use it (no OSXSAVE).
    if (!this.cpu.features.xsave || !this.cfg.useXsave) fxsave(t.ctx, img, TASK_BUFFER_ADDR);
    else xsave(t.ctx, img, TASK_BUFFER_ADDR, 0xffffffff, 0xffffffff);
    return img;
  }

  private userXrstor(t: ScenarioTask, img: Uint8Array): void {
    try {
      if (!this.cpu.features.xsave || !this.cfg.useXsave) { t.ctx.cpl = 3; fxrstor(t.ctx, img, TASK_BUFFER_ADDR); }
      else if (t.fpu) userXrstor(t.ctx, t.fpu, img, TASK_BUFFER_ADDR, 0xffffffff, 0xffffffff);
      else { t.ctx.cpl = 3; xrstor(t.ctx, img, TASK_BUFFER_ADDR, 0xffffffff, 0xffffffff); }
    } catch (e) {
      if (e instanceof CpuFault) throw new TaskSignal(t.name, e.vector === Vector.NM || e.vector === Vector.UD ? 'SIGILL' : 'SIGSEGV', e.message);
      throw e;
    }
  }

  private runningTask(name: string): ScenarioTask {
    const t = this.task(name);
    if (t.stopped) throw new StepError(`task '${name}' is stopped: resume it first`);
    return t;
  }

  stoppedTask(name: string): ScenarioTask {
    const t = this.task(name);
    if (!t.stopped) throw new StepError(`task '${name}' is running: a tracer sees it only while it is stopped ('stop' it first)`);
    return t;
  }

  /** The task stops (SIGSTOP, a ptrace stop): it is switched out. */
  stop(name: string): void {
    const t = this.runningTask(name);
    if (this.netbsd) this.netbsd.switchOut(t);
    else switch_fpu_prepare(t.ctx, this.fpuOf(t));
    t.stopped = true;
  }

  /** The tracer lets it run again: on return to user space its registers are reloaded. */
  resume(name: string): void {
    const t = this.stoppedTask(name);
    if (this.netbsd) this.netbsd.returnToUser(t);
    else restore_fpregs_from_fpstate(t.ctx, this.fpuOf(t));
    t.stopped = false;
  }

  getregset(task: string, note: NoteType, len: number | undefined, into: string): void {
    this.linuxOnly('PTRACE_GETREGSET');
    const t = this.stoppedTask(task);
    const r = ptrace_getregset(this.cpu, this.fpuOf(t), note, len ?? (note === NoteType.NT_X86_XSTATE ? this.cfg.user.maxSize : 512));
    this.observe(`${into}.errno`, errnoName(r.errno));
    this.observe(`${into}.len`, BigInt(r.len));
    if (r.data) this.setBuffer(into, r.data.slice());
  }

  setregset(task: string, note: NoteType, from: string, len: number | undefined, as: string): void {
    this.linuxOnly('PTRACE_SETREGSET');
    const t = this.stoppedTask(task);
    const buf = this.buffer(from);
    const r = ptrace_setregset(this.cpu, this.fpuOf(t), note, buf, len ?? buf.length);
    this.observe(`${as}.errno`, errnoName(r.errno));
  }

  arch_prctl(task: string, op: string, arg: number, as: string): void {
    this.linuxOnly(`arch_prctl(${op})`);
    const t = this.task(task);
    const fpu = this.fpuOf(t);
    if (op === ARCH_SET_XCR0_OP) {
      const e = arch_set_xcr0(this.cpu, fpu, arg);
      this.observe(`${as}.errno`, errnoName(e));
      if (e === 0 && !t.stopped) t.ctx.xcr0 = userXcr0(fpu); // TIF_NEED_FPU_LOAD: in force on return to user
      return;
    }
    if (op !== ARCH_REQ_XCOMP_PERM) throw new StepError(`arch_prctl ${op} is not modelled in scenarios`);
    const want = bit(arg) & XFEATURE_MASK_USER_DYNAMIC & this.cfg.user.maxFeatures;
    if (!want) { this.observe(`${as}.errno`, errnoName(95)); return; }
    grantPermission(fpu, want);
    this.observe(`${as}.errno`, 'ok');
  }

  /** A signal interrupts the running task: the frame is written and the handler starts. */
  signal(task: string, into: string): void {
    this.linuxOnly('a Linux signal frame');
    const t = this.runningTask(task);
    const fpu = this.fpuOf(t);
    const mem = new StackMemory(SIGNAL_STACK_TOP, SIGNAL_STACK_BYTES, STACK_FILL);
    const addr = sigframeFpstateAddress(SIGNAL_STACK_TOP, fpu);
    if (!copy_fpstate_to_sigframe(t.ctx, fpu, mem, addr)) throw new TaskSignal(task, 'SIGSEGV', 'the signal frame could not be written');
    fpu__clear_user_states(t.ctx, fpu);
    const size = xstate_sigframe_size(fpu);
    this.setBuffer(into, mem.read(addr, size)!);
    this.frames.set(into, { task, mem, addr });
    this.observe(`${into}.size`, BigInt(size));
  }

  /** The handler returns: rt_sigreturn restores from the (possibly edited) frame buffer. */
  sigreturn(frame: string, as: string): void {
    const f = this.frames.get(frame);
    if (!f) throw new StepError(`no signal frame '${frame}'`);
    f.mem.write(f.addr, this.buffer(frame));
    const t = this.runningTask(f.task);
    const r = fpu__restore_sig(t.ctx, this.fpuOf(t), f.mem, f.addr);
    this.observe(`${as}.result`, r.ok ? (r.fxOnly ? 'ok (fx_only)' : 'ok') : 'SIGSEGV');
  }

  /** The task dies and dumps core: `into` gets the NT_X86_XSTATE note; `into.notes` lists the notes. */
  core(task: string, into: string, switchedOut: boolean): void {
    const t = this.runningTask(task);
    if (this.netbsd) return this.netbsd.core(t, into);
    const fpu = this.fpuOf(t);
    if (switchedOut) switch_fpu_prepare(t.ctx, fpu);
    else save_fpregs_to_fpstate(t.ctx, fpu);
    const regs = Object.fromEntries(USER_REGS.map((r) => [r, 0n])) as UserRegs;
    const core = writeElfCore({ cpu: this.cpu, pid: 1, ppid: 0, pgrp: 1, sid: 1, uid: 0, gid: 0, comm: task, psargs: task, signo: 6, sigCode: 0, threads: [{ tid: 1, regs, fpu }], auxv: [0n, 0n], mappings: [] });
    const notes = readCoreNotes(core);
    const xs = notes.find((n) => n[1] === CoreNote.NT_X86_XSTATE);
    if (xs) { this.setBuffer(into, new Uint8Array(xs[2])); this.coreBuffers.add(into); }
    this.observe(`${into}.notes`, notes.map((n) => `${n[0]}/0x${n[1].toString(16)}`).join(' '));
  }

  /**
   * A buffer the tracer builds itself (a tool's own core note, a hand-made image): `size` bytes of
   * `fill`, starting with a copy of buffer `from`; `core`: readers treat it as a core file's note.
   */
  makeBuffer(into: string, size: number, fill: number, from: string | undefined, core: boolean, format?: BufferFormat): void {
    const b = new Uint8Array(size).fill(fill);
    if (from !== undefined) { const src = this.buffer(from); b.set(src.subarray(0, Math.min(size, src.length))); }
    this.setBuffer(into, b, format ?? (from !== undefined ? this.formatOf(from) : BufferFormat.Xsave));
    if (core) this.coreBuffers.add(into); else this.coreBuffers.delete(into);
    this.observe(`${into}.size`, BigInt(size));
  }

  /** Which registers each ptracer reader model misreads in an NT_X86_XSTATE image. */
  readers(buf: string, as: string): void {
    if (this.formatOf(buf) !== BufferFormat.Xsave) throw new StepError(`readers: buffer '${buf}' is a ${this.formatOf(buf)}, not an NT_X86_XSTATE image: the reader models read Linux's layout`);
    // The mask at 464 is what a reader sizes the image by (xstate_fx_sw_bytes); a shorter buffer is no image.
    const b = this.bufferOf(buf, XSAVE_HEADER_OFFSET + XSAVE_HEADER_BYTES, 'a reader (the legacy region and the XSAVE header)');
    const userMask = new DataView(b.buffer, b.byteOffset).getUint32(464, true);
    // Per reader: the components it misreads, and those it cannot place at all.
    for (const r of compareAllReaders({ size: b.length, userMask, runsOn: this.cpu, fromCore: this.coreBuffers.has(buf) }, this.cpu)) {
      const of = (v: ReadVerdict): string => r.components.filter((c) => c.verdict === v).map((c) => c.name).join(' ') || 'none';
      this.observe(`${as}.${r.reader.id}.misread`, of(ReadVerdict.Misread));
      this.observe(`${as}.${r.reader.id}.unavailable`, of(ReadVerdict.Unavailable));
    }
  }

  /** A guest program runs under `xstate-lab exec` with this CPU and variant (scenario/guest.ts). */
  exec(program: string, args: string[], as: string, files: readonly string[] = []): void {
    this.linuxOnly('exec (the Linux syscall surface)');
    let r;
    try { r = runGuest(this.scenarioFile, program, args, this.cpuSpec, this.variant, files); } catch (e) {
      if (e instanceof GuestSourceError) throw new StepInputError(e.message);
      throw new StepError((e as Error).message);
    }
    this.observe(`${as}.exit`, guestValue(r.exit));
    for (const [k, v] of Object.entries(r.lines)) this.observe(`${as}.${k}`, guestValue(v));
  }

  kvmVcpu(name: string, vendor?: string): void {
    this.linuxOnly('KVM');
    this.kvm ??= new KvmHost(this.cpu, this.variant, (vendor as KvmVendorModule | undefined) ?? KvmVendorModule.KvmIntel);
    this.vcpus.set(name, this.kvm.createVm().createVcpu());
  }

  private vcpu(name: string): KvmVcpu {
    const v = this.vcpus.get(name);
    if (!v) throw new StepError(`no vCPU '${name}' (kvm-create names it)`);
    return v;
  }

  kvmGetXsave(vcpu: string, into: string): void {
    const r = this.vcpu(vcpu).kvm_vcpu_ioctl_x86_get_xsave();
    this.observe(`${into}.errno`, errnoName(r.errno));
    if (r.data) this.setBuffer(into, r.data.slice());
  }

  kvmSetXsave(vcpu: string, from: string, as: string): void {
    const v = this.vcpu(vcpu);
    // KVM_SET_XSAVE copies uabi_size bytes (struct kvm_xsave or KVM_GET_XSAVE2's size) from the VMM.
    const r = v.kvm_vcpu_ioctl_x86_set_xsave(this.bufferOf(from, v.guestFpu.uabiSize, 'KVM_SET_XSAVE (it copies uabi_size bytes)'));
    this.observe(`${as}.errno`, errnoName(r.errno));
  }

  kvmPkru(vcpu: string, as: string): void {
    this.observe(as, BigInt(this.vcpu(vcpu).pkru >>> 0));
  }

  /**
   * Portable intent "read register `reg` of the stopped task": carried out through the
   * personality's own interface (Linux: PTRACE_GETREGSET(NT_X86_XSTATE) of iov_len `len`, default
   * the full size). Observes as.errno, as.len, as.via and as.value (`not-in-buffer` when the
   * returned bytes do not reach the register); buffer `as` is what came back.
   */
  getRegister(task: string, reg: string, len: number | undefined, as: string): void {
    const t = this.stoppedTask(task);
    if (this.netbsd) return this.netbsd.getRegister(t, reg, len, as);
    const f = this.field(reg);
    this.getregset(task, NoteType.NT_X86_XSTATE, len, as);
    this.observe(`${as}.via`, 'PTRACE_GETREGSET(NT_X86_XSTATE)');
    const b = this.buffers.get(as);
    if (b) this.observe(`${as}.value`, b.length >= fieldEnd(f) ? readField(b, f) : 'not-in-buffer');
  }

  /**
   * Portable intent "set register `reg` of the stopped task to `value`, leave the rest" (Linux: a
   * full PTRACE_GETREGSET, the register and its XSTATE_BV bits set, PTRACE_SETREGSET of iov_len
   * `len`, default the full size). Observes as.errno and as.via; buffer `as` is the image passed.
   */
  setRegister(task: string, reg: string, value: Value, len: number | undefined, as: string): void {
    const t = this.stoppedTask(task);
    if (this.netbsd) return this.netbsd.setRegister(t, reg, value, len, as);
    this.getregset(task, NoteType.NT_X86_XSTATE, undefined, as);
    this.observe(`${as}.get.errno`, this.observations.get(`${as}.errno`)!);
    this.observations.delete(`${as}.errno`);
    this.observations.delete(`${as}.len`);
    if (!this.buffers.get(as)) return;
    this.poke(as, reg, value, 'set');
    this.setregset(task, NoteType.NT_X86_XSTATE, as, len, as);
    this.observe(`${as}.via`, 'PTRACE_SETREGSET(NT_X86_XSTATE)');
  }

  /** Field `name` of buffer `buf`, found in the buffer's own format. */
  fieldIn(buf: string, name: string): FieldRange[] {
    const f = resolveFieldIn(this.formatOf(buf), this.cpu, name);
    if (typeof f === 'string') throw new StepError(`buffer '${buf}' (${this.formatOf(buf)}): ${f}`);
    return f;
  }

  poke(buf: string, fieldName: string, value: Value, xstateBv: 'set' | 'clear' | 'keep'): void {
    const r = this.fieldIn(buf, fieldName);
    const bvAt = bvOffset(this.formatOf(buf), XSAVE_HEADER_OFFSET);
    if (xstateBv !== 'keep' && bvAt === undefined) throw new StepError(`poke: buffer '${buf}' (${this.formatOf(buf)}) has no XSTATE_BV to ${xstateBv}`);
    const b = this.bufferOf(buf, Math.max(fieldEnd(r), xstateBv === 'keep' ? 0 : bvAt! + 8), `${fieldName}${xstateBv === 'keep' ? '' : ' and XSTATE_BV'}`);
    writeField(b, r, toBig(value));
    if (xstateBv === 'keep') return;
    const dv = new DataView(b.buffer, b.byteOffset);
    let bv = dv.getUint32(bvAt!, true);
    for (const x of r) if (x.component !== undefined) bv = xstateBv === 'set' ? bv | bit(x.component) : bv & ~bit(x.component);
    dv.setUint32(bvAt!, bv >>> 0, true);
  }

  peek(buf: string, fieldName: string): bigint {
    const r = this.fieldIn(buf, fieldName);
    return readField(this.bufferOf(buf, fieldEnd(r), fieldName), r);
  }
}

/** The task got a signal (a fault in what it ran): the scenario records it and goes on. */
export class TaskSignal extends Error {
  constructor(readonly task: string, readonly signal: string, readonly detail: string) {
    super(`${task}: ${signal}: ${detail}`);
  }
}

export function toBig(v: Value): bigint {
  if (typeof v === 'bigint') return v;
  try { return BigInt(v); } catch { throw new StepError(`'${v}' is not a number`); }
}

