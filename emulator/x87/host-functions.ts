/**
 * The x87 transcendental instructions (F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS)
 * computed by this host's own CPU (emulator/native/x87-functions.c) when the profile is this CPU.
 *
 * Why: the SDM leaves their results to the implementation within 1 ulp (Vol. 1 8.3.10), and this
 * host's results are not the correctly rounded ones in 1-6% of the cases, with no rule found
 * (README, x87): a program run under the host's own profile must still see the host's bits, as
 * RCPPS's vendor table comes from the host (emulator/vector/float.ts). Every other profile gets the
 * correctly rounded value (fpu-functions.ts), so a built-in profile gives the same bytes on every
 * host.
 *
 * Named assumption `x87-transcendental-host` (README, x87): the profile is this CPU when
 *   - it is not a built-in profile (emulator/profiles/: those must be deterministic, even the ones
 *     captured on a machine like this one),
 *   - it is a capture of a host (`source.kind` "host-capture": the live `--cpu host` profile or a
 *     saved `cpu capture` file), and
 *   - its CPUID vendor (leaf 0 EBX EDX ECX), signature (leaf 1 EAX: family, model, stepping) and
 *     brand string (leaves 80000002H-80000004H) are this CPU's, read live.
 * Assumed: two CPUs with the same vendor, signature and brand string compute these instructions
 * alike (a microcode update could change them; the referee, `selfcheck x87-functions`, checks the
 * host path against the CPU bit for bit).
 */
import koffi from 'koffi';
import { NativeBuildError, buildNative } from '../../src/native.js';
import type { CpuModel } from '../cpu-model.js';
import { builtinProfileIds } from '../profile.js';
import { Mnemonic } from '../iced.js';
import { LEGACY } from '../register-file.js';

/** Op numbers of x87-functions.c (enum op). */
const HOST_OPS = new Map<Mnemonic, number>([
  [Mnemonic.F2xm1, 0], [Mnemonic.Fyl2x, 1], [Mnemonic.Fyl2xp1, 2], [Mnemonic.Fptan, 3],
  [Mnemonic.Fpatan, 4], [Mnemonic.Fsin, 5], [Mnemonic.Fcos, 6], [Mnemonic.Fsincos, 7],
]);
export const HOST_TRANSCENDENTALS: ReadonlySet<Mnemonic> = new Set(HOST_OPS.keys());

/** Where the transcendental results come from. */
export enum TranscendentalSource {
  /** The host when the profile is this CPU (x87-transcendental-host), else the rule: the default. */
  Auto,
  /** The correctly rounded value (fpu-functions.ts), whatever the profile: for the referee's rule check. */
  Rule,
  /** The host's instruction: for the referee's host-path check (only where Auto would take it). */
  Host,
}
let forced = TranscendentalSource.Auto;
/** Run `f` with the transcendental results taken from `src` (the x87 referee checks both paths). */
export function withTranscendentalSource<T>(src: TranscendentalSource, f: () => T): T {
  const was = forced;
  forced = src;
  try { return f(); } finally { forced = was; }
}

interface Api { run: (op: number, image: Uint8Array) => number; identity: number[] }
let api: Api | undefined;
function load(): Api {
  if (api) return api;
  const so = buildNative('../emulator/native/x87-functions.c', ['-O2', '-shared', '-fPIC']);
  const lib = koffi.load(so);
  const run = lib.func('int xl_x87_host_run(uint32_t op, uint8_t *image)') as Api['run'];
  const id = new Uint32Array(16);
  lib.func('void xl_x87_host_identity(uint32_t *out)')(id);
  api = { run, identity: [...id] };
  return api;
}

/** CPUID words that identify a CPU: leaf 0 EBX EDX ECX, leaf 1 EAX, the brand string's 12 words. */
function profileIdentity(cpu: CpuModel): number[] | undefined {
  const t = cpu.cpuid;
  const l0 = t.get(0), l1 = t.get(1);
  const out = [l0[1], l0[3], l0[2], l1[0]];
  for (let k = 0; k < 3; k++) {
    if (!t.has(0x80000002 + k)) return undefined;
    const r = t.get(0x80000002 + k);
    out.push(r[0], r[1], r[2], r[3]);
  }
  return out.map((x) => x >>> 0);
}

const decided = new WeakMap<CpuModel, boolean>();
/** Whether `cpu` is this running host's CPU by the criterion above (x87-transcendental-host). */
export function isThisHostCpu(cpu: CpuModel): boolean {
  const known = decided.get(cpu);
  if (known !== undefined) return known;
  let yes = false;
  if (cpu.profile.source.kind === 'host-capture' && !builtinProfileIds().includes(cpu.id)) {
    const mine = profileIdentity(cpu);
    let host: number[] | undefined;
    // Without a C compiler the helper cannot be built: the rule path then, as for any other CPU.
    try { host = load().identity; } catch (e) { if (!(e instanceof NativeBuildError)) throw e; }
    yes = mine !== undefined && host !== undefined && mine.every((w, i) => w === host[i]);
  }
  decided.set(cpu, yes);
  return yes;
}

/** Whether this instruction's result comes from the host for this profile now. */
export function transcendentalFromHost(cpu: CpuModel, m: Mnemonic): boolean {
  if (!HOST_OPS.has(m) || forced === TranscendentalSource.Rule) return false;
  if (forced === TranscendentalSource.Host) return true;
  return isThisHostCpu(cpu);
}

/** FXSAVE bytes of the x87 state the instruction reads and writes: FCW, FSW, FTW (the pointers are the machine's), ST0-ST7. */
const ST_END = LEGACY.ST0 + 8 * LEGACY.ST_STRIDE;
/** MXCSR of the image given to the CPU: the power-on value (SDM Vol. 1 11.6.4); no SSE instruction runs. */
const MXCSR_DEFAULT = 0x1f80;

/**
 * Execute the instruction on the host over the legacy region `legacy` (FXSAVE layout) in place:
 * FSW, FTW and the eight registers become the CPU's. Returns the FSW after.
 */
export function runOnHost(m: Mnemonic, legacy: Uint8Array): number {
  const op = HOST_OPS.get(m);
  if (op === undefined) throw new Error(`x87: ${Mnemonic[m]} is not computed on the host`);
  const img = new Uint8Array(512);
  img.set(legacy.subarray(0, LEGACY.FOP));
  img.set(legacy.subarray(LEGACY.ST0, ST_END), LEGACY.ST0);
  new DataView(img.buffer).setUint32(LEGACY.MXCSR, MXCSR_DEFAULT, true);
  if (load().run(op, img) !== 0) throw new Error(`x87-functions.c: op ${op} refused`);
  legacy.set(img.subarray(LEGACY.FSW, LEGACY.FTW + 1), LEGACY.FSW);
  for (let i = 0; i < 8; i++) {
    const o = LEGACY.ST0 + i * LEGACY.ST_STRIDE;
    legacy.set(img.subarray(o, o + LEGACY.ST_BYTES), o);
    legacy.fill(0, o + LEGACY.ST_BYTES, o + LEGACY.ST_STRIDE);
  }
  return img[LEGACY.FSW]! | (img[LEGACY.FSW + 1]! << 8);
}
