/**
 * Protection keys and resource limits, rule by rule (arch/x86/mm/pkeys.c, arch/x86/include/asm/pkeys.h,
 * mm/mprotect.c sys_pkey_alloc/sys_pkey_free, kernel/sys.c do_prlimit at Linux 6.18). The guests
 * (test/guests/pkeys.c, stack.c) check the same rules end to end.
 */
import { describe, expect, it } from 'vitest';
import { XsaveContext } from '../emulator/xsave.js';
import { resolveCpu } from '../emulator/profile.js';
import { rdpkru, wrpkru } from '../kernel-model/fpstate.js';
import { INIT_PKRU_VALUE } from '../kernel-model/fpu-config.js';
import { arch_override_mprotect_pkey, execute_only_pkey, mm_pkey_is_allocated, mmPkeysInit, sys_pkey_alloc, sys_pkey_free, PKEY_DISABLE_ACCESS, PKEY_DISABLE_WRITE } from '../src/linux/arch/x86/mm/pkeys.js';
import { do_prlimit, initRlimits, Rlimit, RLIM_INFINITY, STK_LIM, type Rlim } from '../src/linux/kernel/sys.js';
import { PROT_EXEC, PROT_READ } from '../src/linux/abi.js';

const EINVAL = -22n, ENOSPC = -28n;
function pkuThread(): XsaveContext {
  const xs = new XsaveContext(resolveCpu('intel-sapphire-rapids'));
  wrpkru(xs, INIT_PKRU_VALUE);
  return xs;
}

describe('protection keys (arch/x86/mm/pkeys.c, Linux 6.18)', () => {
  it('with OSPKE: key 0 is allocated at start, keys come lowest first with init_val in PKRU, 15 of them, then ENOSPC', () => {
    const mm = mmPkeysInit(true), xs = pkuThread();
    expect(mm_pkey_is_allocated(mm, 0, true)).toBe(true);
    expect(sys_pkey_alloc(mm, xs, true, 0n, 0n)).toBe(1n);
    expect(rdpkru(xs)).toBe((INIT_PKRU_VALUE & ~(3 << 2)) >>> 0);
    expect(sys_pkey_alloc(mm, xs, true, 0n, BigInt(PKEY_DISABLE_WRITE))).toBe(2n);
    expect((rdpkru(xs) >>> 4) & 3).toBe(2); // WD
    expect(sys_pkey_alloc(mm, xs, true, 0n, BigInt(PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE))).toBe(3n);
    expect((rdpkru(xs) >>> 6) & 3).toBe(3);
    for (let k = 4n; k < 16n; k++) expect(sys_pkey_alloc(mm, xs, true, 0n, 0n)).toBe(k);
    expect(sys_pkey_alloc(mm, xs, true, 0n, 0n)).toBe(ENOSPC);
  });
  it('EINVAL for flags and for init_val bits beyond the access mask; pkey_free of a free or out-of-range key', () => {
    const mm = mmPkeysInit(true), xs = pkuThread();
    expect(sys_pkey_alloc(mm, xs, true, 1n, 0n)).toBe(EINVAL);
    expect(sys_pkey_alloc(mm, xs, true, 0n, 4n)).toBe(EINVAL);
    expect(sys_pkey_free(mm, true, 5)).toBe(EINVAL);
    expect(sys_pkey_free(mm, true, 16)).toBe(EINVAL);
    expect(sys_pkey_free(mm, true, -1)).toBe(EINVAL);
    expect(sys_pkey_free(mm, true, 0)).toBe(0n); // key 0 is allocated, so it can be freed
    expect(sys_pkey_alloc(mm, xs, true, 0n, 0n)).toBe(0n); // and comes back first
  });
  it('without OSPKE: EINVAL (arch_set_user_pkey_access), then ENOSPC: the failed key 0 is never freed (execute_only_pkey is 0)', () => {
    const mm = mmPkeysInit(false), xs = pkuThread();
    expect(sys_pkey_alloc(mm, xs, false, 0n, 0n)).toBe(EINVAL);
    expect(sys_pkey_alloc(mm, xs, false, 0n, 0n)).toBe(ENOSPC);
    expect(sys_pkey_free(mm, false, 0)).toBe(EINVAL);
    expect(rdpkru(xs)).toBe(INIT_PKRU_VALUE);
  });
  it('the execute-only key: allocated once, access-disabled, not freeable, used by PROT_EXEC alone; leaving PROT_EXEC goes back to key 0', () => {
    const mm = mmPkeysInit(true), xs = pkuThread();
    wrpkru(xs, 0);
    const k = execute_only_pkey(mm, xs, true);
    expect(k).toBe(1);
    expect(rdpkru(xs)).toBe(1 << 2); // AD for key 1 only
    expect(execute_only_pkey(mm, xs, true)).toBe(1);
    expect(sys_pkey_free(mm, true, 1)).toBe(EINVAL);
    expect(arch_override_mprotect_pkey(mm, xs, true, { prot: PROT_READ, pkey: 0 }, PROT_EXEC, -1)).toBe(1);
    expect(arch_override_mprotect_pkey(mm, xs, true, { prot: PROT_EXEC, pkey: 1 }, PROT_READ, -1)).toBe(0);
    expect(arch_override_mprotect_pkey(mm, xs, true, { prot: PROT_READ, pkey: 5 }, PROT_READ, -1)).toBe(5);
    expect(arch_override_mprotect_pkey(mm, xs, true, { prot: PROT_READ, pkey: 5 }, PROT_EXEC, 7)).toBe(7);
    expect(arch_override_mprotect_pkey(mmPkeysInit(false), xs, false, { prot: PROT_READ, pkey: 0 }, PROT_EXEC, -1)).toBe(0);
    // A thread whose PKRU lets data through the key gets AD set again.
    wrpkru(xs, 0);
    expect(execute_only_pkey(mm, xs, true)).toBe(1);
    expect(rdpkru(xs)).toBe(1 << 2);
  });
});

describe('resource limits (kernel/sys.c do_prlimit, Linux 6.18)', () => {
  it('the defaults, EINVAL, EPERM, the old value before the new one', () => {
    const rl = initRlimits();
    expect(rl[Rlimit.STACK]).toEqual({ cur: STK_LIM, max: RLIM_INFINITY });
    expect(rl[Rlimit.NOFILE]).toEqual({ cur: 1024n, max: 4096n });
    expect(do_prlimit(rl, 16, undefined, () => undefined)).toBe(-22);
    expect(do_prlimit(rl, Rlimit.STACK, { cur: 2n, max: 1n }, undefined)).toBe(-22);
    expect(do_prlimit(rl, Rlimit.NOFILE, { cur: 1n, max: (1n << 20n) + 1n }, undefined)).toBe(-1);
    expect(do_prlimit(rl, Rlimit.STACK, { cur: 1n << 20n, max: 1n << 21n }, undefined)).toBe(0);
    expect(do_prlimit(rl, Rlimit.STACK, { cur: 1n << 20n, max: 1n << 22n }, undefined, false)).toBe(-1); // raising max without CAP_SYS_RESOURCE
    let old: Rlim | undefined;
    expect(do_prlimit(rl, Rlimit.STACK, { cur: 3n << 20n, max: 1n << 22n }, (o) => { old = o; })).toBe(0);
    expect(old).toEqual({ cur: 1n << 20n, max: 1n << 21n });
    expect(rl[Rlimit.STACK]).toEqual({ cur: 3n << 20n, max: 1n << 22n });
  });
});
