/**
 * Names the byte at an offset of an XSAVE area: which component, which register, which byte.
 * Used to print mismatches and buffers field by field.
 */
import { CpuModel, EXTENDED_REGION_OFFSET, XSAVE_HEADER_OFFSET } from './cpu-model.js';
import { LEGACY } from './register-file.js';
import { XFeature, expandFields, xfeatureId } from './xfeatures.js';

export interface AreaFormat {
  compacted: boolean;
  /** XCOMP_BV[62:0] for the compacted format. */
  xcompBv?: number;
  /** REX.W form: FIP/FDP are 64-bit; otherwise FIP[31:0], FCS, FDP[31:0], FDS. */
  rexW?: boolean;
}

export interface Place {
  component: string;
  field: string;
  /** Byte index inside the field. */
  byte: number;
  fieldOffset: number;
  fieldSize: number;
}

const HEADER_FIELDS = [
  { name: 'XSTATE_BV', offset: 0, size: 8 },
  { name: 'XCOMP_BV', offset: 8, size: 8 },
  { name: 'reserved', offset: 16, size: 48 },
];
const X87_32BIT = [
  { name: 'FIP[31:0]', offset: 8, size: 4 }, { name: 'FCS', offset: 12, size: 2 }, { name: 'reserved14', offset: 14, size: 2 },
  { name: 'FDP[31:0]', offset: 16, size: 4 }, { name: 'FDS', offset: 20, size: 2 }, { name: 'reserved22', offset: 22, size: 2 },
];

export class AreaMap {
  private readonly starts: { start: number; size: number; component: number }[] = [];

  constructor(readonly cpu: CpuModel, readonly format: AreaFormat) {
    if (format.compacted) {
      const { offsets } = cpu.compactedLayout(format.xcompBv ?? 0);
      offsets.forEach((o, i) => { if (o !== undefined) this.starts.push({ start: o, size: cpu.components[i]!.size, component: i }); });
    } else {
      for (const c of cpu.extendedComponents) if (!c.supervisor) this.starts.push({ start: c.standardOffset, size: c.size, component: c.number });
    }
  }

  locate(offset: number): Place {
    if (offset < XSAVE_HEADER_OFFSET) return this.locateLegacy(offset);
    if (offset < EXTENDED_REGION_OFFSET) return find('header', HEADER_FIELDS, offset - XSAVE_HEADER_OFFSET, offset);
    for (const s of this.starts) {
      if (offset >= s.start && offset < s.start + s.size) return find(xfeatureId(s.component), expandFields(s.component), offset - s.start, offset);
    }
    return { component: 'none', field: this.format.compacted ? 'padding' : 'hole', byte: 0, fieldOffset: offset, fieldSize: 1 };
  }

  private locateLegacy(offset: number): Place {
    if (!this.format.rexW && offset >= LEGACY.FIP && offset < LEGACY.MXCSR) return find('x87', X87_32BIT, offset, offset);
    const x87 = expandFields(XFeature.X87);
    const sse = expandFields(XFeature.SSE);
    const inX87 = x87.find((f) => offset >= f.offset && offset < f.offset + f.size);
    if (inX87) return find('x87', x87, offset, offset);
    const inSse = sse.find((f) => offset >= f.offset && offset < f.offset + f.size);
    if (inSse) return find('sse', sse, offset, offset);
    return { component: 'legacy', field: offset < 464 ? 'reserved' : 'available-to-software', byte: 0, fieldOffset: offset, fieldSize: 1 };
  }
}

function find(component: string, fields: { name: string; offset: number; size: number }[], rel: number, abs: number): Place {
  const f = fields.find((x) => rel >= x.offset && rel < x.offset + x.size);
  if (!f) return { component, field: 'unused', byte: 0, fieldOffset: abs, fieldSize: 1 };
  return { component, field: f.name, byte: rel - f.offset, fieldOffset: abs - (rel - f.offset), fieldSize: f.size };
}
