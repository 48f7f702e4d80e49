/**
 * What a tracer's buffer holds, so that fields are found by name in it: a standard-format XSAVE
 * image (Linux's NT_X86_XSTATE, signal frames, KVM regions: src/scenario/fields.ts), NetBSD's
 * `struct xstate` (PT_GETXSTATE, its core note) or NetBSD's struct fpreg (PT_GETFPREGS: the
 * FXSAVE area alone). In a struct xstate the register names mean the same registers as in an
 * XSAVE image (xmm3, ymm3, zmm20, k1, mxcsr, st0 ...), found at the struct's fixed members, plus
 * the struct's own names: xs_rfbm, xs_xstate_bv, xs_fxsave.fx_mxcsr (any struct fxsave member),
 * xs_ymm_hi128, xs_opmask, xs_zmm_hi256, xs_hi16_zmm (whole members). `bytes@OFF:LEN` counts
 * from the start of the buffer in every format.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XFeature } from '../../emulator/xfeatures.js';
import { FXSAVE_MEMBERS, SIZEOF_FXSAVE, XSTATE_MEMBERS, XS_FXSAVE, XS_XSTATE_BV, memberOfComponent } from '../../kernel-model/netbsd/cpu_extended_state.js';
import { resolveField, type FieldRange } from './fields.js';

export enum BufferFormat {
  /** A standard-format XSAVE image laid out by the CPU's CPUID (Linux's UABI image). */
  Xsave = 'xsave',
  /** NetBSD's struct xstate (fixed offsets). */
  NetbsdXstate = 'netbsd-xstate',
  /** NetBSD's struct fpreg: the 512-byte FXSAVE area. */
  NetbsdFpreg = 'netbsd-fpreg',
}

/** The XSAVE component each struct fxsave member belongs to (fx_zero and fx_rsvd: none). */
const FX_COMPONENT: Readonly<Record<string, XFeature | undefined>> = {
  fx_cw: XFeature.X87, fx_sw: XFeature.X87, fx_tw: XFeature.X87, fx_opcode: XFeature.X87, fx_ip: XFeature.X87, fx_dp: XFeature.X87, fx_87_ac: XFeature.X87,
  fx_mxcsr: XFeature.SSE, fx_mxcsr_mask: XFeature.SSE, fx_xmm: XFeature.SSE,
};

/** XSAVE-header names that a struct xstate does not have, and what it has instead. */
const XSAVE_ONLY: Record<string, string> = {
  xstate_bv: 'xs_xstate_bv', xcomp_bv: 'nothing (struct xstate is never compacted)', sw_xcr0: 'xs_rfbm (what the kernel supports)',
  sw_magic1: 'nothing (a signal-frame field)', sw_extended_size: 'nothing (a signal-frame field)', sw_xfeatures: 'nothing (a signal-frame field)', sw_xstate_size: 'nothing (a signal-frame field)',
};

/**
 * A pseudo CPU whose "standard offsets" are the struct's members relative to xs_fxsave, so that
 * fields.ts resolves register names against struct xstate; components outside it are absent.
 */
const XSTATE_AS_CPU: Pick<CpuModel, 'id' | 'components'> = {
  id: 'struct xstate (NetBSD)',
  components: Object.assign([], Object.fromEntries([XFeature.AVX, XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM].map((c) => [c, { standardOffset: memberOfComponent(c)!.offset - XS_FXSAVE }]))) as unknown as CpuModel['components'],
};

const shift = (r: FieldRange[], by: number): FieldRange[] => r.map((x) => ({ ...x, offset: x.offset + by }));

/** Field `name` in a struct xstate, or why there is none. */
export function resolveXstateField(name: string): FieldRange[] | string {
  const n = name.toLowerCase();
  if (n.startsWith('bytes@')) return resolveField(XSTATE_AS_CPU, n);
  const member = XSTATE_MEMBERS.find((m) => m.name === n);
  if (member) return [{ offset: member.offset, size: member.size, component: member.component }];
  const fx = /^xs_fxsave\.(fx_[a-z0-9_]+)$/.exec(n);
  if (fx) {
    const f = FXSAVE_MEMBERS[fx[1]];
    if (!f) return `unknown member '${fx[1]}' of struct fxsave (members: ${Object.keys(FXSAVE_MEMBERS).join(' ')})`;
    return [{ offset: XS_FXSAVE + f[0], size: f[1], component: FX_COMPONENT[fx[1]] }];
  }
  const head = n.split('.')[0];
  if (head in XSAVE_ONLY) return `'${name}' is a field of an XSAVE image; struct xstate has ${XSAVE_ONLY[head]}`;
  const r = resolveField(XSTATE_AS_CPU, n);
  if (typeof r === 'string') return r.replace(/, which struct xstate \(NetBSD\) does not have/, ', which struct xstate does not hold (NetBSD enables XCR0_FPU only)');
  return shift(r, XS_FXSAVE);
}

/** Field `name` in a struct fpreg (the FXSAVE area): legacy registers only. */
export function resolveFpregField(name: string): FieldRange[] | string {
  const r = resolveField({ id: 'struct fpreg (NetBSD)', components: [] }, name);
  if (typeof r === 'string') return r.replace(/, which struct fpreg \(NetBSD\) does not have/, ', which struct fpreg (the FXSAVE area) does not hold');
  if (r.some((x) => x.offset + x.size > SIZEOF_FXSAVE)) return `'${name}' lies beyond struct fpreg (${SIZEOF_FXSAVE} bytes)`;
  return r;
}

/** Field `name` in a buffer of `format` on `cpu`. */
export function resolveFieldIn(format: BufferFormat, cpu: Pick<CpuModel, 'id' | 'components'>, name: string): FieldRange[] | string {
  if (format === BufferFormat.NetbsdXstate) return resolveXstateField(name);
  if (format === BufferFormat.NetbsdFpreg) return resolveFpregField(name);
  return resolveField(cpu, name);
}

/** Where a format keeps its XSTATE_BV-like bitmap (poke's xstate-bv: set/clear), or undefined. */
export function bvOffset(format: BufferFormat, xsaveHeader: number): number | undefined {
  if (format === BufferFormat.NetbsdXstate) return XS_XSTATE_BV;
  if (format === BufferFormat.NetbsdFpreg) return undefined;
  return xsaveHeader;
}
