/**
 * Raw CPUID data, as stored in a profile: key `LLLLLLLL` for a leaf that ignores ECX and
 * `LLLLLLLL.SS` for a sub-leaf of an indexed leaf; value [EAX, EBX, ECX, EDX].
 */
export type CpuidRegs = readonly [eax: number, ebx: number, ecx: number, edx: number];
export type CpuidJson = Record<string, [string, string, string, string]>;

/**
 * Leaves whose output depends on ECX (the sub-leaf), from the CPUID table of the Intel SDM Vol. 2A
 * ("CPUID - CPU Identification", Table 3-8) and AMD APM Vol. 3 Appendix E.
 */
export const INDEXED_LEAVES: ReadonlySet<number> = new Set([
  0x4, 0x7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1a, 0x1b, 0x1d, 0x1e, 0x1f, 0x20, 0x23, 0x24,
  0x8000001d, 0x80000020, 0x80000026,
]);

export const hex32 = (v: number): string => '0x' + (v >>> 0).toString(16).padStart(8, '0');

export function cpuidKey(leaf: number, subleaf: number): string {
  const l = (leaf >>> 0).toString(16).padStart(8, '0');
  return INDEXED_LEAVES.has(leaf >>> 0) ? `${l}.${(subleaf >>> 0).toString(16).padStart(2, '0')}` : l;
}

/** A parsed CPUID table with lookups. A missing leaf or sub-leaf reads as zeros. */
export class CpuidTable {
  private readonly map = new Map<string, CpuidRegs>();

  static fromJson(json: CpuidJson): CpuidTable {
    const t = new CpuidTable();
    for (const [k, regs] of Object.entries(json)) {
      const [leafHex, subHex] = k.split('.');
      t.set(parseInt(leafHex, 16), subHex === undefined ? 0 : parseInt(subHex, 16), regs.map((r) => parseInt(r, 16) >>> 0) as unknown as CpuidRegs);
    }
    return t;
  }

  set(leaf: number, subleaf: number, regs: CpuidRegs): void {
    this.map.set(cpuidKey(leaf, subleaf), [regs[0] >>> 0, regs[1] >>> 0, regs[2] >>> 0, regs[3] >>> 0]);
  }

  has(leaf: number, subleaf = 0): boolean {
    return this.map.has(cpuidKey(leaf, subleaf));
  }

  get(leaf: number, subleaf = 0): CpuidRegs {
    return this.map.get(cpuidKey(leaf, subleaf)) ?? [0, 0, 0, 0];
  }

  toJson(): CpuidJson {
    const keys = [...this.map.keys()].sort();
    const out: CpuidJson = {};
    for (const k of keys) {
      const r = this.map.get(k)!;
      out[k] = [hex32(r[0]), hex32(r[1]), hex32(r[2]), hex32(r[3])];
    }
    return out;
  }
}
