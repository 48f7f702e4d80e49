/**
 * NetBSD/amd64's FPU subsystem as far as a tracer sees it: boot-time probing
 * (sys/arch/x86/x86/identcpu.c rev. 1.136 cpu_probe_fpu; cpu.c rev. 1.213 cpu_init; fpu.c
 * fpuinit_mxcsr_mask), an LWP's save area (union savefpu at the end of the pcb) and the CPU
 * meeting it (fpu.c fpu_area_save / fpu_area_restore / fpu_clear), and the conversions between
 * that area and the ptrace structures: process_read_xstate, process_verify_xstate,
 * process_write_xstate, process_read_fpregs_xmm, process_write_fpregs_xmm (fpu.c rev. 1.78,
 * 2022/05/24, the revision the netbsd-10 branch started from). Behaviour read from the source;
 * no NetBSD code copied. It runs on the same CPU model (emulator/) as the Linux personality.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XsaveContext, fxrstor, fxsave, xrstor, xsave, xsaveopt } from '../../emulator/xsave.js';
import { XFeature } from '../../emulator/xfeatures.js';
import {
  FXSAVE_MEMBERS, FXSAVE_X87_HEAD, INITIAL_MXCSR, INITIAL_MXCSR_MASK, INITIAL_NPXCW, SIZEOF_FXSAVE, SIZEOF_XSTATE,
  XCR0_FPU, XCR0_SSE, XCR0_X87, XCR0_YMM_Hi128, XSTATE_MEMBERS, XS_FXSAVE, XS_RFBM, XS_XSTATE_BV,
} from './cpu_extended_state.js';

/** x86_fpu_save (x86/include/fpu.h enum): how the kernel saves an LWP's state, chosen once at boot. */
export enum FpuSave {
  FSAVE = 'FSAVE',
  FXSAVE = 'FXSAVE',
  XSAVE = 'XSAVE',
  XSAVEOPT = 'XSAVEOPT',
}

/** NetBSD errno values (sys/sys/errno.h) the ptrace paths return. */
export enum NetbsdErrno {
  ESRCH = 3,
  EFAULT = 14,
  EBUSY = 16,
  EINVAL = 22,
}

/** What cpu_probe_fpu() and fpuinit_mxcsr_mask() leave behind on a CPU. */
export interface NetbsdFpuConfig {
  fpuSave: FpuSave;
  /** x86_xsave_features: CPUID.(0DH,0).EDX:EAX as read, not masked (0 without XSAVE). */
  xsaveFeatures: number;
  /** XCR0 as cpu_probe_fpu()/cpu_init() write it: x86_xsave_features & XCR0_FPU. */
  xcr0: number;
  /** x86_fpu_save_size: 512 (FXSAVE), or CPUID.(0DH,0).EBX with that XCR0 if larger. */
  saveSize: number;
  /** x86_xsave_offsets[i]: CPUID.(0DH,i).EBX for every i in x86_xsave_features (2..7). */
  xsaveOffsets: readonly (number | undefined)[];
  /** x86_fpu_mxcsr_mask. */
  mxcsrMask: number;
}

/** Where the kernel's FXSAVE of fpuinit_mxcsr_mask() runs, for the CPU model (only distinctness matters). */
const PROBE_AREA_ADDR = 0x7e0000000000;
/** Where each LWP's pcb_savefpu lives, for the CPU model: XSAVEOPT's tracking compares linear addresses. */
const PCB_AREA_BASE = 0x7d0000000000;
const PCB_AREA_STRIDE = 0x10000;

/** Run `f` on the CPU model at CPL 0 with NetBSD's XCR0 and no IA32_XSS/XFD (NetBSD uses neither). */
function atCpl0<T>(ctx: XsaveContext, cfg: NetbsdFpuConfig, f: () => T): T {
  const cpl = ctx.cpl;
  ctx.cpl = 0;
  ctx.xcr0 = cfg.xcr0 || ctx.xcr0;
  ctx.xss = 0;
  ctx.xfd = 0;
  try { return f(); } finally { ctx.cpl = cpl; }
}

/**
 * fpuinit_mxcsr_mask(): FXSAVE into a zeroed area and take its MXCSR_MASK; 0 (CPUs that predate
 * the field) means __INITIAL_MXCSR_MASK__ (0xffbf).
 */
export function fpuinit_mxcsr_mask(cpu: CpuModel): number {
  const ctx = new XsaveContext(cpu);
  ctx.cpl = 0;
  const area = new Uint8Array(SIZEOF_FXSAVE);
  fxsave(ctx, area, PROBE_AREA_ADDR);
  const m = new DataView(area.buffer).getUint32(LEGACY.MXCSR_MASK, true);
  return m === 0 ? INITIAL_MXCSR_MASK : m;
}

/**
 * cpu_probe_fpu() for amd64: FXSAVE always (amd64 has FXSR; the FSAVE path is `#ifdef i386`), XSAVE
 * when CPUID.01H:ECX.XSAVE, XSAVEOPT when CPUID.(0DH,1):EAX[0]. x86_xsave_features is the raw
 * CPUID.(0DH,0).EDX:EAX: CPUID feature flags (AVX512F, ...) are not consulted, unlike Linux's
 * xsave_cpuid_features[]. XCR0 gets only XCR0_FPU of it.
 */
export function cpu_probe_fpu(cpu: CpuModel): NetbsdFpuConfig {
  const mxcsrMask = fpuinit_mxcsr_mask(cpu);
  if (!cpu.features.fxsr) throw new Error(`${cpu.id}: NetBSD/amd64 needs FXSR (CPUID.01H:EDX[24]); the FSAVE-only path is i386's`);
  if (!cpu.features.xsave) return { fpuSave: FpuSave.FXSAVE, xsaveFeatures: 0, xcr0: 0, saveSize: SIZEOF_FXSAVE, xsaveOffsets: [], mxcsrMask };
  const xsaveFeatures = cpu.xcr0Supported >>> 0;
  const xcr0 = (xsaveFeatures & XCR0_FPU) >>> 0;
  const offsets: (number | undefined)[] = [];
  for (let i = XFeature.AVX; i <= XFeature.HI16_ZMM; i++) if ((xsaveFeatures >>> i) & 1) offsets[i] = cpu.components[i]?.standardOffset;
  return {
    fpuSave: cpu.features.xsaveopt ? FpuSave.XSAVEOPT : FpuSave.XSAVE,
    xsaveFeatures, xcr0,
    // CPUID.(0DH,0).EBX after XSETBV: the standard-format size of what XCR0 enables.
    saveSize: Math.max(SIZEOF_FXSAVE, cpu.standardSize(xcr0)),
    xsaveOffsets: offsets,
    mxcsrMask,
  };
}

const usesXsave = (cfg: NetbsdFpuConfig): boolean => cfg.fpuSave === FpuSave.XSAVE || cfg.fpuSave === FpuSave.XSAVEOPT;

/** One LWP's kernel-side FPU state: pcb->pcb_savefpu and whether its registers are in the CPU. */
export class NetbsdLwpFpu {
  /** union savefpu, x86_fpu_save_size bytes, standard XSAVE format in XSAVE modes. */
  readonly area: Uint8Array;
  readonly address: number;
  /** MDL_FPU_IN_CPU: the CPU holds the state, the area is stale. */
  inCpu = false;
  /** pcb_fpu_dflt_cw. */
  defaultCw = INITIAL_NPXCW;

  constructor(readonly cfg: NetbsdFpuConfig, readonly lid: number, index = 0) {
    this.area = new Uint8Array(cfg.saveSize);
    this.address = PCB_AREA_BASE + index * PCB_AREA_STRIDE;
  }
}

/** fpu_xstate_reload(): force the next XRSTOR to load `xstate` from the area (XSAVE modes only). */
export function fpu_xstate_reload(lwp: NetbsdLwpFpu, xstate: number): void {
  if (!usesXsave(lwp.cfg)) return;
  const dv = new DataView(lwp.area.buffer);
  dv.setUint32(XSAVE_HEADER_OFFSET, (dv.getUint32(XSAVE_HEADER_OFFSET, true) | xstate) >>> 0, true);
}

/**
 * fpu_clear() (exec's setregs with __NetBSD_NPXCW__): the area zeroed, MXCSR __INITIAL_MXCSR__,
 * MXCSR_MASK x86_fpu_mxcsr_mask, FCW `cw`; XSTATE_BV 0 (x87 reloaded only for another FCW), so
 * the next XRSTOR puts every component in its initial configuration.
 */
export function fpu_clear(lwp: NetbsdLwpFpu, cw = INITIAL_NPXCW): void {
  const dv = new DataView(lwp.area.buffer);
  lwp.area.fill(0);
  dv.setUint32(LEGACY.MXCSR, INITIAL_MXCSR, true);
  dv.setUint32(LEGACY.MXCSR_MASK, lwp.cfg.mxcsrMask, true);
  dv.setUint16(LEGACY.FCW, cw, true);
  if (cw !== INITIAL_NPXCW) fpu_xstate_reload(lwp, XCR0_X87);
  lwp.defaultCw = cw;
  lwp.inCpu = false;
}

/**
 * fpu_area_save() (from fpu_switch / fpu_save_lwp when the LWP leaves the CPU or the kernel
 * needs its state): XSAVEOPT64 / XSAVE64 with RFBM = x86_xsave_features, or FXSAVE64.
 */
export function fpu_area_save(ctx: XsaveContext, lwp: NetbsdLwpFpu): void {
  if (!lwp.inCpu) return;
  const cfg = lwp.cfg;
  atCpl0(ctx, cfg, () => {
    if (cfg.fpuSave === FpuSave.XSAVEOPT) xsaveopt(ctx, lwp.area, lwp.address, cfg.xsaveFeatures, 0);
    else if (cfg.fpuSave === FpuSave.XSAVE) xsave(ctx, lwp.area, lwp.address, cfg.xsaveFeatures, 0);
    else fxsave(ctx, lwp.area, lwp.address);
  });
  lwp.inCpu = false;
}

/**
 * fpu_area_restore() (fpu_handle_deferred on the way back to user space): XRSTOR64 with
 * RFBM = x86_xsave_features, or FXRSTOR64. ASSUMPTION: fpu_errata_amd() (FNCLEX and a load of
 * a dummy value before the restore on AMD, to scrub FIP/FDP/FOP) is not modelled: the restore
 * that follows reloads every register a tracer can read, and the model's AMD x87-pointer quirks
 * already decide what FOP/FIP/FDP read back.
 */
export function fpu_area_restore(ctx: XsaveContext, lwp: NetbsdLwpFpu): void {
  const cfg = lwp.cfg;
  atCpl0(ctx, cfg, () => {
    if (usesXsave(cfg)) xrstor(ctx, lwp.area, lwp.address, cfg.xsaveFeatures, 0);
    else fxrstor(ctx, lwp.area, lwp.address);
  });
  lwp.inCpu = true;
}

const u32 = (a: Uint8Array, o: number): number => new DataView(a.buffer, a.byteOffset).getUint32(o, true);
const u64 = (a: Uint8Array, o: number): bigint => new DataView(a.buffer, a.byteOffset).getBigUint64(o, true);
const put64 = (a: Uint8Array, o: number, v: bigint): void => new DataView(a.buffer, a.byteOffset).setBigUint64(o, v, true);

/** The components process_read/write_xstate copy at fixed places, with their struct members. */
const EXTENDED_MEMBERS = XSTATE_MEMBERS.filter((m) => m.component !== undefined);

/**
 * process_read_xstate(): `xs` (zeroed by the caller, SIZEOF_XSTATE bytes) from the LWP's area.
 * FXSAVE mode: the 512 legacy bytes, rfbm = bv = x87|SSE. XSAVE modes: the legacy region raw
 * (whatever the last XSAVE left there, abridged FTW and MXCSR_MASK included), rfbm =
 * x86_xsave_features & XCR0_FPU, bv = the area's XSTATE_BV, and each AVX / AVX-512 component
 * copied from its standard-format offset only if its bv bit is set (else left zero).
 */
export function process_read_xstate(lwp: NetbsdLwpFpu, xs: Uint8Array): void {
  const cfg = lwp.cfg, a = lwp.area;
  xs.set(a.subarray(0, SIZEOF_FXSAVE), XS_FXSAVE);
  if (!usesXsave(cfg)) {
    put64(xs, XS_RFBM, BigInt(XCR0_X87 | XCR0_SSE));
    put64(xs, XS_XSTATE_BV, BigInt(XCR0_X87 | XCR0_SSE));
    return;
  }
  const bv = u64(a, XSAVE_HEADER_OFFSET);
  put64(xs, XS_RFBM, BigInt((cfg.xsaveFeatures & XCR0_FPU) >>> 0));
  put64(xs, XS_XSTATE_BV, bv);
  for (const m of EXTENDED_MEMBERS) {
    const from = cfg.xsaveOffsets[m.component!];
    if (!((bv >> BigInt(m.component!)) & 1n) || from === undefined) continue;
    xs.set(a.subarray(from, from + m.size), m.offset);
  }
}

/**
 * process_verify_xstate(): EINVAL when xs_xstate_bv has a bit outside xs_rfbm, or xs_rfbm one
 * outside what the kernel supports (x87|SSE with FXSAVE; x86_xsave_features & XCR0_FPU with
 * XSAVE): MPX, PKRU, CET, AMX, APX are never writable. Returns 0 or the errno, and why.
 */
export function process_verify_xstate(cfg: NetbsdFpuConfig, xs: Uint8Array): { errno: number; reason?: string } {
  const rfbm = u64(xs, XS_RFBM), bv = u64(xs, XS_XSTATE_BV);
  if (bv & ~rfbm) return { errno: NetbsdErrno.EINVAL, reason: `xs_xstate_bv 0x${bv.toString(16)} has bits outside xs_rfbm 0x${rfbm.toString(16)}` };
  const supported = BigInt(usesXsave(cfg) ? (cfg.xsaveFeatures & XCR0_FPU) >>> 0 : XCR0_X87 | XCR0_SSE);
  if (rfbm & ~supported) return { errno: NetbsdErrno.EINVAL, reason: `xs_rfbm 0x${rfbm.toString(16)} asks for components outside the supported 0x${supported.toString(16)}` };
  return { errno: 0 };
}

/**
 * process_write_xstate() (after process_verify_xstate): in XSAVE modes the area's XSTATE_BV
 * becomes (old & ~rfbm) | bv, so rfbm 0 leaves a component alone and rfbm 1 with bv 0 resets it
 * on the next XRSTOR. Data is copied where bv is set: x87 as fx_cw..fx_dp and fx_87_ac; MXCSR
 * (with SSE or AVX in bv) as MXCSR_MASK = the given mask & x86_fpu_mxcsr_mask and MXCSR masked
 * by that, silently; the XMM registers with SSE; each AVX / AVX-512 member to its standard
 * offset. In FXSAVE mode there is no header: a component with rfbm 1 and bv 0 is left alone.
 */
export function process_write_xstate(lwp: NetbsdLwpFpu, xs: Uint8Array): void {
  const cfg = lwp.cfg, a = lwp.area;
  const dv = new DataView(a.buffer, a.byteOffset);
  const rfbm = u64(xs, XS_RFBM), bv = u64(xs, XS_XSTATE_BV);
  const has = (m: number): boolean => (bv & BigInt(m)) !== 0n;
  const fx = xs.subarray(XS_FXSAVE, XS_FXSAVE + SIZEOF_FXSAVE);
  if (usesXsave(cfg)) put64(a, XSAVE_HEADER_OFFSET, (u64(a, XSAVE_HEADER_OFFSET) & ~rfbm) | bv);
  if (has(XCR0_X87)) {
    a.set(fx.subarray(0, FXSAVE_X87_HEAD), 0);
    const [ac, acLen] = FXSAVE_MEMBERS.fx_87_ac;
    a.set(fx.subarray(ac, ac + acLen), ac);
  }
  if (has(XCR0_SSE | XCR0_YMM_Hi128)) {
    const mask = (u32(fx, LEGACY.MXCSR_MASK) & cfg.mxcsrMask) >>> 0;
    dv.setUint32(LEGACY.MXCSR_MASK, mask, true);
    dv.setUint32(LEGACY.MXCSR, (u32(fx, LEGACY.MXCSR) & mask) >>> 0, true);
  }
  if (has(XCR0_SSE)) {
    const [xmm, xmmLen] = FXSAVE_MEMBERS.fx_xmm;
    a.set(fx.subarray(xmm, xmm + xmmLen), xmm);
  }
  for (const m of EXTENDED_MEMBERS) {
    const to = cfg.xsaveOffsets[m.component!];
    if (!has(1 << m.component!) || to === undefined) continue;
    a.set(xs.subarray(m.offset, m.offset + m.size), to);
  }
}

/** process_read_fpregs_xmm() (PT_GETFPREGS, the PT_GETFPREGS core note): the area's 512 legacy bytes, raw. */
export function process_read_fpregs_xmm(lwp: NetbsdLwpFpu): Uint8Array {
  return lwp.area.slice(0, SIZEOF_FXSAVE);
}

/**
 * process_write_fpregs_xmm() (PT_SETFPREGS): all 512 bytes into the area, then MXCSR_MASK &=
 * x86_fpu_mxcsr_mask and MXCSR &= that (silently), and x87|SSE forced into XSTATE_BV.
 */
export function process_write_fpregs_xmm(lwp: NetbsdLwpFpu, fpregs: Uint8Array): void {
  const a = lwp.area;
  const dv = new DataView(a.buffer, a.byteOffset);
  a.set(fpregs.subarray(0, SIZEOF_FXSAVE), 0);
  const mask = (dv.getUint32(LEGACY.MXCSR_MASK, true) & lwp.cfg.mxcsrMask) >>> 0;
  dv.setUint32(LEGACY.MXCSR_MASK, mask, true);
  dv.setUint32(LEGACY.MXCSR, (dv.getUint32(LEGACY.MXCSR, true) & mask) >>> 0, true);
  fpu_xstate_reload(lwp, XCR0_X87 | XCR0_SSE);
}

export { SIZEOF_XSTATE };
