/**
 * The start-up sweep's result (ownership.ts sweepOwned), cached per executable region in the user's
 * cache folder (cache-dir.ts, subfolder `sweep`). The sweep decodes every instruction of a program's
 * code with iced-x86, whose loading, first decoder and per-instruction calls were a third of a
 * trivial `exec`'s start-up (README "Speed"); a program run again finds its result here and needs
 * no decoder until an owned instruction traps.
 *
 * The cache is an optimisation, never a source of truth: sweepOwned is a pure function of the
 * region's bytes and base address under the rules sweepRulesIdentity names, and an entry is keyed
 * by the digest of all three and carries the digest of its own content. An entry that is missing,
 * unreadable, truncated, altered, of another key or of another format is ignored and rewritten; a
 * cache folder that cannot be written costs time only. XSTATE_LAB_NO_SWEEP_CACHE=1 turns it off.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { cacheDir } from './cache-dir.js';
import { X87Role, sweepOwned, sweepRulesIdentity, type SseWriteSite, type SweepResult, type X87Site } from './ownership.js';

/** The entry format; a change makes every older entry stale. */
export const SWEEP_CACHE_FORMAT = 'xstate-lab.sweep/2';
const FORMAT = SWEEP_CACHE_FORMAT;
/** Entries kept: a write that finds more removes the oldest, down to three quarters of this. */
export const SWEEP_CACHE_MAX_ENTRIES = 2000;
/** The cache subfolder. */
const SUBFOLDER = 'sweep';

let rulesDigest: string | undefined;

/** The digest an entry for (bytes, base) is filed under. */
export function sweepKey(bytes: Uint8Array, base: bigint): string {
  rulesDigest ??= createHash('sha256').update(FORMAT).update(sweepRulesIdentity()).digest('hex');
  return createHash('sha256').update(rulesDigest).update(`@${base.toString(16)}:`).update(bytes).digest('hex');
}

/** The cache folder the sweep results go to, or undefined when caching is off or no folder can be made. */
export function sweepCacheDir(): string | undefined {
  if (process.env.XSTATE_LAB_NO_SWEEP_CACHE === '1') return undefined;
  try {
    return cacheDir(SUBFOLDER);
  } catch {
    return undefined;
  }
}

/** An entry's file in `dir`. */
export const sweepEntryFile = (dir: string, key: string): string => join(dir, `${key}.json`);

/**
 * sweepOwned(bytes, base), from the cache in `dir` when it holds a sound entry for them, else
 * computed and written there. `dir` undefined: computed, nothing cached.
 */
export function cachedSweepOwned(bytes: Uint8Array, base: bigint, dir: string | undefined = sweepCacheDir()): SweepResult {
  return cachedSweepWithKey(bytes, base, dir).result;
}

function cachedSweepWithKey(bytes: Uint8Array, base: bigint, dir: string | undefined): { result: SweepResult; key?: string } {
  if (dir === undefined) return { result: sweepOwned(bytes, base) };
  const key = sweepKey(bytes, base);
  const file = sweepEntryFile(dir, key);
  const hit = readEntry(file, key, decode);
  if (hit) return { result: hit, key };
  const result = sweepOwned(bytes, base);
  writeEntry(dir, file, key, encode(result));
  return { result, key };
}

/** Blocks whose counts one program's entry keeps at most. */
export const BLOCK_COUNT_MAX_ENTRIES = 100_000;

/**
 * A machine's code cache: its sweeps (cachedSweepOwned), and the instruction counts of the blocks
 * unicorn translates (the instruction counter asks for each new block: machine.ts instructionsIn),
 * which need iced-x86's decoder too. A block's count is a function of its bytes alone (the
 * instructions that start in them, decoded from the first), so counts are kept by the bytes
 * themselves, never by address: code written at run time finds its own count or none. They are
 * filed beside the machine's first swept region's entry (the program's code, under the same key)
 * and written back, with the counts this run added, when the machine closes (`save`).
 */
export class CodeCache {
  private blocksFile: string | undefined;
  private blocksKey: string | undefined;
  private blocks: Map<string, number> | undefined;
  private added = false;

  constructor(private readonly dir: string | undefined = sweepCacheDir()) {}

  sweep(bytes: Uint8Array, base: bigint): SweepResult {
    const { result, key } = cachedSweepWithKey(bytes, base, this.dir);
    if (key !== undefined && this.blocksKey === undefined && this.dir !== undefined) {
      this.blocksKey = key;
      this.blocksFile = join(this.dir, `${key}.blocks.json`);
    }
    return result;
  }

  /** The instruction count of the block `bytes`: from the cache, else `count(bytes)`, remembered. */
  instructionCount(bytes: Uint8Array, count: (bytes: Uint8Array) => number): number {
    if (this.blocksFile === undefined) return count(bytes);
    this.blocks ??= readEntry(this.blocksFile, this.blocksKey!, decodeBlocks) ?? new Map();
    const k = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    let n = this.blocks.get(k);
    if (n === undefined) {
      n = count(bytes);
      if (this.blocks.size < BLOCK_COUNT_MAX_ENTRIES) { this.blocks.set(k, n); this.added = true; }
    }
    return n;
  }

  /** Write the block counts back if this run added some. */
  save(): void {
    if (!this.added || this.blocksFile === undefined || this.dir === undefined) return;
    this.added = false;
    writeEntry(this.dir, this.blocksFile, this.blocksKey!, JSON.stringify([...this.blocks!]));
  }
}

/** Block counts as stored: [base64 of the bytes, count] pairs; a count is at least 1 and at most the byte count. */
function decodeBlocks(p: unknown): Map<string, number> {
  if (!Array.isArray(p)) throw new Error('not a block list');
  const m = new Map<string, number>();
  for (const e of p as unknown[]) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !isInt(e[1])) throw new Error('not a block count');
    const len = Buffer.byteLength(e[0], 'base64');
    if (e[1] < 1 || e[1] > Math.max(len, 1)) throw new Error('a block count out of range');
    m.set(e[0], e[1]);
  }
  return m;
}

// ------------------------------------------------------------------ the entry's text

/** A memory operand as stored: base, index, scale, displacement (hex), ipRel, addr32, segment. */
type StoredMem = [number, number, number, string, boolean, boolean, number];
/** An x87 site as stored: address (hex), role, FOP, memory operand or null, MMX writes or null. */
type StoredSite = [string, number, number, StoredMem | null, number | null];
/** A legacy SSE write site as stored: address (hex), XMM register, zeroing idiom. */
type StoredSse = [string, number, boolean];
interface Payload { owned: string[]; invalidAt: string[]; x87: StoredSite[]; sse: StoredSse[] }

const hex = (v: bigint): string => v.toString(16);

function encode(r: SweepResult): string {
  const p: Payload = {
    owned: r.owned.map(hex),
    invalidAt: r.invalidAt.map(hex),
    x87: r.x87.map((s) => [hex(s.addr), s.role, s.fop, s.mem ? [s.mem.base, s.mem.index, s.mem.scale, hex(s.mem.disp), s.mem.ipRel, s.mem.addr32, s.mem.seg] : null, s.mmxWrites ?? null]),
    sse: r.sseWrites.map((w) => [hex(w.addr), w.reg, w.idiom]),
  };
  return JSON.stringify(p);
}

/** An entry's first line: format, key and the digest of the payload that follows it. */
interface Header { format: string; key: string; digest: string }

function readEntry<T>(file: string, key: string, decodePayload: (p: unknown) => T): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const nl = text.indexOf('\n');
    if (nl < 0) return undefined;
    const h = JSON.parse(text.slice(0, nl)) as Header;
    const payload = text.slice(nl + 1);
    if (h.format !== FORMAT || h.key !== key || h.digest !== createHash('sha256').update(payload).digest('hex')) return undefined;
    return decodePayload(JSON.parse(payload) as unknown);
  } catch {
    return undefined;
  }
}

const HEX = /^[0-9a-f]{1,16}$/;
const X87_ROLES = new Set<number>(Object.values(X87Role).filter((v): v is number => typeof v === 'number'));
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const big = (v: unknown): bigint => {
  if (typeof v !== 'string' || !HEX.test(v)) throw new Error('not a hex address');
  return BigInt(`0x${v}`);
};

/** The payload checked field by field (a sound digest over a hand-made file must still not crash the run). */
function decode(p: unknown): SweepResult {
  const o = p as Payload;
  if (!o || !Array.isArray(o.owned) || !Array.isArray(o.invalidAt) || !Array.isArray(o.x87) || !Array.isArray(o.sse)) throw new Error('not a sweep payload');
  const x87 = o.x87.map((s): X87Site => {
    if (!Array.isArray(s) || s.length !== 5 || !X87_ROLES.has(s[1]) || !isInt(s[2])) throw new Error('not an x87 site');
    const m = s[3];
    if (m !== null && (!Array.isArray(m) || m.length !== 7 || !isInt(m[0]) || !isInt(m[1]) || !isInt(m[2]) || typeof m[4] !== 'boolean' || typeof m[5] !== 'boolean' || !isInt(m[6]))) throw new Error('not a memory operand');
    if (s[4] !== null && !isInt(s[4])) throw new Error('not an MMX write mask');
    const site: X87Site = {
      addr: big(s[0]), role: s[1] as X87Role, fop: s[2],
      mem: m ? { base: m[0], index: m[1], scale: m[2], disp: big(m[3]), ipRel: m[4], addr32: m[5], seg: m[6] } : undefined,
    };
    if (s[4] !== null) site.mmxWrites = s[4];
    return site;
  });
  const sseWrites = o.sse.map((w): SseWriteSite => {
    if (!Array.isArray(w) || w.length !== 3 || !isInt(w[1]) || w[1] < 0 || w[1] > 15 || typeof w[2] !== 'boolean') throw new Error('not an SSE write site');
    return { addr: big(w[0]), reg: w[1], idiom: w[2] };
  });
  return { owned: o.owned.map(big), invalidAt: o.invalidAt.map(big), x87, sseWrites };
}

function writeEntry(dir: string, file: string, key: string, payload: string): void {
  const header: Header = { format: FORMAT, key, digest: createHash('sha256').update(payload).digest('hex') };
  // A temporary file renamed into place: a reader never sees half an entry.
  const tmp = `${file}.${process.pid}.${threadId}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, `${JSON.stringify(header)}\n${payload}`);
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Not even the folder exists: nothing was written.
    }
    return;
  }
  prune(dir);
}

/** Keep the folder under SWEEP_CACHE_MAX_ENTRIES entries, removing the oldest written first. */
function prune(dir: string): void {
  try {
    const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    if (names.length <= SWEEP_CACHE_MAX_ENTRIES) return;
    const aged = names.map((n) => {
      try {
        return { n, t: statSync(join(dir, n)).mtimeMs };
      } catch {
        return { n, t: 0 };
      }
    }).sort((a, b) => a.t - b.t);
    for (const { n } of aged.slice(0, names.length - Math.floor(SWEEP_CACHE_MAX_ENTRIES * 3 / 4))) rmSync(join(dir, n), { force: true });
  } catch {
    // Pruning is housekeeping: a failure leaves the folder larger, nothing else.
  }
}
