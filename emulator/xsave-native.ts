/**
 * The native XSAVE-family path (emulator/native/xsave-fast.c, built into the trap gate's library):
 * the tables it works from, derived here from the CPU model, and a typed front for calling it.
 *
 * One source of truth: every offset, size, alignment, bit and quirk the C code uses comes from
 * xsaveTable (which reads the model's own constants and CpuModel), and the names of the table's
 * words, of the register file's StateWord words and of the ops are compared with the C file's own
 * list when the library loads (checkBinding): a drift disables the native path with an error that
 * names the difference. The model (emulator/xsave.ts) stays the reference; the C code mirrors it
 * for the common cases and returns "fallback" for everything else (faults, rare rules).
 *
 * State sharing: the C code works directly on RegisterFile.store (legacy region, StateWord words,
 * components in one ArrayBuffer), whose backing store V8 never moves, so the model and the native
 * path see the same bytes with no copy in either direction.
 */
import {
  COMPACTED_ALIGN, CpuModel, EXTENDED_REGION_OFFSET, FCW_INIT, MXCSR_INIT, XCOMP_BV_COMPACTED_HI, XSAVE_HEADER_OFFSET,
} from './cpu-model.js';
import { Quirk } from './quirks.js';
import { LEGACY, STATE_WORDS_OFFSET, StateWord, TRACKED_PART_BYTES, XMM_COUNT_64BIT, storeLayout } from './register-file.js';
import { nativeXsaveLibrary, type NativeXsaveLibrary } from './unicorn.js';
import {
  FCW_BIT6, FCW_DEFINED, FOP_MASK, FSW_B, FSW_ES, FSW_EXCEPTION_FLAGS, XSAVE_ALIGN, XsaveContext, operatedBytesOf,
} from './xsave.js';
import { XFeature, bit } from './xfeatures.js';

/** Words of the table xsave-fast.c reads (its enum xs_table); arrays have one entry per component 0-31. */
export enum XsTable {
  LEGACY_FCW, LEGACY_FSW, LEGACY_FTW, LEGACY_FOP, LEGACY_FIP, LEGACY_FCS, LEGACY_FDP, LEGACY_FDS,
  LEGACY_MXCSR, LEGACY_MXCSR_MASK, LEGACY_ST0, LEGACY_ST_STRIDE, LEGACY_ST_BYTES, LEGACY_XMM0,
  LEGACY_END_OF_SAVED, XMM_BYTES_64BIT,
  HEADER, EXTENDED, AREA_ALIGN, COMPACT_ALIGN, COMPACTED_HI, MXCSR_INIT, FCW_INIT,
  FSW_ES, FSW_B, FSW_EXCEPTIONS, FOP_MASK, FCW_DEFINED, FCW_BIT6,
  X87, SSE, AVX, STATE_WORDS,
  MXCSR_MASK, HAS_XSAVE, HAS_XSAVEOPT, HAS_XSAVEC, HAS_XSAVES, COMPACTED_FORM, FCS_FDS_DEPRECATED,
  Q_RECOMPUTES_ES, Q_POINTERS_ONLY_WITH_ES, Q_POINTERS_SAVED_ONLY_WITH_ES, Q_POINTERS_CANONICAL57,
  Q_FIP_CANONICAL57, Q_KEEPS_INIT, Q_MODIFIED_OPTIMIZATION, Q_XSAVES_MODIFIED_OPTIMIZATION, Q_TRACKS_ZERO_REGISTERS,
  FAST_MASK, RESTORE_UNCHANGED_ONLY, N_EXT,
  EXT_ORDER, COMP_SIZE = EXT_ORDER + 32, COMP_STANDARD_OFFSET = COMP_SIZE + 32,
  COMP_ALIGN64 = COMP_STANDARD_OFFSET + 32, COMP_SUPERVISOR = COMP_ALIGN64 + 32,
  COMP_STORE_OFFSET = COMP_SUPERVISOR + 32, COMP_OPERATED = COMP_STORE_OFFSET + 32,
  TRACK_PART = COMP_OPERATED + 32, WORDS = TRACK_PART + 32,
}

/** The instructions of the native path (xsave-fast.c enum xs_op). */
export enum XsOp { XSAVE = 1, XSAVEOPT, XSAVEC, XSAVES, XRSTOR, XRSTORS }

/**
 * Components whose rules the native path leaves to the model: PT (XSAVES clears TraceEn, XRSTORS
 * checks it, SDM Vol. 1 13.5.6) and TILECFG (XRSTOR validates it and initializes an invalid image,
 * and its XINUSE follows palette_id; xsave.ts restore). An instruction whose RFBM has one falls back.
 */
const MODEL_ONLY_COMPONENTS = bit(XFeature.PT) | bit(XFeature.TILECFG);
/**
 * Components the native path restores only when their value does not change: PKRU, because the
 * machine carries PKRU in unicorn's page protections (machine.ts syncPkru), which only the model's
 * restore re-applies. A restore that would change PKRU falls back to the model.
 */
const RESTORE_UNCHANGED_ONLY = bit(XFeature.PKRU);

const tables = new WeakMap<CpuModel, Uint32Array>();

/** The table for a CPU (one per CpuModel, kept alive with it: the gate holds its address). */
export function xsaveTable(cpu: CpuModel): Uint32Array {
  let t = tables.get(cpu);
  if (t) return t;
  t = new Uint32Array(new ArrayBuffer(XsTable.WORDS * 4));
  const flag = (b: boolean): number => (b ? 1 : 0);
  const q = (x: Quirk): number => flag(cpu.hasQuirk(x));
  t[XsTable.LEGACY_FCW] = LEGACY.FCW; t[XsTable.LEGACY_FSW] = LEGACY.FSW; t[XsTable.LEGACY_FTW] = LEGACY.FTW;
  t[XsTable.LEGACY_FOP] = LEGACY.FOP; t[XsTable.LEGACY_FIP] = LEGACY.FIP; t[XsTable.LEGACY_FCS] = LEGACY.FCS;
  t[XsTable.LEGACY_FDP] = LEGACY.FDP; t[XsTable.LEGACY_FDS] = LEGACY.FDS; t[XsTable.LEGACY_MXCSR] = LEGACY.MXCSR;
  t[XsTable.LEGACY_MXCSR_MASK] = LEGACY.MXCSR_MASK; t[XsTable.LEGACY_ST0] = LEGACY.ST0; t[XsTable.LEGACY_ST_STRIDE] = LEGACY.ST_STRIDE;
  t[XsTable.LEGACY_ST_BYTES] = LEGACY.ST_BYTES; t[XsTable.LEGACY_XMM0] = LEGACY.XMM0; t[XsTable.LEGACY_END_OF_SAVED] = LEGACY.END_OF_SAVED;
  t[XsTable.XMM_BYTES_64BIT] = XMM_COUNT_64BIT * LEGACY.XMM_BYTES;
  t[XsTable.HEADER] = XSAVE_HEADER_OFFSET; t[XsTable.EXTENDED] = EXTENDED_REGION_OFFSET; t[XsTable.AREA_ALIGN] = XSAVE_ALIGN;
  t[XsTable.COMPACT_ALIGN] = COMPACTED_ALIGN; t[XsTable.COMPACTED_HI] = XCOMP_BV_COMPACTED_HI;
  t[XsTable.MXCSR_INIT] = MXCSR_INIT; t[XsTable.FCW_INIT] = FCW_INIT;
  t[XsTable.FSW_ES] = FSW_ES; t[XsTable.FSW_B] = FSW_B; t[XsTable.FSW_EXCEPTIONS] = FSW_EXCEPTION_FLAGS;
  t[XsTable.FOP_MASK] = FOP_MASK; t[XsTable.FCW_DEFINED] = FCW_DEFINED; t[XsTable.FCW_BIT6] = FCW_BIT6;
  t[XsTable.X87] = bit(XFeature.X87); t[XsTable.SSE] = bit(XFeature.SSE); t[XsTable.AVX] = bit(XFeature.AVX);
  t[XsTable.STATE_WORDS] = STATE_WORDS_OFFSET;
  const f = cpu.features;
  t[XsTable.MXCSR_MASK] = cpu.mxcsrMask;
  t[XsTable.HAS_XSAVE] = flag(f.xsave); t[XsTable.HAS_XSAVEOPT] = flag(f.xsaveopt); t[XsTable.HAS_XSAVEC] = flag(f.xsavec);
  t[XsTable.HAS_XSAVES] = flag(f.xsaves);
  // xsave.ts restore: the compacted form is refused only when neither the CPUID bit nor the silicon has it.
  t[XsTable.COMPACTED_FORM] = flag(f.xsavec || cpu.implementsDespiteCpuid('XSAVEC'));
  t[XsTable.FCS_FDS_DEPRECATED] = flag(f.fcsFdsDeprecated);
  t[XsTable.Q_RECOMPUTES_ES] = q(Quirk.X87RestoreRecomputesEs);
  t[XsTable.Q_POINTERS_ONLY_WITH_ES] = q(Quirk.X87PointersOnlyWithEs);
  t[XsTable.Q_POINTERS_SAVED_ONLY_WITH_ES] = q(Quirk.X87PointersSavedOnlyWithEs);
  t[XsTable.Q_POINTERS_CANONICAL57] = q(Quirk.X87PointersCanonical57);
  t[XsTable.Q_FIP_CANONICAL57] = q(Quirk.X87FipCanonical57);
  t[XsTable.Q_KEEPS_INIT] = q(Quirk.RestoreOfInitDataKeepsInit);
  t[XsTable.Q_MODIFIED_OPTIMIZATION] = q(Quirk.ModifiedOptimization);
  t[XsTable.Q_XSAVES_MODIFIED_OPTIMIZATION] = q(Quirk.XsavesModifiedOptimization);
  t[XsTable.Q_TRACKS_ZERO_REGISTERS] = q(Quirk.XinuseTracksZeroRegisters);
  let all = bit(XFeature.X87) | bit(XFeature.SSE);
  const store = storeLayout(cpu);
  cpu.extendedComponents.forEach((c, k) => {
    all |= bit(c.number);
    t[XsTable.EXT_ORDER + k] = c.number;
    t[XsTable.COMP_SIZE + c.number] = c.size;
    t[XsTable.COMP_STANDARD_OFFSET + c.number] = c.standardOffset;
    t[XsTable.COMP_ALIGN64 + c.number] = flag(c.align64);
    t[XsTable.COMP_SUPERVISOR + c.number] = flag(c.supervisor);
    t[XsTable.COMP_STORE_OFFSET + c.number] = store.offsets[c.number]!;
    t[XsTable.COMP_OPERATED + c.number] = operatedBytesOf(cpu, true, c.number, c.size);
  });
  t[XsTable.N_EXT] = cpu.extendedComponents.length;
  for (const [c, part] of Object.entries(TRACKED_PART_BYTES)) t[XsTable.TRACK_PART + Number(c)] = part;
  t[XsTable.FAST_MASK] = (all & ~MODEL_ONLY_COMPONENTS) >>> 0;
  t[XsTable.RESTORE_UNCHANGED_ONLY] = (all & RESTORE_UNCHANGED_ONLY) >>> 0;
  tables.set(cpu, t);
  return t;
}

/** The binding lines the C file must list: "kind:name=value" for XsTable, StateWord and XsOp, sorted. */
export function expectedBinding(): string[] {
  const lines = (kind: string, e: Record<string, string | number>): string[] =>
    Object.entries(e).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${kind}:${k}=${v}`);
  return [...lines('table', XsTable), ...lines('word', StateWord), ...lines('op', XsOp)].sort();
}

/** Compares the C file's list with expectedBinding; returns the differences (empty: bound). */
export function bindingDifferences(native: string): string[] {
  const have = native.trim().split('\n').sort();
  const want = expectedBinding();
  const h = new Set(have), w = new Set(want);
  return [...want.filter((x) => !h.has(x)).map((x) => `xsave-fast.c lacks ${x}`), ...have.filter((x) => !w.has(x)).map((x) => `xsave-fast.c has ${x}, which xsave-native.ts does not`)];
}

/** Why the native path is not available (the library did not build or load, or the binding drifted). */
export let nativeXsaveUnavailable: string | undefined;
let lib: NativeXsaveLibrary | null | undefined;

/** The native library after the binding check, or null (see nativeXsaveUnavailable). */
export function nativeXsave(): NativeXsaveLibrary | null {
  if (lib !== undefined) return lib;
  const l = nativeXsaveLibrary();
  if (!l) { nativeXsaveUnavailable = 'the trap gate library did not build or load'; return (lib = null); }
  const diff = bindingDifferences(l.binding());
  if (diff.length) { nativeXsaveUnavailable = `emulator/native/xsave-fast.c and emulator/xsave-native.ts disagree: ${diff.join('; ')}`; return (lib = null); }
  return (lib = l);
}

/** Area bytes the ranges out-parameter of save can hold (xsave-fast.c XS_MAX_RANGES pairs). */
const MAX_RANGE_WORDS = 96;
const rangesOut = new Uint32Array(MAX_RANGE_WORDS);

/**
 * Runs a save natively on `ctx` into `area` (area[0] is the byte at `address`). Returns the written
 * [from, to) ranges, or undefined when the native path leaves the instruction to the model (then
 * nothing changed).
 */
export function nativeSave(ctx: XsaveContext, op: XsOp, area: Uint8Array, address: number, eax: number, edx: number, rexW: boolean): number[] | undefined {
  const l = nativeXsave();
  if (!l) throw new Error(nativeXsaveUnavailable);
  const n = l.save(xsaveTable(ctx.cpu), ctx.regs.store, op, area, BigInt(address), eax >>> 0, edx >>> 0, rexW ? 1 : 0, rangesOut);
  if (n === -1) return undefined;
  if (n < 0) throw new Error('xsave-fast.c: more written ranges than it can report');
  return Array.from(rangesOut.subarray(0, 2 * n));
}

/** Runs a restore natively; false when the native path leaves it to the model (nothing changed). */
export function nativeRestore(ctx: XsaveContext, op: XsOp, area: Uint8Array, address: number, eax: number, edx: number, rexW: boolean): boolean {
  const l = nativeXsave();
  if (!l) throw new Error(nativeXsaveUnavailable);
  const t = xsaveTable(ctx.cpu);
  const need = new Uint32Array(1);
  l.restoreSize(t, ctx.regs.store, op, area, eax >>> 0, need);
  if (need[0]! > area.length) throw new RangeError(`nativeRestore: the area has ${area.length} bytes, the restore reads ${need[0]}`);
  return l.restore(t, ctx.regs.store, op, area, BigInt(address), eax >>> 0, edx >>> 0, rexW ? 1 : 0) === 0;
}
