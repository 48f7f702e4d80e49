/**
 * emulator/iced.ts: the enums generated at build are iced-x86's own, exactly (every enum, every
 * member both ways, frozen); a stale, corrupt or missing file falls back to iced-x86's own objects;
 * and the built module (dist/) loads iced-x86 only when a class is first used, after which its
 * exports are the real classes (construction, statics and instanceof work through the stand-ins).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Iced from 'iced-x86';
import { ICED_ENUM_NAMES, icedIdentity, loadIcedEnums, writeIcedEnums } from '../emulator/iced.js';

const ROOT = join(import.meta.dirname, '..');
const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-iced-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('generated iced-x86 enums', () => {
  const file = join(tmp, 'iced-enums.json');
  writeIcedEnums(file);

  it('equal iced-x86\'s own: every enum, every member both ways, in order, frozen', () => {
    const g = loadIcedEnums(file);
    for (const n of ICED_ENUM_NAMES) {
      expect(g[n]).not.toBe(iced[n]);
      expect(JSON.stringify(g[n]), n).toBe(JSON.stringify(iced[n]));
      expect(Object.isFrozen(g[n]), n).toBe(true);
    }
    expect(g.Mnemonic.Xsave).toBe(iced.Mnemonic.Xsave);
    expect(g.Mnemonic[iced.Mnemonic.Xsave]).toBe('Xsave');
    expect((g as Record<string, unknown>).Code).toBeUndefined();
  });

  it('a stale, corrupt or missing file gives iced-x86\'s own enums', () => {
    const sound = readFileSync(file, 'utf8');
    const stale = join(tmp, 'stale.json');
    writeFileSync(stale, sound.replace(JSON.stringify(icedIdentity()), JSON.stringify('0.0.0 1 1')));
    const corrupt = join(tmp, 'corrupt.json');
    writeFileSync(corrupt, sound.slice(0, sound.length >> 1));
    const incomplete = join(tmp, 'incomplete.json');
    writeFileSync(incomplete, JSON.stringify({ iced: icedIdentity(), enums: { Code: {} } }));
    for (const f of [stale, corrupt, incomplete, join(tmp, 'missing.json')]) {
      const e = loadIcedEnums(f);
      for (const n of ICED_ENUM_NAMES) expect(e[n], `${f} ${n}`).toBe(iced[n]);
    }
  });
});

describe('the built module loads iced-x86 on first use', () => {
  it('not at import; stand-ins construct, call statics and answer instanceof; then the real classes', () => {
    const script = `
      import { createRequire } from 'node:module';
      const m = await import(${JSON.stringify(join(ROOT, 'dist/emulator/iced.js'))});
      const out = { atImport: m.icedLoaded() };
      const Real = createRequire(import.meta.url)('iced-x86');
      const before = m.Decoder;
      const InstructionStandIn = m.Instruction;
      const d = new m.Decoder(64, new Uint8Array([0x0f, 0xae, 0x20]), m.DecoderOptions.None);
      const ins = d.decode();
      out.afterUse = m.icedLoaded();
      out.mnemonic = m.Mnemonic[ins.mnemonic];
      out.instanceofStandIn = ins instanceof InstructionStandIn && !(ins instanceof before);
      out.realNow = m.Decoder === Real.Decoder && m.Instruction === Real.Instruction && m.RegisterExt === Real.RegisterExt;
      out.standInWasNotReal = before !== Real.Decoder;
      out.size = m.RegisterExt.size(m.Register.EAX);
      out.enumsGenerated = m.Mnemonic !== Real.Mnemonic;
      out.codeIsIcedsOnceLoaded = m.Code === Real.Code;
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    // dist/ is built by `npm run build` (tsc, then the generated files): the enums come from the generated file.
    expect(out).toEqual({ atImport: false, afterUse: true, mnemonic: 'Xsave', instanceofStandIn: true, realNow: true, standInWasNotReal: true, size: 4, enumsGenerated: true, codeIsIcedsOnceLoaded: true });
  });

  it('Code: its stand-in reads, enumerates and names as iced-x86\'s Code, and is replaced by it', () => {
    const script = `
      import { createRequire } from 'node:module';
      const m = await import(${JSON.stringify(join(ROOT, 'dist/emulator/iced.js'))});
      const Real = createRequire(import.meta.url)('iced-x86');
      const C = m.Code;
      const out = { atImport: m.icedLoaded(), standIn: C !== Real.Code };
      out.value = C.Xsave_mem === Real.Code.Xsave_mem && C.INVALID === 0;
      out.name = C[Real.Code.Xsave_mem];
      out.has = 'Xrstor64_mem' in C && !('NoSuchCode' in C);
      out.keys = JSON.stringify(Object.keys(C)) === JSON.stringify(Object.keys(Real.Code));
      out.entries = JSON.stringify(C) === JSON.stringify(Real.Code);
      out.replaced = m.Code === Real.Code;
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ atImport: false, standIn: true, value: true, name: 'Xsave_mem', has: true, keys: true, entries: true, replaced: true });
  });
});
