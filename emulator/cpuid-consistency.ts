/**
 * Does a CPUID table describe a CPU that could exist? Rules over the XSAVE leaves (0DH with
 * leaves 0, 1, 7) that no real processor breaks, and the ones real processors do break but
 * Linux reacts to. Profiles (emulator/profile.ts) and dumps (emulator/cpuid-dump.ts) both run
 * these; each maps a finding's CPUID register to its own place (JSON pointer or line).
 *
 * Errors: XCR0-supported sets that XSETBV could never load, supervisor/user bits contradicting
 * the sub-leaves, user components overlapping, leaf 0DH unreachable. Warnings: what real parts
 * ship (e.g. every Zen 2 dump enumerates PKRU with CPUID.7:ECX.PKU = 0,
 * shared/reference/xsave-hw-facts.md §11) and Linux only declines to enable.
 */
import { type CpuidTable } from './cpuid-table.js';
import { MAX_XFEATURE, XFeature, bit, xfeatureDesc } from './xfeatures.js';
import { XSAVE_CPUID_FEATURES } from './xsave-cpuid-features.js';

/** Named rules, so that tests and docs can refer to them. */
export enum CpuidRule {
  MaxLeafBelowXsaveLeaf = 'max-basic-leaf-below-0dh',
  X87Missing = 'xcr0-x87-missing',
  AvxWithoutSse = 'xcr0-avx-without-sse',
  MpxPairSplit = 'xcr0-bndregs-bndcsr-split',
  Avx512Incomplete = 'xcr0-avx512-incomplete',
  AmxPairSplit = 'xcr0-tilecfg-tiledata-split',
  SupervisorInXcr0 = 'supervisor-component-in-xcr0',
  UserInXss = 'user-component-in-xss',
  ComponentSizeZero = 'component-size-zero',
  UserBeyondMaxSize = 'user-component-beyond-max-size',
  UserInLegacyRegion = 'user-component-in-legacy-region',
  UserOverlap = 'user-components-overlap',
  XsavesWithoutXsavec = 'xsaves-without-xsavec',
  /** Warning, a model limit: components above MAX_XFEATURE (19) are left out of the model. */
  ComponentBeyondModel = 'component-beyond-model',
  /** Warning: the component's feature flag is clear, so Linux will not enable it. */
  FeatureFlagClear = 'component-feature-flag-clear',
}

export enum Severity {
  Error = 'error',
  Warning = 'warning',
}

export interface CpuidFinding {
  rule: CpuidRule;
  severity: Severity;
  /** The CPUID register the finding is about: leaf, sub-leaf, 0 EAX .. 3 EDX. */
  leaf: number;
  sub: number;
  reg: number;
  /** What is wrong, the source of the rule, and what to change. */
  detail: string;
}

/** CPUID.01H:ECX.XSAVE (SDM Vol. 2A Table 3-10). */
const XSAVE_ECX_BIT = 26;
/** The leaf that enumerates the XSAVE feature set (SDM Vol. 1 13.2). */
const XSAVE_LEAF = 0xd;
/** (0DH,1).EAX[1] XSAVEC (compaction extensions) and [3] XSAVES/IA32_XSS (SDM Vol. 1 13.2). */
const XSAVEC_BIT = 1;
const XSAVES_BIT = 3;
/** The extended region starts after the 512-byte legacy region and 64-byte header (SDM Vol. 1 13.4.3). */
const EXTENDED_REGION_START = 576;
/** (0DH,i).ECX[0]: component i is supported in IA32_XSS (1) or XCR0 (0) (SDM Vol. 2A CPUID leaf 0DH). */
const SUBLEAF_SUPERVISOR_BIT = 0;
/** Components above this are not in 32-bit masks; none is enumerated by any part yet. */
const LOW_COMPONENTS = 32;

const REG_NAMES = ['EAX', 'EBX', 'ECX', 'EDX'] as const;
const sub2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
const leafName = (leaf: number, sub: number, reg: number): string =>
  leaf === 0 || leaf === 1 ? `CPUID.${sub2(leaf)}H:${REG_NAMES[reg]}` : `CPUID.(${sub2(leaf)}H,${sub}):${REG_NAMES[reg]}`;
const compName = (i: number): string => `${i} (${xfeatureDesc(i)?.linuxName ?? `component ${i}`})`;
const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** The rules XSETBV applies to a value of XCR0 (SDM Vol. 1 13.3; xsave-hw-facts.md §9). */
const XSETBV_SOURCE = 'XSETBV raises #GP for such an XCR0 (Intel SDM Vol. 1 13.3)';

/** Every finding for `t`, errors first. Empty when the CPU lacks XSAVE (leaf 0DH is then unused). */
export function checkCpuidConsistency(t: CpuidTable): CpuidFinding[] {
  const out: CpuidFinding[] = [];
  const err = (rule: CpuidRule, leaf: number, sub: number, reg: number, detail: string): void => {
    out.push({ rule, severity: Severity.Error, leaf, sub, reg, detail });
  };
  const warn = (rule: CpuidRule, leaf: number, sub: number, reg: number, detail: string): void => {
    out.push({ rule, severity: Severity.Warning, leaf, sub, reg, detail });
  };
  if (!t.has(1) || ((t.get(1)[2] >>> XSAVE_ECX_BIT) & 1) === 0) return out;

  const maxLeaf = t.has(0) ? t.get(0)[0] >>> 0 : undefined;
  if (maxLeaf !== undefined && maxLeaf < XSAVE_LEAF) {
    err(CpuidRule.MaxLeafBelowXsaveLeaf, 0, 0, 0,
      `the maximum basic leaf is ${hex(maxLeaf)}, below 0xd, yet CPUID.01H:ECX.XSAVE (bit 26) is set: software could never read leaf 0DH ` +
      '(Intel SDM Vol. 2A CPUID: leaves above the maximum return the highest leaf\'s data); write a maximum of at least 0x0000000d');
  }
  const d0 = t.get(XSAVE_LEAF, 0);
  const d1 = t.get(XSAVE_LEAF, 1);
  const xcr0 = d0[0] >>> 0;
  const xss = d1[2] >>> 0;
  const has = (i: number): boolean => ((xcr0 >>> i) & 1) === 1;

  // XCR0 combinations XSETBV refuses: a supported set no value of XCR0 can reach in full.
  if (!has(XFeature.X87)) {
    err(CpuidRule.X87Missing, XSAVE_LEAF, 0, 0, `EAX ${hex(xcr0)} lacks bit 0 (x87), which XCR0 must always have; ${XSETBV_SOURCE}`);
  }
  if (has(XFeature.AVX) && !has(XFeature.SSE)) {
    err(CpuidRule.AvxWithoutSse, XSAVE_LEAF, 0, 0, `EAX ${hex(xcr0)} has bit 2 (AVX) without bit 1 (SSE); ${XSETBV_SOURCE} (XCR0[2:1] = 10b)`);
  }
  if (has(XFeature.BNDREGS) !== has(XFeature.BNDCSR)) {
    err(CpuidRule.MpxPairSplit, XSAVE_LEAF, 0, 0, `EAX ${hex(xcr0)} has only one of bits 3 (BNDREGS) and 4 (BNDCSR); ${XSETBV_SOURCE} (XCR0[4:3] must be 00b or 11b)`);
  }
  const avx512 = [XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM];
  const avx512n = avx512.filter(has).length;
  if (avx512n > 0 && (avx512n < 3 || !has(XFeature.AVX) || !has(XFeature.SSE))) {
    err(CpuidRule.Avx512Incomplete, XSAVE_LEAF, 0, 0,
      `EAX ${hex(xcr0)} has ${avx512n < 3 ? 'only some' : 'all'} of bits 5-7 (opmask, ZMM_Hi256, Hi16_ZMM)` +
      `${avx512n === 3 ? ' without both bits 1 and 2 (SSE, AVX)' : ''}; ${XSETBV_SOURCE} (XCR0[7:5] must be 000b, or 111b with XCR0[2:1] = 11b)`);
  }
  if (has(XFeature.TILECFG) !== has(XFeature.TILEDATA)) {
    err(CpuidRule.AmxPairSplit, XSAVE_LEAF, 0, 0,
      `EAX ${hex(xcr0)} has only one of bits 17 (TILECFG) and 18 (TILEDATA); XSETBV raises #GP when XCR0[17] != XCR0[18] (Intel SDM Vol. 1 13.3)`);
  }
  if (((d1[0] >>> XSAVES_BIT) & 1) === 1 && ((d1[0] >>> XSAVEC_BIT) & 1) === 0) {
    err(CpuidRule.XsavesWithoutXsavec, XSAVE_LEAF, 1, 0,
      `EAX ${hex(d1[0])} has bit 3 (XSAVES) without bit 1 (XSAVEC): XSAVES writes and XRSTORS reads only the compacted format, ` +
      'which exists only with the compaction extensions that bit 1 enumerates (Intel SDM Vol. 1 13.2, 13.4.3, 13.11)');
  }

  // No processor enumerates a component above 19 (SDM Vol. 1 13.1); the model knows components up
  // to MAX_XFEATURE and leaves the others out of every layout: said, not silent.
  for (const [sub, lo, hi] of [[0, 0, 3], [1, 2, 3]] as const) {
    const r = sub === 0 ? d0 : d1;
    const beyond = [...componentBits(r[lo] >>> 0).filter((i) => i > MAX_XFEATURE), ...componentBits(r[hi] >>> 0).map((i) => i + 32)];
    if (beyond.length > 0) {
      warn(CpuidRule.ComponentBeyondModel, XSAVE_LEAF, sub, (r[lo] >>> (MAX_XFEATURE + 1)) !== 0 ? lo : hi,
        `enumerates state component${beyond.length > 1 ? 's' : ''} ${beyond.join(', ')}, beyond the ${MAX_XFEATURE} this model knows ` +
        `(Intel SDM Vol. 1 13.1 defines components up to ${MAX_XFEATURE}); the model leaves ${beyond.length > 1 ? 'them' : 'it'} out of every layout`);
    }
  }

  // Each enumerated component: a sub-leaf that agrees with the set that enumerates it.
  const users: { i: number; off: number; size: number }[] = [];
  for (let i = 2; i < LOW_COMPONENTS; i++) {
    const inXcr0 = ((xcr0 >>> i) & 1) === 1;
    const inXss = ((xss >>> i) & 1) === 1;
    if (!inXcr0 && !inXss) continue;
    const r = t.get(XSAVE_LEAF, i);
    const supervisor = ((r[2] >>> SUBLEAF_SUPERVISOR_BIT) & 1) === 1;
    if (r[0] === 0) {
      err(CpuidRule.ComponentSizeZero, XSAVE_LEAF, i, 0, `component ${compName(i)} is enumerated in leaf 0DH but its size (EAX) is 0 (or its sub-leaf is missing)`);
      continue;
    }
    if (inXcr0 && supervisor) {
      err(CpuidRule.SupervisorInXcr0, XSAVE_LEAF, i, 2,
        `ECX bit 0 says component ${compName(i)} is a supervisor (IA32_XSS) component, but CPUID.(0DH,0).EAX enumerates it for XCR0; ` +
        'a component is one or the other (Intel SDM Vol. 1 13.2, 13.3)');
    }
    if (inXss && !supervisor) {
      err(CpuidRule.UserInXss, XSAVE_LEAF, i, 2,
        `ECX bit 0 is clear (a user, XCR0 component ${compName(i)}), but CPUID.(0DH,1).ECX enumerates it for IA32_XSS; ` +
        'a component is one or the other (Intel SDM Vol. 1 13.2, 13.3)');
    }
    if (inXcr0 && !supervisor) users.push({ i, off: r[1] >>> 0, size: r[0] >>> 0 });
  }
  for (const u of users) {
    if (u.off < EXTENDED_REGION_START) {
      err(CpuidRule.UserInLegacyRegion, XSAVE_LEAF, u.i, 1,
        `user component ${compName(u.i)} starts at offset ${u.off}, inside the legacy region and XSAVE header (bytes 0-575); ` +
        'the extended region starts at byte 576 (Intel SDM Vol. 1 13.4.3)');
    } else if (u.off + u.size > d0[2] >>> 0) {
      err(CpuidRule.UserBeyondMaxSize, XSAVE_LEAF, u.i, 1,
        `user component ${compName(u.i)} ends at ${u.off + u.size}, beyond CPUID.(0DH,0).ECX = ${d0[2] >>> 0}, the size of an area for every supported component (Intel SDM Vol. 1 13.2)`);
    }
  }
  for (let a = 0; a < users.length; a++) {
    for (let b = a + 1; b < users.length; b++) {
      const [x, y] = [users[a], users[b]];
      if (x.off < y.off + y.size && y.off < x.off + x.size) {
        err(CpuidRule.UserOverlap, XSAVE_LEAF, y.i, 1,
          `user component ${compName(y.i)} (bytes ${y.off}..${y.off + y.size - 1}) overlaps component ${compName(x.i)} (bytes ${x.off}..${x.off + x.size - 1}); ` +
          'in the standard format each component has its own bytes (Intel SDM Vol. 1 13.4.3)');
      }
    }
  }

  // Leaf 0DH against the feature flags: real parts ship this; Linux drops the component.
  for (let i = 0; i < LOW_COMPONENTS; i++) {
    const inXss = ((xss >>> i) & 1) === 1;
    if (!has(i) && !inXss) continue;
    const need = XSAVE_CPUID_FEATURES[i as XFeature];
    if (!need) continue;
    if (((t.get(need.leaf, need.sub)[need.reg] >>> need.bit) & 1) === 1) continue;
    warn(CpuidRule.FeatureFlagClear, XSAVE_LEAF, has(i) ? 0 : 1, has(i) ? 0 : 2,
      `component ${compName(i)} is enumerated in leaf 0DH but ${leafName(need.leaf, need.sub, need.reg)}[${need.bit}] (${need.name}) is clear: ` +
      'Linux will not enable it (xsave_cpuid_features[] in arch/x86/kernel/fpu/xstate.c)');
  }
  return [...out.filter((f) => f.severity === Severity.Error), ...out.filter((f) => f.severity === Severity.Warning)];
}

/** Bits of a mask as component numbers (for messages and tests). */
export const componentBits = (m: number): number[] => [...Array(LOW_COMPONENTS).keys()].filter((i) => (m & bit(i)) !== 0);

/** Where warnings go; tests replace it. One line each, each text once per process. */
let warningSink: (line: string) => void = (line) => process.stderr.write(line + '\n');
const warned = new Set<string>();

/** Inside withoutCpuidWarnings(): warnings are neither printed nor remembered as printed. */
let quietDepth = 0;

/** Run `fn` (a load the user did not ask for) without printing its CPUID warnings. */
export function withoutCpuidWarnings<T>(fn: () => T): T {
  quietDepth++;
  try {
    return fn();
  } finally {
    quietDepth--;
  }
}

/**
 * Run `fn` as a process of its own would: its warnings are returned, not printed, and whatever this
 * process printed before does not hold them back (a scenario's guest run in-process reports on its
 * stderr what a spawned `exec` would print on its own).
 */
export function collectCpuidWarnings<T>(fn: () => T): { result: T; warnings: string[] } {
  const warnings: string[] = [];
  const printed = [...warned];
  const depth = quietDepth;
  const previous = setCpuidWarningSink((line) => warnings.push(line));
  warned.clear();
  quietDepth = 0;
  try {
    return { result: fn(), warnings };
  } finally {
    setCpuidWarningSink(previous);
    quietDepth = depth;
    warned.clear();
    for (const k of printed) warned.add(k);
  }
}

/** Replace the sink; returns the previous one so that a caller can put it back. */
export function setCpuidWarningSink(sink: (line: string) => void): (line: string) => void {
  const previous = warningSink;
  warningSink = sink;
  return previous;
}

/**
 * Print `xstate-lab: warning: FILE: PLACE: DETAIL` once per process for each file and detail (a
 * dump checked by line and then as a profile reports each finding once).
 */
export function warnOnce(file: string, place: string, detail: string): void {
  if (quietDepth > 0) return;
  const key = `${file}\0${detail}`;
  if (warned.has(key)) return;
  warned.add(key);
  warningSink(`xstate-lab: warning: ${file}: ${place}: ${detail}`);
}
