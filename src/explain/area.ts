/**
 * The XSAVE area of a CPU described for teaching: both formats (from the layout command), the
 * legacy-region fields (from the component catalogue), the header, and the software bytes
 * 464..511 as ptrace and as a signal frame fill them. Renderers (text.ts, html.ts) only format this.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XFeature, formatMask, xfeatureDesc } from '../../emulator/xfeatures.js';
import { fpu__init_system_xstate } from '../../kernel-model/fpu-config.js';
import { DEFAULT_KERNEL_VARIANT, resolveLinuxVariant } from '../../kernel-model/variants.js';
import { computeLayout, type Layout } from '../commands/layout.js';
import { FPX_SW, FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2, FP_XSTATE_MAGIC2_SIZE, HEADER, LEGACY_RESERVED_OFFSET, SW_BYTES_OFFSET, SW_BYTES_SIZE, USER_XSTATE_XCR0_OFFSET, hex } from './abi.js';

export interface FieldRow {
  offset: number;
  size: number;
  name: string;
  /** What the bytes hold (value or meaning). */
  value: string;
}

export interface AreaDescription {
  cpu: string;
  cpuName: string;
  xcr0: number;
  xss: number;
  /** Where the XCR0 came from, e.g. "what linux-6.18 enables". */
  xcr0Origin: string;
  standard: Layout;
  /** Absent when the CPU has no XSAVEC/XSAVES. */
  compacted?: Layout;
  compactedMissing?: string;
  legacy: FieldRow[];
  headerStandard: FieldRow[];
  headerCompacted?: FieldRow[];
  swPtrace: FieldRow[];
  swSigframe: FieldRow[];
  /** FP_XSTATE_MAGIC2 right after the image in a signal frame. */
  magic2: FieldRow;
  notes: string[];
}

/** Legacy-region rows from the catalogue: one row per register array, padding folded into it. */
function legacyRows(): FieldRow[] {
  const rows: FieldRow[] = [];
  for (const c of [XFeature.X87, XFeature.SSE]) {
    for (const f of xfeatureDesc(c)!.fields) {
      if (/reserved/.test(f.name) && f.count) continue; // the 6 bytes after each STn: folded into its slot
      const count = f.count ?? 1;
      const stride = f.stride ?? f.size;
      const name = count > 1 ? `${f.name.replace('{n}', '0')}..${f.name.replace('{n}', String(count - 1))}` : f.name;
      const value = count > 1 ? `${count} x ${stride} bytes${stride !== f.size ? ` (${f.size} used)` : ''} (${c === XFeature.X87 ? 'x87' : 'SSE'})` : c === XFeature.X87 ? 'x87' : 'SSE';
      rows.push({ offset: f.offset, size: count > 1 ? stride * count : f.size, name, value });
    }
  }
  rows.push({ offset: LEGACY_RESERVED_OFFSET, size: SW_BYTES_OFFSET - LEGACY_RESERVED_OFFSET, name: 'reserved', value: 'ignored by XRSTOR; XSAVE does not write it' });
  rows.push({ offset: SW_BYTES_OFFSET, size: SW_BYTES_SIZE, name: 'software-available', value: 'never touched by the CPU; Linux fills it (below)' });
  return rows.sort((a, b) => a.offset - b.offset);
}

export function describeArea(cpu: CpuModel, o: { xcr0?: number; xss?: number; kernel?: string } = {}): AreaDescription {
  const kernel = o.kernel ?? DEFAULT_KERNEL_VARIANT;
  const cfg = fpu__init_system_xstate(cpu, resolveLinuxVariant(kernel));
  const xcr0 = o.xcr0 ?? (cfg.useXsave ? cfg.user.maxFeatures : cpu.xcr0Supported);
  const xss = o.xss ?? 0;
  const standard = computeLayout(cpu, xcr0, 0, false);
  let compacted: Layout | undefined;
  let compactedMissing: string | undefined;
  if (cpu.features.xsavec) compacted = computeLayout(cpu, xcr0, xss, true);
  else compactedMissing = `${cpu.id} has no XSAVEC/XSAVES (CPUID.(0DH,1):EAX[1] = 0): no compacted format`;
  const size = standard.size;
  const headerStandard: FieldRow[] = [
    { offset: HEADER.XSTATE_BV, size: 8, name: 'XSTATE_BV', value: `bit i set: component i saved from a non-initial state (subset of XCR0 ${formatMask(xcr0)})` },
    { offset: HEADER.XCOMP_BV, size: 8, name: 'XCOMP_BV', value: '0: standard format (XRSTOR #GP if non-zero with bit 63 clear)' },
    { offset: HEADER.RESERVED, size: HEADER.END - HEADER.RESERVED, name: 'reserved', value: 'must be 0 (XRSTOR #GP)' },
  ];
  const headerCompacted = compacted && [
    headerStandard[0]!,
    { offset: HEADER.XCOMP_BV, size: 8, name: 'XCOMP_BV', value: `${compacted.xcompBv}: bit 63 = compacted, bits 62:0 = the components laid out` },
    headerStandard[2]!,
  ];
  const swPtrace: FieldRow[] = [
    { offset: USER_XSTATE_XCR0_OFFSET, size: 8, name: 'xstate_fx_sw_bytes[0]', value: `${formatMask(xcr0)}: the user XCR0 mask (USER_XSTATE_XCR0_WORD)` },
    { offset: USER_XSTATE_XCR0_OFFSET + 8, size: SW_BYTES_SIZE - 8, name: 'xstate_fx_sw_bytes[1..5]', value: '0' },
  ];
  const swSigframe: FieldRow[] = [
    { offset: FPX_SW.MAGIC1, size: 4, name: 'magic1', value: `${hex(FP_XSTATE_MAGIC1)} (FP_XSTATE_MAGIC1, "XSFP")` },
    { offset: FPX_SW.EXTENDED_SIZE, size: 4, name: 'extended_size', value: `${size + FP_XSTATE_MAGIC2_SIZE} (xstate_size + 4 for magic2)` },
    { offset: FPX_SW.XFEATURES, size: 8, name: 'xfeatures', value: `${formatMask(xcr0)} (the task's user_xfeatures)` },
    { offset: FPX_SW.XSTATE_SIZE, size: 4, name: 'xstate_size', value: `${size} (the task's user_size)` },
    { offset: FPX_SW.PADDING, size: SW_BYTES_OFFSET + SW_BYTES_SIZE - FPX_SW.PADDING, name: 'padding[7]', value: '0' },
  ];
  const notes: string[] = [];
  if ((xcr0 >>> XFeature.TILEDATA) & 1) {
    const without = cpu.standardSize((xcr0 & ~(1 << XFeature.TILEDATA)) >>> 0);
    notes.push(`AMX tile data is a dynamic feature (Linux 5.16+): a task without ARCH_REQ_XCOMP_PERM gets xfeatures without bit ${XFeature.TILEDATA} and xstate_size ${without} in its signal frames, while ptrace images keep ${size} bytes and the full mask at 464.`);
  }
  notes.push('ptrace and core files always use the standard format, whatever the kernel uses inside (XSAVES); holes and components whose XSTATE_BV bit is clear are zero there.');
  notes.push('A signal frame is a plain XSAVE image; the kernel zeroes the header first and ORs FP|SSE into XSTATE_BV so that edits of the legacy region survive sigreturn.');
  return {
    cpu: cpu.id, cpuName: cpu.profile.name, xcr0, xss,
    xcr0Origin: o.xcr0 === undefined ? (cfg.useXsave ? `what ${kernel} enables` : 'every component the CPU supports') : 'given',
    standard, compacted, compactedMissing, legacy: legacyRows(), headerStandard, headerCompacted, swPtrace, swSigframe,
    magic2: { offset: size, size: FP_XSTATE_MAGIC2_SIZE, name: 'FP_XSTATE_MAGIC2', value: `${hex(FP_XSTATE_MAGIC2)} ("EXPF"), right after the image (at xstate_size)` },
    notes,
  };
}
