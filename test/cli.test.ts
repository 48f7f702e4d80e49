/** The command line as a user runs it: output, JSON shape, and clear errors for bad input. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', 'dist', 'src', 'cli.js');
const run = (...args: string[]): { code: number; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
};
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-cli-'));

describe('cpu', () => {
  it('list names every built-in profile', () => {
    const r = run('cpu', 'list');
    expect(r.code).toBe(0);
    for (const id of ['intel-sapphire-rapids', 'amd-zen4', 'intel-sandy-bridge']) expect(r.out).toContain(id);
  });
  it('show prints derived components and quirks', () => {
    const r = run('cpu', 'show', 'intel-sapphire-rapids');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/18\s+tiledata\s+size\s+8192\s+offset\s+2816\s+align64 xfd/);
    expect(r.out).toContain('modified-optimization');
  });
  it('capture writes a profile that loads again, and never overwrites', () => {
    const f = join(tmp, 'host.json');
    expect(run('cpu', 'capture', '-o', f).code).toBe(0);
    const p = JSON.parse(readFileSync(f, 'utf8'));
    expect(p.source.kind).toBe('host-capture');
    expect(Object.keys(p.measured.faults).length).toBeGreaterThan(0);
    const shown = run('cpu', 'show', f);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('faults at CPL 3:');
    expect(shown.out).toContain(`kernel view: ${p.kernel.evidence}`);
    for (const q of p.quirks) expect(shown.out).toContain(`${q.id} [${p.measured.quirks[q.id] ? 'measured' : 'assumed'}]`);
    const again = run('cpu', 'capture', '-o', f);
    expect(again.code).toBe(2);
    expect(again.err).toContain('already exists');
  });
  it('import turns a cpuid -r dump into the same profile --cpu accepts directly', () => {
    const dump = join(tmp, 'dump.txt');
    writeFileSync(dump, readFileSync(join(__dirname, 'fixtures', 'dumps', 'cpuid-r', 'host-zen5.txt')));
    const r = run('cpu', 'import', dump, '--id', 'zen5-test');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).id).toBe('zen5-test');
    expect(run('layout', '--cpu', dump).code).toBe(0);
  });
});

describe('layout', () => {
  it('prints the compacted offsets as Linux does', () => {
    const r = run('layout', '--cpu', 'amd-zen4', '--xcr0', '0x2e7', '--xss', '0x800', '--compacted');
    expect(r.code).toBe(0);
    expect(r.out).toContain('x86/fpu: xstate_offset[11]: 2440, xstate_sizes[11]:   16');
    expect(r.out).toContain('size 2456 bytes');
  });
  it('--json is the documented format', () => {
    const l = JSON.parse(run('layout', '--cpu', 'intel-skylake-sp', '--json').out);
    expect(l.format).toBe('xstate-lab.layout/1');
    expect(l.size).toBe(0xa88);
    expect(l.regions[0]).toMatchObject({ kind: 'legacy', offset: 0, size: 512 });
    expect(l.regions.find((r: { component?: number }) => r.component === 9)).toMatchObject({ offset: 2688, size: 8, name: 'pkru' });
  });
});

describe('bad input gets a clear error naming the file and place', () => {
  it('unknown --cpu', () => {
    const r = run('layout', '--cpu', 'pentium-pro');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/<command line>: --cpu: 'pentium-pro' is neither a profile id/);
    expect(r.err).not.toMatch(/at .*\.js/); // no stack trace
  });
  it('malformed profile JSON names line and column', () => {
    const f = join(tmp, 'broken.json');
    writeFileSync(f, '{\n  "id": "x",\n  "vendor": \n}\n');
    const r = run('cpu', 'show', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`${f.replace(/[.]/g, '\\.')}: line [34], column \\d+: not valid JSON`));
  });
  it('a profile field of the wrong shape names the field', () => {
    const good = JSON.parse(readFileSync(join(__dirname, '..', 'emulator', 'profiles', 'amd-zen4.json'), 'utf8'));
    const f = join(tmp, 'bad-field.json');
    good.cpuid['0000000d.00'][1] = '0x980';
    writeFileSync(f, JSON.stringify(good));
    const r = run('cpu', 'show', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}: /cpuid/0000000d.00/1: write eight lowercase hex digits after 0x, zero-padded, e.g. "0x000000e7"; got the string "0x980"`);
  });
  it('an unknown quirk and a vendor that contradicts CPUID are refused', () => {
    const good = JSON.parse(readFileSync(join(__dirname, '..', 'emulator', 'profiles', 'amd-zen4.json'), 'utf8'));
    const f1 = join(tmp, 'quirk.json');
    writeFileSync(f1, JSON.stringify({ ...good, quirks: [{ id: 'made-up', evidence: 'x' }] }));
    expect(run('cpu', 'show', f1).err).toContain(`${f1}: /quirks/0/id: unknown quirk 'made-up'`);
    const f2 = join(tmp, 'vendor.json');
    writeFileSync(f2, JSON.stringify({ ...good, vendor: 'GenuineIntel' }));
    expect(run('cpu', 'show', f2).err).toContain(`${f2}: /vendor: 'GenuineIntel' disagrees with CPUID leaf 0`);
    const f3 = join(tmp, 'measured-quirk.json');
    writeFileSync(f3, JSON.stringify({ ...good, measured: { evidence: 'x', quirks: { 'made-up': false } } }));
    expect(run('cpu', 'show', f3).err).toContain(`${f3}: /measured/quirks/made-up: unknown quirk 'made-up'`);
  });
  it('a file that is neither profile nor dump', () => {
    const f = join(tmp, 'notes.txt');
    writeFileSync(f, 'hello\n');
    const r = run('cpu', 'show', f);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${f}: line 1: expected a profile (JSON)`);
  });
  it('bad --xcr0', () => {
    const r = run('layout', '--cpu', 'amd-zen4', '--xcr0', '0x27');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--xcr0: 0x27 cannot be loaded by XSETBV');
  });
});
