/**
 * User-ABI numbers of the XSAVE area as Linux shows it, each with its source (values as listed in
 * ../shared/reference/linux-fpu-uabi.md §0.1, §0.2, §5.2, §7).
 */

/** Bytes 416..463 of the legacy region: reserved, ignored by XRSTOR (SDM Vol. 1 Table 10-2). */
export const LEGACY_RESERVED_OFFSET = 416;
/** Bytes 464..511: available to software; Linux's sw_reserved (arch/x86/include/uapi/asm/sigcontext.h). */
export const SW_BYTES_OFFSET = 464;
export const SW_BYTES_SIZE = 48;
/** ptrace/core: xstate_fx_sw_bytes[USER_XSTATE_XCR0_WORD = 0] is the user feature mask (asm/user.h). */
export const USER_XSTATE_XCR0_OFFSET = 464;
/** struct _fpx_sw_bytes fields (uapi/asm/sigcontext.h). */
export const FPX_SW = { MAGIC1: 464, EXTENDED_SIZE: 468, XFEATURES: 472, XSTATE_SIZE: 480, PADDING: 484 } as const;
/** FP_XSTATE_MAGIC1 ("XSFP") and FP_XSTATE_MAGIC2 ("EXPF"), uapi/asm/sigcontext.h. */
export const FP_XSTATE_MAGIC1 = 0x46505853;
export const FP_XSTATE_MAGIC2 = 0x46505845;
/** FP_XSTATE_MAGIC2_SIZE: extended_size = xstate_size + 4 on 64-bit frames (fpu/signal.c save_xstate_epilog). */
export const FP_XSTATE_MAGIC2_SIZE = 4;
/** XSAVE header fields (SDM Vol. 1 13.4.2). */
export const HEADER = { XSTATE_BV: 512, XCOMP_BV: 520, RESERVED: 528, END: 576 } as const;
/** XCOMP_BV[63]: compacted format (SDM Vol. 1 13.4.2). */
export const XCOMP_BV_COMPACTED = 1n << 63n;
/** Note types (include/uapi/linux/elf.h), owner "LINUX" except NT_PRSTATUS/NT_PRFPREG ("CORE"). */
export const NT_PRSTATUS = 1;
export const NT_PRFPREG = 2;
export const NT_X86_XSTATE = 0x202;
export { NT_X86_XSAVE_LAYOUT } from '../readers/layout-note.js';

export const u32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
export const u64 = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(o, true);
export const hex = (n: number | bigint): string => '0x' + n.toString(16);
