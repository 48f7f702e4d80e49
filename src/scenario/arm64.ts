/**
 * arm64 scenarios (`arch: arm64`): AArch64 guest programs run on the arm64 process model
 * (src/linux/arm64/kernel.ts) under one of the arm64 kernel variants. The scenario itself can be
 * the tracer of a task it spawns (`spawn` with `traced: true`, then `wait`, `syscall-stop` and
 * `ptrace` steps), or a guest program can be the tracer (`spawn` without `traced`, then `wait`
 * for its exit). Observations:
 * - wait / syscall-stop `as`: as.stop (signal, syscall-entry, syscall-exit, single-step,
 *   syscall-exit-pseudo-step, exited, killed), as.status (the wait status), as.signal, as.syscall
 *   (the call at a syscall stop), as.exit; and every `key: value` line the task printed so far as as.key;
 * - ptrace `as`: as.errno (0 or the name), and for PTRACE_GETREGSET the registers by name
 *   (NT_PRSTATUS: x0..x30, sp, pc, pstate; NT_ARM_SYSTEM_CALL: syscallno; the assumed
 *   NT_ARM_SYSCALL_REGS: x7, orig_x0), as.len; PTRACE_GETEVENTMSG: as.msg.
 */
import { Arm64Linux, PtraceRequest, Sig, type Task } from '../linux/arm64/kernel.js';
import { arm64GuestExecutable } from '../linux/arm64/build.js';
import {
  ASSUMED_NT_ARM_SYSCALL_REGS, Errno, NT_ARM_SYSTEM_CALL, NT_PRSTATUS, PTRACE_O_ARM64_RAW_REGS, PTRACE_O_EXITKILL, PTRACE_O_TRACESYSGOOD, USER_PT_REGS_SIZE,
  SYSCALL_REGS_SIZE,
} from '../../kernel-model/arm64/ptrace.js';
import { ARM64_KERNEL_VARIANTS, KernelArch, resolveArm64Variant, type KernelVariant } from '../../kernel-model/variants.js';
import { Nr } from '../linux/arm64/unistd.js';
import { InputError } from '../errors.js';
import type { Scenario, Step } from './load.js';
import type { RunOutcome } from './run.js';
import { StepError, toBig, type Value } from './world.js';

/** The CPU an arm64 scenario names: unicorn's AArch64 model the process model runs (emulator/unicorn-arm64.ts). */
export const ARM64_CPU = 'cortex-a72';

/** Budgets of one run (a guest that never ends stops the run with an error). */
const LIMITS = { maxInsns: 400_000_000, maxSyscalls: 200_000 };
/** syscall-stop: how many stops it may pass before it gives up. */
const MAX_STOPS = 10_000;

export const NOTES: Record<string, number> = { NT_PRSTATUS, NT_ARM_SYSTEM_CALL, NT_ARM_SYSCALL_REGS: ASSUMED_NT_ARM_SYSCALL_REGS };
export const OPTIONS: Record<string, number> = { PTRACE_O_TRACESYSGOOD, PTRACE_O_EXITKILL, PTRACE_O_ARM64_RAW_REGS };
const REQUESTS = ['PTRACE_SYSCALL', 'PTRACE_CONT', 'PTRACE_SINGLESTEP', 'PTRACE_KILL', 'PTRACE_SETOPTIONS', 'PTRACE_GETREGSET', 'PTRACE_SETREGSET', 'PTRACE_GETEVENTMSG', 'PTRACE_GETREGS'];
const REG_NAMES = [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'pstate'];

type At = (...path: (string | number)[]) => string;
type KeyAt = (path: (string | number)[], key: string) => string;
const fail = (place: string, message: string): never => { throw new InputError(place, undefined, message); };

/** Checks an arm64 scenario's CPUs, kernels and steps before anything runs. */
export function checkArm64Scenario(file: string, fileInFolder: (value: string, place: string) => string, s: { name: string; about: string; source: string | string[]; cpu: string | string[]; kernels: string[]; tasks: Scenario['tasks']; steps: Step[]; expect: Scenario['expect'] }, at: At, keyAt: KeyAt): Scenario {
  const cpus = Array.isArray(s.cpu) ? s.cpu : [s.cpu];
  cpus.forEach((c, i) => { if (c !== ARM64_CPU) fail(at('cpu', ...(Array.isArray(s.cpu) ? [i] : [])), `an arm64 scenario runs on '${ARM64_CPU}' (unicorn's AArch64 model), not '${c}'`); });
  const ids = ARM64_KERNEL_VARIANTS.map((v) => v.id);
  s.kernels.forEach((k, i) => { if (!ids.includes(k)) fail(at('kernels', i), `unknown arm64 kernel variant '${k}' (known: ${ids.join(', ')})`); });
  for (const [k, obs] of Object.entries(s.expect)) {
    const ok = k === 'all' || s.kernels.includes(k) || cpus.includes(k) || (k.includes('/') && cpus.includes(k.split('/')[0]) && s.kernels.includes(k.split('/')[1]));
    if (!ok) fail(keyAt(['expect'], k), `expectations for '${k}': expected all, one of the kernels (${s.kernels.join(', ')}) or the CPU`);
    for (const [o, v] of Object.entries(obs)) if (typeof v === 'number') fail(at('expect', k, o), `${o}: ${v} is not a whole number or a word`);
  }
  const tasks = new Set(Object.keys(s.tasks));
  for (const [t, def] of Object.entries(s.tasks)) if (Object.keys(def).length) fail(keyAt(['tasks'], t), `arm64 task '${t}': declare it empty ({}); a 'spawn' step gives it its program`);
  const spawned = new Set<string>(), traced = new Set<string>(), buffers = new Set<string>();
  const stepFiles: (string | undefined)[] = [];
  s.steps.forEach((st, i) => {
    const [kind, arg] = Object.entries(st)[0];
    const a = (arg ?? {}) as Record<string, unknown>;
    const here = (key?: string): string => (key === undefined ? at('steps', i, kind) : at('steps', i, kind, key));
    const task = (name: unknown, key = 'task'): string => {
      const n = String(name);
      if (!tasks.has(n)) fail(here(key), `no task '${n}' (tasks: ${[...tasks].join(', ') || 'none'})`);
      return n;
    };
    stepFiles.push(undefined);
    switch (kind) {
      case 'spawn': {
        const t = task(a.task);
        if (spawned.has(t)) fail(here('task'), `task '${t}' is spawned twice`);
        spawned.add(t);
        if (a.traced === true) traced.add(t);
        // Relative to the scenario's folder and inside it, a regular file (load.ts fileInScenarioFolder).
        stepFiles[i] = fileInFolder(String(a.program), here('program'));
        break;
      }
      case 'wait': { const t = task(a.task); if (!spawned.has(t)) fail(here('task'), `task '${t}' is not spawned before this step`); break; }
      case 'syscall-stop': case 'ptrace': {
        const t = task(a.task);
        if (!traced.has(t)) fail(here('task'), `${kind}: the scenario traces only tasks it spawned with 'traced: true' ('${t}' is not)`);
        if (kind === 'syscall-stop' && a.syscall !== undefined && !(String(a.syscall) in Nr) && !/^-?\d+$/.test(String(a.syscall))) fail(here('syscall'), `unknown syscall '${String(a.syscall)}' (a number, or a name of the model's: ${Object.keys(Nr).filter((x) => Number.isNaN(Number(x))).join(', ')})`);
        if (kind === 'ptrace') {
          if (!REQUESTS.includes(String(a.request))) fail(here('request'), `request '${String(a.request)}' is not one the scenario can make (${REQUESTS.join(', ')})`);
          if (a.note !== undefined && !(String(a.note) in NOTES)) fail(here('note'), `unknown note '${String(a.note)}' (${Object.keys(NOTES).join(', ')})`);
          for (const [j, o] of ((a.options as unknown[] | undefined) ?? []).entries()) if (!(String(o) in OPTIONS)) fail(at('steps', i, kind, 'options', j), `unknown option '${String(o)}' (${Object.keys(OPTIONS).join(', ')})`);
          const note = String(a.note ?? 'NT_PRSTATUS');
          const names = note === 'NT_PRSTATUS' ? REG_NAMES : note === 'NT_ARM_SYSTEM_CALL' ? ['syscallno'] : ['x7', 'orig_x0'];
          for (const [r, v] of Object.entries((a.set as Record<string, unknown> | undefined) ?? {})) {
            if (!names.includes(r)) fail(keyAt(['steps', i, kind, 'set'], r), `${note} has no field '${r}' (${names.join(', ')})`);
            if (typeof v !== 'bigint') fail(at('steps', i, kind, 'set', r), `${r}: ${JSON.stringify(v)} is not a whole number`);
            // The bytes the tracer writes: a u64 register, or NT_ARM_SYSTEM_CALL's int as its 4 bytes (0xffffffff is -1).
            const max = note === 'NT_ARM_SYSTEM_CALL' ? 0xffffffffn : 0xffffffffffffffffn;
            const b = v as bigint;
            if (b < 0n || b > max) fail(at('steps', i, kind, 'set', r), `${r}: ${b < 0n ? String(b) : `0x${b.toString(16)}`} is out of range: allowed 0..0x${max.toString(16)}${note === 'NT_ARM_SYSTEM_CALL' ? ' (the int\'s 4 bytes: write -1 as 0xffffffff)' : ''}`);
          }
          if ((a.set !== undefined || a.from !== undefined) && a.request !== 'PTRACE_SETREGSET') fail(here(a.set !== undefined ? 'set' : 'from'), `'set'/'from' belong to PTRACE_SETREGSET`);
          if (a.into !== undefined && a.request !== 'PTRACE_GETREGSET') fail(here('into'), `'into' belongs to PTRACE_GETREGSET`);
          if (a.from !== undefined && !buffers.has(String(a.from))) fail(here('from'), `no buffer '${String(a.from)}' before this step (a PTRACE_GETREGSET step names it with 'into'${buffers.size ? `; so far: ${[...buffers].join(', ')}` : ''})`);
          if (a.into !== undefined) buffers.add(String(a.into));
          const sig = a.sig;
          if (sig !== undefined && !(typeof sig === 'string' && sig in Sig) && !(typeof sig === 'bigint' && sig >= 0n && sig <= 64n)) fail(here('sig'), `sig: ${String(sig)} is not a signal (a name like SIGTERM or a number 0..64)`);
          if (a.len !== undefined && (a.len as bigint) > 0x100000n) fail(here('len'), `len: ${String(a.len)} is larger than the scenario's tracer buffers (1 MiB)`);
        }
        break;
      }
      default: fail(here(), `step '${kind}' is not an arm64 step (spawn, wait, syscall-stop, ptrace)`);
    }
  });
  return {
    file, name: s.name, about: s.about, source: Array.isArray(s.source) ? s.source : [s.source], cpus, cpuSpecs: Object.fromEntries(cpus.map((c) => [c, c])),
    kernels: s.kernels, kernelVariants: Object.fromEntries(s.kernels.map((k) => [k, resolveArm64Variant(k)])), tasks: s.tasks, steps: s.steps, expect: s.expect, stepPlaces: s.steps.map((_, i) => at('steps', i)), stepFiles, fieldUses: [], arch: KernelArch.Arm64,
  };
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const errnoName = (r: bigint): string => (r >= 0n ? '0' : Errno[Number(-r)] ?? String(-r));

/** The world of one arm64 run: the process model, the scenario's tasks by name, its buffers and observations. */
class Arm64World {
  readonly k: Arm64Linux;
  readonly tasks = new Map<string, Task>();
  readonly observations = new Map<string, Value>();
  readonly buffers = new Map<string, Uint8Array>();
  constructor(variant: KernelVariant) { this.k = new Arm64Linux(variant); }

  observe(name: string, v: Value): void { this.observations.set(name, v); }

  task(name: string): Task {
    const t = this.tasks.get(name);
    if (!t) throw new StepError(`task '${name}' is not spawned`);
    return t;
  }

  /** The lines `key: value` a task printed, as observations under `as`. */
  private lines(t: Task, as: string): void {
    for (const line of t.output.split('\n')) {
      const m = /^([A-Za-z0-9_.-]+):\s*(.*)$/.exec(line.trim());
      if (m) this.observe(`${as}.${m[1]}`, m[2]);
    }
  }

  private report(t: Task, as: string): void {
    this.lines(t, as);
    if (t.state === 'zombie' || t.state === 'reaped') {
      const st = t.exitStatus;
      if ((st & 0x7f) === 0) { this.observe(`${as}.stop`, 'exited'); this.observe(`${as}.exit`, BigInt((st >> 8) & 0xff)); }
      else { this.observe(`${as}.stop`, 'killed'); this.observe(`${as}.signal`, Sig[st & 0x7f] ?? String(st & 0x7f)); }
      this.observe(`${as}.status`, BigInt(st));
      return;
    }
    this.observe(`${as}.stop`, t.stop?.kind ?? 'stopped');
    this.observe(`${as}.status`, BigInt(t.stopStatus ?? 0));
    this.observe(`${as}.signal`, Sig[t.stopSignal] ?? String(t.stopSignal));
    if (t.sys) this.observe(`${as}.syscall`, Nr[t.sys.nr] ?? String(t.sys.nr));
  }

  spawn(name: string, program: string, traced: boolean, args: string[]): void {
    const exe = arm64GuestExecutable(program);
    this.tasks.set(name, this.k.spawn(name, exe, [program.split('/').pop()!, ...args], traced ? 'scenario' : undefined));
  }

  /** The scenario's wait4: the next unreported stop of a task it traces, or the exit of any task. */
  wait(name: string, as: string): void {
    const t = this.task(name);
    const traced = t.tracer === 'scenario';
    const ready = (): boolean => t.state === 'zombie' || t.state === 'reaped' || (traced && t.state === 'stopped' && !t.stopReported);
    const why = this.k.run(ready, LIMITS);
    if (why !== 'done') throw new StepError(`task '${name}' ${why === 'idle' ? 'never stopped or exited (every task is blocked or stopped)' : 'ran past the instruction or syscall budget'}${this.k.notModelled.length ? `; not modelled: ${this.k.notModelled.join('; ')}` : ''}`);
    if (t.state === 'stopped') t.stopReported = true;
    this.report(t, as);
  }

  /** A tracer's loop: PTRACE_SYSCALL and wait until the wanted stop (the next entry or exit, of `syscall` if named). */
  syscallStop(name: string, at: 'entry' | 'exit', syscall: string | undefined, as: string): void {
    const t = this.task(name);
    const want = at === 'entry' ? 'syscall-entry' : 'syscall-exit';
    for (let n = 0; n < MAX_STOPS; n++) {
      this.ptraceResume(t, PtraceRequest.SYSCALL, 0);
      this.wait(name, as);
      if (t.state !== 'stopped') throw new StepError(`task '${name}' exited before a ${want} stop${syscall ? ` of ${syscall}` : ''}`);
      if (t.stop?.kind === want && (syscall === undefined || Nr[t.sys!.nr] === syscall || String(t.sys!.nr) === syscall)) return;
    }
    throw new StepError(`no ${want} stop of ${syscall ?? 'any call'} within ${MAX_STOPS} stops`);
  }

  private ptraceResume(t: Task, req: PtraceRequest, sig: number): void {
    if (t.state !== 'stopped') throw new StepError(`task '${t.name}' is not stopped (ptrace needs a stopped tracee: ESRCH)`);
    this.k.request(t, req, 0n, BigInt(sig), NO_MEM);
  }

  ptrace(a: Record<string, unknown>): void {
    const t = this.task(String(a.task));
    const as = a.as === undefined ? undefined : String(a.as);
    const req = String(a.request);
    const obs = (k: string, v: Value): void => { if (as !== undefined) this.observe(`${as}.${k}`, v); };
    if (t.state !== 'stopped') { obs('errno', 'ESRCH'); return; }
    switch (req) {
      case 'PTRACE_SYSCALL': case 'PTRACE_CONT': case 'PTRACE_SINGLESTEP': case 'PTRACE_KILL': {
        const code = { PTRACE_SYSCALL: PtraceRequest.SYSCALL, PTRACE_CONT: PtraceRequest.CONT, PTRACE_SINGLESTEP: PtraceRequest.SINGLESTEP, PTRACE_KILL: PtraceRequest.KILL }[req]!;
        const sig = a.sig === undefined ? 0 : Number(Sig[String(a.sig) as keyof typeof Sig] ?? toBig(a.sig as Value));
        obs('errno', errnoName(this.k.request(t, code, 0n, BigInt(sig), NO_MEM)));
        return;
      }
      case 'PTRACE_GETREGS':
        // arm64 has no PTRACE_GETREGS: tracers must use PTRACE_GETREGSET (ptrace_request's default -EIO).
        obs('errno', errnoName(this.k.request(t, PtraceRequest.GETREGS, 0n, 0n, NO_MEM)));
        return;
      case 'PTRACE_SETOPTIONS': {
        const bits = ((a.options as string[] | undefined) ?? []).reduce((m, o) => m | OPTIONS[o], 0);
        obs('errno', errnoName(this.k.request(t, PtraceRequest.SETOPTIONS, 0n, BigInt(bits), NO_MEM)));
        return;
      }
      case 'PTRACE_GETEVENTMSG': {
        const mem = new ScenarioMemory(8);
        obs('errno', errnoName(this.k.request(t, PtraceRequest.GETEVENTMSG, 0n, ScenarioMemory.BASE, mem)));
        obs('msg', new DataView(mem.bytes.buffer).getBigUint64(0, true));
        return;
      }
      case 'PTRACE_GETREGSET': case 'PTRACE_SETREGSET': {
        const noteName = String(a.note ?? 'NT_PRSTATUS');
        const note = NOTES[noteName];
        const size = noteName === 'NT_PRSTATUS' ? USER_PT_REGS_SIZE : noteName === 'NT_ARM_SYSTEM_CALL' ? 4 : SYSCALL_REGS_SIZE;
        const len = a.len === undefined ? size : Number(a.len as bigint);
        if (req === 'PTRACE_GETREGSET') {
          const out = new Uint8Array(len);
          const r = this.k.regset(t, true, note, len, () => undefined, (b) => { out.set(b); return true; });
          obs('errno', r.errno ? Errno[r.errno] : '0');
          if (r.errno) return;
          obs('len', BigInt(r.len));
          const got = out.subarray(0, r.len);
          if (a.into !== undefined) this.buffers.set(String(a.into), got.slice());
          if (as !== undefined) this.fields(noteName, got, as);
          return;
        }
        // SETREGSET: the bytes of buffer `from`, or of a fresh GETREGSET (what a tracer reads first), with `set` applied.
        let bytes: Uint8Array;
        if (a.from !== undefined) {
          const b = this.buffers.get(String(a.from));
          if (!b) throw new StepError(`no buffer '${String(a.from)}' (a PTRACE_GETREGSET step names it with 'into')`);
          bytes = b.slice();
        } else {
          bytes = new Uint8Array(size);
          const r = this.k.regset(t, true, note, size, () => undefined, (b) => { bytes.set(b); return true; });
          if (r.errno) { obs('errno', Errno[r.errno]); return; }
        }
        const dv = new DataView(bytes.buffer);
        for (const [k, v] of Object.entries((a.set as Record<string, bigint> | undefined) ?? {})) {
          if (noteName === 'NT_ARM_SYSTEM_CALL') dv.setUint32(0, Number(v), true);
          else {
            const i = noteName === 'NT_PRSTATUS' ? REG_NAMES.indexOf(k) : ['x7', 'orig_x0'].indexOf(k);
            dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true);
          }
        }
        const r = this.k.regset(t, false, note, a.len === undefined ? bytes.length : len, (n) => bytes.subarray(0, n), () => true);
        obs('errno', r.errno ? Errno[r.errno] : '0');
        return;
      }
      default: throw new StepError(`request ${req} is not modelled`);
    }
  }

  private fields(note: string, b: Uint8Array, as: string): void {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (note === 'NT_ARM_SYSTEM_CALL') { if (b.length >= 4) this.observe(`${as}.syscallno`, BigInt(dv.getInt32(0, true))); return; }
    const names = note === 'NT_PRSTATUS' ? REG_NAMES : ['x7', 'orig_x0'];
    names.forEach((n, i) => { if ((i + 1) * 8 <= b.length) this.observe(`${as}.${n}`, hex(dv.getBigUint64(i * 8, true))); });
  }
}

/** The scenario as a tracer has no memory in the model; requests that need none get this. */
const NO_MEM = { read: (): undefined => undefined, write: (): boolean => false };

/** A little memory of the scenario's own (PTRACE_GETEVENTMSG's answer). */
class ScenarioMemory {
  static readonly BASE = 0x1000n;
  readonly bytes: Uint8Array;
  constructor(n: number) { this.bytes = new Uint8Array(n); }
  read(p: bigint, n: number): Uint8Array | undefined { const o = Number(p - ScenarioMemory.BASE); return o >= 0 && o + n <= this.bytes.length ? this.bytes.slice(o, o + n) : undefined; }
  write(p: bigint, b: Uint8Array): boolean { const o = Number(p - ScenarioMemory.BASE); if (o < 0 || o + b.length > this.bytes.length) return false; this.bytes.set(b, o); return true; }
}

/** One arm64 scenario under one arm64 variant. */
export function runArm64Scenario(s: Scenario, cpuId: string, variant: KernelVariant, expectKey = variant.id): RunOutcome {
  if (variant.arch !== KernelArch.Arm64) throw new InputError(s.file, undefined, `an arm64 scenario cannot run under the ${variant.arch} variant ${variant.id}`);
  if (cpuId !== ARM64_CPU) throw new InputError(s.file, undefined, `an arm64 scenario runs on ${ARM64_CPU}, not ${cpuId}`);
  const want = { ...(s.expect.all ?? {}), ...(s.expect[expectKey] ?? {}), ...(s.expect[cpuId] ?? {}), ...(s.expect[`${cpuId}/${expectKey}`] ?? {}) };
  const w = new Arm64World(variant);
  let error: string | undefined;
  try {
    s.steps.forEach((st, i) => {
      const [kind, raw] = Object.entries(st)[0];
      const a = raw as Record<string, unknown>;
      try {
        switch (kind) {
          case 'spawn': return w.spawn(String(a.task), s.stepFiles[i]!, a.traced === true, ((a.args as unknown[] | undefined) ?? []).map(String));
          case 'wait': return w.wait(String(a.task), String(a.as));
          case 'syscall-stop': return w.syscallStop(String(a.task), a.at === 'exit' ? 'exit' : 'entry', a.syscall === undefined ? undefined : String(a.syscall), String(a.as));
          case 'ptrace': return w.ptrace(a);
          default: throw new StepError(`unknown step '${kind}'`);
        }
      } catch (e) {
        if (e instanceof StepError) throw new StepError(`${s.stepPlaces[i]}: ${kind}: ${e.message}`);
        throw e;
      }
    });
  } catch (e) {
    if (!(e instanceof StepError)) throw e;
    error = e.message;
  } finally {
    for (const t of w.k.tasks) if (t.state !== 'zombie' && t.state !== 'reaped') t.uc.close();
  }
  if (w.k.notModelled.length) w.observe('model.not-modelled', w.k.notModelled.join('; '));
  const same = (e: Value, o: Value | undefined): boolean => {
    if (o === undefined) return false;
    try { return toBig(e) === toBig(o); } catch { return String(e) === String(o); }
  };
  const checks = Object.entries(want).map(([name, expected]) => {
    const observed = w.observations.get(name);
    return { name, expected, observed, pass: same(expected, observed) };
  });
  const show = (v: Value): string => (typeof v === 'bigint' ? (v < 0n ? String(v) : hex(v)) : v);
  return {
    scenario: s.name, file: s.file, cpu: cpuId, variant: variant.id,
    observations: Object.fromEntries([...w.observations].map(([k, v]) => [k, show(v)])),
    // The tracer's register images stay out of the outcome: diff would read buffers as XSAVE images; the registers are observations.
    checks, error, buffers: {},
  };
}
