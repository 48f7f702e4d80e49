/**
 * Runs a scenario on each of its CPUs and kernel variants: the steps drive the World (kernel
 * model + CPU model), and what they observe is compared with the scenario's expectations.
 */
import { NoteType } from '../../kernel-model/regset.js';
import { KernelArch, resolveArm64Variant, resolveKernelVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { runArm64Scenario } from './arm64.js';
import { checkScenarioOnCpu, scenarioCpuModel, type Scenario, type Step } from './load.js';
import { StepError, StepInputError, TaskSignal, World, toBig, type Value } from './world.js';
import type { BadAddress, NetbsdWorld } from './netbsd-world.js';
import type { BufferFormat } from './buffer-format.js';
import { InputError } from '../errors.js';

export interface Check {
  name: string;
  expected: Value;
  observed: Value | undefined;
  pass: boolean;
}

export interface RunOutcome {
  scenario: string;
  file: string;
  cpu: string;
  variant: string;
  observations: Record<string, string>;
  checks: Check[];
  /** A step the model could not carry out (bad reference, wrong order): the run is a failure. */
  error?: string;
  buffers: Record<string, Uint8Array>;
  /** What each buffer holds where it is not a standard-format XSAVE image (src/scenario/buffer-format.ts). */
  bufferFormats?: Record<string, string>;
}

const show = (v: Value | undefined): string => (v === undefined ? '(none)' : typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

function same(expected: Value, observed: Value | undefined): boolean {
  if (observed === undefined) return false;
  // Numbers compare as numbers, whether a step observed one or a guest printed one (0x2a, 42).
  if (typeof observed === 'bigint' || (typeof expected === 'bigint' && /^(0x[0-9a-f]+|\d+)$/i.test(observed))) {
    try { return toBig(expected) === toBig(observed); } catch { return false; }
  }
  return String(expected) === observed;
}

type Args = Record<string, unknown>;
const str = (a: Args, k: string): string => a[k] as string;
const num = (a: Args, k: string): number | undefined => (a[k] === undefined ? undefined : Number(a[k] as bigint));
const note = (a: Args): NoteType => (a.note === 'NT_PRFPREG' ? NoteType.NT_PRFPREG : NoteType.NT_X86_XSTATE);

/** The NetBSD side of the world for a NetBSD-only request (a StepError, so n/a, under Linux). */
function netbsd(w: World, request: string): NetbsdWorld {
  // The message names no variant: a patched Linux and its base must fail alike (diff compares errors).
  if (!w.netbsd) throw new StepError(`${request} is a NetBSD request; Linux has none (its FPU requests are getregset and setregset; portable steps: get-register, set-register)`);
  return w.netbsd;
}
const lwpId = (a: Args): number => num(a, 'lwp') ?? 0;
const bad = (a: Args): BadAddress | undefined => a['bad-address'] as BadAddress | undefined;

function runStep(w: World, step: Step, file: string | undefined): void {
  const [kind, raw] = Object.entries(step)[0];
  const a = raw as Args;
  switch (kind) {
    case 'stop': return w.stop(raw as string);
    case 'resume': return w.resume(raw as string);
    case 'write': return w.write(str(a, 'task'), a.fields as Record<string, Value>, (a.clear as string[] | undefined) ?? []);
    case 'read': return w.observe(str(a, 'as'), w.read(str(a, 'task'), str(a, 'field')));
    case 'getregset': return w.getregset(str(a, 'task'), note(a), num(a, 'len'), str(a, 'into'));
    case 'setregset': return w.setregset(str(a, 'task'), note(a), str(a, 'from'), num(a, 'len'), str(a, 'as'));
    case 'poke': return w.poke(str(a, 'buf'), str(a, 'field'), a.value as Value, (a['xstate-bv'] as 'set' | 'clear' | 'keep' | undefined) ?? 'keep');
    case 'peek': return w.observe(str(a, 'as'), w.peek(str(a, 'buf'), str(a, 'field')));
    case 'signal': return w.signal(str(a, 'task'), str(a, 'into'));
    case 'sigreturn': return w.sigreturn(str(a, 'frame'), str(a, 'as'));
    case 'arch_prctl': return w.arch_prctl(str(a, 'task'), str(a, 'op'), num(a, 'arg')!, str(a, 'as'));
    case 'core': return w.core(str(a, 'task'), str(a, 'into'), a['switched-out'] === true);
    case 'readers': return w.readers(str(a, 'buf'), str(a, 'as'));
    case 'xsave': return w.userXsave(str(a, 'task'), str(a, 'into'), num(a, 'fill') ?? 0);
    case 'cpuid': return w.cpuid(str(a, 'task'), num(a, 'leaf')!, num(a, 'sub') ?? 0, str(a, 'as'));
    case 'exec': return w.exec(file ?? str(a, 'program'), ((a.args as unknown[] | undefined) ?? []).map(String), str(a, 'as'), (a.files as string[] | undefined) ?? []);
    case 'buffer': return w.makeBuffer(str(a, 'into'), num(a, 'size')!, num(a, 'fill') ?? 0, a.from as string | undefined, a.core === true, a.format as BufferFormat | undefined);
    case 'kvm-create': return w.kvmVcpu(str(a, 'vcpu'), a.vendor as string | undefined);
    case 'kvm-get-xsave': return w.kvmGetXsave(str(a, 'vcpu'), str(a, 'into'));
    case 'kvm-set-xsave': return w.kvmSetXsave(str(a, 'vcpu'), str(a, 'from'), str(a, 'as'));
    case 'kvm-pkru': return w.kvmPkru(str(a, 'vcpu'), str(a, 'as'));
    case 'pt-getxstate': { netbsd(w, 'PT_GETXSTATE').getxstate(w.stoppedTask(str(a, 'task')), num(a, 'len'), lwpId(a), str(a, 'into'), bad(a)); return; }
    case 'pt-setxstate': { netbsd(w, 'PT_SETXSTATE').setxstate(w.stoppedTask(str(a, 'task')), str(a, 'from'), num(a, 'len'), lwpId(a), str(a, 'as'), bad(a)); return; }
    case 'pt-getfpregs': return netbsd(w, 'PT_GETFPREGS').getfpregs(w.stoppedTask(str(a, 'task')), lwpId(a), str(a, 'into'), bad(a));
    case 'pt-setfpregs': return netbsd(w, 'PT_SETFPREGS').setfpregs(w.stoppedTask(str(a, 'task')), str(a, 'from'), lwpId(a), str(a, 'as'), bad(a));
    case 'get-register': return w.getRegister(str(a, 'task'), str(a, 'reg'), num(a, 'len'), str(a, 'as'));
    case 'set-register': return w.setRegister(str(a, 'task'), str(a, 'reg'), a.value as Value, num(a, 'len'), str(a, 'as'));
    default: throw new StepError(`unknown step '${kind}'`);
  }
}

/** One scenario on one CPU and one variant (a merged kernel, a proposal or a patch). */
export function runScenario(s: Scenario, cpuId: string, variant: KernelVariant, expectKey = variant.id): RunOutcome {
  if (s.arch === KernelArch.Arm64) return runArm64Scenario(s, cpuId, variant, expectKey);
  if (variant.arch !== KernelArch.X86_64) throw new InputError(s.file, undefined, `an x86-64 scenario cannot run under the ${variant.arch} variant ${variant.id}`);
  const want = { ...(s.expect.all ?? {}), ...(s.expect[expectKey] ?? {}), ...(s.expect[cpuId] ?? {}), ...(s.expect[`${cpuId}/${expectKey}`] ?? {}) };
  const spec = s.cpuSpecs[cpuId] ?? cpuId;
  const cpu = scenarioCpuModel(spec);
  // Before any step runs: every field the scenario names exists on this CPU (an InputError otherwise).
  checkScenarioOnCpu(s, cpu);
  const w = new World(cpu, variant, s.file, spec);
  let error: string | undefined;
  try {
    for (const [name, t] of Object.entries(s.tasks)) w.addTask(name, t.state ?? {}, t.amx === true);
    s.steps.forEach((st, i) => {
      try {
        runStep(w, st, s.stepFiles[i]);
      } catch (e) {
        if (e instanceof TaskSignal) { w.observe(`${e.task}.signal`, e.signal); return; }
        if (e instanceof StepError) throw new StepError(`${s.stepPlaces[i]}: ${Object.keys(st)[0]}: ${e.message}`);
        if (e instanceof StepInputError) throw new InputError(s.stepPlaces[i], undefined, `${Object.keys(st)[0]}: ${e.message}`);
        throw e;
      }
    });
  } catch (e) {
    if (!(e instanceof StepError || e instanceof TaskSignal)) throw e;
    error = e.message;
  }
  const checks = Object.entries(want).map(([name, expected]) => {
    const observed = w.observations.get(name);
    return { name, expected, observed, pass: same(expected, observed) };
  });
  return {
    scenario: s.name, file: s.file, cpu: cpuId, variant: variant.id,
    observations: Object.fromEntries([...w.observations].map(([k, v]) => [k, show(v)])),
    checks, error, buffers: Object.fromEntries(w.buffers), bufferFormats: Object.fromEntries(w.bufferFormats),
  };
}

/** Every CPU x kernel of the scenario, optionally restricted by --cpu / --kernel. */
export function runAll(s: Scenario, onlyCpu?: string[], onlyKernel?: string[]): RunOutcome[] {
  const out: RunOutcome[] = [];
  for (const c of s.cpus) {
    if (onlyCpu?.length && !onlyCpu.includes(c)) continue;
    for (const k of s.kernels) {
      if (onlyKernel?.length && !onlyKernel.includes(k)) continue;
      out.push(runScenario(s, c, s.kernelVariants[k] ?? (s.arch === KernelArch.Arm64 ? resolveArm64Variant(k) : resolveKernelVariant(k))));
    }
  }
  return out;
}

export const showValue = show;

/**
 * A value for people (the text table): numbers in hex as everywhere, with the decimal after them
 * where it differs (`0xa88 (2696)`); JSON and TAP keep the hex alone.
 */
export function showForPeople(v: Value | string | undefined): string {
  const s = typeof v === 'bigint' ? show(v) : v === undefined ? show(v) : v;
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) return s;
  const n = BigInt(s);
  return n < 10n ? show(n) : `${show(n)} (${n.toString(10)})`;
}
