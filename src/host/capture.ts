/**
 * `cpu capture`: this host's profile, read with the CPUID instruction on the host (a C helper
 * pinned to CPU 0 prints the `cpuid -r` format, which the dump importer turns into a profile).
 */
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { defaultProfileId, dumpToProfile, parseCpuidRawDump } from '../../emulator/cpuid-dump.js';
import { CpuModel, type Profile } from '../../emulator/cpu-model.js';
import { validateProfile } from '../../emulator/profile.js';
import { buildNative } from '../native.js';

export function hostCpuidDump(): { text: string; xcr0: string | undefined } {
  const exe = buildNative('host/cpuid-capture.c');
  const out = execFileSync(exe, { encoding: 'utf8' });
  const xcr0 = /^# xcr0=(0x[0-9a-f]+)$/m.exec(out)?.[1];
  const text = out.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return { text, xcr0 };
}

/** Capture this host's profile. The id names the vendor, family, model and stepping. */
export function captureHostProfile(): Profile {
  const { text, xcr0 } = hostCpuidDump();
  const d = parseCpuidRawDump(text, '<host cpuid>', 0);
  const id = `host-${defaultProfileId(d)}`;
  const p = dumpToProfile(d, {
    id,
    reference: `captured on ${hostname()} with the CPUID instruction (xstate-lab cpu capture), ${new Date().toISOString().slice(0, 10)}`,
    notes: ['CPUID.01H:EBX (APIC id) and the OSXSAVE/OSPKE bits reflect the capturing CPU and OS.'],
  });
  p.source.kind = 'host-capture';
  if (xcr0) p.source.captured_xcr0 = xcr0.replace(/^0x0+(?=.)/, '0x');
  return validateProfile(p, '<host capture>');
}

export function hostCpuModel(): CpuModel {
  return new CpuModel(captureHostProfile());
}
