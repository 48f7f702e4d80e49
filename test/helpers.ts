import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CpuModel, type Profile } from '../emulator/cpu-model.js';
import { captureHostProfile } from '../src/host/capture.js';

let host: Profile | undefined;
/** This host's captured profile (captured once per test file). */
export function hostProfile(): Profile {
  host ??= captureHostProfile();
  return structuredClone(host);
}

export function hostModel(edit?: (p: Profile) => void): CpuModel {
  const p = hostProfile();
  edit?.(p);
  return new CpuModel(p);
}

/**
 * Seeded random bytes with MMX/SSE (0F xx), x87 escapes (D8-DF), FWAITs and 66H salted in (one byte
 * in eight), so that their forms are frequent: code for the ownership sweep's tests.
 */
export function randomCode(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const next = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    b[i] = (r & 7) === 0 ? [0x0f, 0xd8 + ((r >>> 3) & 7), 0x9b, 0x66][(r >>> 6) & 3]! : (r >>> 8) & 0xff;
  }
  return b;
}

/**
 * sfc32 (seeded, reproducible across hosts), the generator of the differential tests. `fill`
 * takes four bytes of each draw, `fillBytes` one (each test keeps the stream its seed documents).
 */
export class Sfc32 {
  private a = 0x9e3779b9;
  private b = 0x243f6a88;
  private c: number;
  private d = 1;
  constructor(seed: number) {
    this.c = seed >>> 0;
    for (let k = 0; k < 16; k++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  below(n: number): number { return this.u32() % n; }
  chance(p: number): boolean { return this.u32() / 4294967296 < p; }
  fill(a: Uint8Array, from = 0, to = a.length): void {
    for (let k = from; k < to; k += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && k + j < to; j++) a[k + j] = (v >>> (8 * j)) & 0xff;
    }
  }
  fillBytes(a: Uint8Array, from = 0, to = a.length): void {
    for (let k = from; k < to; k++) a[k] = this.u32() & 0xff;
  }
}

/** A static musl program built from C text in `dir` (musl-gcc -static -O2). */
export function muslProgram(dir: string, name: string, source: string): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, source);
  const c = spawnSync('musl-gcc', ['-static', '-O2', '-o', out, src], { encoding: 'utf8' });
  if (c.status !== 0) throw new Error(`musl-gcc: ${c.stderr}`);
  return out;
}
