/**
 * Memory protection keys (arch/x86/mm/pkeys.c, arch/x86/include/asm/pkeys.h, mm/mprotect.c
 * sys_pkey_alloc / sys_pkey_free, Linux 6.18): the mm's allocation map, the execute-only key and the
 * PKRU bits a new key gets. The keys' effect on accesses is the CPU's (emulator/machine.ts
 * effectiveProt, SDM Vol. 3A 4.6.2).
 */
import { XsaveContext } from '../../../../../emulator/xsave.js';
import { rdpkru, wrpkru } from '../../../../../kernel-model/fpstate.js';
import { Errno, PROT_EXEC } from '../../../abi.js';

/** The key every mapping starts with (arch/x86/include/asm/pkeys.h ARCH_DEFAULT_PKEY). */
export const ARCH_DEFAULT_PKEY = 0;
/** pkey_alloc's init_val bits (include/uapi/asm-generic/mman-common.h PKEY_DISABLE_ACCESS, PKEY_DISABLE_WRITE). */
export const PKEY_DISABLE_ACCESS = 1;
export const PKEY_DISABLE_WRITE = 2;
const PKEY_ACCESS_MASK = PKEY_DISABLE_ACCESS | PKEY_DISABLE_WRITE;
/** PKRU's bits per key and their meaning (SDM Vol. 3A 4.6.2; arch/x86/include/asm/pkru.h PKRU_AD_BIT, PKRU_WD_BIT). */
const PKRU_BITS_PER_PKEY = 2;
const PKRU_AD_BIT = 1;
const PKRU_WD_BIT = 2;
/** The keys PKRU has (SDM Vol. 3A 4.6.2: 16). */
const PKU_KEYS = 16;

/** mm->context.pkey_allocation_map and execute_only_pkey. */
export interface MmPkeys { allocationMap: number; executeOnlyPkey: number }

/**
 * init_new_context (arch/x86/include/asm/mmu_context.h): with OSPKE key 0 is allocated and there is
 * no execute-only key (-1); without it both fields stay zero.
 */
export function mmPkeysInit(ospke: boolean): MmPkeys {
  return ospke ? { allocationMap: 1, executeOnlyPkey: -1 } : { allocationMap: 0, executeOnlyPkey: 0 };
}

/** arch_max_pkey (arch/x86/include/asm/pkeys.h): 16 with OSPKE, else 1. */
function arch_max_pkey(ospke: boolean): number {
  return ospke ? PKU_KEYS : 1;
}

/** mm_pkey_is_allocated (arch/x86/include/asm/pkeys.h): in range, not the execute-only key, set in the map. */
export function mm_pkey_is_allocated(mm: MmPkeys, pkey: number, ospke: boolean): boolean {
  if (pkey < 0 || pkey >= arch_max_pkey(ospke)) return false;
  if (pkey === mm.executeOnlyPkey) return false;
  return (mm.allocationMap & (1 << pkey)) !== 0;
}

/** mm_pkey_alloc (arch/x86/include/asm/pkeys.h): the lowest free key, or -1 when all arch_max_pkey() are taken. */
function mm_pkey_alloc(mm: MmPkeys, ospke: boolean): number {
  const all = (1 << arch_max_pkey(ospke)) - 1;
  if ((mm.allocationMap & all) === all) return -1;
  let k = 0;
  while (mm.allocationMap & (1 << k)) k++;
  mm.allocationMap |= 1 << k;
  return k;
}

/**
 * arch_set_user_pkey_access (arch/x86/mm/pkeys.c): EINVAL without OSPKE; else the calling thread's
 * PKRU gets AD / WD for the key from init_val, the other keys' bits kept.
 */
function arch_set_user_pkey_access(xs: XsaveContext, ospke: boolean, pkey: number, initVal: number): number {
  if (!ospke) return -Errno.EINVAL;
  let bits = 0;
  if (initVal & PKEY_DISABLE_ACCESS) bits |= PKRU_AD_BIT;
  if (initVal & PKEY_DISABLE_WRITE) bits |= PKRU_WD_BIT;
  const shift = pkey * PKRU_BITS_PER_PKEY;
  const old = rdpkru(xs) & ~((PKRU_AD_BIT | PKRU_WD_BIT) << shift);
  wrpkru(xs, (old | (bits << shift)) >>> 0);
  return 0;
}

/**
 * sys_pkey_alloc (mm/mprotect.c): EINVAL for flags or init_val bits beyond the access mask, ENOSPC
 * when no key is free; the key's PKRU bits set from init_val, which fails with EINVAL without
 * OSPKE (mm_pkey_free undoes the allocation). Without OSPKE the map is empty and arch_max_pkey() 1:
 * key 0 is taken and the call answers EINVAL (measured on a host whose CPUID hides PKU).
 */
export function sys_pkey_alloc(mm: MmPkeys, xs: XsaveContext, ospke: boolean, flags: bigint, initVal: bigint): bigint {
  if (flags) return BigInt(-Errno.EINVAL);
  if (initVal & ~BigInt(PKEY_ACCESS_MASK)) return BigInt(-Errno.EINVAL);
  const pkey = mm_pkey_alloc(mm, ospke);
  if (pkey === -1) return BigInt(-Errno.ENOSPC);
  const r = arch_set_user_pkey_access(xs, ospke, pkey, Number(initVal));
  if (r) {
    // Undone through mm_pkey_free, which refuses a key that is not "allocated": without OSPKE
    // execute_only_pkey is 0, so key 0 stays in the map and the next call answers ENOSPC
    // (measured: test/guests/pkeys.c, EINVAL then ENOSPC).
    mm_pkey_free(mm, pkey, ospke);
    return BigInt(r);
  }
  return BigInt(pkey);
}

/** mm_pkey_free (arch/x86/include/asm/pkeys.h): EINVAL unless allocated (key 0 can be freed). */
function mm_pkey_free(mm: MmPkeys, pkey: number, ospke: boolean): number {
  if (!mm_pkey_is_allocated(mm, pkey, ospke)) return -Errno.EINVAL;
  mm.allocationMap &= ~(1 << pkey);
  return 0;
}

/** sys_pkey_free (mm/mprotect.c). */
export function sys_pkey_free(mm: MmPkeys, ospke: boolean, pkey: number): bigint {
  return BigInt(mm_pkey_free(mm, pkey, ospke));
}

/**
 * __execute_only_pkey (arch/x86/mm/pkeys.c): the mm's execute-only key, allocated on first use
 * with PKRU denying data access to it; -1 when no key is free. A key already set up is re-armed
 * only when the thread's PKRU lets data reads through it.
 */
export function execute_only_pkey(mm: MmPkeys, xs: XsaveContext, ospke: boolean): number {
  if (!ospke) return 0;
  let key = mm.executeOnlyPkey;
  let fresh = false;
  if (key === -1) {
    key = mm_pkey_alloc(mm, ospke);
    if (key < 0) return -1;
    fresh = true;
  }
  // __pkru_allows_read: AD clear.
  if (!fresh && ((rdpkru(xs) >>> (key * PKRU_BITS_PER_PKEY)) & PKRU_AD_BIT)) return key;
  if (arch_set_user_pkey_access(xs, ospke, key, PKEY_DISABLE_ACCESS)) {
    mm.allocationMap &= ~(1 << key);
    return -1;
  }
  if (fresh) mm.executeOnlyPkey = key;
  return key;
}

/**
 * arch_override_mprotect_pkey / __arch_override_mprotect_pkey (arch/x86/mm/pkeys.c): 0 without
 * OSPKE; pkey_mprotect's key as given; PROT_EXEC alone takes the execute-only key; a mapping
 * leaving execute-only goes back to key 0; otherwise the mapping keeps its key.
 */
export function arch_override_mprotect_pkey(mm: MmPkeys, xs: XsaveContext, ospke: boolean, vma: { prot: number; pkey: number }, prot: number, pkey: number): number {
  if (!ospke) return 0;
  if (pkey !== -1) return pkey;
  if (prot === PROT_EXEC) {
    const k = execute_only_pkey(mm, xs, ospke);
    if (k > 0) return k;
  } else if (vma.prot === PROT_EXEC && vma.pkey === mm.executeOnlyPkey) {
    // vma_is_pkey_exec_only: VM_EXEC alone, in the execute-only key.
    return ARCH_DEFAULT_PKEY;
  }
  return vma.pkey;
}
