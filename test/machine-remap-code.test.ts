/**
 * Code mapped again at an address where other code ran must run as written: unicorn 2.0.1 keeps
 * its translations across uc_mem_unmap, so Machine drops them when an executable mapping goes
 * (found by the x87 referee, whose code page is remapped for each case: 40-47% of its sequences
 * with the function templates matched only on a host re-run, at a fresh address).
 */
import { describe, expect, it } from 'vitest';
import { Machine, StopKind } from '../emulator/machine.js';
import { Prot, X86Reg } from '../emulator/unicorn.js';
import { XsaveContext } from '../emulator/xsave.js';
import { hostModel } from './helpers.js';

const CODE = 0x400000n, PAGE = 0x1000n;
/** MOV EAX, imm32; SYSCALL (the machine stops there). */
const movEaxSyscall = (v: number): Uint8Array => Uint8Array.of(0xb8, v & 0xff, (v >> 8) & 0xff, 0, 0, 0x0f, 0x05);

function runAt(m: Machine, code: Uint8Array): bigint {
  m.map(CODE, PAGE, Prot.READ | Prot.EXEC, code);
  m.uc.regWrite(X86Reg.RIP, CODE);
  const stop = m.run(1000);
  expect(stop.kind).toBe(StopKind.Syscall);
  return m.uc.regRead(X86Reg.RAX);
}

describe('Machine: code remapped at the same address', () => {
  it('runs the new code after map over an executable mapping, after unmap and map, and after mprotect', () => {
    const cpu = hostModel();
    const m = new Machine(cpu, new XsaveContext(cpu), { onSyscall: () => true });
    try {
      expect(runAt(m, movEaxSyscall(1))).toBe(1n);
      expect(runAt(m, movEaxSyscall(2))).toBe(2n);
      m.unmap(CODE, PAGE);
      expect(runAt(m, movEaxSyscall(3))).toBe(3n);
      // Losing EXEC and getting it back with new bytes written by the kernel side.
      m.protect(CODE, PAGE, Prot.READ | Prot.WRITE);
      m.poke(CODE, movEaxSyscall(4));
      m.protect(CODE, PAGE, Prot.READ | Prot.EXEC);
      m.uc.regWrite(X86Reg.RIP, CODE);
      expect(m.run(1000).kind).toBe(StopKind.Syscall);
      expect(m.uc.regRead(X86Reg.RAX)).toBe(4n);
    } finally {
      m.close();
    }
  });
});
