/**
 * `cpu capture`: this host's profile. The CPUID leaves are read with the CPUID instruction (a C
 * helper pinned to CPU 0 prints the `cpuid -r` format, which the dump importer turns into a
 * profile); what CPUID cannot tell is measured by probes and recorded beside them:
 *   - measured.faults: the exception each FAULT_INSNS instruction raises at CPL 3 (fault-probe.c);
 *   - measured.quirks: the verdict of each quirk user space can probe (quirk-probe.c), and
 *     MXCSR_MASK as FXSAVE stores it;
 *   - kernel: the capturing kernel's view (uname, XGETBV(0), auxv, /proc/cpuinfo, dmesg x86/fpu
 *     lines, NT_X86_XSTATE size, hypervisor leaf 40000000H).
 * The profile's quirk list is then the measured-present quirks plus the vendor defaults that were
 * not probed, the latter marked "assumed".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { defaultProfileId, dumpToProfile, parseCpuidRawDump } from '../../emulator/cpuid-dump.js';
import { CpuModel, type Profile } from '../../emulator/cpu-model.js';
import { validateProfile } from '../../emulator/profile.js';
import { FAULT_INSNS, type FaultInsn, type MeasuredFault, type ProfileJson, type ProfileKernelJson } from '../../emulator/profile-json.js';
import { isQuirkId, type Quirk } from '../../emulator/quirks.js';
import { buildNative, HostProbeError } from '../native.js';

/** Evidence prefix of a quirk the capture kept from the vendor defaults without probing it. */
export const ASSUMED_PREFIX = 'assumed';

const hex32 = (n: number | bigint): string => `0x${n.toString(16).padStart(8, '0')}`;
/** Minimal hex form of the schema's "hex64". */
const hex64 = (s: string): string => `0x${BigInt(s).toString(16)}`;

export interface HostCpuidDump {
  text: string;
  xcr0: string | undefined;
  /** CPUID 40000000H when CPUID.01H:ECX[31] (hypervisor present) is set. */
  hypervisor: { signature: string; maxLeaf: number } | undefined;
}

export function hostCpuidDump(): HostCpuidDump {
  const exe = buildNative('host/cpuid-capture.c');
  const out = execFileSync(exe, { encoding: 'utf8' });
  const xcr0 = /^# xcr0=(0x[0-9a-f]+)$/m.exec(out)?.[1];
  const hv = /^# hypervisor eax=0x([0-9a-f]{8}) ebx=0x([0-9a-f]{8}) ecx=0x([0-9a-f]{8}) edx=0x([0-9a-f]{8})$/m.exec(out);
  let hypervisor: HostCpuidDump['hypervisor'];
  if (hv) {
    const b = Buffer.alloc(12);
    [hv[2], hv[3], hv[4]].forEach((r, k) => b.writeUInt32LE(parseInt(r, 16), 4 * k));
    hypervisor = { signature: b.toString('latin1').replace(/\0/g, ''), maxLeaf: parseInt(hv[1], 16) };
  }
  const text = out.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return { text, xcr0, hypervisor };
}

/** What fault-probe.c saw: XCR0 and, per instruction, the exception at CPL 3. */
export interface FaultMeasurement {
  xcr0: bigint;
  faults: Record<FaultInsn, MeasuredFault>;
}

const FAULT_VECTORS: readonly MeasuredFault[] = ['none', '#UD', '#GP', '#NM'];

/** Run src/host/fault-probe.c and parse its lines; an unexpected signal is a HostProbeError. */
export function measureFaults(): FaultMeasurement {
  const out = execFileSync(buildNative('host/fault-probe.c'), { encoding: 'utf8' });
  const xcr0 = /^xcr0 (0x[0-9a-f]+)$/m.exec(out);
  if (!xcr0) throw new HostProbeError(`fault-probe printed no XCR0 line:\n${out}`);
  const faults: Partial<Record<FaultInsn, MeasuredFault>> = {};
  for (const insn of FAULT_INSNS) {
    const m = new RegExp(`^${insn} (.+)$`, 'm').exec(out);
    if (!m) throw new HostProbeError(`fault-probe printed no line for ${insn}:\n${out}`);
    const v = m[1] as MeasuredFault;
    if (!FAULT_VECTORS.includes(v)) throw new HostProbeError(`${insn} at CPL 3 raised an unexpected ${m[1]} (expected #UD, #GP, #NM or none)`);
    faults[insn] = v;
  }
  return { xcr0: BigInt(xcr0[1]), faults: faults as Record<FaultInsn, MeasuredFault> };
}

export enum QuirkVerdict { Present = 'present', Absent = 'absent', Unmeasured = 'unmeasured' }

export interface QuirkProbeResult {
  id: Quirk;
  verdict: QuirkVerdict;
  /** What the probe saw, in words and numbers. */
  detail: string;
}

export interface QuirkMeasurement {
  /** MXCSR_MASK as FXSAVE64 stored it (0 means the default 0000FFBFH, SDM Vol. 1 11.6.6). */
  mxcsrMask: number;
  results: QuirkProbeResult[];
}

/** Run src/host/quirk-probe.c and parse its lines. */
export function probeQuirks(): QuirkMeasurement {
  const out = execFileSync(buildNative('host/quirk-probe.c'), { encoding: 'utf8' });
  const mask = /^mxcsr_mask (0x[0-9a-f]{8})$/m.exec(out);
  if (!mask) throw new HostProbeError(`quirk-probe printed no MXCSR_MASK line:\n${out}`);
  const results: QuirkProbeResult[] = [];
  for (const m of out.matchAll(/^quirk (\S+) (present|absent|unmeasured) (.*)$/gm)) {
    if (!isQuirkId(m[1])) throw new HostProbeError(`quirk-probe names an unknown quirk '${m[1]}'`);
    results.push({ id: m[1], verdict: m[2] as QuirkVerdict, detail: m[3] });
  }
  return { mxcsrMask: Number(mask[1]), results };
}

/** Output of src/host/kernel-view-probe.c. */
export interface AuxvMeasurement {
  hwcap?: number;
  hwcap2?: number;
  minsigstksz?: number;
  xstateRegsetSize?: number;
}

export function measureAuxv(): AuxvMeasurement {
  const out = execFileSync(buildNative('host/kernel-view-probe.c'), { encoding: 'utf8' });
  const num = (re: RegExp): number | undefined => { const m = re.exec(out); return m ? Number(m[1]) : undefined; };
  return {
    hwcap: num(/^hwcap (0x[0-9a-f]+)$/m),
    hwcap2: num(/^hwcap2 (0x[0-9a-f]+)$/m),
    minsigstksz: num(/^minsigstksz (\d+)$/m),
    xstateRegsetSize: num(/^xstate_regset_size (\d+)$/m),
  };
}

/** The 'flags' line of the first processor in /proc/cpuinfo (CPU 0). */
export function cpuinfoFlags(text: string): string[] | undefined {
  const m = /^flags\s*:(.*)$/m.exec(text);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : undefined;
}

/** The kernel's "x86/fpu:" boot lines without the timestamp, and the 'Enabled xstate features' summary. */
export function parseDmesgFpu(dmesg: string): Pick<ProfileKernelJson, 'dmesg_fpu' | 'xfeatures' | 'context_size' | 'format'> {
  const lines = dmesg.split('\n').map((l) => l.replace(/^\[[^\]]*\]\s*/, '').trimEnd()).filter((l) => l.startsWith('x86/fpu:'));
  if (lines.length === 0) return {};
  const r: ReturnType<typeof parseDmesgFpu> = { dmesg_fpu: lines };
  // arch/x86/kernel/fpu/xstate.c print_xstate_offset_size / fpu__init_system_xstate
  const e = /Enabled xstate features (0x[0-9a-f]+), context size is (\d+) bytes, using '(\w+)' format/.exec(lines.join('\n'));
  if (e) {
    r.xfeatures = hex64(e[1]);
    r.context_size = Number(e[2]);
    if (e[3] === 'compacted' || e[3] === 'standard') r.format = e[3];
  }
  return r;
}

function readDmesg(): string | undefined {
  try {
    return execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  } catch {
    return undefined; // dmesg_restrict, no permission, no dmesg: the lines are optional
  }
}

/** The capturing kernel's view (schema "kernel"). */
export function hostKernelView(xcr0: string | undefined, hypervisor: HostCpuidDump['hypervisor'], when: string): ProfileKernelJson {
  const aux = measureAuxv();
  const k: ProfileKernelJson = {
    evidence: `read by xstate-lab cpu capture under Linux ${release()}, ${when}: uname -r, XGETBV(0), /proc/self/auxv, /proc/cpuinfo of CPU 0, dmesg, PTRACE_GETREGSET(NT_X86_XSTATE) of a stopped child`,
    release: release(),
  };
  if (xcr0) k.xcr0 = hex64(xcr0);
  const dmesg = readDmesg();
  if (dmesg) Object.assign(k, parseDmesgFpu(dmesg));
  if (aux.xstateRegsetSize !== undefined) k.xstate_regset_size = aux.xstateRegsetSize;
  if (aux.hwcap !== undefined) k.hwcap = hex32(aux.hwcap);
  if (aux.hwcap2 !== undefined) k.hwcap2 = hex32(aux.hwcap2);
  if (aux.minsigstksz !== undefined) k.minsigstksz = aux.minsigstksz;
  let cpuinfo: string | undefined;
  try { cpuinfo = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* no /proc: leave it out */ }
  const flags = cpuinfo ? cpuinfoFlags(cpuinfo) : undefined;
  if (flags) k.cpuinfo_flags = flags;
  if (hypervisor) k.hypervisor = { signature: hypervisor.signature, max_leaf: hex32(hypervisor.maxLeaf) };
  return k;
}

/**
 * Put the measurements into a profile made from the CPUID dump: measured.faults and
 * measured.quirks, MXCSR_MASK, and the quirk list (measured-present quirks, then the vendor
 * defaults that were not probed, marked assumed).
 */
export function applyMeasurements(p: ProfileJson, faults: FaultMeasurement, quirks: QuirkMeasurement, where: string): void {
  const measured: Record<string, boolean> = {};
  const list: ProfileJson['quirks'] = [];
  for (const r of quirks.results) {
    if (r.verdict === QuirkVerdict.Unmeasured) continue;
    measured[r.id] = r.verdict === QuirkVerdict.Present;
    if (r.verdict === QuirkVerdict.Present) list.push({ id: r.id, evidence: `measured by xstate-lab cpu capture on ${where}: ${r.detail}` });
  }
  for (const q of p.quirks) {
    if (q.id in measured) continue;
    const why = quirks.results.find((r) => r.id === q.id);
    const reason = why ? `not measurable here (${why.detail})` : 'not probed by cpu capture';
    list.push({ id: q.id, evidence: q.evidence.startsWith(ASSUMED_PREFIX) ? `${q.evidence}; ${reason}` : `${ASSUMED_PREFIX}, ${reason}: ${q.evidence}` });
  }
  p.quirks = list;
  p.measured = {
    evidence: `xstate-lab cpu capture on ${where}: src/host/fault-probe.c and src/host/quirk-probe.c at CPL 3 in 64-bit mode`,
    faults: faults.faults,
    quirks: measured,
  };
  // SDM Vol. 1 11.6.6: an MXCSR_MASK field of 0 means the default mask 0000FFBFH.
  const MXCSR_MASK_DEFAULT = 0x0000ffbf;
  const mask = quirks.mxcsrMask === 0 ? MXCSR_MASK_DEFAULT : quirks.mxcsrMask;
  p.fxsave = { mxcsr_mask: hex32(mask), evidence: `measured by xstate-lab cpu capture on ${where}: FXSAVE64 stored MXCSR_MASK ${hex32(quirks.mxcsrMask)}` };
}

/** Capture this host's profile. The id defaults to one naming the vendor, family, model and stepping. */
export function captureHostProfile(opts: { id?: string } = {}): Profile {
  const { text, xcr0, hypervisor } = hostCpuidDump();
  const d = parseCpuidRawDump(text, '<host cpuid>', 0);
  const id = opts.id ?? `host-${defaultProfileId(d)}`;
  const date = new Date().toISOString().slice(0, 10);
  const p = dumpToProfile(d, {
    id,
    reference: `captured on ${hostname()} with the CPUID instruction (xstate-lab cpu capture), ${date}`,
    notes: ['CPUID.01H:EBX (APIC id) and the OSXSAVE/OSPKE bits reflect the capturing CPU and OS.'],
  });
  p.source.kind = 'host-capture';
  if (xcr0) p.source.captured_xcr0 = hex64(xcr0);
  const where = `Linux ${release()}, ${date}`;
  applyMeasurements(p, measureFaults(), probeQuirks(), where);
  p.kernel = hostKernelView(xcr0, hypervisor, date);
  return validateProfile(p, '<host capture>');
}

export function hostCpuModel(): CpuModel {
  return new CpuModel(captureHostProfile());
}
