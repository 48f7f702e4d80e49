/**
 * The XSAVE state-component catalogue: numbers, names and register fields. Sizes, offsets and
 * alignment are per CPU and come from CPUID leaf 0xD (see cpu-model.ts), never from here.
 */
import catalogue from './data/xfeatures.json' with { type: 'json' };

/** State-component numbers: bit i of XCR0 / IA32_XSS / XSTATE_BV / XCOMP_BV (SDM Vol. 1 13.1). */
export enum XFeature {
  X87 = 0,
  SSE = 1,
  AVX = 2,
  BNDREGS = 3,
  BNDCSR = 4,
  OPMASK = 5,
  ZMM_HI256 = 6,
  HI16_ZMM = 7,
  PT = 8,
  PKRU = 9,
  PASID = 10,
  CET_U = 11,
  CET_S = 12,
  HDC = 13,
  UINTR = 14,
  LBR = 15,
  HWP = 16,
  TILECFG = 17,
  TILEDATA = 18,
  APX = 19,
}

/** Highest component number the model knows; all masks fit in 32 bits (checked below). */
export const MAX_XFEATURE = 19;
export const bit = (i: number): number => (1 << i) >>> 0;

export interface FieldDesc {
  /** `{n}` is replaced by the index, `{n+16}` by index + 16. */
  name: string;
  offset: number;
  size: number;
  count?: number;
  stride?: number;
}

export interface XFeatureDesc {
  number: number;
  id: string;
  linuxName: string;
  source: string;
  fields: FieldDesc[];
}

export const XFEATURES: readonly XFeatureDesc[] = catalogue.components as XFeatureDesc[];

const byNumber: (XFeatureDesc | undefined)[] = [];
for (const c of XFEATURES) {
  if (c.number > MAX_XFEATURE) throw new Error(`xfeatures.json: component ${c.number} beyond MAX_XFEATURE`);
  byNumber[c.number] = c;
}

export function xfeatureDesc(i: number): XFeatureDesc | undefined {
  return byNumber[i];
}

export function xfeatureId(i: number): string {
  return byNumber[i]?.id ?? `xfeature${i}`;
}

/** Component number for a short id (`avx`, `pkru`...) or a decimal number. */
export function xfeatureByName(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  return XFEATURES.find((c) => c.id === name.toLowerCase())?.number;
}

/** Expands a component's field table into concrete (name, offset, size) triples. */
export function expandFields(i: number): { name: string; offset: number; size: number }[] {
  const d = byNumber[i];
  if (!d) return [];
  const out: { name: string; offset: number; size: number }[] = [];
  for (const f of d.fields) {
    const count = f.count ?? 1;
    for (let n = 0; n < count; n++) {
      const name = f.name.replace('{n+16}', String(n + 16)).replace('{n}', String(n));
      out.push({ name, offset: f.offset + n * (f.stride ?? f.size), size: f.size });
    }
  }
  return out;
}

/** Bit numbers set in a component mask, ascending. */
export function maskBits(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= 31; i++) if ((mask >>> i) & 1) out.push(i);
  return out;
}

export function formatMask(mask: number): string {
  return '0x' + (mask >>> 0).toString(16);
}
