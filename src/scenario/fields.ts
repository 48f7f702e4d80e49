/**
 * Register and header fields of a standard-format XSAVE image (the UABI image of ptrace, cores,
 * KVM and signal frames) by name, for scenarios: `xmm3`, `ymm3` (xmm3 and YMM3_H), `zmm20`,
 * `k1`, `pkru`, `mxcsr`, `fcw`, `st0`, `xstate_bv`, `xcomp_bv`, `sw_xcr0` (bytes 464..471),
 * `tilecfg`, `tmm0`; parts of a field (`zmm29.q1`, `zmm16.ymm_h`, `xmm0.d3`); raw bytes
 * (`bytes@2504:4`). A field is one or more byte ranges; values are little-endian integers.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XFeature } from '../../emulator/xfeatures.js';

export interface FieldRange {
  offset: number;
  size: number;
  /** The component the bytes belong to (for XSTATE_BV), or undefined for header, sw and raw bytes. */
  component?: XFeature;
}

/** Bytes 464..471 of a ptrace/core image: the user feature mask (xstate_fx_sw_bytes[0]). */
const SW_XCR0_OFFSET = 464;
/** struct _fpx_sw_bytes of a signal frame at offset 464 (uapi/asm/sigcontext.h). */
const SIGFRAME_SW_FIELDS: Record<string, [number, number]> = {
  sw_magic1: [464, 4], sw_extended_size: [468, 4], sw_xfeatures: [472, 8], sw_xstate_size: [480, 4],
};
/** One AMX tile register: 16 rows of 64 bytes (palette 1, CPUID leaf 1DH). */
const TMM_BYTES = 1024;
/**
 * The largest raw range `bytes@OFF:LEN` may name (a language limit, not an ABI rule): the largest
 * UABI image the model knows (Sapphire Rapids with AMX) is 11008 bytes; 1 MiB leaves room for
 * any buffer a scenario builds while keeping offsets exact.
 */
export const MAX_RAW_BYTES = 1 << 20;

const LEGACY_FIELDS: Record<string, [number, number, XFeature]> = {
  fcw: [LEGACY.FCW, 2, XFeature.X87], fsw: [LEGACY.FSW, 2, XFeature.X87], ftw: [LEGACY.FTW, 1, XFeature.X87],
  fop: [LEGACY.FOP, 2, XFeature.X87], fip: [LEGACY.FIP, 8, XFeature.X87], fdp: [LEGACY.FDP, 8, XFeature.X87],
  mxcsr: [LEGACY.MXCSR, 4, XFeature.SSE], mxcsr_mask: [LEGACY.MXCSR_MASK, 4, XFeature.SSE],
};

/** Every name resolveField accepts, for messages. */
export const FIELD_NAMES = 'fcw fsw ftw fop fip fdp mxcsr mxcsr_mask st0-7 xmm0-15 ymm0-15 ymm0-15_h zmm0-31 zmm0-15_h k0-7 pkru bnd0-3 tilecfg tmm0-7 ' +
  'xstate_bv xcomp_bv sw_xcr0 sw_magic1 sw_extended_size sw_xfeatures sw_xstate_size; parts FIELD.qK FIELD.dK FIELD.xmm FIELD.ymm FIELD.ymm_h (zmm); raw bytes@OFF:LEN';

/** Parts of a field: `.qK` (64-bit lane K), `.dK` (32-bit lane K), `.xmm`/`.ymm` (low 16/32 bytes), `.ymm_h` (bytes 32..63 of a ZMM). */
function part(whole: FieldRange[], name: string, partName: string): FieldRange[] | string {
  const size = whole.reduce((s, r) => s + r.size, 0);
  let off: number, len: number;
  const lane = /^([qd])(\d+)$/.exec(partName);
  if (lane) { len = lane[1] === 'q' ? 8 : 4; off = len * Number(lane[2]); }
  else if (partName === 'xmm') { off = 0; len = 16; }
  else if (partName === 'ymm') { off = 0; len = 32; }
  else if (partName === 'ymm_h' && size === 64) { off = 32; len = 32; }
  else return `unknown part '.${partName}' of '${name}' (parts: .qK .dK .xmm .ymm, and .ymm_h of a zmm)`;
  if (off + len > size) return `'${name}.${partName}' is past the end of ${name} (${size} bytes)`;
  const out: FieldRange[] = [];
  let at = 0;
  for (const r of whole) {
    const lo = Math.max(off, at), hi = Math.min(off + len, at + r.size);
    if (lo < hi) out.push({ offset: r.offset + lo - at, size: hi - lo, component: r.component });
    at += r.size;
  }
  return out;
}

/** A byte count or offset in a field name: decimal or 0x hex. */
const NUM = '(0x[0-9a-f]+|\\d+)';

/** The byte ranges of field `name` on `cpu`, or a message saying why it does not exist there. */
export function resolveField(cpu: Pick<CpuModel, 'id' | 'components'>, name: string): FieldRange[] | string {
  const n = name.toLowerCase();
  const raw = new RegExp(`^bytes@${NUM}:${NUM}$`).exec(n);
  if (raw) {
    const off = Number(raw[1]), len = Number(raw[2]);
    if (len < 1 || off + len > MAX_RAW_BYTES) return `'${name}': bytes@OFF:LEN needs 1 <= LEN and OFF + LEN <= ${MAX_RAW_BYTES}`;
    return [{ offset: off, size: len }];
  }
  if (n.startsWith('bytes@')) return `'${name}': write raw bytes as bytes@OFF:LEN (offset and length in decimal or 0x hex), e.g. bytes@2504:4`;
  const dot = n.indexOf('.');
  if (dot > 0) {
    const whole = resolveField(cpu, n.slice(0, dot));
    return typeof whole === 'string' ? whole : part(whole, n.slice(0, dot), n.slice(dot + 1));
  }
  const comp = (i: XFeature): number | undefined => cpu.components[i]?.standardOffset;
  const need = (i: XFeature, what: string): number | string => comp(i) ?? `${what} needs component ${XFeature[i]}, which ${cpu.id} does not have`;
  if (n in LEGACY_FIELDS) { const [o, s, c] = LEGACY_FIELDS[n]; return [{ offset: o, size: s, component: c }]; }
  if (n === 'xstate_bv') return [{ offset: XSAVE_HEADER_OFFSET, size: 8 }];
  if (n === 'xcomp_bv') return [{ offset: XSAVE_HEADER_OFFSET + 8, size: 8 }];
  if (n === 'sw_xcr0') return [{ offset: SW_XCR0_OFFSET, size: 8 }];
  if (n in SIGFRAME_SW_FIELDS) { const [o, sz] = SIGFRAME_SW_FIELDS[n]; return [{ offset: o, size: sz }]; }
  let m = /^st([0-7])$/.exec(n);
  if (m) return [{ offset: LEGACY.ST0 + LEGACY.ST_STRIDE * Number(m[1]), size: LEGACY.ST_BYTES, component: XFeature.X87 }];
  m = /^xmm(\d+)$/.exec(n);
  if (m && Number(m[1]) < 16) return [{ offset: LEGACY.XMM0 + 16 * Number(m[1]), size: 16, component: XFeature.SSE }];
  m = /^ymm(\d+)(_h)?$/.exec(n);
  if (m && Number(m[1]) < 16) {
    const avx = need(XFeature.AVX, name);
    if (typeof avx === 'string') return avx;
    const hi = { offset: avx + 16 * Number(m[1]), size: 16, component: XFeature.AVX };
    return m[2] ? [hi] : [{ offset: LEGACY.XMM0 + 16 * Number(m[1]), size: 16, component: XFeature.SSE }, hi];
  }
  m = /^zmm(\d+)(_h)?$/.exec(n);
  if (m && Number(m[1]) < 32) {
    const r = Number(m[1]);
    if (r >= 16) {
      // ZMM16-31 live whole in Hi16_ZMM: there is no separate upper part to name (SDM Vol. 1, 13.5.7).
      if (m[2]) return `unknown field '${name}': zmm16-31 have no _h component (all 64 bytes are in Hi16_ZMM); write zmm${r}.ymm_h for its upper 32 bytes`;
      const h = need(XFeature.HI16_ZMM, name);
      return typeof h === 'string' ? h : [{ offset: h + 64 * (r - 16), size: 64, component: XFeature.HI16_ZMM }];
    }
    const zh = need(XFeature.ZMM_HI256, name);
    if (typeof zh === 'string') return zh;
    const top = { offset: zh + 32 * r, size: 32, component: XFeature.ZMM_HI256 };
    if (m[2]) return [top];
    const y = resolveField(cpu, `ymm${r}`);
    return typeof y === 'string' ? y : [...y, top];
  }
  m = /^k([0-7])$/.exec(n);
  if (m) { const k = need(XFeature.OPMASK, name); return typeof k === 'string' ? k : [{ offset: k + 8 * Number(m[1]), size: 8, component: XFeature.OPMASK }]; }
  if (n === 'pkru') { const p = need(XFeature.PKRU, name); return typeof p === 'string' ? p : [{ offset: p, size: 4, component: XFeature.PKRU }]; }
  m = /^bnd([0-3])$/.exec(n);
  if (m) { const b = need(XFeature.BNDREGS, name); return typeof b === 'string' ? b : [{ offset: b + 16 * Number(m[1]), size: 16, component: XFeature.BNDREGS }]; }
  if (n === 'tilecfg') { const t = need(XFeature.TILECFG, name); return typeof t === 'string' ? t : [{ offset: t, size: 64, component: XFeature.TILECFG }]; }
  m = /^tmm([0-7])$/.exec(n);
  if (m) { const t = need(XFeature.TILEDATA, name); return typeof t === 'string' ? t : [{ offset: t + TMM_BYTES * Number(m[1]), size: TMM_BYTES, component: XFeature.TILEDATA }]; }
  return `unknown field '${name}' (fields: ${FIELD_NAMES})`;
}

/** A CPU with every component at offset 0: resolving against it checks a name's spelling only. */
const EVERY_COMPONENT: Pick<CpuModel, 'id' | 'components'> = {
  id: 'any CPU',
  components: new Proxy([], { get: (t, k) => (typeof k === 'string' && /^\d+$/.test(k) ? { standardOffset: 0 } : Reflect.get(t, k)) }) as unknown as CpuModel['components'],
};

/** Whether `name` is a field on some CPU: undefined if so, else why not (with the valid names). */
export function fieldNameError(name: string): string | undefined {
  const r = resolveField(EVERY_COMPONENT, name);
  return typeof r === 'string' ? r : undefined;
}

export const fieldBytes = (ranges: FieldRange[]): number => ranges.reduce((s, r) => s + r.size, 0);

/** A field's width in bytes, which does not depend on the CPU (0 for a name that is no field). */
export function fieldWidth(name: string): number {
  const r = resolveField(EVERY_COMPONENT, name);
  return typeof r === 'string' ? 0 : fieldBytes(r);
}

/** The end of the last byte the ranges touch (a buffer must be at least this long). */
export const fieldEnd = (ranges: FieldRange[]): number => Math.max(...ranges.map((r) => r.offset + r.size));

export function readField(buf: Uint8Array, ranges: FieldRange[]): bigint {
  let v = 0n, shift = 0n;
  for (const r of ranges) {
    for (let k = 0; k < r.size; k++) { v |= BigInt(buf[r.offset + k] ?? 0) << shift; shift += 8n; }
  }
  return v;
}

export function writeField(buf: Uint8Array, ranges: FieldRange[], value: bigint): void {
  let v = value;
  for (const r of ranges) {
    for (let k = 0; k < r.size; k++) { buf[r.offset + k] = Number(v & 0xffn); v >>= 8n; }
  }
}
