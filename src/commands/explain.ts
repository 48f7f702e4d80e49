/**
 * `xstate-lab explain`: with --cpu only, the XSAVE area of a CPU described and drawn (text, or
 * one self-contained HTML file with --html); with a FILE, that buffer decoded field by field.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { InputError } from '../errors.js';
import { describeArea } from '../explain/area.js';
import { BufferFormat, decodeBuffer } from '../explain/decode.js';
import { loadScenario, scenarioCpuModel } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';
import { renderDecodedText } from '../explain/decode-text.js';
import { renderAreaHtml } from '../explain/html.js';
import { renderAreaText } from '../explain/text.js';
import { builtinProfileIds, builtinProfilePath, resolveCpu } from '../../emulator/profile.js';
import { setCpuidWarningSink } from '../../emulator/cpuid-consistency.js';
import { formatMask } from '../../emulator/xfeatures.js';
import { NT_X86_XSAVE_LAYOUT, NT_X86_XSTATE, USER_XSTATE_XCR0_OFFSET, u64 } from '../explain/abi.js';
import { isElf, readCoreNotes } from '../explain/elf-notes.js';
import { layoutNoteFor, parseLayoutNote } from '../readers/layout-note.js';
import { explainNetbsdXstate, netbsdCoreXstateNotes } from '../explain/netbsd-xstate.js';

/** `--format netbsd-xstate`: the buffer is NetBSD's struct xstate (its layout needs no CPU). */
export const NETBSD_XSTATE_FORMAT = 'netbsd-xstate';

export interface ExplainOptions {
  xcr0?: number;
  xss?: number;
  html?: string;
  format?: string;
  kernel?: string;
  json?: boolean;
}

/** Never overwrites: the page goes to a new file or nowhere. */
export function writeNewFile(path: string, text: string): void {
  if (existsSync(path)) throw new InputError('<command line>', '--html', `${path} exists; give a new file name (explain never overwrites)`);
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (e) {
    throw new InputError('<command line>', '--html', `cannot create ${path}: ${(e as Error).message}`);
  }
}

export function parseFormat(s: string): BufferFormat {
  const f = Object.values(BufferFormat).find((x) => x === s);
  if (!f) throw new InputError('<command line>', '--format', `'${s}': expected one of ${[...Object.values(BufferFormat), 'netbsd-xstate'].join(', ')}`);
  return f;
}

/** How `explain CORE` without --cpu chose the CPU model: from the core's own notes. */
export interface CoreCpuChoice {
  /** The user XCR0 word at byte 464 of the NT_X86_XSTATE note. */
  xcr0Word: string;
  /** The NT_X86_XSTATE note's size. */
  size: number;
  /** The NT_X86_XSAVE_LAYOUT records as `component@offset+size`. */
  layout: string[];
  /** Built-in CPUs whose standard layout for the XCR0 word is exactly that. */
  fits: string[];
  /** The one decoded with (the first that fits: for this mask they lay the image out alike). */
  used: string;
}

/**
 * The CPU of a core, from its notes: the XCR0 word of NT_X86_XSTATE and the NT_X86_XSAVE_LAYOUT
 * note (Linux 6.12+, one record per extended user feature: type, size, standard offset) say where
 * every component is. A built-in CPU whose layout for that word is the same, record for record and
 * in total size, decodes the image as the core's own CPU would; if none is, or the core carries no
 * layout note (older kernels), only --cpu can say, and the error says so.
 */
export function cpuFromCore(bytes: Uint8Array, file: string): { cpu: CpuModel; choice: CoreCpuChoice } {
  const giveCpu = 'give --cpu with the CPU the core comes from';
  if (!isElf(bytes)) throw new InputError('<command line>', '--cpu', `needed for ${file}: only an ELF core carries its own layout (NT_X86_XSAVE_LAYOUT)`);
  const notes = readCoreNotes(bytes, file).notes.filter((n) => n.name === 'LINUX');
  const xs = notes.find((n) => n.type === NT_X86_XSTATE);
  if (!xs) throw new InputError(file, 'notes', 'no NT_X86_XSTATE (0x202, "LINUX") note: the CPU or kernel did not use XSAVE, or this is not a Linux core');
  if (xs.desc.length < USER_XSTATE_XCR0_OFFSET + 8) throw new InputError(file, `NT_X86_XSTATE at ${xs.offset}`, `${xs.desc.length} bytes: too short to hold the XCR0 word at byte ${USER_XSTATE_XCR0_OFFSET}`);
  const word = u64(xs.desc, USER_XSTATE_XCR0_OFFSET);
  if (word >> 32n) throw new InputError(file, `NT_X86_XSTATE at ${xs.offset}, byte ${USER_XSTATE_XCR0_OFFSET}`, `the XCR0 word 0x${word.toString(16)} has bits above 31; ${giveCpu}`);
  const xcr0 = Number(word) >>> 0;
  const lay = notes.find((n) => n.type === NT_X86_XSAVE_LAYOUT);
  if (!lay) throw new InputError(file, 'notes', `no NT_X86_XSAVE_LAYOUT (0x205) note (Linux writes it since 6.12), so the core does not say its layout; ${giveCpu}`);
  const records = parseLayoutNote(lay.desc, file);
  const key = (r: { type: number; size: number; offset: number }): string => `${r.type}@${r.offset}+${r.size}`;
  const want = records.map(key).join(' ');
  // The CPUID warnings of profiles looked at but not chosen are not this core's: only the chosen one's are shown.
  const warnings: string[] = [];
  setCpuidWarningSink((line) => warnings.push(line));
  let fits: string[];
  try {
    fits = builtinProfileIds().filter((id) => {
      const c = resolveCpu(id);
      return (xcr0 & ~c.xcr0Supported) === 0 && c.standardSize(xcr0) === xs.desc.length && layoutNoteFor(c, xcr0).map(key).join(' ') === want;
    });
  } finally {
    setCpuidWarningSink((line) => process.stderr.write(line + '\n'));
  }
  if (fits[0] !== undefined) for (const w of warnings) if (w.includes(builtinProfilePath(fits[0]))) process.stderr.write(w + '\n');
  const choice = { xcr0Word: formatMask(xcr0), size: xs.desc.length, layout: records.map(key), fits, used: fits[0] ?? '' };
  if (!fits.length) throw new InputError(file, 'NT_X86_XSAVE_LAYOUT', `no built-in CPU lays out XCR0 ${choice.xcr0Word} in ${xs.desc.length} bytes as ${want || '(no extended components)'}; ${giveCpu}`);
  return { cpu: resolveCpu(fits[0]!), choice };
}

/** `cpu` undefined: a FILE that is a core names its own (cpuFromCore); anything else needs --cpu. */
export function explain(cpuGiven: CpuModel | undefined, file: string | undefined, o: ExplainOptions): string {
  if (o.html === '') throw new InputError('<command line>', '--html', 'expected a file name, got an empty one');
  if (cpuGiven === undefined && file === undefined) throw new InputError('<command line>', '--cpu', 'needed to describe an XSAVE area (or give a FILE to decode: an ELF core names its own layout)');
  if (file === undefined) {
    const cpu = cpuGiven!;
    if (o.format) throw new InputError('<command line>', '--format', 'only with a FILE to decode');
    const d = describeArea(cpu, { xcr0: o.xcr0, xss: o.xss, kernel: o.kernel });
    if (o.html !== undefined) {
      writeNewFile(o.html, renderAreaHtml(d));
      return `wrote ${o.html} (${d.standard.regions.length + (d.compacted?.regions.length ?? 0)} regions drawn)`;
    }
    return o.json ? JSON.stringify(d, null, 2) : renderAreaText(d);
  }
  if (o.html !== undefined || o.xcr0 !== undefined || o.xss !== undefined) throw new InputError('<command line>', o.html ? '--html' : '--xcr0/--xss', 'not with a FILE: the buffer carries its own masks');
  if (!existsSync(file)) throw new InputError(file, undefined, 'no such file');
  const bytes = new Uint8Array(readFileSync(file));
  // NetBSD's struct xstate: named by --format, or found as the PT_GETXSTATE notes of a NetBSD core.
  if (o.format === NETBSD_XSTATE_FORMAT) return explainNetbsdXstate(bytes, file);
  const netbsd = o.format === undefined || o.format === BufferFormat.CoreNote ? netbsdCoreXstateNotes(bytes, file) : undefined;
  if (netbsd) {
    if (!netbsd.length) throw new InputError(file, 'notes', 'a NetBSD core without a PT_GETXSTATE (41) note: the kernel predates it (2020)');
    return netbsd.map((n) => explainNetbsdXstate(n.desc, `${file}: NetBSD-CORE@${n.lwp} PT_GETXSTATE note`)).join('\n');
  }
  const format = o.format !== undefined ? parseFormat(o.format) : BufferFormat.Auto;
  if (cpuGiven === undefined && format !== BufferFormat.Auto && format !== BufferFormat.CoreNote) throw new InputError('<command line>', '--cpu', `needed with --format ${format}: only an ELF core carries its own layout`);
  const fromCore = cpuGiven === undefined ? cpuFromCore(bytes, file) : undefined;
  const cpu = cpuGiven ?? fromCore!.cpu;
  const d = decodeBuffer(bytes, cpu, { format, kernel: o.kernel, file });
  if (o.json) return JSON.stringify(fromCore ? { ...d, cpuFromCore: fromCore.choice } : d, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v), 2);
  const c = fromCore?.choice;
  const head = c ? [`CPU from the core's notes: XCR0 word ${c.xcr0Word}, ${c.size} bytes, NT_X86_XSAVE_LAYOUT ${c.layout.join(' ') || '(none)'}; the built-in CPUs with this layout: ${c.fits.join(', ')} (decoded as ${c.used})`] : [];
  return [...head, renderDecodedText(d)].join('\n');
}

/**
 * `explain --scenario FILE --buffer NAME`: a buffer a scenario step made (getregset, signal, core,
 * xsave, kvm-get-xsave, buffer), decoded field by field as `explain FILE` decodes a file, with the
 * run's own CPU and kernel (the scenario's first, or the one --cpu / --kernel names among its own).
 */
export function explainScenarioBuffer(scenarioFile: string, bufferName: string, o: { cpu?: string; kernel?: string; format?: string; json?: boolean }): string {
  const s = loadScenario(scenarioFile);
  const cpu = o.cpu ?? s.cpus[0];
  if (!s.cpus.includes(cpu)) throw new InputError('<command line>', '--cpu', `'${cpu}' is not one of the scenario's CPUs (${s.cpus.join(', ')})`);
  const kernel = o.kernel ?? s.kernels[0];
  if (!s.kernels.includes(kernel)) throw new InputError('<command line>', '--kernel', `'${kernel}' is not one of the scenario's kernels (${s.kernels.join(', ')})`);
  const variant = s.kernelVariants[kernel];
  const out = runScenario(s, cpu, variant);
  const bytes = out.buffers[bufferName];
  if (bytes === undefined) {
    const made = Object.keys(out.buffers);
    throw new InputError('<command line>', '--buffer', `the run on ${cpu}/${kernel} made no buffer '${bufferName}' (${made.length ? `it made: ${made.join(', ')}` : 'it made none'}${out.error ? `; it stopped: ${out.error}` : ''})`);
  }
  const format = o.format !== undefined ? parseFormat(o.format) : BufferFormat.Auto;
  const d = decodeBuffer(bytes, scenarioCpuModel(s.cpuSpecs[cpu] ?? cpu), { format, variant, file: `${scenarioFile} buffer '${bufferName}'` });
  if (o.json) return JSON.stringify({ scenario: s.name, run: { cpu, kernel }, buffer: bufferName, ...d }, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v), 2);
  return [`scenario ${s.name}, buffer '${bufferName}' (${bytes.length} bytes) of the run on ${cpu} with ${kernel}`, renderDecodedText(d)].join('\n');
}
