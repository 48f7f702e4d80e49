/**
 * Keeping the C heap from holding on to freed unicorn engines in a process that runs many guests.
 *
 * Measured on this project's machines (glibc 2.36, libunicorn 2.0.1): opening, running and closing
 * an engine in a loop leaves about 0.5 MB more resident per engine (300 engines: 54 MB to 200 MB)
 * although `uc_close` frees it. glibc's mmap threshold is dynamic (mallopt(3), M_MMAP_THRESHOLD):
 * freeing an mmap()ed chunk raises the threshold to its size, so the next engine's large blocks come
 * from the heap, where small live allocations keep the freed pages from being returned. Fixing the
 * threshold at glibc's initial value keeps large blocks in their own mappings, unmapped when freed:
 * the same loop stays at 55 MB at the same cost per engine (11-14 ms either way, loaded machine).
 * `malloc_trim(0)` after each guest also worked but cost about 20 ms per call in a matrix worker.
 */
import koffi from 'koffi';

/** libc's soname on glibc systems; elsewhere (musl, no glibc) there is no mallopt of this kind and nothing is done. */
const GLIBC_SONAME = 'libc.so.6';
/** malloc.h: the mallopt parameter of the mmap threshold (setting it turns the dynamic adjustment off). */
const M_MMAP_THRESHOLD = -3;
/** glibc malloc/malloc.c DEFAULT_MMAP_THRESHOLD_MIN: the threshold a process starts with (128 KiB). */
const DEFAULT_MMAP_THRESHOLD_MIN = 128 * 1024;

let done: boolean | undefined;

/** Fix glibc's mmap threshold once per process (see above); returns whether glibc took it. */
export function keepLargeBlocksMapped(): boolean {
  if (done !== undefined) return done;
  try {
    const mallopt = koffi.load(GLIBC_SONAME).func('int mallopt(int param, int value)') as (param: number, value: number) => number;
    // mallopt returns 1 on success.
    done = mallopt(M_MMAP_THRESHOLD, DEFAULT_MMAP_THRESHOLD_MIN) === 1;
  } catch {
    done = false;
  }
  return done;
}
