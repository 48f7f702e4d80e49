/**
 * `explain` for NetBSD's struct xstate (a PT_GETXSTATE buffer, or the PT_GETXSTATE note of a
 * NetBSD core): members decoded by name at their fixed offsets, with what looks wrong by the
 * rules of kernel-model/netbsd/fpu.ts. No CPU is needed: the struct's layout does not depend on
 * one.
 */
import { formatMask, maskBits, xfeatureId } from '../../emulator/xfeatures.js';
import { LEGACY } from '../../emulator/register-file.js';
import { FXSAVE_MEMBERS, SIZEOF_XSTATE, XCR0_FPU, XSTATE_MEMBERS, XS_FXSAVE, XS_RFBM, XS_XSTATE_BV } from '../../kernel-model/netbsd/cpu_extended_state.js';
import { ELF_NOTE_NETBSD_CORE_NAME } from '../../kernel-model/netbsd/core_elf32.js';
import { PtRequest } from '../../kernel-model/netbsd/process_machdep.js';
import { isElf, readCoreNotes } from './elf-notes.js';

const hexBytes = (b: Uint8Array): string => '0x' + Buffer.from(b).reverse().toString('hex');
const u64 = (b: Uint8Array, o: number): bigint => (b.length >= o + 8 ? new DataView(b.buffer, b.byteOffset).getBigUint64(o, true) : 0n);
const names = (m: bigint): string => (m >> 32n ? `${formatMask(Number(m & 0xffffffffn))} and bits above 31` : maskBits(Number(m)).map(xfeatureId).join(' ') || '-');

/** The PT_GETXSTATE notes of a NetBSD core (name NetBSD-CORE@<lwpid>), or undefined when the file is no NetBSD core. */
export function netbsdCoreXstateNotes(bytes: Uint8Array, file: string): { lwp: string; desc: Uint8Array }[] | undefined {
  if (!isElf(bytes)) return undefined;
  const notes = readCoreNotes(bytes, file).notes.filter((n) => n.name.startsWith(`${ELF_NOTE_NETBSD_CORE_NAME}@`));
  if (!notes.length) return undefined;
  return notes.filter((n) => n.type === PtRequest.PT_GETXSTATE).map((n) => ({ lwp: n.name.slice(ELF_NOTE_NETBSD_CORE_NAME.length + 1), desc: n.desc }));
}

/** Lines describing a struct xstate (or a prefix of one) and what looks wrong in it. */
export function explainNetbsdXstate(b: Uint8Array, title: string): string {
  const out = [`${title}: NetBSD struct xstate, ${b.length} bytes (sizeof ${SIZEOF_XSTATE}; fixed offsets on every CPU)`];
  const flags: string[] = [];
  if (b.length < SIZEOF_XSTATE) flags.push(`${b.length} bytes: a prefix (PT_GETXSTATE with a short iov_len); members past byte ${b.length} are missing`);
  if (b.length > SIZEOF_XSTATE) flags.push(`${b.length} bytes: longer than the struct; bytes past ${SIZEOF_XSTATE} are not NetBSD's (iov_len is clamped)`);
  const rfbm = u64(b, XS_RFBM), bv = u64(b, XS_XSTATE_BV);
  if (b.length >= XS_RFBM + 8) out.push(`  xs_rfbm       @${XS_RFBM}  0x${rfbm.toString(16).padStart(16, '0')}  ${names(rfbm)}`);
  if (b.length >= XS_XSTATE_BV + 8) out.push(`  xs_xstate_bv  @${XS_XSTATE_BV}  0x${bv.toString(16).padStart(16, '0')}  ${names(bv)}`);
  if (bv & ~rfbm) flags.push(`xs_xstate_bv has ${names(bv & ~rfbm)} outside xs_rfbm: PT_SETXSTATE would be EINVAL`);
  if (rfbm & ~BigInt(XCR0_FPU)) flags.push(`xs_rfbm has ${names(rfbm & ~BigInt(XCR0_FPU))} outside XCR0_FPU: NetBSD never reports them, and PT_SETXSTATE would be EINVAL`);
  const fx = b.subarray(XS_FXSAVE, XS_FXSAVE + 512);
  if (fx.length) {
    out.push(`  xs_fxsave     @${XS_FXSAVE} (x87 and SSE, the FXSAVE layout):`);
    for (const [m, [o, n]] of Object.entries(FXSAVE_MEMBERS)) {
      if (o + n > fx.length || m === 'fx_rsvd' || m === 'fx_87_ac' || m === 'fx_xmm') continue;
      out.push(`    ${m.padEnd(14)} @${XS_FXSAVE + o}  ${hexBytes(fx.subarray(o, o + n))}`);
    }
    const regs = (what: string, at: number, count: number, size: number, stride: number): void => {
      for (let i = 0; i < count && at + i * stride + size <= fx.length; i++) {
        const r = fx.subarray(at + i * stride, at + i * stride + size);
        if (r.some((x) => x !== 0)) out.push(`    ${`${what}${i}`.padEnd(14)} @${XS_FXSAVE + at + i * stride}  ${hexBytes(r)}`);
      }
    };
    regs('st', LEGACY.ST0, 8, LEGACY.ST_BYTES, LEGACY.ST_STRIDE);
    regs('xmm', LEGACY.XMM0, 16, 16, 16);
    if (fx.length >= LEGACY.MXCSR_MASK + 4) {
      const dv = new DataView(fx.buffer, fx.byteOffset);
      const mx = dv.getUint32(LEGACY.MXCSR, true), mask = dv.getUint32(LEGACY.MXCSR_MASK, true);
      if (mx & ~mask) flags.push(`fx_mxcsr 0x${mx.toString(16)} has bits outside fx_mxcsr_mask 0x${mask.toString(16)}: PT_SETXSTATE would drop them silently`);
      if (mask === 0 && bv & 6n) flags.push('fx_mxcsr_mask is 0: a PT_SETXSTATE of this buffer with SSE or AVX in xs_xstate_bv sets MXCSR to 0');
    }
  }
  for (const m of XSTATE_MEMBERS.filter((x) => x.component !== undefined)) {
    if (b.length <= m.offset) { out.push(`  ${m.name.padEnd(13)} @${m.offset}  (not in the buffer)`); continue; }
    const data = b.subarray(m.offset, Math.min(b.length, m.offset + m.size));
    const set = ((bv >> BigInt(m.component!)) & 1n) === 1n;
    const used = data.some((x) => x !== 0);
    out.push(`  ${m.name.padEnd(13)} @${m.offset}  ${xfeatureId(m.component!)}, bv ${set ? 'set' : 'clear'}${used ? '' : ', all zero'}`);
    if (used && !set) flags.push(`${m.name} holds data although its xs_xstate_bv bit is clear: PT_GETXSTATE leaves such members zero, and PT_SETXSTATE ignores them`);
  }
  out.push(flags.length ? 'looks wrong:' : 'nothing looks wrong', ...flags.map((f) => `  - ${f}`));
  return out.join('\n');
}
