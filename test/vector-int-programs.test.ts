/**
 * Real programs as referees for the integer vector emulation: test/guests-vint/strings.c built
 * with `gcc -static` (glibc, which picks its AVX2 / EVEX string functions from CPUID) and with
 * `musl-gcc -static` runs natively-equal under `exec --cpu host` and gives the native output on
 * the AVX2 and AVX-512 profiles (the output does not depend on the CPU); bmi.c (BMI1/BMI2 results
 * and flags) runs natively-equal on the host. Needs gcc, musl-tools and binutils.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostModel } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/src/cli.js');
const GUESTS = join(ROOT, 'test/guests-vint');
const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-vint-'));

interface Run { stdout: string; stderr: string; status: number }
/** A process run without blocking vitest's worker (spawnSync would, for seconds). */
function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), status: code ?? -1 }); });
  });
}
const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

const cpu = hostModel();
/** CPUID.(07H,0):EBX bit 3 BMI1, bit 8 BMI2 (SDM Vol. 2A Table 3-8). */
const hostBmi = ((cpu.cpuid.get(7, 0)[1] >>> 3) & 1) === 1 && ((cpu.cpuid.get(7, 0)[1] >>> 8) & 1) === 1;
const PROFILES_AVX512 = ['intel-sapphire-rapids', 'intel-skylake-sp'];
const PROFILE_AVX2 = 'intel-alder-lake';

describe.runIf(have('gcc') && have('musl-gcc'))('string.h programs under the model', () => {
  const bins: Record<string, string> = {};
  const native: Record<string, Run> = {};
  beforeAll(async () => {
    const builds = [
      ['strings-glibc', 'gcc', 'strings.c', []], ['strings-musl', 'musl-gcc', 'strings.c', []], ['bmi', 'gcc', 'bmi.c', ['-mbmi', '-mbmi2']],
      ['loops-v4', 'gcc', 'loops.c', ['-O3', '-march=x86-64-v4']], ['loops-v3-musl', 'musl-gcc', 'loops.c', ['-O3', '-march=x86-64-v3']],
    ] as const;
    for (const [name, cc, file, extra] of builds) {
      const src = join(GUESTS, file);
      const out = join(tmp, name);
      const c = await run(cc, ['-O2', '-static', ...extra, '-o', out, src]); // a later -O3 wins
      expect(c.status, c.stderr).toBe(0);
      bins[name] = out;
      // A native run needs the ISA the build asks for.
      if (name === 'strings-glibc' || name === 'strings-musl' || hostBmi) native[name] = await run(out, []);
    }
  }, 120_000);

  for (const name of ['strings-glibc', 'strings-musl']) {
    it(`${name}: natively-equal under exec --cpu host`, async () => {
      const n = native[name];
      expect(n.status).toBe(0);
      expect(n.stdout).toMatch(/^calls \d+\nhash [0-9a-f]{16}\n$/);
      const e = await run('node', [CLI, 'exec', '--cpu', 'host', bins[name]]);
      expect(e.stderr).toBe('');
      expect(e.stdout).toBe(n.stdout);
      expect(e.status).toBe(n.status);
    }, 120_000);
  }

  // glibc chooses its EVEX string functions on the AVX-512 profiles and the AVX2 ones (with MOVBE) on Alder Lake.
  for (const profile of [...PROFILES_AVX512, PROFILE_AVX2]) {
    it(`strings-glibc gives the native output on ${profile}`, async () => {
      const e = await run('node', [CLI, 'exec', '--cpu', profile, bins['strings-glibc']]);
      expect(e.stderr).toBe('');
      expect(e.stdout).toBe(native['strings-glibc'].stdout);
    }, 120_000);
  }

  // The vectorized loops' output does not depend on the CPU; native runs need the host to have the ISA level.
  const hostV4 = cpu.features.avx512f && hostBmi;
  it.runIf(hostV4)('loops -O3 -march=x86-64-v4 (glibc): natively-equal on the host, native output on Sapphire Rapids', async () => {
    expect(native['loops-v4'].stdout).toMatch(/^hash [0-9a-f]{16}\n$/);
    for (const profile of ['host', 'intel-sapphire-rapids']) {
      const e = await run('node', [CLI, 'exec', '--cpu', profile, bins['loops-v4']]);
      expect(e.stderr, profile).toBe('');
      expect(e.stdout, profile).toBe(native['loops-v4'].stdout);
    }
  }, 240_000);
  it.runIf(hostBmi && cpu.features.avx2)('loops -O3 -march=x86-64-v3 (musl): native output on Alder Lake', async () => {
    const e = await run('node', [CLI, 'exec', '--cpu', PROFILE_AVX2, bins['loops-v3-musl']]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe(native['loops-v3-musl'].stdout);
  }, 120_000);

  it.runIf(hostBmi)('bmi: BMI1/BMI2 results and flags natively-equal under exec --cpu host', async () => {
    const e = await run('node', [CLI, 'exec', '--cpu', 'host', bins.bmi]);
    expect(e.stderr).toBe('');
    expect(e.stdout).toBe(native.bmi.stdout);
  }, 120_000);
  it.runIf(!hostBmi)('bmi: the host lacks BMI2, not compared', () => console.log('host lacks BMI2: bmi.c not compared'));
});
