/**
 * `explain FILE`: decode a real XSAVE buffer field by field (a PTRACE_GETREGSET NT_X86_XSTATE
 * dump, a signal-frame fpstate, the NT_X86_XSTATE note of an ELF core, a raw XSAVE or XSAVEC/
 * XSAVES image) against a CPU model, and flag what looks wrong.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../../emulator/profile.js';
import { expandFields, formatMask, maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { DEFAULT_KERNEL_VARIANT, resolveLinuxVariant, type KernelVariant } from '../../kernel-model/variants.js';
import { InputError } from '../errors.js';
import { compareAllReaders, type ReaderReport } from '../readers/compare.js';
import { parseLayoutNote, type LayoutRecord } from '../readers/layout-note.js';
import { FPX_SW, FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2, FP_XSTATE_MAGIC2_SIZE, HEADER, NT_PRSTATUS, NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE, SW_BYTES_OFFSET, SW_BYTES_SIZE, USER_XSTATE_XCR0_OFFSET, XCOMP_BV_COMPACTED, hex, u32, u64 } from './abi.js';
import { isElf, readCoreNotes } from './elf-notes.js';

export enum BufferFormat {
  Auto = 'auto',
  Ptrace = 'ptrace',
  Sigframe = 'sigframe',
  CoreNote = 'core-note',
  Xsave = 'xsave',
  Compacted = 'compacted',
}

export enum Severity {
  Error = 'error',
  Warning = 'warning',
  Note = 'note',
}

export interface Finding {
  severity: Severity;
  where: string;
  message: string;
}

export interface DecodedField {
  offset: number;
  size: number;
  component: string;
  name: string;
  value: string;
}

export interface Decoded {
  format: BufferFormat;
  detectedBy: string;
  cpu: string;
  size: number;
  xstateBv: bigint;
  xcompBv: bigint;
  /** The mask the layout was built from (the word at 464, xfeatures, XCOMP_BV, or Linux's XCR0). */
  layoutMask: number;
  fields: DecodedField[];
  findings: Finding[];
  readers?: ReaderReport[];
  core?: { xstateNotes: number; prstatusNotes: number; layout?: LayoutRecord[] };
}

/** Legacy-region bytes the x87 and SSE components own; MXCSR is decoded with SSE. */
const LEGACY_COMPONENTS = [0, 1];
/** A field larger than this is summarized instead of printed in full. */
const MAX_PRINTED_BYTES = 64;
const FIRST_EXTENDED = 2;

function valueOf(b: Uint8Array, off: number, size: number): string {
  if (off + size > b.length) return '(past the end of the buffer)';
  const bytes = b.subarray(off, off + size);
  if (size > MAX_PRINTED_BYTES) {
    const nz = bytes.reduce((n, x) => n + (x ? 1 : 0), 0);
    return nz === 0 ? '0' : `${nz} non-zero bytes`;
  }
  // Little-endian integer, most significant byte first.
  let s = '';
  for (let i = size - 1; i >= 0; i--) s += bytes[i]!.toString(16).padStart(2, '0');
  s = s.replace(/^0+(?=.)/, '');
  return '0x' + s;
}

const isZero = (b: Uint8Array, off: number, size: number): boolean => b.subarray(off, Math.min(b.length, off + size)).every((x) => x === 0);

function detect(b: Uint8Array): { format: BufferFormat; by: string } {
  if (isElf(b)) return { format: BufferFormat.CoreNote, by: 'ELF magic: a core file' };
  if (b.length >= SW_BYTES_OFFSET + 4 && u32(b, FPX_SW.MAGIC1) === FP_XSTATE_MAGIC1) return { format: BufferFormat.Sigframe, by: `FP_XSTATE_MAGIC1 at ${FPX_SW.MAGIC1}` };
  if (b.length >= HEADER.END && (u64(b, HEADER.XCOMP_BV) & XCOMP_BV_COMPACTED)) return { format: BufferFormat.Compacted, by: 'XCOMP_BV bit 63 set' };
  if (b.length >= SW_BYTES_OFFSET + 8 && (Number(u64(b, USER_XSTATE_XCR0_OFFSET) & 3n) === 3)) return { format: BufferFormat.Ptrace, by: `an XCR0-like mask (x87|SSE set) at ${USER_XSTATE_XCR0_OFFSET}` };
  return { format: BufferFormat.Xsave, by: 'no magic, no XCR0 word at 464, XCOMP_BV bit 63 clear' };
}

export interface DecodeOptions {
  format?: BufferFormat;
  kernel?: string;
  /** The kernel itself (a scenario's, booted with options); wins over `kernel`. */
  variant?: KernelVariant;
  file?: string;
}

/** Decode `bytes` (the whole file) for `cpu`. */
export function decodeBuffer(bytes: Uint8Array, cpu: CpuModel, o: DecodeOptions = {}): Decoded {
  const file = o.file ?? '<buffer>';
  let format = o.format ?? BufferFormat.Auto;
  let by = 'given';
  if (format === BufferFormat.Auto) ({ format, by } = detect(bytes));
  let image = bytes;
  let core: Decoded['core'];
  const findings: Finding[] = [];
  if (format === BufferFormat.CoreNote) {
    const c = readCoreNotes(bytes, file);
    const xs = c.notes.filter((n) => n.type === NT_X86_XSTATE && n.name === 'LINUX');
    if (xs.length === 0) throw new InputError(file, 'notes', 'no NT_X86_XSTATE (0x202, "LINUX") note: the CPU or kernel did not use XSAVE, or this is not a Linux core');
    const lay = c.notes.find((n) => n.type === NT_X86_XSAVE_LAYOUT && n.name === 'LINUX');
    core = { xstateNotes: xs.length, prstatusNotes: c.notes.filter((n) => n.type === NT_PRSTATUS).length, layout: lay ? parseLayoutNote(lay.desc, file) : undefined };
    image = xs[0]!.desc;
    by += `; NT_X86_XSTATE note of ${image.length} bytes at file offset ${xs[0]!.offset}${xs.length > 1 ? ` (first of ${xs.length} threads)` : ''}`;
  }
  if (image.length < HEADER.END) throw new InputError(file, `${image.length} bytes`, `an XSAVE image has at least ${HEADER.END} bytes (legacy region and header)`);
  const cfg = fpu__init_system_xstate(cpu, o.variant ?? resolveLinuxVariant(o.kernel ?? DEFAULT_KERNEL_VARIANT));
  const linuxXcr0 = cfg.useXsave ? cfg.user.maxFeatures : cpu.xcr0Supported;
  const xstateBv = u64(image, HEADER.XSTATE_BV);
  const xcompBv = u64(image, HEADER.XCOMP_BV);
  const bvLow = Number(xstateBv & 0xffffffffn) >>> 0;
  const compacted = format === BufferFormat.Compacted;
  const fields: DecodedField[] = [];
  const add = (offset: number, size: number, component: string, name: string, value = valueOf(image, offset, size)): void => { fields.push({ offset, size, component, name, value }); };
  const flag = (severity: Severity, where: string, message: string): void => { findings.push({ severity, where, message }); };

  // Legacy region, field by field.
  for (const c of LEGACY_COMPONENTS) for (const f of expandFields(c)) if (!/reserved/.test(f.name)) add(f.offset, f.size, xfeatureId(c), f.name);
  fields.sort((a, b) => a.offset - b.offset);

  // Software bytes: their meaning depends on the channel.
  let layoutMask = linuxXcr0;
  let expectedSize: number | undefined;
  const swMask = Number(u64(image, USER_XSTATE_XCR0_OFFSET) & 0xffffffffn) >>> 0;
  if (format === BufferFormat.Ptrace || format === BufferFormat.CoreNote) {
    add(USER_XSTATE_XCR0_OFFSET, 8, 'sw_bytes', 'xstate_fx_sw_bytes[0] (user XCR0)');
    add(USER_XSTATE_XCR0_OFFSET + 8, SW_BYTES_SIZE - 8, 'sw_bytes', 'xstate_fx_sw_bytes[1..5]');
    layoutMask = swMask;
    expectedSize = cpu.standardSize(swMask);
    if (u64(image, USER_XSTATE_XCR0_OFFSET) >> 32n) flag(Severity.Error, 'byte 464', 'the XCR0 word has bits above 31: not a mask any modelled CPU enables');
    if ((swMask & 3) !== 3) flag(Severity.Error, 'byte 464', `the XCR0 word ${formatMask(swMask)} lacks x87|SSE: not a Linux ptrace/core image (wrong --format?)`);
    const foreign = (swMask & ~cpu.xcr0Supported) >>> 0;
    if (foreign) flag(Severity.Error, 'byte 464', `the XCR0 word ${formatMask(swMask)} has bit(s) ${formatMask(foreign)} that ${cpu.id} cannot enable (CPUID.(0DH,0):EDX:EAX = ${formatMask(cpu.xcr0Supported)}): the image comes from another CPU`);
    else if (swMask !== linuxXcr0) flag(Severity.Note, 'byte 464', `the XCR0 word is ${formatMask(swMask)}; ${o.kernel ?? DEFAULT_KERNEL_VARIANT} on ${cpu.id} would write ${formatMask(linuxXcr0)} (another kernel, a VM, or clearcpuid=)`);
    if (!isZero(image, USER_XSTATE_XCR0_OFFSET + 8, SW_BYTES_SIZE - 8)) flag(Severity.Warning, 'bytes 472..511', 'non-zero: Linux writes zeros after the XCR0 word (a signal-frame image decoded as ptrace?)');
    const outside = (bvLow & ~swMask) >>> 0;
    if (outside) flag(Severity.Error, 'XSTATE_BV', `bit(s) ${formatMask(outside)} set that the XCR0 word at 464 does not enable: Linux masks XSTATE_BV with it`);
  } else if (format === BufferFormat.Sigframe) {
    const magic1 = u32(image, FPX_SW.MAGIC1), ext = u32(image, FPX_SW.EXTENDED_SIZE), xsz = u32(image, FPX_SW.XSTATE_SIZE);
    const xf = Number(u64(image, FPX_SW.XFEATURES) & 0xffffffffn) >>> 0;
    add(FPX_SW.MAGIC1, 4, 'fpx_sw_bytes', 'magic1', hex(magic1) + (magic1 === FP_XSTATE_MAGIC1 ? ' (FP_XSTATE_MAGIC1)' : ''));
    add(FPX_SW.EXTENDED_SIZE, 4, 'fpx_sw_bytes', 'extended_size', String(ext));
    add(FPX_SW.XFEATURES, 8, 'fpx_sw_bytes', 'xfeatures');
    add(FPX_SW.XSTATE_SIZE, 4, 'fpx_sw_bytes', 'xstate_size', String(xsz));
    add(FPX_SW.PADDING, SW_BYTES_OFFSET + SW_BYTES_SIZE - FPX_SW.PADDING, 'fpx_sw_bytes', 'padding');
    layoutMask = xf;
    expectedSize = cpu.standardSize(xf);
    if (magic1 !== FP_XSTATE_MAGIC1) flag(Severity.Error, 'magic1', `${hex(magic1)}, expected ${hex(FP_XSTATE_MAGIC1)}: sigreturn treats the frame as FXSAVE-only and drops the extended state`);
    if (ext !== xsz + FP_XSTATE_MAGIC2_SIZE) flag(Severity.Error, 'extended_size', `${ext}, expected xstate_size + ${FP_XSTATE_MAGIC2_SIZE} = ${xsz + FP_XSTATE_MAGIC2_SIZE}`);
    if (xsz !== expectedSize) flag(Severity.Warning, 'xstate_size', `${xsz}, but the standard size of xfeatures ${formatMask(xf)} on ${cpu.id} is ${expectedSize}`);
    const foreign = (xf & ~cpu.xcr0Supported) >>> 0;
    if (foreign) flag(Severity.Error, 'xfeatures', `bit(s) ${formatMask(foreign)} that ${cpu.id} cannot enable`);
    if (image.length >= xsz + FP_XSTATE_MAGIC2_SIZE) {
      const m2 = u32(image, xsz);
      add(xsz, FP_XSTATE_MAGIC2_SIZE, 'after the image', 'FP_XSTATE_MAGIC2', hex(m2));
      if (m2 !== FP_XSTATE_MAGIC2) flag(Severity.Error, `byte ${xsz}`, `FP_XSTATE_MAGIC2 is ${hex(m2)}, expected ${hex(FP_XSTATE_MAGIC2)}: the kernel ignores the extended state on sigreturn`);
    } else flag(Severity.Warning, `byte ${xsz}`, `the file (${image.length} bytes) ends before FP_XSTATE_MAGIC2 at xstate_size ${xsz}`);
    if ((bvLow & 3) !== 3) flag(Severity.Note, 'XSTATE_BV', 'x87|SSE not both set: Linux ORs them into every frame it writes');
    const outside = (bvLow & ~xf) >>> 0;
    if (outside) flag(Severity.Error, 'XSTATE_BV', `bit(s) ${formatMask(outside)} outside xfeatures ${formatMask(xf)}`);
  } else {
    add(SW_BYTES_OFFSET, SW_BYTES_SIZE, 'legacy', 'software-available (464..511)');
    if (compacted) layoutMask = Number(xcompBv & 0xffffffffn) >>> 0;
    else layoutMask = linuxXcr0;
  }

  // Header.
  add(HEADER.XSTATE_BV, 8, 'header', 'XSTATE_BV');
  add(HEADER.XCOMP_BV, 8, 'header', 'XCOMP_BV');
  add(HEADER.RESERVED, HEADER.END - HEADER.RESERVED, 'header', 'reserved');
  const bvForeign = (bvLow & ~cpu.xcr0Supported & ~cpu.xssSupported) >>> 0;
  if (xstateBv >> 32n) flag(Severity.Error, 'XSTATE_BV', `bits above 31 set (${hex(xstateBv)})`);
  if (bvForeign) flag(Severity.Error, 'XSTATE_BV', `bit(s) ${formatMask(bvForeign)} outside what ${cpu.id} supports in XCR0 (${formatMask(cpu.xcr0Supported)})`);
  if (!compacted && xcompBv !== 0n) flag(Severity.Error, 'XCOMP_BV', `${hex(xcompBv)} in a standard-format image: XRSTOR raises #GP and PTRACE_SETREGSET returns EINVAL`);
  if (compacted) {
    if (!(xcompBv & XCOMP_BV_COMPACTED)) flag(Severity.Error, 'XCOMP_BV', 'bit 63 clear in a compacted image');
    const notLaid = (bvLow & ~layoutMask & ~3) >>> 0;
    if (notLaid) flag(Severity.Error, 'XSTATE_BV', `bit(s) ${formatMask(notLaid)} not in XCOMP_BV: XRSTORS raises #GP`);
    if (!cpu.features.xsavec) flag(Severity.Error, 'XCOMP_BV', `${cpu.id} has no compacted format`);
  }
  if (!isZero(image, HEADER.RESERVED, HEADER.END - HEADER.RESERVED)) flag(Severity.Error, 'header reserved (528..575)', 'non-zero: XRSTOR raises #GP, Linux rejects it on sigreturn and PTRACE_SETREGSET');

  // Components, at the offsets of the format.
  const offsets: number[] = compacted ? cpu.compactedLayout(layoutMask).offsets : [];
  for (const c of maskBits(layoutMask)) {
    const info = cpu.components[c];
    if (c < FIRST_EXTENDED || !info || (info.supervisor && !compacted)) continue;
    const base = compacted ? offsets[c]! : info.standardOffset;
    const id = xfeatureId(c);
    if (base + info.size > image.length) {
      flag(Severity.Warning, id, `at ${base}..${base + info.size - 1}, past the end of the ${image.length}-byte image`);
      continue;
    }
    const inUse = (bvLow >>> c) & 1;
    if (!inUse) {
      add(base, info.size, id, '(XSTATE_BV bit clear: initial state)', isZero(image, base, info.size) ? '0' : 'NON-ZERO');
      if (!isZero(image, base, info.size)) flag(Severity.Warning, id, `non-zero bytes at ${base}..${base + info.size - 1} although XSTATE_BV[${c}] = 0: XRSTOR and Linux ignore them; a reader that skips XSTATE_BV shows them`);
      continue;
    }
    // Runs of all-zero registers print as one line.
    let zeroRun: { first: string; last: string; offset: number; size: number } | undefined;
    const flush = (): void => { if (zeroRun) { add(zeroRun.offset, zeroRun.size, id, zeroRun.first === zeroRun.last ? zeroRun.first : `${zeroRun.first}..${zeroRun.last}`, '0'); zeroRun = undefined; } };
    for (const f of expandFields(c)) {
      if (isZero(image, base + f.offset, f.size)) {
        if (zeroRun && zeroRun.offset + zeroRun.size === base + f.offset) { zeroRun.last = f.name; zeroRun.size += f.size; }
        else { flush(); zeroRun = { first: f.name, last: f.name, offset: base + f.offset, size: f.size }; }
      } else { flush(); add(base + f.offset, f.size, id, f.name); }
    }
    flush();
  }
  fields.sort((a, b) => a.offset - b.offset);

  // Size: does the image fit this CPU, or another built-in one better?
  if (!compacted && format !== BufferFormat.Xsave) {
    const size = format === BufferFormat.Sigframe ? u32(image, FPX_SW.XSTATE_SIZE) : image.length;
    if (expectedSize !== undefined && size !== expectedSize) {
      const others = otherCpusWithSize(layoutMask, size, cpu.id);
      flag(Severity.Error, 'size', `${size} bytes, but the standard area for ${formatMask(layoutMask)} on ${cpu.id} is ${expectedSize}${others.length ? `; it fits ${others.join(', ')}` : ''}`);
    } else if (expectedSize !== undefined) {
      const others = otherCpusWithSize(layoutMask, size, cpu.id);
      const differ = others.filter((id) => !sameLayout(loadBuiltinQuietly(id), cpu, layoutMask));
      if (differ.length) flag(Severity.Note, 'size', `${size} bytes also fits ${differ.join(', ')} with a different layout: only --cpu tells them apart`);
    }
  }
  // Compare the core's own layout note with the CPU model.
  if (core?.layout) {
    for (const r of core.layout) {
      const info = cpu.components[r.type];
      if (!info) flag(Severity.Error, 'NT_X86_XSAVE_LAYOUT', `lists component ${r.type} (${xfeatureId(r.type)}) that ${cpu.id} does not have: the core comes from another CPU`);
      else if (info.standardOffset !== r.offset || info.size !== r.size) flag(Severity.Error, 'NT_X86_XSAVE_LAYOUT', `${xfeatureId(r.type)} at ${r.offset} (${r.size} bytes) in the core, ${info.standardOffset} (${info.size}) on ${cpu.id}: the core comes from another CPU`);
    }
  }
  const readers = format === BufferFormat.Ptrace || format === BufferFormat.CoreNote
    ? compareAllReaders({ size: image.length, userMask: layoutMask, layoutNote: core?.layout }, cpu) : undefined;
  return { format, detectedBy: by, cpu: cpu.id, size: image.length, xstateBv, xcompBv, layoutMask, fields, findings, readers, core };
}

function sameLayout(a: CpuModel, b: CpuModel, mask: number): boolean {
  return maskBits(mask).every((c) => c < FIRST_EXTENDED || a.components[c]?.standardOffset === b.components[c]?.standardOffset);
}

/** Built-in CPUs that can enable `mask` and whose standard area for it has `size` bytes. */
export function otherCpusWithSize(mask: number, size: number, except: string): string[] {
  return builtinProfileIds().filter((id) => id !== except).filter((id) => {
    const c = loadBuiltinQuietly(id);
    return (mask & ~c.xcr0Supported) === 0 && c.standardSize(mask) === size;
  });
}
