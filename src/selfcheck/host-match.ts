/**
 * Referees compare like with like. A referee runs this machine's CPU and kernel against the model
 * of a profile; given `--cpu P`, the model is P's, and what P's kernel would do is what the kernel
 * model derives for P (fpu__init_system_xstate with the variant of the host's kernel). When that
 * differs from what the model derives for this host's own capture in anything the referee
 * depends on, every difference would show up as a "mismatch" that is no bug of the model: the
 * referee refuses, naming what differs, in one line.
 *
 * What a referee depends on (RefereeScope):
 * - every referee runs the CPU model: the silicon (vendor, family/model/stepping, the size,
 *   standard offset and alignment of each user component, CPUID.(0DH,i) i >= 2), the CPU features
 *   the model consults (CpuFeatures) and MXCSR_MASK, under the XCR0 the host kernel sets;
 * - the kernel referees also run the kernel's own save and buffers: the save instruction and
 *   format, IA32_XSS, the kernel buffer size and the UABI (NT_X86_XSTATE) size.
 */
import type { CpuFeatures, CpuModel } from '../../emulator/cpu-model.js';
import { maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate, type FpuConfig } from '../../kernel-model/fpu-config.js';
import type { KernelVariant } from '../../kernel-model/variants.js';

export enum RefereeScope {
  /** `selfcheck cpu`, `selfcheck insn`: user-mode instructions on the silicon under the kernel's XCR0. */
  Cpu = 'cpu',
  /** `selfcheck getregset|kernel|sigframe|kvm`: also the kernel's save path, buffers and UABI sizes. */
  Kernel = 'kernel',
}

export interface ViewDifference {
  /** What differs, in words ("kernel save"); the line reads "its <what> <given>, this host's <host>". */
  what: string;
  given: string;
  host: string;
}

/** Display names of the CPU features the model consults (a Record, so a new feature must be named here). */
const FEATURE_NAMES: Record<keyof CpuFeatures, string> = {
  fxsr: 'FXSR', xsave: 'XSAVE', xsaveopt: 'XSAVEOPT', xsavec: 'XSAVEC', xgetbv1: 'XGETBV(1)', xsaves: 'XSAVES', xfd: 'XFD',
  avx: 'AVX', avx2: 'AVX2', avx512f: 'AVX512F', pku: 'PKU', amxTile: 'AMX-TILE',
  fdpExcptnOnly: 'FDP_EXCPTN_ONLY', fcsFdsDeprecated: 'FCS/FDS deprecation', xsaveErPtr: 'XSaveErPtr', fsgsbase: 'FSGSBASE',
};
/** Features that only choose the kernel's save instruction: named once, by the save line, in the kernel scope. */
const SAVE_CHOOSERS: readonly (keyof CpuFeatures)[] = ['xsaveopt', 'xsavec', 'xsaves'];

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** The kernel's save path in one phrase, e.g. "XSAVEC (compacted, XCR0 0xe7, IA32_XSS 0x0)". */
export function describeKernelSave(cfg: FpuConfig): string {
  if (!cfg.useXsave) return 'FXSAVE (no XSAVE)';
  return `${cfg.saveInsn} (${cfg.compacted ? 'compacted' : 'standard'}, XCR0 ${hex(cfg.xcr0)}, IA32_XSS ${hex(cfg.xss)})`;
}

function silicon(cpu: CpuModel): string {
  const p = cpu.profile;
  return `${p.vendor} family ${hex(p.family)} model ${hex(p.model)} stepping ${p.stepping}`;
}

function componentShape(cpu: CpuModel, i: number): string {
  const c = cpu.components[i];
  return c ? `${c.size} bytes at ${c.standardOffset}${c.align64 ? ', 64-byte aligned' : ''}` : 'none';
}

/** What differs between the views of `given` and of `host` (this machine's capture) that a referee of `scope` depends on. */
export function viewDifferences(given: CpuModel, host: CpuModel, v: KernelVariant, scope: RefereeScope): ViewDifference[] {
  const out: ViewDifference[] = [];
  const g = fpu__init_system_xstate(given, v), h = fpu__init_system_xstate(host, v);
  const saveDiffers = scope === RefereeScope.Kernel && (g.useXsave !== h.useXsave || g.saveInsn !== h.saveInsn || g.compacted !== h.compacted || g.xss !== h.xss);
  if (saveDiffers) out.push({ what: 'kernel would save with', given: describeKernelSave(g), host: `kernel saves with ${describeKernelSave(h)}` });
  else if (g.xcr0 !== h.xcr0) out.push({ what: 'kernel would set XCR0', given: hex(g.xcr0), host: hex(h.xcr0) });
  if (silicon(given) !== silicon(host)) out.push({ what: 'CPU is', given: silicon(given), host: silicon(host) });
  for (const i of maskBits((given.xcr0Supported | host.xcr0Supported) >>> 0)) {
    if (i < 2 || given.components[i]?.supervisor || host.components[i]?.supervisor) continue;
    const a = componentShape(given, i), b = componentShape(host, i);
    if (a !== b) out.push({ what: `CPUID.(0DH,${i}) ${xfeatureId(i)}`, given: a, host: b });
  }
  const features = (Object.keys(FEATURE_NAMES) as (keyof CpuFeatures)[])
    .filter((f) => given.features[f] !== host.features[f] && !(saveDiffers && SAVE_CHOOSERS.includes(f)));
  if (features.length) {
    const list = (cpu: CpuModel): string => features.map((f) => `${FEATURE_NAMES[f]} ${cpu.features[f] ? 'yes' : 'no'}`).join(', ');
    out.push({ what: 'CPUID says', given: list(given), host: list(host) });
  }
  if (given.mxcsrMask !== host.mxcsrMask) out.push({ what: 'MXCSR_MASK', given: hex(given.mxcsrMask), host: hex(host.mxcsrMask) });
  if (scope === RefereeScope.Kernel && !saveDiffers && (g.kernel.maxSize !== h.kernel.maxSize || g.user.maxSize !== h.user.maxSize)) {
    const sizes = (c: FpuConfig): string => `kernel buffer ${c.kernel.maxSize} bytes, NT_X86_XSTATE ${c.user.maxSize}`;
    out.push({ what: 'sizes', given: sizes(g), host: sizes(h) });
  }
  return out;
}

/**
 * The one line a referee prints when `--cpu` describes another view than this host's, or
 * undefined when they agree on everything the referee depends on.
 */
export function unlikeHostLine(referee: string, cpuArg: string, given: CpuModel, host: CpuModel, v: KernelVariant, scope: RefereeScope): string | undefined {
  const d = viewDifferences(given, host, v, scope);
  if (d.length === 0) return undefined;
  return `--cpu ${cpuArg}: ${d.map((x) => `its ${x.what} ${x.given}, this host's ${x.host}`).join('; ')}; the ${referee} referee compares only like with like: run without --cpu (or with --cpu host)`;
}

/** A referee refused a `--cpu` whose view is not this host's (the CLI prints the message and exits 2). */
export class UnlikeHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnlikeHostError';
  }
}
