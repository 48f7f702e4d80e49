/**
 * The CPUID dump importer: InstLatx64 (AIDA64) and `cpuid -r` parsing, the positional sub-leaf
 * rule of old dumps, errors, and the built-in profiles generated from the fixtures.
 * Fixture provenance: test/fixtures/dumps/README.md.
 */
import AjvModule from 'ajv';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  defaultProfileId,
  detectDumpFormat,
  displayFamilyModel,
  dumpToProfile,
  parseCpuidRawDump,
  parseDump,
  parseInstLatDump,
  type ParsedDump,
} from '../emulator/cpuid-dump.js';
import { formatProfileJson, type ProfileJson } from '../emulator/profile-json.js';
import { InputError } from '../src/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');
const DUMPS = 'test/fixtures/dumps';
const filesIn = (dir: string): string[] => readdirSync(join(ROOT, DUMPS, dir)).filter((f) => f.endsWith('.txt')).sort().map((f) => `${DUMPS}/${dir}/${f}`);

// ajv's CommonJS default export under NodeNext (as in emulator/profile.ts).
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as unknown as typeof AjvModule.default;
const validateSchema = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(read('emulator/schema/profile.schema.json')));
function expectSchemaValid(p: unknown): void {
  const ok = validateSchema(p);
  expect(ok, JSON.stringify(validateSchema.errors)).toBe(true);
}

/**
 * Expected values for the reference CPUs, copied from the project's reference list
 * (/work/shared/reference/cpu-profiles.json, which was written by reading the same dumps):
 * source path and commits, identification, and the registers the XSAVE model depends on.
 */
interface Reference {
  path: string;
  commit: string;
  fileCommit: string;
  vendor: string;
  brand: string;
  family: number;
  model: number;
  stepping: number;
  leaf1Eax: string;
  leaf1Ecx: string;
  leaf80000008Ebx: string;
  /** CPUID (7,0) [EAX, EBX, ECX, EDX]. */
  leaf7: string[];
  /** Every leaf-0xD sub-leaf of the dump, keyed by 2-digit hex sub-leaf. */
  leafD: Record<string, string[]>;
}

const REFERENCE: Record<string, Reference> = {
  'intel-sandy-bridge': {
    path: 'GenuineIntel/GenuineIntel00206D7_SandyBridgeE_00_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'c917aec908adee29dc373ff12f1a7893f14138b2',
    vendor: 'GenuineIntel', brand: "Intel(R) Core(TM) i7-3930K CPU @ 3.20GHz", family: 0x06, model: 0x2d, stepping: 0x07,
    leaf1Eax: '0x000206d7', leaf1Ecx: '0x1fbee3bf', leaf80000008Ebx: '0x00000000',
    leaf7: ['0x00000000', '0x00000000', '0x00000000', '0x9c000400'],
    leafD: {
      '00': ['0x00000007', '0x00000340', '0x00000340', '0x00000000'],
      '01': ['0x00000001', '0x00000000', '0x00000000', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
    },
  },
  'intel-skylake-sp': {
    path: 'GenuineIntel/GenuineIntel0050654_SkylakeXeon_20_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'c58b6d6a7184bbf837015faff59ea2023c3ee181',
    vendor: 'GenuineIntel', brand: "Intel(R) Xeon(R) Platinum 8160 CPU @ 2.10GHz", family: 0x06, model: 0x55, stepping: 0x04,
    leaf1Eax: '0x00050654', leaf1Ecx: '0x7ffefbff', leaf80000008Ebx: '0x00000000',
    leaf7: ['0x00000000', '0xd39ffffb', '0x00000008', '0x9c002400'],
    leafD: {
      '00': ['0x000002ff', '0x00000a80', '0x00000a88', '0x00000000'],
      '01': ['0x0000000f', '0x00000a80', '0x00000100', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '03': ['0x00000040', '0x000003c0', '0x00000000', '0x00000000'],
      '04': ['0x00000040', '0x00000400', '0x00000000', '0x00000000'],
      '05': ['0x00000040', '0x00000440', '0x00000000', '0x00000000'],
      '06': ['0x00000200', '0x00000480', '0x00000000', '0x00000000'],
      '07': ['0x00000400', '0x00000680', '0x00000000', '0x00000000'],
      '08': ['0x00000080', '0x00000000', '0x00000001', '0x00000000'],
      '09': ['0x00000008', '0x00000a80', '0x00000000', '0x00000000'],
    },
  },
  'intel-ice-lake-sp': {
    path: 'GenuineIntel/GenuineIntel00606A6_ICX_CPUID3.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: '15a9acc199972c2fa9177e385d718ee634b91395',
    vendor: 'GenuineIntel', brand: "Intel(R) Xeon(R) Platinum 8351N CPU @ 2.40GHz", family: 0x06, model: 0x6a, stepping: 0x06,
    leaf1Eax: '0x000606a6', leaf1Ecx: '0x7ffefbff', leaf80000008Ebx: '0x00000200',
    leaf7: ['0x00000000', '0xf3bfbfff', '0x40417f4e', '0xbc040412'],
    leafD: {
      '00': ['0x000002e7', '0x00000a80', '0x00000a88', '0x00000000'],
      '01': ['0x0000000f', '0x00000a00', '0x00000100', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '05': ['0x00000040', '0x00000440', '0x00000000', '0x00000000'],
      '06': ['0x00000200', '0x00000480', '0x00000000', '0x00000000'],
      '07': ['0x00000400', '0x00000680', '0x00000000', '0x00000000'],
      '08': ['0x00000080', '0x00000000', '0x00000001', '0x00000000'],
      '09': ['0x00000008', '0x00000a80', '0x00000000', '0x00000000'],
    },
  },
  'intel-alder-lake': {
    path: 'GenuineIntel/GenuineIntel0090672_AlderLake_01_LC_BC_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'd993c2d5e7d3cbfa9f9aa659954c3f438d7258d7',
    vendor: 'GenuineIntel', brand: "12th Gen Intel(R) Core(TM) i9-12900K", family: 0x06, model: 0x97, stepping: 0x02,
    leaf1Eax: '0x00090672', leaf1Ecx: '0x7ffafbff', leaf80000008Ebx: '0x00000000',
    leaf7: ['0x00000001', '0x239ca7eb', '0x98c027ac', '0xfc1cc410'],
    leafD: {
      '00': ['0x00000207', '0x00000340', '0x00000a88', '0x00000000'],
      '01': ['0x0000000f', '0x000003d0', '0x00019900', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '08': ['0x00000080', '0x00000000', '0x00000001', '0x00000000'],
      '09': ['0x00000008', '0x00000a80', '0x00000000', '0x00000000'],
      '0b': ['0x00000010', '0x00000000', '0x00000001', '0x00000000'],
      '0c': ['0x00000018', '0x00000000', '0x00000001', '0x00000000'],
      '0f': ['0x00000328', '0x00000000', '0x00000001', '0x00000000'],
      '10': ['0x00000008', '0x00000000', '0x00000001', '0x00000000'],
    },
  },
  'intel-alder-lake-avx512': {
    path: 'GenuineIntel/GenuineIntel0090672_AlderLake_01_BC_AVX512_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'd993c2d5e7d3cbfa9f9aa659954c3f438d7258d7',
    vendor: 'GenuineIntel', brand: "12th Gen Intel(R) Core(TM) i9-12900K", family: 0x06, model: 0x97, stepping: 0x02,
    leaf1Eax: '0x00090672', leaf1Ecx: '0x7ffafbff', leaf80000008Ebx: '0x00000000',
    leaf7: ['0x00000001', '0xf3bfa7eb', '0x98c07fee', '0xfc9cc510'],
    leafD: {
      '00': ['0x000002e7', '0x00000a80', '0x00000a88', '0x00000000'],
      '01': ['0x0000000f', '0x00000a10', '0x00019900', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '05': ['0x00000040', '0x00000440', '0x00000000', '0x00000000'],
      '06': ['0x00000200', '0x00000480', '0x00000000', '0x00000000'],
      '07': ['0x00000400', '0x00000680', '0x00000000', '0x00000000'],
      '08': ['0x00000080', '0x00000000', '0x00000001', '0x00000000'],
      '09': ['0x00000008', '0x00000a80', '0x00000000', '0x00000000'],
      '0b': ['0x00000010', '0x00000000', '0x00000001', '0x00000000'],
      '0c': ['0x00000018', '0x00000000', '0x00000001', '0x00000000'],
      '0f': ['0x00000328', '0x00000000', '0x00000001', '0x00000000'],
      '10': ['0x00000008', '0x00000000', '0x00000001', '0x00000000'],
    },
  },
  'intel-sapphire-rapids': {
    path: 'GenuineIntel/GenuineIntel00806F8_SapphireRapids_06_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'fbda7ba291abc0d9ddb41f788f3afd774782251d',
    vendor: 'GenuineIntel', brand: "Intel(R) Xeon(R) w9-3475X", family: 0x06, model: 0x8f, stepping: 0x08,
    leaf1Eax: '0x000806f8', leaf1Ecx: '0x7ffefbff', leaf80000008Ebx: '0x00000200',
    leaf7: ['0x00000002', '0xf3bfbffb', '0xbb417fee', '0xffdd4430'],
    leafD: {
      '00': ['0x000602e7', '0x00002b00', '0x00002b00', '0x00000000'],
      '01': ['0x0000001f', '0x00002a80', '0x0000dd00', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '05': ['0x00000040', '0x00000440', '0x00000000', '0x00000000'],
      '06': ['0x00000200', '0x00000480', '0x00000000', '0x00000000'],
      '07': ['0x00000400', '0x00000680', '0x00000000', '0x00000000'],
      '08': ['0x00000080', '0x00000000', '0x00000001', '0x00000000'],
      '09': ['0x00000008', '0x00000a80', '0x00000000', '0x00000000'],
      '0a': ['0x00000008', '0x00000000', '0x00000001', '0x00000000'],
      '0b': ['0x00000010', '0x00000000', '0x00000001', '0x00000000'],
      '0c': ['0x00000018', '0x00000000', '0x00000001', '0x00000000'],
      '0e': ['0x00000030', '0x00000000', '0x00000001', '0x00000000'],
      '0f': ['0x00000328', '0x00000000', '0x00000001', '0x00000000'],
      '11': ['0x00000040', '0x00000ac0', '0x00000002', '0x00000000'],
      '12': ['0x00002000', '0x00000b00', '0x00000006', '0x00000000'],
    },
  },
  'amd-zen1': {
    path: 'AuthenticAMD/AuthenticAMD0800F12_K17_Zen_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'ddff8a9210c97b395d1463aa7e24c8bd56c9fcda',
    vendor: 'AuthenticAMD', brand: "AMD EPYC 7551P 32-Core Processor", family: 0x17, model: 0x01, stepping: 0x02,
    leaf1Eax: '0x00800f12', leaf1Ecx: '0x7ed8320b', leaf80000008Ebx: '0x00000007',
    leaf7: ['0x00000000', '0x209c01a9', '0x00000000', '0x00000000'],
    leafD: {
      '00': ['0x00000007', '0x00000340', '0x00000340', '0x00000000'],
      '01': ['0x0000000f', '0x00000340', '0x00000000', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
    },
  },
  'amd-zen2': {
    path: 'AuthenticAMD/AuthenticAMD0830F10_K17_Rome_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: 'ddff8a9210c97b395d1463aa7e24c8bd56c9fcda',
    vendor: 'AuthenticAMD', brand: "AMD EPYC 7742 64-Core Processor", family: 0x17, model: 0x31, stepping: 0x00,
    leaf1Eax: '0x00830f10', leaf1Ecx: '0x7ef8320b', leaf80000008Ebx: '0x018ef757',
    leaf7: ['0x00000000', '0x219c91a9', '0x00400004', '0x00000000'],
    leafD: {
      '00': ['0x00000207', '0x00000340', '0x00000380', '0x00000000'],
      '01': ['0x0000000f', '0x00000340', '0x00000000', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '09': ['0x00000040', '0x00000340', '0x00000000', '0x00000000'],
    },
  },
  'amd-zen3': {
    path: 'AuthenticAMD/AuthenticAMD0A00F11_K19_Milan_02_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: '6a75a911fb871eab44d2384ee8bebe4e6834221b',
    vendor: 'AuthenticAMD', brand: "AMD EPYC 7763 64-Core Processor", family: 0x19, model: 0x01, stepping: 0x01,
    leaf1Eax: '0x00a00f11', leaf1Ecx: '0x7eda320b', leaf80000008Ebx: '0x91bef75f',
    leaf7: ['0x00000000', '0x219c97a9', '0x0040068c', '0x00000010'],
    leafD: {
      '00': ['0x00000207', '0x00000340', '0x00000988', '0x00000000'],
      '01': ['0x0000000f', '0x00000340', '0x00001800', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '09': ['0x00000008', '0x00000980', '0x00000000', '0x00000000'],
      '0b': ['0x00000010', '0x00000000', '0x00000001', '0x00000000'],
      '0c': ['0x00000018', '0x00000000', '0x00000001', '0x00000000'],
    },
  },
  'amd-zen4': {
    path: 'AuthenticAMD/AuthenticAMD0A10F11_K19_Genoa_01_CPUID.txt',
    commit: '087af2c7d72c9a6af85a3a079e8fdb878db23ba1',
    fileCommit: '07d4063826041bbea1177399e501e9f1fc938856',
    vendor: 'AuthenticAMD', brand: "AMD EPYC 9654 96-Core Processor", family: 0x19, model: 0x11, stepping: 0x01,
    leaf1Eax: '0x00a10f11', leaf1Ecx: '0x7efa320b', leaf80000008Ebx: '0x79bef25f',
    leaf7: ['0x00000001', '0xf1bf97a9', '0x00415fce', '0x10000010'],
    leafD: {
      '00': ['0x000002e7', '0x00000980', '0x00000988', '0x00000000'],
      '01': ['0x0000000f', '0x00000990', '0x00001800', '0x00000000'],
      '02': ['0x00000100', '0x00000240', '0x00000000', '0x00000000'],
      '05': ['0x00000040', '0x00000340', '0x00000000', '0x00000000'],
      '06': ['0x00000200', '0x00000380', '0x00000000', '0x00000000'],
      '07': ['0x00000400', '0x00000580', '0x00000000', '0x00000000'],
      '09': ['0x00000008', '0x00000980', '0x00000000', '0x00000000'],
      '0b': ['0x00000010', '0x00000000', '0x00000001', '0x00000000'],
      '0c': ['0x00000018', '0x00000000', '0x00000001', '0x00000000'],
    },
  },
};

const IDS = Object.keys(REFERENCE);
const instlatFixture = (id: string): string => `${DUMPS}/instlatx64/${id}.txt`;
const parseRef = (id: string): ParsedDump => parseInstLatDump(read(instlatFixture(id)), instlatFixture(id), 0);
const profileReference = (r: Reference): string => `InstLatx64/InstLatx64 ${r.path} @ ${r.commit}`;
const HOST = `${DUMPS}/cpuid-r/host-zen5.txt`;
const OLD = `${DUMPS}/old-format/amd-zen4-no-sl-tags.txt`;

describe('every fixture parses', () => {
  const all = [...filesIn('instlatx64'), ...filesIn('cpuid-r'), ...filesIn('old-format')];
  it('has the 10 reference dumps, the host dump and the old-format dump', () => {
    expect(filesIn('instlatx64')).toEqual(IDS.map(instlatFixture).sort());
    expect(all.length).toBe(12);
  });
  for (const f of all) {
    it(f, () => {
      const text = read(f);
      const format = f.includes('/cpuid-r/') ? 'cpuid-r' : 'instlatx64';
      expect(detectDumpFormat(text)).toBe(format);
      const d = parseDump(text, f);
      expect(d.format).toBe(format);
      expect(d.logicalCpu).toBe(0);
      expect(d.cpuid.has(0) && d.cpuid.has(1) && d.cpuid.has(0xd, 0) && d.cpuid.has(0xd, 1)).toBe(true);
      expectSchemaValid(dumpToProfile(d, { reference: f }));
    });
  }
});

describe('InstLatx64 dumps: identification', () => {
  it('amd-zen4 is AuthenticAMD family 0x19 model 0x11 stepping 1, "AMD EPYC 9654 96-Core Processor"', () => {
    const d = parseRef('amd-zen4');
    expect([d.vendor, d.family, d.model, d.stepping, d.name]).toEqual(['AuthenticAMD', 0x19, 0x11, 1, 'AMD EPYC 9654 96-Core Processor']);
  });
  it('trims the leading blanks of an Intel brand string (intel-sandy-bridge)', () => {
    const d = parseRef('intel-sandy-bridge');
    expect([d.vendor, d.family, d.model, d.stepping, d.name]).toEqual(['GenuineIntel', 6, 0x2d, 7, 'Intel(R) Core(TM) i7-3930K CPU @ 3.20GHz']);
  });
  it('strips the NULs of a short brand string (intel-sapphire-rapids: 80000004 is all zero)', () => {
    expect(parseRef('intel-sapphire-rapids').name).toBe('Intel(R) Xeon(R) w9-3475X');
  });
  it("reads the older '------[ Logical CPU #0 ]------' header (amd-zen1)", () => {
    const d = parseRef('amd-zen1');
    expect([d.family, d.model, d.stepping]).toEqual([0x17, 0x01, 2]);
  });
  for (const id of IDS) {
    it(`${id}: vendor, brand, family, model, stepping`, () => {
      const r = REFERENCE[id];
      const d = parseRef(id);
      expect({ vendor: d.vendor, name: d.name, family: d.family, model: d.model, stepping: d.stepping }).toEqual({
        vendor: r.vendor, name: r.brand, family: r.family, model: r.model, stepping: r.stepping,
      });
    });
  }
});

describe('cross-check with the reference list', () => {
  for (const id of IDS) {
    it(`${id}: leaf 1, leaf 7.0, 0x80000008 EBX and every leaf 0xD sub-leaf`, () => {
      const r = REFERENCE[id];
      const c = dumpToProfile(parseRef(id), { id, reference: profileReference(r) }).cpuid;
      expect(c['00000001'][0]).toBe(r.leaf1Eax);
      expect(c['00000001'][2]).toBe(r.leaf1Ecx);
      expect(c['00000007.00']).toEqual(r.leaf7);
      expect(c['80000008'][1]).toBe(r.leaf80000008Ebx);
      const leafD = Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('0000000d.')).map(([k, v]) => [k.slice(9), v]));
      expect(leafD).toEqual(r.leafD);
    });
  }
});

describe('built-in profiles are what the importer makes of the fixtures', () => {
  for (const id of IDS) {
    it(`emulator/profiles/${id}.json`, () => {
      const r = REFERENCE[id];
      const file = `emulator/profiles/${id}.json`;
      const text = read(file);
      const committed = JSON.parse(text) as ProfileJson;
      expect(committed.source.reference).toBe(profileReference(r));
      // Notes are curated (copied from the reference list); everything else is regenerated.
      const regenerated = { $schema: '../schema/profile.schema.json', ...dumpToProfile(parseRef(id), { id, reference: profileReference(r), notes: committed.source.notes }) };
      expect(committed).toEqual(regenerated);
      expect(text).toBe(formatProfileJson(regenerated));
      expect(committed.source.kind).toBe('instlatx64-dump');
      expect(committed.source.logical_cpu).toBe(0);
      expect(committed.source.notes?.length).toBeGreaterThan(0);
      // JSON.parse would reorder keys such as "80000000" (array indices): look at the text.
      const keysInText = [...text.matchAll(/^ {4}"([0-9a-f.]+)": \[$/gm)].map((m) => m[1]);
      expect(keysInText).toEqual(Object.keys(committed.cpuid).sort());
      expectSchemaValid(committed);
    });
  }
});

describe('cpuid -r dumps', () => {
  const text = read(HOST);
  it('reads both CPUs of the host dump (AMD family 0x1A model 2 stepping 1 under KVM)', () => {
    const d0 = parseCpuidRawDump(text, HOST, 0);
    const d1 = parseCpuidRawDump(text, HOST, 1);
    for (const [d, cpu] of [[d0, 0], [d1, 1]] as const) {
      expect([d.format, d.logicalCpu, d.vendor, d.family, d.model, d.stepping, d.name]).toEqual(['cpuid-r', cpu, 'AuthenticAMD', 0x1a, 0x02, 1, 'AMD EPYC']);
    }
    expect(d0.cpuid.get(1)[1]).toBe(0x00020800);
    expect(d1.cpuid.get(1)[1]).toBe(0x01020800); // the initial APIC id differs
    expect(d0.cpuid.get(0xd, 1)).toEqual([0x0000000f, 0x000009a8, 0x00001800, 0]);
    expect(parseDump(text, HOST, 1).cpuid.toJson()).toEqual(d1.cpuid.toJson());
  });
  it('keeps every leaf printed, hypervisor and unusual ranges included', () => {
    const c = parseCpuidRawDump(text, HOST).cpuid;
    for (const leaf of [0x20000000, 0x40000000, 0x40000001, 0x40000100, 0x80860000, 0xc0000000]) expect(c.has(leaf), leaf.toString(16)).toBe(true);
    expect(c.get(0x40000000)).toEqual([0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d]);
    expect(Object.keys(c.toJson()).filter((k) => k.startsWith('0000000d.'))).toEqual(['0000000d.00', '0000000d.01', '0000000d.02', '0000000d.05', '0000000d.06', '0000000d.07', '0000000d.0b', '0000000d.0c']);
  });
  it("reads the single-CPU form ('CPU:' header of cpuid -r -1) as CPU 0", () => {
    const cpu0 = text.slice(0, text.indexOf('CPU 1:')).replace('CPU 0:', 'CPU:');
    expect(parseDump(cpu0, 'one.txt').cpuid.toJson()).toEqual(parseCpuidRawDump(text, HOST, 0).cpuid.toJson());
  });
  it('keeps only the 0x00 line of a leaf that ignores ECX, and skips # comment lines', () => {
    const cpu0 = text.slice(0, text.indexOf('CPU 1:'));
    const extra = cpu0.replace(
      '   0x00000003 0x00:',
      '# xcr0=0x00000000000000e7\n   0x00000002 0x01: eax=0x11111111 ebx=0x11111111 ecx=0x11111111 edx=0x11111111\n   0x00000003 0x00:',
    );
    const t = parseCpuidRawDump(extra, 'extra.txt').cpuid.toJson();
    expect(t['00000002']).toEqual(['0x00000000', '0x00000000', '0x00000000', '0x00000000']);
    expect(Object.keys(t).some((k) => k.startsWith('00000002.'))).toBe(false);
  });
  it('names an imported host profile vendor-family-model-stepping by default', () => {
    const d = parseCpuidRawDump(text, HOST, 1);
    expect(defaultProfileId(d)).toBe('amd-f1a-m02-s1');
    const p = dumpToProfile(d, { reference: 'host-zen5.txt' });
    expect(p.id).toBe('amd-f1a-m02-s1');
    expect(p.source).toEqual({ kind: 'cpuid-r-dump', reference: 'host-zen5.txt', logical_cpu: 1 });
    expectSchemaValid(p);
  });
  it('rejects an id the schema does not allow', () => {
    expect(() => dumpToProfile(parseCpuidRawDump(text, HOST), { id: 'Bad_Id', reference: 'x' })).toThrow(InputError);
  });
});

describe('display family and model (SDM Vol. 2A CPUID, Display Family / Display Model)', () => {
  it.each([
    [0x00b00f21, 0x1a, 0x02, 1], // family 0xF + extended 0x0B; model with extended model
    [0x00a10f11, 0x19, 0x11, 1],
    [0x000206d7, 0x06, 0x2d, 7], // family 6 uses the extended model
    [0x00000f41, 0x0f, 0x04, 1], // family 0xF, extended family 0
    [0x00010551, 0x05, 0x05, 1], // family 5 ignores the extended model
  ])('leaf 1 EAX %s', (eax, family, model, stepping) => {
    expect(displayFamilyModel(eax)).toEqual({ family, model, stepping });
  });
});

describe('positional sub-leaves of dumps without [SL xx] tags', () => {
  // Old AIDA64 dumps print consecutive lines of an indexed leaf without sub-leaf tags. Leaf 0xD
  // lines are sub-leaves 0, 1, then the bits set in (0xD,0).EDX:EAX | (0xD,1).EDX:ECX from bit 2
  // upward; other indexed leaves count 0, 1, 2, ...
  it('imports the untagged copy of amd-zen4 to the same values as the tagged dump', () => {
    const old = parseInstLatDump(read(OLD), OLD).cpuid.toJson();
    const tagged = parseRef('amd-zen4').cpuid.toJson();
    expect(Object.keys(old).filter((k) => k.startsWith('0000000d.'))).toEqual(
      // (0xD,0).EAX = 0x2E7 (bits 0-2, 5-7, 9), (0xD,1).ECX = 0x1800 (bits 11, 12)
      ['0000000d.00', '0000000d.01', '0000000d.02', '0000000d.05', '0000000d.06', '0000000d.07', '0000000d.09', '0000000d.0b', '0000000d.0c'],
    );
    for (const k of ['00000007.00', '00000007.01', '0000000b.00', '0000000b.01', '8000001d.00', '8000001d.01', '8000001d.02', '8000001d.03']) expect(old[k], k).toBeDefined();
    expect(Object.keys(old).length).toBe(25);
    for (const [k, v] of Object.entries(old)) expect(v, k).toEqual(tagged[k]);
  });
  it('takes component bits from (0xD,0).EDX and (0xD,1).EDX too', () => {
    const t = [
      '------[ CPUID Registers / Logical CPU #0 ]------',
      'CPUID 00000000: 00000010-68747541-444D4163-69746E65',
      'CPUID 00000001: 00A10F11-00C00800-7EFA320B-178BFBFF',
      'CPUID 0000000D: 00000007-00000340-00000340-00000001', // bits 2, 32
      'CPUID 0000000D: 0000000F-00000340-00000000-00000004', // bit 34
      'CPUID 0000000D: 00000100-00000240-00000000-00000000',
      'CPUID 0000000D: 00000010-00000000-00000001-00000000',
      'CPUID 0000000D: 00000020-00000000-00000001-00000000',
    ].join('\n');
    const c = parseInstLatDump(t, 'edx.txt').cpuid.toJson();
    expect(Object.keys(c).filter((k) => k.startsWith('0000000d.'))).toEqual(['0000000d.00', '0000000d.01', '0000000d.02', '0000000d.20', '0000000d.22']);
    expect(c['0000000d.22'][0]).toBe('0x00000020');
  });
});

describe('errors name the file and the line', () => {
  const M = `${DUMPS}/malformed`;
  type Parser = (text: string, file: string) => ParsedDump;
  const cases: [file: string, parser: Parser, line: number, detail: string][] = [
    [`${M}/empty.txt`, parseDump, 1, 'empty file'],
    [`${M}/empty.txt`, parseInstLatDump, 1, 'empty file'],
    [`${M}/empty.txt`, parseCpuidRawDump, 1, 'empty file'],
    [`${M}/unknown-format.txt`, parseDump, 1, 'unrecognised format: expected an InstLatx64'],
    [`${M}/instlat-no-cpu-block.txt`, parseDump, 5, "no logical CPU block: expected a '------[ CPUID Registers / Logical CPU #0 ]------' header"],
    [`${M}/instlat-bad-register-line.txt`, parseDump, 6, "expected 'CPUID LLLLLLLL: EAX-EBX-ECX-EDX', got 'CPUID 00000001: 000206D7-00200800-1FBEE3BF'"],
    [`${M}/instlat-missing-leaf1.txt`, parseDump, 1, 'expected CPUID leaf 00000001'],
    [`${M}/instlat-missing-xsave-subleaf.txt`, parseDump, 6, 'XSAVE) is set (ECX=0x1fbee3bf), so CPUID leaf 0000000D sub-leaf 01 is expected'],
    [`${M}/instlat-positional-mismatch.txt`, parseDump, 8, 'expected 3 leaf 0000000D lines without [SL xx] tags (sub-leaves 0, 1, 2'],
    [`${M}/instlat-mixed-tags.txt`, parseDump, 8, 'expected an [SL xx] sub-leaf tag like the other lines of leaf 00000007'],
    [`${M}/instlat-conflicting-duplicate.txt`, parseDump, 10, 'got a second, different one (the first is at line 9)'],
    [`${M}/cpuid-r-bad-line.txt`, parseDump, 3, "expected '   0xLLLLLLLL 0xSS: eax=0xXXXXXXXX ebx=0xXXXXXXXX ecx=0xXXXXXXXX edx=0xXXXXXXXX', got '   0x00000001 0x00: eax=0x00b00f21 ebx=0x00020800 ecx=0xfffa3203'"],
    [`${M}/cpuid-r-no-cpu-block.txt`, parseDump, 1, "no CPU block: expected a 'CPU:' or 'CPU 0:' header"],
    [`${M}/cpuid-r-missing-leaf0.txt`, parseDump, 1, 'expected CPUID leaf 00000000 (vendor)'],
    [`${M}/cpuid-r-unknown-vendor.txt`, parseDump, 2, 'in CPUID leaf 0, got "KVMKM\\u0000\\u0000\\u0000VMKV"'],
  ];
  it('covers every malformed fixture', () => {
    expect([...new Set(cases.map((c) => c[0]))].sort()).toEqual(filesIn('malformed'));
  });
  for (const [file, parser, line, detail] of cases) {
    it(`${file.slice(M.length + 1)} (${parser.name}): line ${line}`, () => {
      expectInputError(() => parser(read(file), file), file, line, detail);
    });
  }
  it('a logical CPU the InstLatx64 dump does not have', () => {
    const f = instlatFixture('amd-zen4');
    const text = read(f);
    const lines = (text.match(/\n/g) ?? []).length;
    expectInputError(() => parseInstLatDump(text, f, 1), f, lines, "expected a 'Logical CPU #1' block, reached the end of the file; the dump has logical CPU #0");
  });
  it('a CPU the cpuid -r dump does not have', () => {
    expectInputError(() => parseDump(read(HOST), HOST, 7), HOST, 172, "expected a 'CPU 7:' block, reached the end of the file; the dump has CPU 0, 1");
  });
});

function expectInputError(f: () => unknown, file: string, line: number, detail: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  const e = err as InputError;
  expect(e.file).toBe(file);
  expect(e.place).toBe(`line ${line}`);
  expect(e.message).toContain(`${file}: line ${line}: `);
  expect(e.detail).toContain(detail);
}
