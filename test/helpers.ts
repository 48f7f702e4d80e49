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
