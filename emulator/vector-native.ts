/**
 * The native vector path (emulator/native/vector-fast.c, built into the trap gate's library): the
 * tables it works from, derived here from the model, and a typed front for calling it.
 *
 * One source of truth, as for the XSAVE family (xsave-native.ts):
 * - the acceptance table says which encodings the C decoder takes and what they are: generated from
 *   iced-x86's opcode metadata (map, opcode, mandatory prefix, W, L, operand locations, masking)
 *   for the mnemonics of NATIVE_KINDS, with the model's element size (vector/core.ts elemSize), the
 *   XCR0 bits the model requires (machine-features.ts xcr0Needed) and, per CPU, only the codes the
 *   model's own CPUID check permits (machine-features.ts missingFeature: where the model raises #UD
 *   the table has no entry, so the C side declines and the model faults);
 * - the layout table gives every store offset, component number, register part size and tracking
 *   quirk (register-file.ts storeLayout, TRACKED_PART_BYTES, the profile's quirks);
 * - the names and values of both tables' words, the operand locations, the operation kinds and the
 *   state words are compared with the C file's list when the library loads (bindingDifferences):
 *   a drift disables the native path with a reason that names it.
 * The model (emulator/vector/*.ts, vector-file.ts) stays the reference: test/vector-native.test.ts
 * compares the two on random states and encodings, byte for byte.
 */
import { CpuModel } from './cpu-model.js';
import { CodeExt, EncodingKind, Instruction, Mnemonic, OpCodeOperandKind, icedModule } from './iced.js';
import { missingFeature, xcr0Needed } from './machine-features.js';
import { Quirk } from './quirks.js';
import { LEGACY, STATE_WORDS_OFFSET, StateWord, TRACKED_PART_BYTES, storeLayout } from './register-file.js';
import { nativeVectorLibrary, type NativeVectorLibrary } from './unicorn.js';
import { OPS, elemSize } from './vector/core.js';
import './vector/table.js';
import { XFeature } from './xfeatures.js';

/** Words of the layout table vector-fast.c reads (its enum vf_table). */
export enum VfTable {
  LEGACY_XMM0, LEGACY_MXCSR, XMM_BYTES, STATE_WORDS,
  SSE, AVX, OPMASK, ZMM_HI256, HI16_ZMM,
  STORE_AVX, STORE_OPMASK, STORE_ZMM_HI256, STORE_HI16_ZMM,
  AVX_PART, ZMM_HI256_PART, HI16_ZMM_PART, OPMASK_PART,
  Q_TRACKS_ZERO_REGISTERS, Q_IDIOM_KEEPS_INIT, Q_FOLLOWS_VECTOR_LENGTH,
  WORDS,
}

/** Fields of an acceptance word (vector-fast.c enum vf_accept). */
export enum VfAccept {
  KIND_MASK = 0x3f,
  ES_SHIFT = 6,
  DST_SHIFT = 8,
  SRC1_SHIFT = 10,
  SRC2_SHIFT = 12,
  KREGS = 1 << 14,
  MASKABLE = 1 << 15,
  ZEROABLE = 1 << 16,
  IMM8 = 1 << 17,
  IDIOM_SAME = 1 << 18,
  NEED_SHIFT = 24,
}

/** Where an operand is in the encoding (vector-fast.c enum vf_at). */
export enum VfAt { NONE, REG, RM, VVVV }

/** The operations vector-fast.c implements (its enum vf_kind), each mirroring one of the model. */
export enum VfKind {
  MOVE = 1, ADD, SUB, AND, ANDN, OR, XOR, TERNLOG,
  KMOV, KADD, KAND, KANDN, KOR, KXOR, KXNOR, KNOT, KSHIFTL, KSHIFTR,
}

const M = Mnemonic;
/**
 * The mnemonics the native path does, by operation: each is in the model's table (vector/table.ts
 * OPS) with the operation named beside it. Only their register forms are accepted (the decoder
 * declines memory operands); KMOV only k <- k (the GPR and memory forms have no k/k operand pair).
 */
export const NATIVE_KINDS: ReadonlyMap<Mnemonic, VfKind> = new Map<Mnemonic, VfKind>([
  // moves.ts move (aligned and unaligned alike for registers)
  ...[M.Vmovdqa, M.Vmovdqu, M.Vmovaps, M.Vmovups, M.Vmovapd, M.Vmovupd, M.Vmovdqa32, M.Vmovdqa64, M.Vmovdqu8, M.Vmovdqu16, M.Vmovdqu32, M.Vmovdqu64].map((m) => [m, VfKind.MOVE] as const),
  // integer.ts arith and logic
  ...[M.Vpaddb, M.Vpaddw, M.Vpaddd, M.Vpaddq].map((m) => [m, VfKind.ADD] as const),
  ...[M.Vpsubb, M.Vpsubw, M.Vpsubd, M.Vpsubq].map((m) => [m, VfKind.SUB] as const),
  ...[M.Vpand, M.Vpandd, M.Vpandq].map((m) => [m, VfKind.AND] as const),
  ...[M.Vpandn, M.Vpandnd, M.Vpandnq].map((m) => [m, VfKind.ANDN] as const),
  ...[M.Vpor, M.Vpord, M.Vporq].map((m) => [m, VfKind.OR] as const),
  ...[M.Vpxor, M.Vpxord, M.Vpxorq].map((m) => [m, VfKind.XOR] as const),
  ...[M.Vpternlogd, M.Vpternlogq].map((m) => [m, VfKind.TERNLOG] as const),
  // opmask.ts
  ...[M.Kmovb, M.Kmovw, M.Kmovd, M.Kmovq].map((m) => [m, VfKind.KMOV] as const),
  ...[M.Kaddb, M.Kaddw, M.Kaddd, M.Kaddq].map((m) => [m, VfKind.KADD] as const),
  ...[M.Kandb, M.Kandw, M.Kandd, M.Kandq].map((m) => [m, VfKind.KAND] as const),
  ...[M.Kandnb, M.Kandnw, M.Kandnd, M.Kandnq].map((m) => [m, VfKind.KANDN] as const),
  ...[M.Korb, M.Korw, M.Kord, M.Korq].map((m) => [m, VfKind.KOR] as const),
  ...[M.Kxorb, M.Kxorw, M.Kxord, M.Kxorq].map((m) => [m, VfKind.KXOR] as const),
  ...[M.Kxnorb, M.Kxnorw, M.Kxnord, M.Kxnorq].map((m) => [m, VfKind.KXNOR] as const),
  ...[M.Knotb, M.Knotw, M.Knotd, M.Knotq].map((m) => [m, VfKind.KNOT] as const),
  ...[M.Kshiftlb, M.Kshiftlw, M.Kshiftld, M.Kshiftlq].map((m) => [m, VfKind.KSHIFTL] as const),
  ...[M.Kshiftrb, M.Kshiftrw, M.Kshiftrd, M.Kshiftrq].map((m) => [m, VfKind.KSHIFTR] as const),
]);

/**
 * The operations the model writes as a zeroing idiom when both sources are one register (its
 * WriteKind.Idiom): integer.ts defineOps with idiomWhenSame true (VPXOR*, VPANDN*, VPSUB*) and
 * opmask.ts kbinary with it (KXOR*, KANDN*). Bound to the model by the differential test.
 */
const IDIOM_WHEN_SAME: ReadonlySet<VfKind> = new Set([VfKind.XOR, VfKind.ANDN, VfKind.SUB, VfKind.KXOR, VfKind.KANDN]);

/** Words of the acceptance table (vector-fast.c VF_ACCEPT_WORDS): 2 encodings x 4 maps x 256 opcodes x 4 pp x 2 W x 4 L. */
export const ACCEPT_WORDS = 2 * 4 * 256 * 4 * 2 * 4;
export const acceptIndex = (evex: number, map: number, opcode: number, pp: number, w: number, l: number): number => ((((evex * 4 + map) * 256 + opcode) * 4 + pp) * 2 + w) * 4 + l;

/** One accepted code: where it goes in the table, its word without the CPU's permission, and the code (for the CPUID check). */
interface AcceptEntry { index: number[]; word: number; code: number; mnemonic: Mnemonic }
let entries: AcceptEntry[] | undefined;

/** The location of an operand from iced-x86's operand kind name (xmm_reg, zmm_vvvv, k_rm, ymm_or_mem, imm8, ...). */
function locationOf(name: string): { at: VfAt; k: boolean } | 'imm8' | undefined {
  if (name === 'imm8') return 'imm8';
  const m = /^(xmm|ymm|zmm|k)_(reg|rm|vvvv|or_mem)$/.exec(name);
  if (!m) return undefined;
  const at = m[2] === 'reg' ? VfAt.REG : m[2] === 'vvvv' ? VfAt.VVVV : VfAt.RM;
  return { at, k: m[1] === 'k' };
}

/** The accepted codes, from iced-x86's metadata (once per process). */
function acceptEntries(): AcceptEntry[] {
  if (entries) return entries;
  const iced = icedModule();
  const out: AcceptEntry[] = [];
  const ppOf = new Map<number, number>([[iced.MandatoryPrefix.PNP, 0], [iced.MandatoryPrefix.P66, 1], [iced.MandatoryPrefix.PF3, 2], [iced.MandatoryPrefix.PF2, 3]]);
  const mapOf = new Map<number, number>([[iced.OpCodeTableKind.T0F, 1], [iced.OpCodeTableKind.T0F38, 2], [iced.OpCodeTableKind.T0F3A, 3]]);
  // Only the codes whose name (VEX_Vpaddd_..., EVEX_Kaddq_...) has a wanted mnemonic: reading the
  // OpCodeInfo of all 4,936 codes cost about 0.4 s at the first vector trap. The name only filters;
  // the mnemonic and everything else come from the OpCodeInfo.
  const wanted = new Set([...NATIVE_KINDS.keys()].map((m) => Mnemonic[m].toLowerCase()));
  const codes = Object.entries(iced.Code).filter(([name, v]) => typeof v === 'number' && wanted.has(/^E?VEX_([A-Za-z0-9]+)_/.exec(name)?.[1]?.toLowerCase() ?? '')).map(([, v]) => v as number);
  for (const code of codes) {
    const info = CodeExt.opCode(code);
    try {
      const kind = NATIVE_KINDS.get(info.mnemonic);
      if (kind === undefined) continue;
      const evex = info.encoding === EncodingKind.EVEX ? 1 : info.encoding === EncodingKind.VEX ? 0 : -1;
      const map = mapOf.get(info.table), pp = ppOf.get(info.mandatoryPrefix);
      if (evex < 0 || map === undefined || pp === undefined || info.isLIG) continue;
      const locs: VfAt[] = [];
      let k: boolean | undefined, imm = false, ok = true;
      for (let i = 0; i < info.opCount; i++) {
        const l = locationOf(OpCodeOperandKind[info.opKind(i)] ?? '');
        if (l === undefined) { ok = false; break; }
        if (l === 'imm8') { imm = true; continue; }
        if (k !== undefined && k !== l.k) { ok = false; break; }
        k = l.k;
        locs.push(l.at);
      }
      // Register forms only: two or three register operands, one of them in r/m.
      if (!ok || locs.length < 2 || locs.length > 3 || !locs.includes(VfAt.RM)) continue;
      const es = elemSize(info.mnemonic);
      const ins = new Instruction();
      ins.code = code;
      const need = xcr0Needed(ins);
      if (need > 0xff) continue;
      let word = kind | (Math.log2(es) << VfAccept.ES_SHIFT) | (locs[0]! << VfAccept.DST_SHIFT) | (locs[1]! << VfAccept.SRC1_SHIFT) | ((locs[2] ?? VfAt.NONE) << VfAccept.SRC2_SHIFT);
      if (k) word |= VfAccept.KREGS;
      if (info.canUseOpMaskRegister && !info.requireOpMaskRegister) word |= VfAccept.MASKABLE;
      if (info.canUseZeroingMasking) word |= VfAccept.ZEROABLE;
      if (imm) word |= VfAccept.IMM8;
      if (IDIOM_WHEN_SAME.has(kind)) word |= VfAccept.IDIOM_SAME;
      word = (word | (need << VfAccept.NEED_SHIFT)) >>> 0;
      const ws = info.isWIG ? [0, 1] : [info.W];
      out.push({ index: ws.map((w) => acceptIndex(evex, map, info.opCode, pp, w, info.L)), word, code, mnemonic: info.mnemonic });
    } finally {
      info.free();
    }
  }
  return (entries = out);
}

const acceptTables = new WeakMap<CpuModel, Uint32Array>();
/**
 * The CPU's acceptance table: an entry for each accepted code the CPU's CPUID permits (the model's
 * missingFeature; a code it lacks stays 0 and the C decoder declines it). Kept alive with the CPU.
 */
export function vectorAcceptTable(cpu: CpuModel): Uint32Array {
  let t = acceptTables.get(cpu);
  if (t) return t;
  t = new Uint32Array(ACCEPT_WORDS);
  for (const e of acceptEntries()) {
    const ins = new Instruction();
    ins.code = e.code;
    if (missingFeature(cpu, ins) !== undefined) continue;
    for (const i of e.index) {
      if (t[i] && t[i] !== e.word) throw new Error(`vectorAcceptTable: two codes at one encoding (index ${i}, code ${e.code})`);
      t[i] = e.word;
    }
  }
  acceptTables.set(cpu, t);
  return t;
}

const layoutTables = new WeakMap<CpuModel, Uint32Array>();
/** The CPU's layout table (one per CpuModel; the gate holds its address). */
export function vectorTable(cpu: CpuModel): Uint32Array {
  let t = layoutTables.get(cpu);
  if (t) return t;
  t = new Uint32Array(VfTable.WORDS);
  const store = storeLayout(cpu);
  const q = (x: Quirk): number => (cpu.hasQuirk(x) ? 1 : 0);
  t[VfTable.LEGACY_XMM0] = LEGACY.XMM0; t[VfTable.LEGACY_MXCSR] = LEGACY.MXCSR; t[VfTable.XMM_BYTES] = LEGACY.XMM_BYTES;
  t[VfTable.STATE_WORDS] = STATE_WORDS_OFFSET;
  t[VfTable.SSE] = XFeature.SSE; t[VfTable.AVX] = XFeature.AVX; t[VfTable.OPMASK] = XFeature.OPMASK;
  t[VfTable.ZMM_HI256] = XFeature.ZMM_HI256; t[VfTable.HI16_ZMM] = XFeature.HI16_ZMM;
  // 0: the CPU has no such component (the store's components start after the state words, never at 0).
  t[VfTable.STORE_AVX] = store.offsets[XFeature.AVX] ?? 0; t[VfTable.STORE_OPMASK] = store.offsets[XFeature.OPMASK] ?? 0;
  t[VfTable.STORE_ZMM_HI256] = store.offsets[XFeature.ZMM_HI256] ?? 0; t[VfTable.STORE_HI16_ZMM] = store.offsets[XFeature.HI16_ZMM] ?? 0;
  t[VfTable.AVX_PART] = TRACKED_PART_BYTES[XFeature.AVX]!; t[VfTable.ZMM_HI256_PART] = TRACKED_PART_BYTES[XFeature.ZMM_HI256]!;
  t[VfTable.HI16_ZMM_PART] = TRACKED_PART_BYTES[XFeature.HI16_ZMM]!; t[VfTable.OPMASK_PART] = TRACKED_PART_BYTES[XFeature.OPMASK]!;
  t[VfTable.Q_TRACKS_ZERO_REGISTERS] = q(Quirk.XinuseTracksZeroRegisters);
  t[VfTable.Q_IDIOM_KEEPS_INIT] = q(Quirk.ZeroingIdiomKeepsInit);
  t[VfTable.Q_FOLLOWS_VECTOR_LENGTH] = q(Quirk.XinuseFollowsVectorLength);
  layoutTables.set(cpu, t);
  return t;
}

/** The StateWord words vector-fast.c uses (named in its binding). */
const USED_STATE_WORDS = ['XINUSE', 'XMODIFIED', 'KNOWN_ZERO', 'XCR0', 'CR0_TS', 'MODE64', 'XFD', 'REGS_IN_USE'] as const;

/** The binding lines the C file must list, sorted. */
export function expectedVectorBinding(): string[] {
  const lines = (kind: string, e: Record<string, string | number>): string[] =>
    Object.entries(e).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${kind}:${k}=${v}`);
  return [
    ...lines('table', VfTable), ...lines('accept', VfAccept), ...lines('at', VfAt), ...lines('kind', VfKind),
    ...USED_STATE_WORDS.map((w) => `word:${w}=${StateWord[w]}`), `size:ACCEPT_WORDS=${ACCEPT_WORDS}`,
  ].sort();
}

/** Compares the C file's list with expectedVectorBinding; returns the differences (empty: bound). */
export function vectorBindingDifferences(native: string): string[] {
  const have = native.trim().split('\n').sort();
  const want = expectedVectorBinding();
  const h = new Set(have), w = new Set(want);
  return [...want.filter((x) => !h.has(x)).map((x) => `vector-fast.c lacks ${x}`), ...have.filter((x) => !w.has(x)).map((x) => `vector-fast.c has ${x}, which vector-native.ts does not`)];
}

/** Why the native vector path is not available (the library did not build or load, or the binding drifted). */
export let nativeVectorUnavailable: string | undefined;
let lib: NativeVectorLibrary | null | undefined;

/** The native library after the binding check (and a check that every NATIVE_KINDS mnemonic is the model's), or null. */
export function nativeVector(): NativeVectorLibrary | null {
  if (lib !== undefined) return lib;
  const l = nativeVectorLibrary();
  if (!l) { nativeVectorUnavailable = 'the trap gate library did not build or load'; return (lib = null); }
  const diff = vectorBindingDifferences(l.binding());
  const notModel = [...NATIVE_KINDS.keys()].filter((m) => !OPS.has(m)).map((m) => `${Mnemonic[m]} is not in the model's vector table`);
  if (diff.length || notModel.length) {
    nativeVectorUnavailable = `emulator/native/vector-fast.c and emulator/vector-native.ts disagree: ${[...diff, ...notModel].join('; ')}`;
    return (lib = null);
  }
  return (lib = l);
}

/** vector-fast.c VF_WROTE_K: the bit xl_vf_exec sets when it wrote an opmask register. */
export const VF_WROTE_K = 0x100;
const lenOut = new Uint32Array(1);

/**
 * Decodes and runs `bytes` natively over a register file's store (the differential test's entry).
 * Returns undefined when the native path declines (then nothing changed), else the register written
 * ({ k: true, n } for an opmask register) and the instruction's length.
 */
export function nativeVectorRun(cpu: CpuModel, store: ArrayBuffer, bytes: Uint8Array): { k: boolean; n: number; length: number } | undefined {
  const l = nativeVector();
  if (!l) throw new Error(nativeVectorUnavailable);
  const r = l.run(vectorTable(cpu), vectorAcceptTable(cpu), store, bytes, bytes.length, lenOut);
  if (r < 0) return undefined;
  return { k: (r & VF_WROTE_K) !== 0, n: r & 0xff, length: lenOut[0]! };
}

/** The accepted encodings, whatever the CPU (the differential test builds instructions from them). */
export function acceptedEncodings(): { evex: number; map: number; opcode: number; pp: number; w: number; l: number; word: number; mnemonic: Mnemonic }[] {
  const out: { evex: number; map: number; opcode: number; pp: number; w: number; l: number; word: number; mnemonic: Mnemonic }[] = [];
  for (const e of acceptEntries()) {
    for (const i of e.index) {
      out.push({ l: i & 3, w: (i >> 2) & 1, pp: (i >> 3) & 3, opcode: (i >> 5) & 255, map: (i >> 13) & 3, evex: i >> 15, word: e.word, mnemonic: e.mnemonic });
    }
  }
  return out;
}
