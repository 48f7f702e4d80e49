/**
 * Models of how known ptracers find each component in an NT_X86_XSTATE image. Each reader gets
 * what the real tool has (the image's size, the XCR0 word at byte 464, the NT_X86_XSAVE_LAYOUT
 * records of a core if any, the CPUID of the machine it runs on) and returns where it believes
 * each component starts. Offset tables are data (data/readers.json), with their sources.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { maskBits } from '../../emulator/xfeatures.js';
import table from './data/readers.json' with { type: 'json' };
import type { LayoutRecord } from './layout-note.js';

export enum ReaderId {
  /** GDB 13 and earlier: fixed Intel offsets. */
  Gdb13 = 'gdb-13',
  /** GDB 14+ on a core file: layout guessed from size and XCR0 (or the layout note). */
  Gdb14 = 'gdb-14',
  /** The 2020 ptrace(2) man-page proposal: offsets summed over the mask at 464. */
  Manpage2020 = 'manpage-2020',
  /** CPUID.(0DH,i).EBX of the machine the reader runs on. */
  Cpuid = 'cpuid',
}

export interface ReaderInput {
  /** Bytes in the NT_X86_XSTATE image (the note's or the GETREGSET iovec's length). */
  size: number;
  /** Bytes 464..471: USER_XSTATE_XCR0_WORD, the kernel's user feature mask. */
  userMask: number;
  /** NT_X86_XSAVE_LAYOUT records when the image came from a 6.12+ core file. */
  layoutNote?: readonly LayoutRecord[];
  /** The CPU the reader runs on (the CPUID-driven reader only). */
  runsOn?: CpuModel;
  /** The image is a core file's note (GDB 13 checks its size there; a live process it reads as is). */
  fromCore?: boolean;
}

export interface ReaderBelief {
  reader: ReaderId;
  /** Component number to the offset the reader reads it from; absent: the reader does not read it. */
  offsets: Map<number, number>;
  /** How the reader found its layout, in one line. */
  via: string;
  /** Set when the reader reads no extended component at all, with the reason. */
  unavailable?: string;
}

export interface ReaderInfo {
  id: ReaderId;
  title: string;
  source: string;
}

/** XCR0 bits 0 and 1 (x87, SSE) sit at fixed places in the legacy region for every reader. */
const FIRST_EXTENDED = 2;
/** The compacted walk starts right after the XSAVE header (SDM Vol. 1 13.4.3). */
const EXTENDED_REGION_OFFSET = 576;
/** Alignment for components with CPUID.(0DH,i).ECX[1] set (SDM Vol. 1 13.4.3). */
const COMPACTED_ALIGN = 64;

const GDB_COMPONENTS = new Set(table.gdbComponents.components);
/** One row of i387_guess_xsave_layout: a feature test on XCR0 (any of these bits) and the total size. */
interface GuessRow { name: string; anyOf: number[]; size: number; offsets: Record<string, number> }
const GUESS_ROWS: readonly GuessRow[] = table.gdbGuess.rows as GuessRow[];
const toMap = (o: Record<string, number>): Map<number, number> => new Map(Object.entries(o).map(([k, v]) => [Number(k), v]));
const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

export const READERS: readonly ReaderInfo[] = [
  { id: ReaderId.Gdb13, title: 'GDB 13 and earlier (fixed Intel offsets)', source: table.gdbFixed.source },
  { id: ReaderId.Gdb14, title: 'GDB 14+ reading a core file (size + XCR0 guess; NT_X86_XSAVE_LAYOUT when present)', source: `${table.gdbGuess.source}; ${table.layoutNote.source}` },
  { id: ReaderId.Manpage2020, title: 'ptrace(2) man-page proposal of 2020 (sizes summed over the mask)', source: table.manpage2020.source },
  { id: ReaderId.Cpuid, title: 'CPUID-driven reader (CPUID.(0DH,i).EBX of the machine it runs on)', source: table.cpuid.source },
];

/** X86_XSTATE_SIZE(xcr0): the Intel-layout size GDB 13 expects for an XCR0. */
function gdb13ExpectedSize(mask: number): number {
  const t = table.gdbFixed.coreMinSize;
  return t.rows.find((r) => r.anyOf.some((b) => (mask >>> b) & 1))?.size ?? t.default;
}

function gdb13(inp: ReaderInput): ReaderBelief {
  if (inp.fromCore && inp.size < gdb13ExpectedSize(inp.userMask)) {
    return { reader: ReaderId.Gdb13, offsets: new Map(), via: 'core section too small', unavailable: `the ${inp.size}-byte note is shorter than the ${gdb13ExpectedSize(inp.userMask)} bytes GDB 13 expects for XCR0 ${hex(inp.userMask)}: .reg-xstate ignored, x87/SSE only` };
  }
  const offsets = new Map<number, number>();
  for (const [c, o] of toMap(table.gdbFixed.offsets)) if ((inp.userMask >>> c) & 1) offsets.set(c, o);
  return { reader: ReaderId.Gdb13, offsets, via: `fixed Intel offsets for the components in XCR0 ${hex(inp.userMask)}` };
}

function gdb14(inp: ReaderInput): ReaderBelief {
  if (inp.layoutNote && inp.layoutNote.length > 0) {
    const offsets = new Map<number, number>();
    for (const r of inp.layoutNote) if (GDB_COMPONENTS.has(r.type) && (inp.userMask >>> r.type) & 1) offsets.set(r.type, r.offset);
    return { reader: ReaderId.Gdb14, offsets, via: `NT_X86_XSAVE_LAYOUT (${inp.layoutNote.length} records)` };
  }
  if (inp.size < table.gdbGuess.minSize) {
    return { reader: ReaderId.Gdb14, offsets: new Map(), via: 'no guess', unavailable: `image of ${inp.size} bytes is shorter than ${table.gdbGuess.minSize}: x87/SSE only` };
  }
  const row = GUESS_ROWS.find((r) => r.anyOf.some((b) => (inp.userMask >>> b) & 1) && r.size === inp.size);
  if (!row) {
    return { reader: ReaderId.Gdb14, offsets: new Map(), via: 'no guess', unavailable: `no known layout has size ${inp.size} with XCR0 ${hex(inp.userMask)}: GDB falls back to x87/SSE only` };
  }
  const offsets = new Map<number, number>();
  for (const [c, o] of toMap(row.offsets)) if ((inp.userMask >>> c) & 1) offsets.set(c, o);
  return { reader: ReaderId.Gdb14, offsets, via: `guess '${row.name}' (size ${row.size})` };
}

function manpage2020(inp: ReaderInput, cpu: CpuModel): ReaderBelief {
  // The proposal takes sizes and the alignment bit from CPUID; only the placement is wrong.
  const offsets = new Map<number, number>();
  let at = EXTENDED_REGION_OFFSET;
  for (const c of maskBits(inp.userMask)) {
    const info = cpu.components[c];
    if (c < FIRST_EXTENDED || !info || info.supervisor) continue;
    if (info.align64) at = Math.ceil(at / COMPACTED_ALIGN) * COMPACTED_ALIGN;
    offsets.set(c, at);
    at += info.size;
  }
  return { reader: ReaderId.Manpage2020, offsets, via: `sizes summed in bit order over XCR0 ${hex(inp.userMask)} (total ${at})` };
}

function cpuidReader(inp: ReaderInput, cpu: CpuModel): ReaderBelief {
  const host = inp.runsOn ?? cpu;
  const offsets = new Map<number, number>();
  for (const c of maskBits(inp.userMask)) {
    const info = host.components[c];
    if (c >= FIRST_EXTENDED && info && !info.supervisor) offsets.set(c, info.standardOffset);
  }
  const unavailable = offsets.size === 0 && maskBits(inp.userMask).some((c) => c >= FIRST_EXTENDED) ? `${host.id} enumerates none of the extended components` : undefined;
  return { reader: ReaderId.Cpuid, offsets, via: `CPUID.(0DH,i).EBX of ${host.id}`, unavailable };
}

/**
 * What `reader` believes about an image. `cpu` supplies the component sizes and alignment the
 * man-page walk takes from CPUID, and is the machine the CPUID reader runs on unless
 * `inp.runsOn` names another.
 */
export function readerBelief(reader: ReaderId, inp: ReaderInput, cpu: CpuModel): ReaderBelief {
  switch (reader) {
    case ReaderId.Gdb13: return gdb13(inp);
    case ReaderId.Gdb14: return gdb14(inp);
    case ReaderId.Manpage2020: return manpage2020(inp, inp.runsOn ?? cpu);
    case ReaderId.Cpuid: return cpuidReader(inp, cpu);
  }
}

/** The installed GDB's major version from `gdb --version` output ("GNU gdb (Debian 13.1-3) 13.1"), or undefined. */
export function gdbMajorVersion(versionText: string): number | undefined {
  const m = /^GNU gdb .*?(\d+)\.\d+/m.exec(versionText);
  return m ? Number(m[1]) : undefined;
}

/** The reader model of a GDB release (data/readers.json gdbVersions), or undefined when the project has none for it. */
export function gdbReaderForVersion(major: number): ReaderId | undefined {
  const row = (table.gdbVersions.models as { reader: string; first: number; last?: number }[]).find((r) => major >= r.first && (r.last === undefined || major <= r.last));
  return row ? (row.reader as ReaderId) : undefined;
}
