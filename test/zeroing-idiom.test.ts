/**
 * The zeroing-idiom quirk is a CPU fact measured on the host (the selfcheck's cases cannot see
 * it: it needs vector instructions between the restore and the save).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Quirk } from '../emulator/quirks.js';
import { buildNative } from '../src/native.js';
import { hostModel } from './helpers.js';

describe('zeroing idioms and XINUSE on this host', () => {
  const cpu = hostModel();
  const usable = cpu.features.avx && cpu.features.xgetbv1;
  it.runIf(usable)('the host profile carries zeroing-idiom-keeps-init exactly when the CPU behaves so', () => {
    const out = execFileSync(buildNative('host/zeroing-idiom-probe.c'), cpu.features.avx512f ? ['avx512'] : [], { encoding: 'utf8' });
    const m = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, parseInt(v, 16)]));
    console.log(`host XINUSE after: ${out.trim().replace(/\n/g, '; ')}`);
    expect(m.nothing).toBe(0);
    expect(m['vmovdqa-ymm-from-zero-memory'] & 4).toBe(4); // a plain write of zeros sets XINUSE[2]: the probe can see XINUSE
    const keeps = m['vpxor-ymm'] === 0 && m['vxorps-xmm'] === 0 && m['pxor-xmm'] === 0;
    expect(cpu.hasQuirk(Quirk.ZeroingIdiomKeepsInit)).toBe(keeps);
    if (cpu.features.avx512f) expect(m['vpxord-zmm17'] === 0 && m['kxorw-k1'] === 0).toBe(keeps);
  });
  it.runIf(!usable)('cannot be measured here', () => {
    console.log('host lacks AVX or XGETBV(ECX=1): zeroing-idiom-keeps-init is not measured on this host');
  });
});
