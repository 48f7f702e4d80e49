/**
 * NetBSD's `struct xstate` (sys/arch/x86/include/cpu_extended_state.h, rev. 1.17.28.1 2023/07/25 on
 * the netbsd-10 branch; the struct came with the 2019 PT_GETXSTATE work) as data. It is not an
 * XSAVE image: two u64 bitmaps, then the 512-byte FXSAVE area, then the AVX and AVX-512
 * components at fixed places, whatever the CPU's own XSAVE layout; members are only ever added
 * at the end. The offsets are not written down here: they are computed from the members' C
 * sizes and alignments the way the compiler lays the struct out (test/netbsd.test.ts checks
 * them against the numbers the issue and the header give). No NetBSD code copied.
 */
import { XFeature, bit } from '../../emulator/xfeatures.js';

/** One member as the header declares it: element size, count and the C alignment of its type. */
interface MemberDecl {
  name: string;
  /** sizeof the member. */
  size: number;
  /** _Alignof the member's type. */
  align: number;
  /** The XSAVE component the member holds (undefined: the bitmaps; x87+SSE share xs_fxsave). */
  component?: XFeature;
}

/**
 * The members in declaration order. Alignments: uint64_t 8; struct fxsave is `__aligned(16)`;
 * struct xsave_ymm / xsave_zmm_hi256 / xsave_hi16_zmm are byte arrays (1); struct xsave_opmask is
 * uint64_t xs_k[8] (8).
 */
const XSTATE_DECLS: readonly MemberDecl[] = [
  { name: 'xs_rfbm', size: 8, align: 8 },
  { name: 'xs_xstate_bv', size: 8, align: 8 },
  { name: 'xs_fxsave', size: 512, align: 16 },
  { name: 'xs_ymm_hi128', size: 16 * 16, align: 1, component: XFeature.AVX },
  { name: 'xs_opmask', size: 8 * 8, align: 8, component: XFeature.OPMASK },
  { name: 'xs_zmm_hi256', size: 16 * 32, align: 1, component: XFeature.ZMM_HI256 },
  { name: 'xs_hi16_zmm', size: 16 * 64, align: 1, component: XFeature.HI16_ZMM },
];

export interface XstateMember extends MemberDecl {
  offset: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The C layout: each member at the next multiple of its alignment; the size rounded to the largest alignment. */
function layOut(decls: readonly MemberDecl[]): { members: XstateMember[]; size: number } {
  let at = 0;
  const members = decls.map((d) => { const offset = alignUp(at, d.align); at = offset + d.size; return { ...d, offset }; });
  return { members, size: alignUp(at, Math.max(...decls.map((d) => d.align))) };
}

const LAYOUT = layOut(XSTATE_DECLS);
/** The members of struct xstate with their offsets. */
export const XSTATE_MEMBERS: readonly XstateMember[] = LAYOUT.members;
/** sizeof(struct xstate): what PT_GETXSTATE clamps iov_len to and the core note holds. */
export const SIZEOF_XSTATE = LAYOUT.size;

export function xstateMember(name: string): XstateMember {
  return XSTATE_MEMBERS.find((m) => m.name === name)!;
}

export const XS_RFBM = xstateMember('xs_rfbm').offset;
export const XS_XSTATE_BV = xstateMember('xs_xstate_bv').offset;
export const XS_FXSAVE = xstateMember('xs_fxsave').offset;

/** sizeof(struct fxsave) (the header's __CTASSERT), also sizeof(struct fpreg) on amd64 (reg.h: struct fpreg { struct fxsave fxstate; }). */
export const SIZEOF_FXSAVE = 512;

/**
 * struct fxsave members (same header): the legacy region as FXSAVE writes it, named NetBSD's way.
 * [offset, size]; fx_87_ac[i] is 16 bytes apart, fx_xmm[i] 16.
 */
export const FXSAVE_MEMBERS: Readonly<Record<string, [number, number]>> = {
  fx_cw: [0, 2], fx_sw: [2, 2], fx_tw: [4, 1], fx_zero: [5, 1], fx_opcode: [6, 2],
  fx_ip: [8, 8], fx_dp: [16, 8], fx_mxcsr: [24, 4], fx_mxcsr_mask: [28, 4],
  fx_87_ac: [32, 8 * 16], fx_xmm: [160, 16 * 16], fx_rsvd: [416, 96],
};
/** Bytes of struct fxsave before fx_mxcsr: the first x87 part process_write_xstate copies (fx_cw .. fx_dp). */
export const FXSAVE_X87_HEAD = FXSAVE_MEMBERS.fx_mxcsr[0];

/** XCR0 bits (sys/arch/x86/include/specialreg.h), as NetBSD names them. */
export const XCR0_X87 = bit(XFeature.X87);
export const XCR0_SSE = bit(XFeature.SSE);
export const XCR0_YMM_Hi128 = bit(XFeature.AVX);
export const XCR0_Opmask = bit(XFeature.OPMASK);
export const XCR0_ZMM_Hi256 = bit(XFeature.ZMM_HI256);
export const XCR0_Hi16_ZMM = bit(XFeature.HI16_ZMM);
/**
 * XCR0_FPU (specialreg.h): "Known FPU bits, only these get enabled". MPX (3, 4), PKRU (9), CET,
 * AMX and APX are never in it, so NetBSD never enables, saves or reports them.
 */
export const XCR0_FPU = (XCR0_X87 | XCR0_SSE | XCR0_YMM_Hi128 | XCR0_Opmask | XCR0_ZMM_Hi256 | XCR0_Hi16_ZMM) >>> 0;

/** __INITIAL_NPXCW__ (cpu_extended_state.h): FNINIT's control word, which __NetBSD_NPXCW__ is. */
export const INITIAL_NPXCW = 0x037f;
/** __INITIAL_MXCSR__. */
export const INITIAL_MXCSR = 0x1f80;
/** __INITIAL_MXCSR_MASK__: what fpuinit_mxcsr_mask() uses when FXSAVE stores an MXCSR_MASK of 0. */
export const INITIAL_MXCSR_MASK = 0xffbf;

/** The member of struct xstate that holds component `c` (x87 and SSE: xs_fxsave). */
export function memberOfComponent(c: XFeature): XstateMember | undefined {
  if (c === XFeature.X87 || c === XFeature.SSE) return xstateMember('xs_fxsave');
  return XSTATE_MEMBERS.find((m) => m.component === c);
}
