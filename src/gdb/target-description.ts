/**
 * The target description (GDB manual, "Target Descriptions" and "Standard Target Features",
 * "i386 Features") of a guest on a modelled CPU, and the register map behind it: which bytes of
 * the engine or the model's register file each GDB register is.
 *
 * One source of truth: the features present follow the XCR0 the modelled kernel enables
 * (fpu__init_system_xstate on the profile), and every extended register's place is a field of the
 * component catalogue (emulator/data/xfeatures.json via expandFields): ymmNh is AVX's YMM{n}_H,
 * kN is OPMASK's k{n}, zmmNh is ZMM_Hi256's ZMM{n}_H or bytes 32..63 of Hi16_ZMM's ZMM{n+16}, pkru
 * is PKRU's PKRU. Register numbers are the order of the description, written out as `regnum`.
 *
 * Features and their names, as GDB 13 defines them (gdb/features/i386/64bit-*.xml): core, sse,
 * linux (orig_rax), segments (fs_base, gs_base: GDB has them in org.gnu.gdb.i386.segments, not in
 * .linux), avx, avx512, pkeys. Not described: MPX (org.gnu.gdb.i386.mpx; Linux dropped MPX in 5.6,
 * so no modelled 6.x kernel enables it), CET shadow stack (org.gnu.gdb.i386.pl3_ssp, GDB 15: read
 * through NT_X86_SHSTK, a supervisor component), AMX TILECFG/TILEDATA (GDB defines no feature for
 * them: features/i386/ has no amx file through GDB 15), APX.
 */
import type { Unicorn } from '../../emulator/unicorn.js';
import { X86Reg } from '../../emulator/unicorn.js';
import { LEGACY, type RegisterFile, TRACKED_PART_BYTES } from '../../emulator/register-file.js';
import { XFeature, bit, expandFields } from '../../emulator/xfeatures.js';
import { PTRACE_FLAG_MASK } from '../linux/ptrace.js';
import { USER_CS, USER_DS } from '../linux/signal-frame.js';

/** GDB's feature names (GDB manual, "i386 Features"). */
export enum GdbFeature {
  Core = 'org.gnu.gdb.i386.core',
  Sse = 'org.gnu.gdb.i386.sse',
  Linux = 'org.gnu.gdb.i386.linux',
  Segments = 'org.gnu.gdb.i386.segments',
  Avx = 'org.gnu.gdb.i386.avx',
  Avx512 = 'org.gnu.gdb.i386.avx512',
  Pkeys = 'org.gnu.gdb.i386.pkeys',
}

/** Where a register's bytes live. */
export type RegLocation =
  | { kind: 'gpr'; reg: X86Reg }
  | { kind: 'eflags' }
  /** A selector Linux fixes for 64-bit user mode (start_thread: __USER_CS, __USER_DS, null for the rest). */
  | { kind: 'selector'; value: bigint }
  | { kind: 'orig-rax' }
  /** Bytes of the 512-byte legacy region (register-file.ts LEGACY), zero-extended to the register's size. */
  | { kind: 'legacy'; component: XFeature.X87 | XFeature.SSE; offset: number; size: number }
  /** The x87 tag word in its full 16-bit form, made from the abridged one (SDM Vol. 1 10.5.1.1). */
  | { kind: 'ftag' }
  /** Bytes of extended component `component` (RegisterFile.comp). */
  | { kind: 'component'; component: number; offset: number; size: number };

export interface GdbRegister {
  name: string;
  bitsize: number;
  type: string;
  group?: string;
  feature: GdbFeature;
  regnum: number;
  loc: RegLocation;
}

/** The engine and register file of one thread, loaded (Kernel.loadTask) and synchronised (Machine.syncIn). */
export interface RegisterAccess {
  uc: Unicorn;
  regs: RegisterFile;
  origRax: bigint;
  setOrigRax(v: bigint): void;
}

/** A field of the component catalogue; the catalogue missing it is a data error. */
function field(component: XFeature, name: string): { offset: number; size: number } {
  const f = expandFields(component).find((x) => x.name === name);
  if (!f) throw new Error(`emulator/data/xfeatures.json: component ${component} has no field ${name}`);
  return f;
}

const GPRS: readonly [string, X86Reg, string][] = [
  ['rax', X86Reg.RAX, 'int64'], ['rbx', X86Reg.RBX, 'int64'], ['rcx', X86Reg.RCX, 'int64'], ['rdx', X86Reg.RDX, 'int64'],
  ['rsi', X86Reg.RSI, 'int64'], ['rdi', X86Reg.RDI, 'int64'], ['rbp', X86Reg.RBP, 'data_ptr'], ['rsp', X86Reg.RSP, 'data_ptr'],
  ['r8', X86Reg.R8, 'int64'], ['r9', X86Reg.R9, 'int64'], ['r10', X86Reg.R10, 'int64'], ['r11', X86Reg.R11, 'int64'],
  ['r12', X86Reg.R12, 'int64'], ['r13', X86Reg.R13, 'int64'], ['r14', X86Reg.R14, 'int64'], ['r15', X86Reg.R15, 'int64'],
];
/** AVX-512 registers per group: ZMM16-31 are whole in Hi16_ZMM (xmm = bytes 0..15, ymmh 16..31, zmmh 32..63). */
const HI16_FIRST = 16;
const ZMM_COUNT = 32;
const XMM_BYTES = 16;
const YMM_H_BYTES = 16;
const ZMM_H_BYTES = 32;
const OPMASK_COUNT = 8;

/** The registers GDB sees on a kernel that enabled `xcr0`, in description order (= register numbers). */
export function gdbRegisters(xcr0: number): GdbRegister[] {
  const out: GdbRegister[] = [];
  const add = (feature: GdbFeature, name: string, bitsize: number, type: string, loc: RegLocation, group?: string): void => {
    out.push({ name, bitsize, type, group, feature, regnum: out.length, loc });
  };
  const C = GdbFeature.Core;
  for (const [n, r, t] of GPRS) add(C, n, 64, t, { kind: 'gpr', reg: r });
  add(C, 'rip', 64, 'code_ptr', { kind: 'gpr', reg: X86Reg.RIP });
  add(C, 'eflags', 32, 'i386_eflags', { kind: 'eflags' });
  for (const [n, v] of [['cs', USER_CS], ['ss', USER_DS], ['ds', 0n], ['es', 0n], ['fs', 0n], ['gs', 0n]] as const) add(C, n, 32, 'int32', { kind: 'selector', value: v });
  for (let i = 0; i < 8; i++) {
    const f = field(XFeature.X87, `ST${i}`);
    add(C, `st${i}`, 80, 'i387_ext', { kind: 'legacy', component: XFeature.X87, ...f });
  }
  const x87 = (name: string, offset: number, size: number): void => add(C, name, 32, 'int', { kind: 'legacy', component: XFeature.X87, offset, size }, 'float');
  x87('fctrl', field(XFeature.X87, 'FCW').offset, 2);
  x87('fstat', field(XFeature.X87, 'FSW').offset, 2);
  add(C, 'ftag', 32, 'int', { kind: 'ftag' }, 'float');
  // The 64-bit FXSAVE form has FIP and FDP as 64-bit words: GDB's amd64 code (amd64_supply_fxsave)
  // shows their upper halves as fiseg and foseg.
  const fip = field(XFeature.X87, 'FIP').offset, fdp = field(XFeature.X87, 'FDP').offset;
  x87('fiseg', fip + 4, 4);
  x87('fioff', fip, 4);
  x87('foseg', fdp + 4, 4);
  x87('fooff', fdp, 4);
  x87('fop', field(XFeature.X87, 'FOP').offset, 2);

  for (let i = 0; i < 16; i++) add(GdbFeature.Sse, `xmm${i}`, 128, 'vec128', { kind: 'legacy', component: XFeature.SSE, ...field(XFeature.SSE, `XMM${i}`) });
  add(GdbFeature.Sse, 'mxcsr', 32, 'i386_mxcsr', { kind: 'legacy', component: XFeature.SSE, ...field(XFeature.SSE, 'MXCSR') }, 'vector');
  add(GdbFeature.Linux, 'orig_rax', 64, 'int', { kind: 'orig-rax' });
  add(GdbFeature.Segments, 'fs_base', 64, 'int', { kind: 'gpr', reg: X86Reg.FS_BASE });
  add(GdbFeature.Segments, 'gs_base', 64, 'int', { kind: 'gpr', reg: X86Reg.GS_BASE });

  const has = (...c: XFeature[]): boolean => c.every((i) => (xcr0 & bit(i)) !== 0);
  if (has(XFeature.AVX)) {
    for (let i = 0; i < 16; i++) add(GdbFeature.Avx, `ymm${i}h`, 128, 'uint128', { kind: 'component', component: XFeature.AVX, ...field(XFeature.AVX, `YMM${i}_H`) });
  }
  // GDB takes AVX-512 only with AVX (i386_validate_tdesc_p) and all three components.
  if (has(XFeature.AVX, XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM)) {
    const A = GdbFeature.Avx512;
    const hi16 = (n: number): { offset: number } => field(XFeature.HI16_ZMM, `ZMM${n}`);
    for (let n = HI16_FIRST; n < ZMM_COUNT; n++) add(A, `xmm${n}`, 128, 'vec128', { kind: 'component', component: XFeature.HI16_ZMM, offset: hi16(n).offset, size: XMM_BYTES });
    for (let n = HI16_FIRST; n < ZMM_COUNT; n++) add(A, `ymm${n}h`, 128, 'uint128', { kind: 'component', component: XFeature.HI16_ZMM, offset: hi16(n).offset + XMM_BYTES, size: YMM_H_BYTES });
    for (let k = 0; k < OPMASK_COUNT; k++) add(A, `k${k}`, 64, 'uint64', { kind: 'component', component: XFeature.OPMASK, ...field(XFeature.OPMASK, `k${k}`) });
    for (let n = 0; n < HI16_FIRST; n++) add(A, `zmm${n}h`, 256, 'v2ui128', { kind: 'component', component: XFeature.ZMM_HI256, ...field(XFeature.ZMM_HI256, `ZMM${n}_H`) });
    for (let n = HI16_FIRST; n < ZMM_COUNT; n++) add(A, `zmm${n}h`, 256, 'v2ui128', { kind: 'component', component: XFeature.HI16_ZMM, offset: hi16(n).offset + XMM_BYTES + YMM_H_BYTES, size: ZMM_H_BYTES });
  }
  // PKRU is in XCR0 only when the kernel enabled protection keys (X86_FEATURE_OSPKE).
  if (has(XFeature.PKRU)) add(GdbFeature.Pkeys, 'pkru', 32, 'uint32', { kind: 'component', component: XFeature.PKRU, ...field(XFeature.PKRU, 'PKRU') });
  return out;
}

/** The features present, in order. */
export function gdbFeatures(regs: readonly GdbRegister[]): GdbFeature[] {
  return [...new Set(regs.map((r) => r.feature))];
}

const VEC128_TYPES = `    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
`;

/** A flags type: named single bits (an empty name, as GDB shows bit 1 of EFLAGS). */
function flags(id: string, bits: readonly [string, number][]): string {
  return `    <flags id="${id}" size="4">\n${bits.map(([n, b]) => `      <field name="${n}" start="${b}" end="${b}"/>\n`).join('')}    </flags>\n`;
}

/** The types each feature defines before its registers (the names GDB's i386 code expects). */
const FEATURE_TYPES: Record<GdbFeature, string> = {
  // EFLAGS bits, SDM Vol. 1 3.4.3.
  [GdbFeature.Core]: flags('i386_eflags', [['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11], ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21]]),
  // MXCSR bits, SDM Vol. 1 10.2.3.
  [GdbFeature.Sse]: VEC128_TYPES + flags('i386_mxcsr', [['IE', 0], ['DE', 1], ['ZE', 2], ['OE', 3], ['UE', 4], ['PE', 5], ['DAZ', 6], ['IM', 7], ['DM', 8], ['ZM', 9], ['OM', 10], ['UM', 11], ['PM', 12], ['FZ', 15]]),
  [GdbFeature.Linux]: '',
  [GdbFeature.Segments]: '',
  [GdbFeature.Avx]: '',
  [GdbFeature.Avx512]: VEC128_TYPES + '    <vector id="v2ui128" type="uint128" count="2"/>\n',
  [GdbFeature.Pkeys]: '',
};

/** The target description document (qXfer:features:read:target.xml). */
export function targetXml(regs: readonly GdbRegister[]): string {
  const parts = ['<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n',
    '  <architecture>i386:x86-64</architecture>\n  <osabi>GNU/Linux</osabi>\n'];
  for (const f of gdbFeatures(regs)) {
    parts.push(`  <feature name="${f}">\n`, FEATURE_TYPES[f]);
    for (const r of regs.filter((x) => x.feature === f)) {
      parts.push(`    <reg name="${r.name}" bitsize="${r.bitsize}" type="${r.type}" regnum="${r.regnum}"${r.group ? ` group="${r.group}"` : ''}/>\n`);
    }
    parts.push('  </feature>\n');
  }
  parts.push('</target>\n');
  return parts.join('');
}

/** Full x87 tag of one register from its 80-bit contents (SDM Vol. 1 8.1.7): 0 valid, 1 zero, 2 special. */
function classifyX87(v: Uint8Array): number {
  const exponent = (v[8]! | (v[9]! << 8)) & 0x7fff;
  const integerBit = (v[7]! & 0x80) !== 0;
  if (exponent === 0x7fff) return 2;
  if (exponent === 0) return v.subarray(0, 8).every((b) => b === 0) ? 1 : 2;
  return integerBit ? 0 : 2;
}
/** Tag 3: empty. */
const TAG_EMPTY = 3;
const FSW_TOP_SHIFT = 11;

/** The full tag word: the abridged FTW says empty or not per physical register; contents say which tag (SDM Vol. 1 10.5.1.1). */
function fullTagWord(regs: RegisterFile): number {
  const abridged = regs.legacy[LEGACY.FTW]!;
  const top = (regs.legacyView.getUint16(LEGACY.FSW, true) >> FSW_TOP_SHIFT) & 7;
  let tag = 0;
  for (let phys = 0; phys < 8; phys++) {
    const st = (phys - top) & 7;
    const off = LEGACY.ST0 + st * LEGACY.ST_STRIDE;
    const t = (abridged >> phys) & 1 ? classifyX87(regs.legacy.subarray(off, off + LEGACY.ST_BYTES)) : TAG_EMPTY;
    tag |= t << (2 * phys);
  }
  return tag;
}

function le(v: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}
function fromLe(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** The register's bytes, little-endian, bitsize / 8 of them. */
export function readRegister(r: GdbRegister, a: RegisterAccess): Uint8Array {
  const n = r.bitsize / 8;
  const l = r.loc;
  switch (l.kind) {
    case 'gpr': return le(a.uc.regRead(l.reg), n);
    case 'eflags': return le(a.uc.regRead(X86Reg.RFLAGS), n);
    case 'selector': return le(l.value, n);
    case 'orig-rax': return le(BigInt.asUintN(64, a.origRax), n);
    case 'ftag': return le(BigInt(fullTagWord(a.regs)), n);
    case 'legacy': {
      const out = new Uint8Array(n);
      out.set(a.regs.legacy.subarray(l.offset, l.offset + l.size));
      return out;
    }
    case 'component': {
      const c = a.regs.comp[l.component];
      const out = new Uint8Array(n);
      if (c) out.set(c.subarray(l.offset, l.offset + l.size));
      return out;
    }
  }
}

/**
 * Write a register (P, G). Selectors are fixed in 64-bit user mode: a write of another value is
 * refused, as Linux's putreg refuses a selector that is not a valid user one. Returns why not, or
 * undefined. A write to an extended component makes it in use (XINUSE; named assumption
 * `debugger-write-in-use`: as a PTRACE_SETREGSET with the component's XSTATE_BV bit set would).
 */
export function writeRegister(r: GdbRegister, a: RegisterAccess, bytes: Uint8Array): string | undefined {
  const l = r.loc;
  const v = fromLe(bytes);
  switch (l.kind) {
    case 'gpr': a.uc.regWrite(l.reg, v); return undefined;
    case 'eflags': {
      // putreg's FLAG_MASK: the bits a tracer may change (arch/x86/kernel/ptrace.c).
      const old = a.uc.regRead(X86Reg.RFLAGS);
      a.uc.regWrite(X86Reg.RFLAGS, (old & ~PTRACE_FLAG_MASK) | (v & PTRACE_FLAG_MASK));
      return undefined;
    }
    case 'selector': return v === l.value ? undefined : `${r.name} is fixed at 0x${l.value.toString(16)} in 64-bit user mode`;
    case 'orig-rax': a.setOrigRax(BigInt.asIntN(64, v)); return undefined;
    case 'ftag': {
      // The abridged form keeps only empty (11B) or not (SDM Vol. 1 10.5.1.1).
      let abridged = 0;
      for (let phys = 0; phys < 8; phys++) if (((Number(v) >> (2 * phys)) & 3) !== TAG_EMPTY) abridged |= 1 << phys;
      a.regs.legacy[LEGACY.FTW] = abridged;
      markWritten(a.regs, XFeature.X87);
      return undefined;
    }
    case 'legacy':
      a.regs.legacy.set(bytes.subarray(0, l.size), l.offset);
      markWritten(a.regs, l.component);
      return undefined;
    case 'component': {
      const c = a.regs.comp[l.component];
      if (!c) return `component ${l.component} is not on this CPU`;
      c.set(bytes.subarray(0, l.size), l.offset);
      markWritten(a.regs, l.component);
      return undefined;
    }
  }
}

function markWritten(regs: RegisterFile, c: number): void {
  if (regs.tracksZeroRegisters && TRACKED_PART_BYTES[c] !== undefined) {
    const inUse = regs.trackLoaded(c);
    regs.knownZero = (regs.knownZero & ~bit(c)) >>> 0;
    regs.xinuse = (inUse ? regs.xinuse | bit(c) : regs.xinuse & ~bit(c)) >>> 0;
    regs.xmodified = (regs.xmodified | bit(c)) >>> 0;
  } else regs.touched(c);
}
