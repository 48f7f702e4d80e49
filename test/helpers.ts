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
