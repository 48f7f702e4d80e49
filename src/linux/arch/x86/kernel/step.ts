/**
 * Single-stepping a tracee (arch/x86/kernel/step.c, Linux 6.18): enable_single_step sets TF in the
 * tracee's saved flags (TIF_FORCED_TF when it was the kernel's doing) and the CPU traps after one
 * instruction; get_flags hides a forced TF from the tracer (the engine steps without TF, so ptrace
 * never sees it here). The program itself does see it: a PUSHF run under the step pushes the real
 * RFLAGS, TF set (measured on this machine's Linux 6.18: test/guests/ptrace-step-tf.c). The engine
 * steps by instruction count, not TF, so the model sets TF in the pushed image after the step.
 */
import type { Machine } from '../../../../../emulator/machine.js';
import { X86Reg } from '../../../../../emulator/unicorn.js';

/** Legacy and REX prefixes (SDM Vol. 2A 2.1.1, 2.2.1) a PUSHF may carry. */
const PREFIXES: ReadonlySet<number> = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
/** PUSHF/PUSHFQ (SDM Vol. 2B): opcode 9C. */
const PUSHF_OPCODE = 0x9c;
/** The longest instruction (SDM Vol. 2A 2.3.11). */
const MAX_INSN_BYTES = 15;

/** Whether the instruction at RIP is a PUSHF (with any prefixes): what the step will push with TF set. */
export function steppingPushf(m: Machine): boolean {
  const rip = m.uc.regRead(X86Reg.RIP);
  if (!m.isMapped(rip, rip + 1n)) return false;
  const n = m.isMapped(rip, rip + BigInt(MAX_INSN_BYTES)) ? MAX_INSN_BYTES : 1;
  const b = m.peek(rip, n);
  for (const x of b) {
    if (PREFIXES.has(x) || (x >= 0x40 && x <= 0x4f)) continue;
    return x === PUSHF_OPCODE;
  }
  return false;
}

/** After a stepped PUSHF: TF (RFLAGS bit 8, byte 1 of the image at RSP) as the CPU pushed it under the step. */
export function pushfShowsForcedTf(m: Machine): void {
  const rsp = m.uc.regRead(X86Reg.RSP);
  const TF_BYTE = 1n;
  const TF_IN_BYTE = 0x1;
  const b = m.peek(rsp + TF_BYTE, 1);
  m.write(rsp + TF_BYTE, new Uint8Array([b[0]! | TF_IN_BYTE]));
}
