/**
 * Impossible CPUs (issue 14 item 5) and profile error wording (item 6): every consistency rule of
 * emulator/cpuid-consistency.ts refuses a profile (JSON pointer) and a dump (line) built by
 * breaking a committed one, the real oddities load with one named warning, and every schema
 * error says what to write.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CpuidRule, Severity, checkCpuidConsistency, setCpuidWarningSink, withoutCpuidWarnings } from '../emulator/cpuid-consistency.js';
import { parseDump } from '../emulator/cpuid-dump.js';
import { CpuidTable } from '../emulator/cpuid-table.js';
import { PATTERN_ADVICE, builtinProfileIds, builtinProfilePath, resolveCpu, validateProfile } from '../emulator/profile.js';
import { InputError } from '../src/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const profile = (id: string): Json => JSON.parse(readFileSync(builtinProfilePath(id), 'utf8'));
const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

let warnings: string[] = [];
beforeEach(() => { warnings = []; setCpuidWarningSink((l) => warnings.push(l)); });
afterAll(() => setCpuidWarningSink((l) => process.stderr.write(l + '\n')));

/** The InputError validateProfile throws for `p`, or a failure naming the missing error. */
function refusal(p: Json, file = 'bad.json'): InputError {
  try {
    validateProfile(p, file);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError, the profile loaded');
}

/** A copy of profile `id` with CPUID register `reg` of `key` replaced (or computed from the old value). */
function withReg(id: string, key: string, reg: number, v: number | ((old: number) => number)): Json {
  const p = profile(id);
  const old = parseInt(p.cpuid[key][reg], 16);
  p.cpuid[key][reg] = hex(typeof v === 'number' ? v : v(old));
  return p;
}

describe('impossible CPUs are refused with the file and the JSON pointer of the register', () => {
  // [what, profile, key, register, new value, rule, text in the message]
  const cases: [string, string, string, number, (old: number) => number, CpuidRule, RegExp][] = [
    ['x87 missing from XCR0-supported', 'intel-skylake-sp', '0000000d.00', 0, (o) => o & ~1, CpuidRule.X87Missing, /lacks bit 0 \(x87\).*SDM Vol\. 1 13\.3/],
    ['AVX without SSE', 'intel-skylake-sp', '0000000d.00', 0, (o) => o & ~2, CpuidRule.AvxWithoutSse, /bit 2 \(AVX\) without bit 1 \(SSE\)/],
    ['BNDCSR without BNDREGS (issue 14)', 'intel-skylake-sp', '0000000d.00', 0, (o) => o & ~8, CpuidRule.MpxPairSplit, /only one of bits 3 \(BNDREGS\) and 4 \(BNDCSR\)/],
    ['BNDREGS without BNDCSR', 'intel-skylake-sp', '0000000d.00', 0, (o) => o & ~0x10, CpuidRule.MpxPairSplit, /XCR0\[4:3\] must be 00b or 11b/],
    ['ZMM_Hi256 missing', 'intel-skylake-sp', '0000000d.00', 0, (o) => o & ~0x40, CpuidRule.Avx512Incomplete, /only some of bits 5-7/],
    ['AVX-512 without AVX', 'intel-skylake-sp', '0000000d.00', 0, (o) => o & ~4, CpuidRule.Avx512Incomplete, /all of bits 5-7 .* without both bits 1 and 2/],
    ['TILEDATA without TILECFG', 'intel-sapphire-rapids', '0000000d.00', 0, (o) => o & ~(1 << 17), CpuidRule.AmxPairSplit, /XCR0\[17\] != XCR0\[18\]/],
    ['a supervisor sub-leaf for an XCR0 component', 'intel-skylake-sp', '0000000d.09', 2, (o) => o | 1, CpuidRule.SupervisorInXcr0, /supervisor \(IA32_XSS\) component, but CPUID\.\(0DH,0\)\.EAX enumerates it/],
    ['a user sub-leaf for an IA32_XSS component', 'intel-skylake-sp', '0000000d.08', 2, (o) => o & ~1, CpuidRule.UserInXss, /CPUID\.\(0DH,1\)\.ECX enumerates it for IA32_XSS/],
    ['a user component in the legacy region', 'intel-skylake-sp', '0000000d.02', 1, () => 0x200, CpuidRule.UserInLegacyRegion, /starts at offset 512, inside the legacy region/],
    ['two user components overlapping', 'intel-skylake-sp', '0000000d.09', 1, () => 0x680, CpuidRule.UserOverlap, /component 9 .* overlaps component 7/],
    ['a user component beyond (0DH,0).ECX', 'intel-skylake-sp', '0000000d.09', 1, () => 0xa84, CpuidRule.UserBeyondMaxSize, /ends at 2700, beyond CPUID\.\(0DH,0\)\.ECX = 2696/],
    ['a component of size 0', 'intel-skylake-sp', '0000000d.09', 0, () => 0, CpuidRule.ComponentSizeZero, /size \(EAX\) is 0/],
    ['max basic leaf below 0DH with XSAVE', 'intel-skylake-sp', '00000000', 0, () => 0xb, CpuidRule.MaxLeafBelowXsaveLeaf, /maximum basic leaf is 0xb, below 0xd/],
    ['XSAVES without XSAVEC', 'intel-skylake-sp', '0000000d.01', 0, (o) => o & ~2, CpuidRule.XsavesWithoutXsavec, /bit 3 \(XSAVES\) without bit 1 \(XSAVEC\)/],
  ];
  for (const [what, id, key, reg, f, rule, text] of cases) {
    it(what, () => {
      const p = withReg(id, key, reg, f);
      const findings = checkCpuidConsistency(CpuidTable.fromJson(p.cpuid));
      expect(findings[0]?.rule).toBe(rule);
      expect(findings[0]?.severity).toBe(Severity.Error);
      const e = refusal(p);
      expect(e.file).toBe('bad.json');
      expect(e.place).toBe(`/cpuid/${key}/${reg}`);
      expect(e.message).toMatch(text);
      expect(e.message.split('\n')).toHaveLength(1);
      expect(warnings).toEqual([]); // no warning printed before an error
      // The unbroken profile passes the same rule: the test can fail.
      expect(checkCpuidConsistency(CpuidTable.fromJson(profile(id).cpuid)).filter((x) => x.rule === rule)).toEqual([]);
    });
  }
});

describe('impossible CPUs in dumps are refused with the line of the register', () => {
  const dump = 'test/fixtures/dumps/instlatx64/intel-skylake-sp.txt';
  const lines = readFileSync(join(ROOT, dump), 'utf8').split('\n');
  const lineOf = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix)) + 1;
  const cases: [string, string, (l: string) => string, RegExp][] = [
    ['BNDCSR without BNDREGS', 'CPUID 0000000D: 000002FF', (l) => l.replace('000002FF', '000002F7'), /CPUID 0000000d\.00: .*only one of bits 3 \(BNDREGS\) and 4 \(BNDCSR\)/],
    ['PKRU overlapping Hi16_ZMM', 'CPUID 0000000D: 00000008-00000A80', (l) => l.replace('00000A80', '00000680'), /CPUID 0000000d\.09: .*overlaps component 7/],
    ['max basic leaf 0xB', 'CPUID 00000000:', (l) => l.replace('00000016', '0000000B'), /CPUID 00000000: the maximum basic leaf is 0xb/],
  ];
  for (const [what, prefix, edit, text] of cases) {
    it(what, () => {
      const n = lineOf(prefix);
      expect(n).toBeGreaterThan(0);
      const broken = lines.map((l, i) => (i === n - 1 ? edit(l) : l)).join('\n');
      expect(broken).not.toBe(lines.join('\n'));
      let err: unknown;
      try { parseDump(broken, 'bad.txt'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).place).toBe(`line ${n}`);
      expect((err as InputError).message).toMatch(text);
    });
  }
});

describe('what real CPUs ship loads, with one named warning', () => {
  it('Zen 2 enumerates PKRU without CPUID.7:ECX.PKU (xsave-hw-facts.md §11): accepted, warned once', () => {
    resolveCpu('amd-zen2');
    resolveCpu('amd-zen2');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^xstate-lab: warning: .*amd-zen2\.json: \/cpuid\/0000000d\.00\/0: component 9 .* CPUID\.\(07H,0\):ECX\[3\] \(PKU\) is clear: Linux will not enable it \(xsave_cpuid_features/);
  });
  it('the same in the Zen 2 dump names its line', () => {
    resolveCpu(join(ROOT, 'test/fixtures/dumps/instlatx64/amd-zen2.txt'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/amd-zen2\.txt: line \d+: component 9 .*PKU/);
  });
  it('AVX-512 components without CPUID.7:EBX.AVX512F: a warning per component, not an error', () => {
    const p = withReg('intel-skylake-sp', '00000007.00', 1, (o) => o & ~(1 << 16));
    validateProfile(p, 'no-avx512f.json');
    expect(warnings.map((w) => /component (\d+)/.exec(w)?.[1])).toEqual(['5', '6', '7']);
    expect(warnings.every((w) => w.includes('(AVX512F) is clear: Linux will not enable it'))).toBe(true);
  });
  it('components the model does not know (above 19, or 32-63): loaded with a warning that the model leaves them out', () => {
    for (const [key, reg, v, text] of [['0000000d.00', 3, 1, /\/cpuid\/0000000d\.00\/3: enumerates state component 32, beyond the 19/],
      ['0000000d.01', 3, 4, /\/cpuid\/0000000d\.01\/3: enumerates state component 34,/]] as const) {
      warnings = [];
      const p = withReg('intel-skylake-sp', key, reg, v);
      const f = checkCpuidConsistency(CpuidTable.fromJson(p.cpuid));
      expect(f.map((x) => [x.rule, x.severity])).toEqual([[CpuidRule.ComponentBeyondModel, Severity.Warning]]);
      validateProfile(p, 'high.json');
      expect(warnings).toEqual([expect.stringMatching(text)]);
      expect(warnings[0]).toMatch(/leaves it out of every layout$/);
    }
    // Component 20 in XCR0 with a consistent sub-leaf after PKRU: the model would drop it silently otherwise.
    const p = withReg('intel-skylake-sp', '0000000d.00', 0, (o) => o | (1 << 20));
    p.cpuid['0000000d.14'] = ['0x00000040', '0x00000a88', '0x00000000', '0x00000000'];
    p.cpuid['0000000d.00'][2] = '0x00000ac8';
    warnings = [];
    validateProfile(p, 'c20.json');
    expect(warnings).toEqual([expect.stringMatching(/c20\.json: \/cpuid\/0000000d\.00\/0: enumerates state component 20, beyond the 19 this model knows/)]);
  });
  it('a load the user did not ask for (a scan of the built-ins) prints nothing and does not use up the warning', () => {
    const p = withReg('intel-skylake-sp', '00000007.00', 1, (o) => o & ~(1 << 16));
    withoutCpuidWarnings(() => validateProfile(p, 'scanned.json'));
    expect(warnings).toEqual([]);
    validateProfile(p, 'scanned.json');
    expect(warnings.map((w) => /component (\d+)/.exec(w)?.[1])).toEqual(['5', '6', '7']);
  });
  it('every committed profile and fixture dump loads; any warning is the feature-flag one', () => {
    const dumps = ['cpuid-r', 'instlatx64', 'old-format'].flatMap((d) => readdirSync(join(ROOT, 'test/fixtures/dumps', d)).map((f) => join(ROOT, 'test/fixtures/dumps', d, f)));
    for (const id of builtinProfileIds()) expect(() => resolveCpu(id), id).not.toThrow();
    for (const f of dumps) expect(() => resolveCpu(f), f).not.toThrow();
    expect(builtinProfileIds().length + dumps.length).toBeGreaterThan(20);
    expect(warnings.every((w) => w.includes('Linux will not enable it'))).toBe(true);
  });
});

describe('profile schema errors say what to write (issue 14 item 6)', () => {
  const base = (): Json => profile('amd-zen4');
  const cases: [string, (p: Json) => void, string, RegExp][] = [
    ['a short register', (p) => { p.cpuid['0000000d.00'][1] = '0x980'; }, '/cpuid/0000000d.00/1', /^write eight lowercase hex digits after 0x, zero-padded, e.g. "0x000000e7"; got the string "0x980"$/],
    ['an upper-case register', (p) => { p.cpuid['00000001'][0] = '0x00A00F11'; }, '/cpuid/00000001/0', /write eight lowercase hex digits/],
    ['a number for a register', (p) => { p.cpuid['00000001'][0] = 5; }, '/cpuid/00000001/0', /write a string in double quotes .*eight lowercase hex digits.*; got the number 5/],
    ['a bad 64-bit hex', (p) => { p.source.captured_xcr0 = '0xZZ'; }, '/source/captured_xcr0', /write 0x and 1 to 16 lowercase hex digits/],
    ['a bad id', (p) => { p.id = 'Zen_4'; }, '/id', /write lowercase letters, digits, '\.' and '-'.*got the string "Zen_4"/],
    ['a bad CPUID key', (p) => { p.cpuid.D = p.cpuid['00000000']; }, '/cpuid/D', /write the leaf as eight lowercase hex digits, e\.g\. "0000000d".*got the key "D"/],
    ['an unknown vendor', (p) => { p.vendor = 'AMD'; }, '/vendor', /write one of "GenuineIntel", "AuthenticAMD", .*; got the string "AMD"/],
    ['a quoted family', (p) => { p.family = '25'; }, '/family', /write a whole number without quotes, e\.g\. 23; got the string "25"/],
    ['a missing key', (p) => { delete p.name; }, '/', /missing the required key "name"/],
    ['an unknown key', (p) => { p.colour = 'red'; }, '/colour', /unknown key "colour"; the keys allowed here are .*"cpuid"/],
    ['three registers', (p) => { p.cpuid['00000001'].pop(); }, '/cpuid/00000001', /write four registers/],
    ['a stepping of 16', (p) => { p.stepping = 16; }, '/stepping', /write a whole number of at most 15; got the number 16/],
    ['a negative model', (p) => { p.model = -1; }, '/model', /at least 0/],
    ['an empty name', (p) => { p.name = ''; }, '/name', /write a non-empty string/],
    ['no CPUID leaves', (p) => { p.cpuid = {}; }, '/cpuid', /write at least one CPUID leaf/],
    ['an unknown source kind', (p) => { p.source.kind = 'guess'; }, '/source/kind', /write one of "instlatx64-dump", "cpuid-r-dump", "host-capture", "hand-written"/],
    ['an unknown fault', (p) => { p.measured = { evidence: 'e', faults: { XSAVE: '#PF' } }; }, '/measured/faults/XSAVE', /write one of "none", "#UD", "#GP", "#NM"; got the string "#PF"/],
    ['an unknown instruction', (p) => { p.measured = { evidence: 'e', faults: { XSAVE2: 'none' } }; }, '/measured/faults/XSAVE2', /write one of "XSAVE", .*; got the key "XSAVE2"/],
    ['a huge number', (p) => { p.kernel = { evidence: 'e', context_size: 1e300 }; }, '/kernel/context_size', /too large to be exact/],
  ];
  for (const [what, edit, place, text] of cases) {
    it(what, () => {
      const p = base();
      edit(p);
      const e = refusal(p);
      expect(e.place).toBe(place);
      expect(e.detail).toMatch(text);
      expect(e.detail).not.toMatch(/\bmust (match|be|have|NOT)\b/);
    });
  }
  it('every pattern of the schema has advice', () => {
    const schema = readFileSync(join(ROOT, 'emulator/schema/profile.schema.json'), 'utf8');
    const patterns = [...schema.matchAll(/"pattern":\s*("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]) as string);
    expect(patterns.length).toBeGreaterThanOrEqual(4);
    for (const pt of patterns) expect(PATTERN_ADVICE[pt], pt).toBeDefined();
  });
});

describe('loader robustness found by test/input-fuzz.test.ts', () => {
  it('a vendor string with a line break is shown escaped: the error stays on one line', () => {
    const p = withReg('amd-zen4', '00000000', 1, 0x0a747541); // 'Aut\n'
    const e = refusal(p);
    expect(e.place).toBe('/vendor');
    expect(e.message).toContain('\\n');
    expect(e.message).not.toMatch(/[\r\n]/);
  });
  it('a key with a line break: the JSON pointer is shown escaped', () => {
    const p = profile('amd-zen4');
    p.source['no\ntes'] = [];
    const e = refusal(p);
    expect(e.place).toBe('/source/no\ntes');
    expect(e.message).toContain('/source/no\\ntes: unknown key');
  });
  it('--cpu naming a folder is an InputError, not EISDIR', () => {
    expect(() => resolveCpu(ROOT)).toThrow(InputError);
    expect(() => resolveCpu(ROOT)).toThrow(/cannot read/);
  });
});
