/**
 * `xstate-lab layout`: the XSAVE area of a CPU for an XCR0 / IA32_XSS, standard or compacted.
 * The JSON form is versioned (`format: "xstate-lab.layout/1"`) and documented in the README.
 */
import { CpuModel, EXTENDED_REGION_OFFSET, LEGACY_REGION_SIZE, XSAVE_HEADER_OFFSET, XSAVE_HEADER_SIZE } from '../../emulator/cpu-model.js';
import { InputError } from '../errors.js';
import { xfeatureDesc, xfeatureId } from '../../emulator/xfeatures.js';
import { xcr0Invalid } from '../../emulator/xsave.js';

export type RegionKind = 'legacy' | 'header' | 'component' | 'hole' | 'padding';

export interface LayoutRegion {
  kind: RegionKind;
  offset: number;
  size: number;
  /** Component number for `component` regions (0 and 1 share the legacy region). */
  component?: number;
  name?: string;
  linuxName?: string;
  supervisor?: boolean;
  align64?: boolean;
  xfd?: boolean;
}

export interface Layout {
  format: 'xstate-lab.layout/1';
  cpu: string;
  compacted: boolean;
  xcr0: string;
  xss: string;
  /** XCOMP_BV an XSAVEC/XSAVES with RFBM = XCR0 | XSS writes (compacted only). */
  xcompBv?: string;
  size: number;
  regions: LayoutRegion[];
}

export function parseMask(s: string, what: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new InputError('<command line>', what, `expected a number such as 0x2e7, got '${s}'`);
  const v = Number(s);
  if (v > 0xffffffff) throw new InputError('<command line>', what, `${s}: components above 31 are not modelled`);
  return v >>> 0;
}

export function computeLayout(cpu: CpuModel, xcr0: number, xss: number, compacted: boolean): Layout {
  const bad = (xcr0 & ~cpu.xcr0Supported) >>> 0;
  if (bad) throw new InputError('<command line>', '--xcr0', `bit(s) 0x${bad.toString(16)} not supported by ${cpu.id} (CPUID.(0DH,0):EDX:EAX = 0x${cpu.xcr0Supported.toString(16)})`);
  const why = xcr0Invalid(cpu, xcr0, 0);
  if (why) throw new InputError('<command line>', '--xcr0', `0x${xcr0.toString(16)} cannot be loaded by XSETBV: ${why}`);
  const badS = (xss & ~cpu.xssSupported) >>> 0;
  if (badS) throw new InputError('<command line>', '--xss', `bit(s) 0x${badS.toString(16)} not supported by ${cpu.id} (CPUID.(0DH,1):EDX:ECX = 0x${cpu.xssSupported.toString(16)})`);
  if (xss && !compacted) throw new InputError('<command line>', '--xss', 'supervisor components exist only in the compacted format (add --compacted)');
  if (compacted && !cpu.features.xsavec) throw new InputError('<command line>', '--compacted', `${cpu.id} has no compacted format (CPUID.(0DH,1):EAX.XSAVEC = 0)`);
  const regions: LayoutRegion[] = [
    { kind: 'legacy', offset: 0, size: LEGACY_REGION_SIZE, name: 'x87 + SSE (FXSAVE layout)' },
    { kind: 'header', offset: XSAVE_HEADER_OFFSET, size: XSAVE_HEADER_SIZE, name: 'XSAVE header' },
  ];
  const comp = (i: number, offset: number): LayoutRegion => {
    const c = cpu.components[i]!;
    return { kind: 'component', offset, size: c.size, component: i, name: xfeatureId(i), linuxName: xfeatureDesc(i)?.linuxName, supervisor: c.supervisor, align64: c.align64, xfd: c.xfdCapable };
  };
  let size: number;
  const mask = compacted ? (xcr0 | xss) >>> 0 : xcr0;
  if (compacted) {
    const { offsets, size: s } = cpu.compactedLayout(mask);
    for (const c of cpu.extendedComponents) if (offsets[c.number] !== undefined) regions.push(comp(c.number, offsets[c.number]));
    size = s;
  } else {
    for (const c of cpu.extendedComponents) if (!c.supervisor && (xcr0 >>> c.number) & 1) regions.push(comp(c.number, c.standardOffset));
    size = cpu.standardSize(xcr0);
  }
  regions.sort((a, b) => a.offset - b.offset);
  // Gaps: holes in the standard format (components not in XCR0, or never defined on this CPU),
  // padding from 64-byte alignment in the compacted format.
  const filled: LayoutRegion[] = [];
  let end = 0;
  for (const r of regions) {
    if (r.offset > end) filled.push({ kind: compacted ? 'padding' : 'hole', offset: end, size: r.offset - end });
    filled.push(r);
    end = Math.max(end, r.offset + r.size);
  }
  void EXTENDED_REGION_OFFSET;
  return {
    format: 'xstate-lab.layout/1', cpu: cpu.id, compacted, xcr0: '0x' + xcr0.toString(16), xss: '0x' + xss.toString(16),
    xcompBv: compacted ? '0x' + (BigInt(mask) | (1n << 63n)).toString(16) : undefined, size, regions: filled,
  };
}

export function formatLayout(l: Layout): string {
  const lines = [`${l.cpu}: ${l.compacted ? 'compacted' : 'standard'} format, XCR0 ${l.xcr0}${l.compacted ? `, IA32_XSS ${l.xss}, XCOMP_BV ${l.xcompBv}` : ''}, size ${l.size} bytes`];
  lines.push('  nr  name         offset        size  align64 user/sup  xfd  notes');
  for (const r of l.regions) {
    const off = `${String(r.offset).padStart(5)} (0x${r.offset.toString(16).padStart(3, '0')})`;
    if (r.kind === 'component') {
      lines.push(`  ${String(r.component).padStart(2)}  ${r.name!.padEnd(11)} ${off} ${String(r.size).padStart(6)}  ${(r.align64 ? 'yes' : 'no').padEnd(7)} ${(r.supervisor ? 'sup' : 'user').padEnd(9)} ${r.xfd ? 'yes' : 'no '}  ${r.linuxName ?? ''}`);
    } else {
      const name = r.kind === 'legacy' ? 'legacy' : r.kind === 'header' ? 'header' : r.kind;
      lines.push(`   -  ${name.padEnd(11)} ${off} ${String(r.size).padStart(6)}  ${''.padEnd(7)} ${''.padEnd(9)}      ${r.name ?? (r.kind === 'hole' ? 'not used with this XCR0' : 'alignment padding')}`);
    }
  }
  if (l.compacted) {
    lines.push('  as Linux prints it:');
    for (const r of l.regions) if (r.kind === 'component') lines.push(`    x86/fpu: xstate_offset[${r.component}]: ${String(r.offset).padStart(4)}, xstate_sizes[${r.component}]: ${String(r.size).padStart(4)}`);
  }
  return lines.join('\n');
}
