/**
 * `xstate-lab readers --cpu ID`: for each ptracer reader model (src/readers/), which registers
 * it misreads in the NT_X86_XSTATE image Linux produces on that CPU, and where its reads land.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { formatMask, maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { DEFAULT_KERNEL_VARIANT, resolveLinuxVariant } from '../../kernel-model/variants.js';
import { InputError } from '../errors.js';
import { ReadVerdict, compareAllReaders, misreadRegisters, registerRange, type ReaderReport } from '../readers/compare.js';
import { layoutNoteFor } from '../readers/layout-note.js';
import type { ReaderInput } from '../readers/readers.js';

export interface ReadersOptions {
  /** The user mask at byte 464; default: what the kernel variant enables on the CPU. */
  xcr0?: number;
  kernel?: string;
  /** Give the readers the NT_X86_XSAVE_LAYOUT note of a 6.12+ core. */
  layoutNote?: boolean;
  /** The machine the CPUID-driven readers run on (default: the same CPU). */
  runsOn?: CpuModel;
}

export interface ReadersResult {
  format: 'xstate-lab.readers/1';
  cpu: string;
  xcr0: string;
  size: number;
  layoutNote: boolean;
  runsOn: string;
  readers: { id: string; title: string; via: string; unavailable?: string; misread: string[];
    components: { component: number; name: string; verdict: ReadVerdict; trueOffset: number; believedOffset?: number; landsIn?: string; registers: string }[] }[];
}

/** The reader input for the image Linux would produce on `cpu`. */
export function linuxReaderInput(cpu: CpuModel, o: ReadersOptions = {}): { input: ReaderInput; xcr0: number } {
  const cfg = fpu__init_system_xstate(cpu, resolveLinuxVariant(o.kernel ?? DEFAULT_KERNEL_VARIANT));
  if (!cfg.useXsave) throw new InputError('<command line>', '--cpu', `${cpu.id}: Linux does not use XSAVE there, so there is no NT_X86_XSTATE image`);
  const xcr0 = o.xcr0 ?? cfg.user.maxFeatures;
  const bad = (xcr0 & ~cpu.xcr0Supported) >>> 0;
  if (bad) throw new InputError('<command line>', '--xcr0', `bit(s) ${formatMask(bad)} not supported by ${cpu.id}`);
  return { xcr0, input: { size: cpu.standardSize(xcr0), userMask: xcr0, layoutNote: o.layoutNote ? layoutNoteFor(cpu, xcr0) : undefined, runsOn: o.runsOn } };
}

export function runReaders(cpu: CpuModel, o: ReadersOptions = {}): ReadersResult {
  const { input, xcr0 } = linuxReaderInput(cpu, o);
  const reports = compareAllReaders(input, cpu);
  return {
    format: 'xstate-lab.readers/1', cpu: cpu.id, xcr0: formatMask(xcr0), size: input.size, layoutNote: !!o.layoutNote, runsOn: (o.runsOn ?? cpu).id,
    readers: reports.map((r) => ({
      id: r.reader.id, title: r.reader.title, via: r.belief.via, unavailable: r.belief.unavailable, misread: misreadRegisters(r),
      components: r.components.map((c) => ({ component: c.component, name: c.name, verdict: c.verdict, trueOffset: c.trueOffset, believedOffset: c.believedOffset, landsIn: c.landsIn, registers: registerRange(c.registers) })),
    })),
  };
}

export function formatReaderReport(r: ReaderReport, indent = '  '): string[] {
  const lines = [`${r.reader.id}: ${r.reader.title}`, `${indent}layout: ${r.belief.via}`];
  if (r.belief.unavailable) lines.push(`${indent}reads no extended register: ${r.belief.unavailable}`);
  const by = (v: ReadVerdict) => r.components.filter((c) => c.verdict === v);
  const mis = by(ReadVerdict.Misread);
  if (mis.length === 0) lines.push(`${indent}misreads: none`);
  for (const c of mis) lines.push(`${indent}MISREADS ${registerRange(c.registers)} (${c.name}): reads offset ${c.believedOffset}, true offset ${c.trueOffset}; at that offset: ${c.landsIn}`);
  const right = by(ReadVerdict.Right);
  if (right.length) lines.push(`${indent}right: ${right.map((c) => `${c.name} @${c.trueOffset}`).join(', ')}`);
  const notRead = [...by(ReadVerdict.NotRead), ...by(ReadVerdict.Unavailable)];
  if (notRead.length) lines.push(`${indent}not shown: ${notRead.map((c) => c.name).join(', ')}`);
  return lines;
}

export function formatReaders(cpu: CpuModel, o: ReadersOptions = {}): string {
  const { input, xcr0 } = linuxReaderInput(cpu, o);
  const truth = maskBits(xcr0).filter((c) => c >= 2 && cpu.components[c]).map((c) => `${xfeatureId(c)} ${cpu.components[c]!.standardOffset}`).join(', ');
  const lines = [
    `${cpu.id}: XCR0 ${formatMask(xcr0)}${o.xcr0 === undefined ? ` (what ${o.kernel ?? DEFAULT_KERNEL_VARIANT} enables)` : ''}, NT_X86_XSTATE image ${input.size} bytes${o.layoutNote ? ', with NT_X86_XSAVE_LAYOUT' : ''}${o.runsOn ? `, CPUID readers running on ${o.runsOn.id}` : ''}`,
    `true offsets (CPUID.(0DH,i).EBX): ${truth || 'none (x87/SSE only)'}`,
  ];
  for (const r of compareAllReaders(input, cpu)) lines.push('', ...formatReaderReport(r));
  return lines.join('\n');
}
