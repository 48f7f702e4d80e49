/**
 * A reader's belief against the true layout: the standard offsets of the CPU the image came
 * from (CPUID.(0DH,i).EBX, emulator/cpu-model.ts), for the components of the image's user mask.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { expandFields, maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { READERS, ReaderId, readerBelief, type ReaderBelief, type ReaderInfo, type ReaderInput } from './readers.js';

export enum ReadVerdict {
  Right = 'right',
  Misread = 'misread',
  /** The reader has no registers for this component (AMX tiles in GDB). */
  NotRead = 'not-read',
  /** The reader found no layout at all and shows no extended registers. */
  Unavailable = 'unavailable',
}

export interface ComponentRead {
  component: number;
  name: string;
  trueOffset: number;
  size: number;
  believedOffset?: number;
  verdict: ReadVerdict;
  /** Register names of the component (fields without padding), e.g. k0..k7. */
  registers: string[];
  /** For a misread: what really sits at the believed offset. */
  landsIn?: string;
}

export interface ReaderReport {
  reader: ReaderInfo;
  belief: ReaderBelief;
  components: ComponentRead[];
}

const FIRST_EXTENDED = 2;
const isPadding = (name: string): boolean => /pad|reserved/i.test(name);

export function registerNames(component: number): string[] {
  return expandFields(component).map((f) => f.name).filter((n) => !isPadding(n));
}

/** "k0..k7" for a run of registers, the name alone for one. */
export function registerRange(names: readonly string[]): string {
  if (names.length === 0) return '';
  return names.length === 1 ? names[0]! : `${names[0]}..${names[names.length - 1]}`;
}

/** What the true layout holds at `offset` of an image of `size` bytes with user mask `mask`. */
export function whatIsAt(cpu: CpuModel, mask: number, size: number, offset: number): string {
  if (offset >= size) return `past the end of the ${size}-byte image`;
  for (const c of maskBits(mask)) {
    const info = cpu.components[c];
    if (c < FIRST_EXTENDED || !info || info.supervisor) continue;
    const rel = offset - info.standardOffset;
    if (rel < 0 || rel >= info.size) continue;
    const f = expandFields(c).find((x) => rel >= x.offset && rel < x.offset + x.size);
    return `${xfeatureId(c)}${f ? ' ' + f.name + (rel === f.offset ? '' : ` byte ${rel - f.offset}`) : ''} (offset ${offset})`;
  }
  return `a hole (offset ${offset}, zero in ptrace images)`;
}

export function compareReader(reader: ReaderId, inp: ReaderInput, cpu: CpuModel): ReaderReport {
  const info = READERS.find((r) => r.id === reader)!;
  const belief = readerBelief(reader, inp, cpu);
  const components: ComponentRead[] = [];
  for (const c of maskBits(inp.userMask)) {
    const ci = cpu.components[c];
    if (c < FIRST_EXTENDED || !ci || ci.supervisor) continue;
    const base = { component: c, name: xfeatureId(c), trueOffset: ci.standardOffset, size: ci.size, registers: registerNames(c) };
    const b = belief.offsets.get(c);
    if (b === undefined) components.push({ ...base, verdict: belief.unavailable ? ReadVerdict.Unavailable : ReadVerdict.NotRead });
    else if (b === ci.standardOffset) components.push({ ...base, believedOffset: b, verdict: ReadVerdict.Right });
    else components.push({ ...base, believedOffset: b, verdict: ReadVerdict.Misread, landsIn: whatIsAt(cpu, inp.userMask, inp.size, b) });
  }
  return { reader: info, belief, components };
}

export function compareAllReaders(inp: ReaderInput, cpu: CpuModel): ReaderReport[] {
  return READERS.map((r) => compareReader(r.id, inp, cpu));
}

/** Registers a report says the reader gets wrong (misread, or unavailable although present). */
export function misreadRegisters(r: ReaderReport): string[] {
  return r.components.filter((c) => c.verdict === ReadVerdict.Misread).flatMap((c) => c.registers);
}
