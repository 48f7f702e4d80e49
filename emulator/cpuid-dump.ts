/**
 * Importing raw CPUID dumps into profiles. Two formats:
 *
 *  - InstLatx64 / AIDA64 CPUID dumps (github.com/InstLatx64/InstLatx64): one block per logical
 *    CPU, opened by `------[ CPUID Registers / Logical CPU #N ]------` (older files:
 *    `------[ Logical CPU #N ]------`) and closed by the next `------[` header. Register lines
 *    read `CPUID 0000000D: 000002E7-00000980-00000988-00000000 [SL 00] [x87]`: leaf, then
 *    EAX-EBX-ECX-EDX, an optional `[SL xx]` sub-leaf tag, then optional comment tags.
 *  - Debian's `cpuid -r` (and `cpuid -r -1`, and the project's own capture helper): blocks
 *    opened by `CPU N:` (or `CPU:` for one CPU), lines
 *    `   0x0000000d 0x01: eax=0x... ebx=0x... ecx=0x... edx=0x...`.
 *
 * Leaves not in INDEXED_LEAVES ignore ECX: only their sub-leaf 0 line is kept, under the plain key.
 * Everything else printed (hypervisor ranges 0x40000000.., 0x20000000, 0x80860000, ...) is kept.
 */
import { InputError } from '../src/errors.js';
import { type CpuidFinding, Severity, checkCpuidConsistency, warnOnce } from './cpuid-consistency.js';
import { CpuidTable, INDEXED_LEAVES, cpuidKey, hex32, type CpuidRegs } from './cpuid-table.js';
import { PROFILE_ID_PATTERN, PROFILE_VENDORS, isProfileVendor, type ProfileJson, type ProfileSourceJson } from './profile-json.js';
import { vendorDefaults } from './vendor-defaults.js';

export type DumpFormat = 'instlatx64' | 'cpuid-r';

export interface ParsedDump {
  format: DumpFormat;
  /** Which logical CPU of the dump this is (`Logical CPU #N` / `CPU N:`). */
  logicalCpu: number;
  cpuid: CpuidTable;
  /** CPUID leaf 0 EBX, EDX, ECX as ASCII. */
  vendor: string;
  /** Brand string (CPUID 0x80000002..4), or `<vendor> family 0xF model 0xM` without one. */
  name: string;
  /** Display family, model and stepping from CPUID leaf 1 EAX. */
  family: number;
  model: number;
  stepping: number;
}

const INSTLAT_HEADER = /^-+\[\s*(?:CPUID Registers\s*\/\s*)?Logical CPU #(\d+)\s*\]-+$/;
/** Any `------[ ... ]------` section header: it ends the current logical-CPU block. */
const INSTLAT_SECTION = /^-+\[.*\]-+$/;
const INSTLAT_REG = /^CPUID ([0-9A-Fa-f]{8}): ([0-9A-Fa-f]{8})-([0-9A-Fa-f]{8})-([0-9A-Fa-f]{8})-([0-9A-Fa-f]{8})(\s+\[.*)?$/;
const INSTLAT_SL = /^\s*\[SL ([0-9A-Fa-f]{1,8})\]/;
const INSTLAT_EXPECTED = "expected 'CPUID LLLLLLLL: EAX-EBX-ECX-EDX'";

const CPUIDR_HEADER = /^CPU(?:\s+(\d+))?:$/;
const CPUIDR_REG = /^0x([0-9a-fA-F]{8})\s+0x([0-9a-fA-F]{1,8}):\s+eax=0x([0-9a-fA-F]{8})\s+ebx=0x([0-9a-fA-F]{8})\s+ecx=0x([0-9a-fA-F]{8})\s+edx=0x([0-9a-fA-F]{8})$/;
const CPUIDR_EXPECTED = "expected '   0xLLLLLLLL 0xSS: eax=0xXXXXXXXX ebx=0xXXXXXXXX ecx=0xXXXXXXXX edx=0xXXXXXXXX'";

const FORMATS_EXPECTED =
  "expected an InstLatx64/AIDA64 CPUID dump ('------[ CPUID Registers / Logical CPU #0 ]------' then 'CPUID LLLLLLLL: EAX-EBX-ECX-EDX' lines) or `cpuid -r` output ('CPU 0:' then '   0xLLLLLLLL 0xSS: eax=0x... ebx=0x... ecx=0x... edx=0x...' lines)";

const XSAVE_ECX_BIT = 26; // CPUID.01H:ECX.XSAVE (SDM Vol. 2A Table 3-10)

/** The lines of `text` (a final newline does not start another line). */
function splitLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const quote = (s: string): string => `'${s.length > 100 ? s.slice(0, 100) + '...' : s}'`;
const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

function checkNotEmpty(text: string, file: string): void {
  if (text.replace(/^\uFEFF/, '').trim() === '') throw new InputError(file, 'line 1', `empty file: ${FORMATS_EXPECTED}`);
}

/** Which dump format `text` is, from its first recognisable line; null if neither. */
export function detectDumpFormat(text: string): DumpFormat | null {
  for (const raw of splitLines(text)) {
    const l = raw.trim();
    if (INSTLAT_HEADER.test(l) || INSTLAT_REG.test(l)) return 'instlatx64';
    if (CPUIDR_HEADER.test(l) || CPUIDR_REG.test(l)) return 'cpuid-r';
  }
  return null;
}

/** Parse a dump of either format (see detectDumpFormat). `cpu` defaults to logical CPU 0. */
export function parseDump(text: string, file: string, cpu?: number): ParsedDump {
  checkNotEmpty(text, file);
  switch (detectDumpFormat(text)) {
    case 'instlatx64':
      return parseInstLatDump(text, file, cpu ?? 0);
    case 'cpuid-r':
      return parseCpuidRawDump(text, file, cpu ?? 0);
    default:
      throw new InputError(file, 'line 1', `unrecognised format: ${FORMATS_EXPECTED}`);
  }
}

/** One register line of a dump. `sub` is undefined when the line names no sub-leaf. */
interface RegLine {
  line: number;
  leaf: number;
  sub: number | undefined;
  regs: CpuidRegs;
}

/** A CPUID table being filled, remembering the line each entry came from. */
class TableBuilder {
  readonly table = new CpuidTable();
  readonly lineOf = new Map<string, number>();

  constructor(private readonly file: string) {}

  store(leaf: number, sub: number, regs: CpuidRegs, line: number): void {
    // A leaf that ignores ECX keeps only its sub-leaf 0 line (the plain key).
    if (!INDEXED_LEAVES.has(leaf) && sub !== 0) return;
    const key = cpuidKey(leaf, sub);
    const first = this.lineOf.get(key);
    if (first !== undefined) {
      const old = this.table.get(leaf, sub);
      if (old.every((v, i) => v === regs[i])) return;
      throw new InputError(this.file, `line ${line}`, `expected one value for CPUID ${key}, got a second, different one (the first is at line ${first})`);
    }
    this.table.set(leaf, sub, regs);
    this.lineOf.set(key, line);
  }
}

/**
 * Parse logical CPU `logicalCpu` of an InstLatx64 (AIDA64) CPUID dump.
 *
 * Sub-leaves: a line's `[SL xx]` tag gives its sub-leaf. Old AIDA64 versions print indexed leaves
 * without tags; then the consecutive lines of one indexed leaf (a "run") get sub-leaves by
 * position:
 *  - leaf 0xD: the 1st line is sub-leaf 0, the 2nd sub-leaf 1, and the following lines are the
 *    state components enumerated by those two, in increasing order: the bits set in
 *    (0xD,0).EDX:EAX | (0xD,1).EDX:ECX, from bit 2 upward (e.g. bits 2, 5, 6, 7, 9 give sub-leaves
 *    2, 5, 6, 7, 9). The run must have exactly 2 + (number of those bits) lines, else the
 *    assignment would be a guess and the dump is rejected (some old dumps omit sub-leaf 1);
 *  - any other indexed leaf: sub-leaves 0, 1, 2, ... in order.
 * A run mixing tagged and untagged lines is rejected.
 */
export function parseInstLatDump(text: string, file: string, logicalCpu = 0): ParsedDump {
  checkNotEmpty(text, file);
  const lines = splitLines(text);
  const headers: { cpu: number; line: number; index: number }[] = [];
  lines.forEach((raw, i) => {
    const m = INSTLAT_HEADER.exec(raw.trim());
    if (m) headers.push({ cpu: Number(m[1]), line: i + 1, index: i });
  });
  if (headers.length === 0) {
    const firstReg = lines.findIndex((l) => /^\s*CPUID [0-9A-Fa-f]{8}:/.test(l));
    const place = `line ${firstReg >= 0 ? firstReg + 1 : 1}`;
    throw new InputError(file, place, `no logical CPU block: expected a '------[ CPUID Registers / Logical CPU #${logicalCpu} ]------' header before the CPUID lines`);
  }
  const header = headers.find((h) => h.cpu === logicalCpu);
  if (!header) {
    throw new InputError(file, `line ${lines.length}`, `expected a 'Logical CPU #${logicalCpu}' block, reached the end of the file; the dump has logical CPU ${headers.map((h) => `#${h.cpu}`).join(', ')}`);
  }
  let end = lines.length;
  for (let i = header.index + 1; i < lines.length; i++) {
    if (INSTLAT_SECTION.test(lines[i].trim())) { end = i; break; }
  }

  const regLines: RegLine[] = [];
  for (let i = header.index + 1; i < end; i++) {
    const l = lines[i].trim();
    if (!/^CPUID\b/i.test(l)) continue; // `allcpu: ...`, cache summaries, blank lines
    const m = INSTLAT_REG.exec(l);
    if (!m) throw new InputError(file, `line ${i + 1}`, `${INSTLAT_EXPECTED}, got ${quote(l)}`);
    const sl = m[6] ? INSTLAT_SL.exec(m[6]) : null;
    regLines.push({
      line: i + 1,
      leaf: parseInt(m[1], 16) >>> 0,
      sub: sl ? parseInt(sl[1], 16) >>> 0 : undefined,
      regs: [parseInt(m[2], 16) >>> 0, parseInt(m[3], 16) >>> 0, parseInt(m[4], 16) >>> 0, parseInt(m[5], 16) >>> 0],
    });
  }

  const b = new TableBuilder(file);
  for (const run of runsOf(regLines)) {
    const subs = subLeavesOfRun(run, file);
    run.forEach((r, k) => b.store(r.leaf, subs[k], r.regs, r.line));
  }
  return finish('instlatx64', file, logicalCpu, b, header.line);
}

/** Consecutive lines with the same leaf. */
function runsOf(regLines: RegLine[]): RegLine[][] {
  const runs: RegLine[][] = [];
  for (const r of regLines) {
    const last = runs[runs.length - 1];
    if (last && last[0].leaf === r.leaf) last.push(r);
    else runs.push([r]);
  }
  return runs;
}

/** The sub-leaf of each line of a run (see parseInstLatDump for the positional rule). */
function subLeavesOfRun(run: RegLine[], file: string): number[] {
  const leaf = run[0].leaf;
  const tagged = run.filter((r) => r.sub !== undefined).length;
  if (tagged === run.length) return run.map((r) => r.sub!);
  if (!INDEXED_LEAVES.has(leaf)) return run.map((r, k) => r.sub ?? k); // only sub-leaf 0 is kept
  if (tagged > 0) {
    const odd = run.find((r) => r.sub === undefined)!;
    throw new InputError(file, `line ${odd.line}`, `expected an [SL xx] sub-leaf tag like the other lines of leaf ${hex8(leaf)}, got none`);
  }
  if (leaf !== 0xd || run.length < 2) return run.map((_, k) => k); // a lone 0xD line is sub-leaf 0

  // Leaf 0xD without tags: 0, 1, then every component bit of (0xD,0).EDX:EAX | (0xD,1).EDX:ECX from bit 2 up.
  const [d0, d1] = [run[0].regs, run[1].regs];
  const lo = (d0[0] | d1[2]) >>> 0;
  const hi = (d0[3] | d1[3]) >>> 0;
  const components: number[] = [];
  for (let i = 2; i < 64; i++) if (((i < 32 ? lo >>> i : hi >>> (i - 32)) & 1) === 1) components.push(i);
  const expected = 2 + components.length;
  if (run.length !== expected) {
    const at = run.length > expected ? run[expected] : run[run.length - 1]; // first extra line, or the last one
    throw new InputError(
      file,
      `line ${at.line}`,
      `expected ${expected} leaf 0000000D lines without [SL xx] tags (sub-leaves 0, 1, ${components.join(', ') || '(no components)'} ` +
        `from (0xD,0).EDX:EAX | (0xD,1).EDX:ECX = 0x${hex8(hi)}${hex8(lo)}), got ${run.length} (lines ${run[0].line}-${run[run.length - 1].line}); ` +
        'the sub-leaf of each line cannot be inferred (old dumps may omit sub-leaf 1): add [SL xx] tags',
    );
  }
  return [0, 1, ...components];
}

/** Parse CPU `cpu` of `cpuid -r` output (`CPU:` for a single-CPU dump counts as CPU 0). */
export function parseCpuidRawDump(text: string, file: string, cpu = 0): ParsedDump {
  checkNotEmpty(text, file);
  const lines = splitLines(text);
  const blocks: { cpu: number; line: number; regs: RegLine[] }[] = [];
  lines.forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const h = CPUIDR_HEADER.exec(l);
    if (h) {
      const n = h[1] === undefined ? 0 : Number(h[1]);
      const dup = blocks.find((bl) => bl.cpu === n);
      if (dup) throw new InputError(file, `line ${i + 1}`, `expected one block for CPU ${n}, got a second one (the first starts at line ${dup.line})`);
      blocks.push({ cpu: n, line: i + 1, regs: [] });
      return;
    }
    const m = CPUIDR_REG.exec(l);
    if (!m) throw new InputError(file, `line ${i + 1}`, `${CPUIDR_EXPECTED}, got ${quote(raw.trimEnd())}`);
    const block = blocks[blocks.length - 1];
    if (!block) throw new InputError(file, `line ${i + 1}`, "no CPU block: expected a 'CPU:' or 'CPU 0:' header before the register lines");
    block.regs.push({
      line: i + 1,
      leaf: parseInt(m[1], 16) >>> 0,
      sub: parseInt(m[2], 16) >>> 0,
      regs: [parseInt(m[3], 16) >>> 0, parseInt(m[4], 16) >>> 0, parseInt(m[5], 16) >>> 0, parseInt(m[6], 16) >>> 0],
    });
  });
  if (blocks.length === 0) throw new InputError(file, 'line 1', "no CPU block: expected a 'CPU:' or 'CPU 0:' header");
  const block = blocks.find((bl) => bl.cpu === cpu);
  if (!block) {
    throw new InputError(file, `line ${lines.length}`, `expected a 'CPU ${cpu}:' block, reached the end of the file; the dump has CPU ${blocks.map((bl) => bl.cpu).join(', ')}`);
  }
  const b = new TableBuilder(file);
  for (const r of block.regs) b.store(r.leaf, r.sub!, r.regs, r.line);
  return finish('cpuid-r', file, cpu, b, block.line);
}

/**
 * Display family, model and stepping from CPUID.01H:EAX, per the Intel SDM Vol. 2A, CPUID,
 * "Version Information Returned by CPUID in EAX" (Figure 3-6) and its pseudocode:
 *   Display Family = Family_ID + (Family_ID == 0FH ? Extended_Family_ID : 0)
 *   Display Model  = Family_ID == 06H or 0FH ? (Extended_Model_ID << 4) + Model_ID : Model_ID
 * (AMD APM Vol. 3 CPUID Fn0000_0001_EAX defines the same for family 0FH.)
 */
export function displayFamilyModel(eax: number): { family: number; model: number; stepping: number } {
  const baseFamily = (eax >>> 8) & 0xf;
  const baseModel = (eax >>> 4) & 0xf;
  const family = baseFamily + (baseFamily === 0xf ? (eax >>> 20) & 0xff : 0);
  const model = baseFamily === 0x6 || baseFamily === 0xf ? baseModel | (((eax >>> 16) & 0xf) << 4) : baseModel;
  return { family, model, stepping: eax & 0xf };
}

/** Four little-endian registers' bytes as latin1 text. */
function regsText(...regs: number[]): string {
  const buf = Buffer.alloc(regs.length * 4);
  regs.forEach((r, i) => buf.writeUInt32LE(r >>> 0, i * 4));
  return buf.toString('latin1');
}

function finish(format: DumpFormat, file: string, logicalCpu: number, b: TableBuilder, blockLine: number): ParsedDump {
  const t = b.table;
  const what = format === 'instlatx64' ? `logical CPU #${logicalCpu}` : `CPU ${logicalCpu}`;
  const example = format === 'instlatx64' ? "'CPUID 00000000: ...'" : "'   0x00000000 0x00: ...'";
  if (!t.has(0)) throw new InputError(file, `line ${blockLine}`, `expected CPUID leaf 00000000 (vendor) in the ${what} block (a ${example} line), found none`);
  const l0 = t.get(0);
  const vendor = regsText(l0[1], l0[3], l0[2]);
  if (!isProfileVendor(vendor)) {
    throw new InputError(file, `line ${b.lineOf.get(cpuidKey(0, 0))}`, `expected a vendor of ${PROFILE_VENDORS.map((v) => `'${v}'`).join(', ')} in CPUID leaf 0, got ${JSON.stringify(vendor)}`);
  }
  if (!t.has(1)) throw new InputError(file, `line ${blockLine}`, `expected CPUID leaf 00000001 (family/model/features) in the ${what} block, found none`);
  const l1 = t.get(1);
  if ((l1[2] >>> XSAVE_ECX_BIT) & 1) {
    for (const s of [0, 1]) {
      if (!t.has(0xd, s)) {
        throw new InputError(
          file,
          `line ${b.lineOf.get(cpuidKey(1, 0))}`,
          `CPUID.01H:ECX bit 26 (XSAVE) is set (ECX=${hex32(l1[2])}), so CPUID leaf 0000000D sub-leaf 0${s} is expected in the ${what} block, found none`,
        );
      }
    }
  }
  // Leaves that contradict each other: errors by line; warnings once, after the dump passed.
  const placeOf = (f: CpuidFinding): string => `line ${b.lineOf.get(cpuidKey(f.leaf, f.sub)) ?? b.lineOf.get(cpuidKey(f.leaf, 0)) ?? blockLine}`;
  const findings = checkCpuidConsistency(t);
  const error = findings.find((f) => f.severity === Severity.Error);
  if (error) throw new InputError(file, placeOf(error), `CPUID ${cpuidKey(error.leaf, error.sub)}: ${error.detail}`);
  for (const f of findings) warnOnce(file, placeOf(f), f.detail);
  const fms = displayFamilyModel(l1[0]);
  let name = '';
  if (t.has(0x80000002) && t.has(0x80000003) && t.has(0x80000004)) {
    name = regsText(...t.get(0x80000002), ...t.get(0x80000003), ...t.get(0x80000004)).replace(/\0/g, '').trim();
  }
  if (name === '') name = `${vendor} family 0x${fms.family.toString(16)} model 0x${fms.model.toString(16)}`;
  return { format, logicalCpu, cpuid: t, vendor, name, ...fms };
}

const VENDOR_IDS: Record<string, string> = {
  GenuineIntel: 'intel',
  AuthenticAMD: 'amd',
  HygonGenuine: 'hygon',
  CentaurHauls: 'centaur',
  '  Shanghai  ': 'zhaoxin',
};

/** `vendor-fFF-mMM-sS` in lowercase hex, e.g. `amd-f1a-m02-s1` for AMD family 0x1A model 2 stepping 1. */
export function defaultProfileId(d: Pick<ParsedDump, 'vendor' | 'family' | 'model' | 'stepping'>): string {
  const v = VENDOR_IDS[d.vendor] ?? (d.vendor.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'cpu');
  return `${v}-f${d.family.toString(16)}-m${d.model.toString(16).padStart(2, '0')}-s${d.stepping.toString(16)}`;
}

/**
 * A profile (valid against emulator/schema/profile.schema.json) from a parsed dump. MXCSR_MASK and
 * the quirks, which CPUID does not tell, come from vendorDefaults(). `id` defaults to
 * defaultProfileId(d). The caller adds `$schema` when writing a file.
 */
export function dumpToProfile(d: ParsedDump, opts: { id?: string; reference: string; notes?: string[] }): ProfileJson {
  const id = opts.id ?? defaultProfileId(d);
  if (!PROFILE_ID_PATTERN.test(id)) throw new InputError('<command line>', '--id', `expected a profile id matching ${PROFILE_ID_PATTERN.source}, got '${id}'`);
  if (!isProfileVendor(d.vendor)) throw new InputError(opts.reference || '<dump>', undefined, `expected a vendor of ${PROFILE_VENDORS.join(', ')}, got ${JSON.stringify(d.vendor)}`);
  if (opts.reference.trim() === '') throw new InputError('<command line>', undefined, 'expected a non-empty source reference for the profile');
  const defaults = vendorDefaults(d.vendor, d.cpuid);
  const source: ProfileSourceJson = {
    kind: d.format === 'instlatx64' ? 'instlatx64-dump' : 'cpuid-r-dump',
    reference: opts.reference,
    logical_cpu: d.logicalCpu,
  };
  if (opts.notes) source.notes = [...opts.notes];
  return {
    id,
    vendor: d.vendor,
    name: d.name,
    family: d.family,
    model: d.model,
    stepping: d.stepping,
    source,
    cpuid: d.cpuid.toJson(),
    fxsave: { mxcsr_mask: defaults.fxsave.mxcsr_mask, evidence: defaults.fxsave.evidence },
    quirks: defaults.quirks.map((q) => ({ id: q.id, evidence: q.evidence })),
  };
}
