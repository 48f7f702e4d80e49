/*
 * The instruction counter: a UC_HOOK_BLOCK callback that counts the instructions of each block
 * unicorn is about to run and stops the emulation at a block boundary once a run's quantum is
 * used up (emulator/unicorn.ts Unicorn.emuStart with `quantum`).
 *
 * Why not uc_emu_start's `count`: unicorn 2.0.1 implements it as a UC_HOOK_CODE hook over every
 * address, so every guest instruction calls its trace helper, which walks the whole hook list.
 * Measured on a 20-million-iteration integer loop (bench-like C program on libunicorn 2.0.1, AMD
 * Zen 5): 0.033 s without hooks, 0.850 s with `count`, 0.045 s with this block hook.
 *
 * Instruction counts come from JS (iced-x86 decodes the block once) through `miss`, and are kept
 * by (address, size) in an open-addressing hash. Measured on unicorn 2.0.1: uc_emu_stop from a
 * block hook stops before that block runs, except in the first block of a run, where the request
 * is lost; the counter therefore never stops in the first block (a run executes at least one block).
 * Nor does unicorn 2.0.1 then leave RIP at that block once any UC_HOOK_CODE hook exists (even over
 * other code): RIP holds whatever the translated code last stored (measured: the return address of
 * an earlier RET, in a call loop stopped at the callee's first block). The block had not run (the
 * run resumed there ends as one uninterrupted run does), so the counter records it (CW_STOP_PC)
 * and emuStart sets RIP.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef int (*stop_fn)(void *uc);
static stop_fn uc_emu_stop_p;

/* Words of the control block JS shares (BigUint64Array in unicorn.ts, CounterWord). */
enum {
  CW_LIMIT = 0,    /* in:  instructions the run may execute (0: no limit) */
  CW_EXECUTED = 1, /* in/out: instructions of the blocks entered in this run */
  CW_UNUSED = 2,   /* formerly FIRST: the counter knows a run's first block by EXECUTED = 0 */
  CW_STOPPED = 3,  /* out: 1 when the counter stopped the run */
  CW_MISS_ADDR = 4, CW_MISS_SIZE = 5, /* out to JS: the block to count */
  CW_MISS_COUNT = 6, /* in from JS: its instruction count */
  CW_STOP_PC = 7,  /* out: the block the counter stopped before */
  /*
   * A run of several quanta (emulator/unicorn.ts emuStart `quanta`): when a block would pass the
   * limit and CW_MORE_QUANTA is not 0, the counter does what a stop and a new run from that block
   * would do (that block is the new quantum's first, counted whatever its size) without stopping:
   * CW_MORE_QUANTA - 1, CW_QUANTA_DONE + 1, EXECUTED restarts at the block's count, and the last
   * quantum's limit is CW_LAST_LIMIT. So the quanta end at the very blocks where separate runs end.
   */
  CW_MORE_QUANTA = 8,  /* in/out: quantum ends still to pass without stopping */
  CW_QUANTA_DONE = 9,  /* out: quantum ends passed in this run */
  CW_LAST_LIMIT = 10,  /* in: the limit of the run's last quantum */
  CW_WORDS = 11,
};

struct counter {
  uint64_t *ctl;
  void (*miss)(void);
  uint64_t *keys;   /* address << 16 | size, 0: empty */
  uint32_t *counts;
  uint32_t cap, used;
  uint64_t last_key; /* the last block counted (loops enter the same block again and again); NO_KEY: none */
  uint32_t last_count;
};

/* Never a key: a block's size is far below 0xffff. */
#define NO_KEY UINT64_MAX

static uint32_t slot_of(const struct counter *c, uint64_t k) {
  return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & (c->cap - 1);
}

static int grow(struct counter *c) {
  uint32_t ncap = c->cap * 2;
  uint64_t *nk = calloc(ncap, sizeof *nk);
  uint32_t *nc = calloc(ncap, sizeof *nc);
  if (!nk || !nc) { free(nk); free(nc); return -1; }
  uint64_t *ok = c->keys;
  uint32_t *oc = c->counts, ocap = c->cap;
  c->keys = nk; c->counts = nc; c->cap = ncap;
  for (uint32_t i = 0; i < ocap; i++) {
    if (!ok[i]) continue;
    uint32_t j = slot_of(c, ok[i]);
    while (c->keys[j]) j = (j + 1) & (c->cap - 1);
    c->keys[j] = ok[i]; c->counts[j] = oc[i];
  }
  free(ok); free(oc);
  return 0;
}

void *xl_counter_new(void *miss, uint64_t *ctl) {
  if (!uc_emu_stop_p) {
    void *lib = dlopen("libunicorn.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!lib) return NULL;
    uc_emu_stop_p = (stop_fn)dlsym(lib, "uc_emu_stop");
    if (!uc_emu_stop_p) return NULL;
  }
  struct counter *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cap = 1024;
  c->keys = calloc(c->cap, sizeof *c->keys);
  c->counts = calloc(c->cap, sizeof *c->counts);
  if (!c->keys || !c->counts) { free(c->keys); free(c->counts); free(c); return NULL; }
  c->ctl = ctl;
  c->last_key = NO_KEY;
  c->miss = (void (*)(void))miss;
  return c;
}

void xl_counter_free(struct counter *c) {
  if (!c) return;
  free(c->keys); free(c->counts); free(c);
}

/* Forget the counts of blocks starting in [begin, end): their code changed or went away. */
void xl_counter_forget(struct counter *c, uint64_t begin, uint64_t end) {
  uint32_t kept = 0;
  c->last_key = NO_KEY;
  c->last_count = 0;
  for (uint32_t i = 0; i < c->cap; i++) {
    uint64_t a = c->keys[i] >> 16;
    if (c->keys[i] && a >= begin && a < end) c->keys[i] = 0;
  }
  /* Rebuild so that probing stays correct after the deletions. */
  uint64_t *ok = c->keys;
  uint32_t *oc = c->counts;
  c->keys = calloc(c->cap, sizeof *c->keys);
  c->counts = calloc(c->cap, sizeof *c->counts);
  if (!c->keys || !c->counts) { free(c->keys); free(c->counts); c->keys = ok; c->counts = oc; for (uint32_t i = 0; i < c->cap; i++) ok[i] = 0; c->used = 0; return; }
  for (uint32_t i = 0; i < c->cap; i++) {
    if (!ok[i]) continue;
    uint32_t j = slot_of(c, ok[i]);
    while (c->keys[j]) j = (j + 1) & (c->cap - 1);
    c->keys[j] = ok[i]; c->counts[j] = oc[i];
    kept++;
  }
  c->used = kept;
  free(ok); free(oc);
}

static uint32_t count_of(struct counter *c, uint64_t address, uint32_t size) {
  uint64_t k = (address << 16) | (size & 0xffff);
  if (!k) k = 1;
  if (k == c->last_key) return c->last_count;
  uint32_t i = slot_of(c, k);
  while (c->keys[i]) {
    if (c->keys[i] == k) { c->last_key = k; c->last_count = c->counts[i]; return c->counts[i]; }
    i = (i + 1) & (c->cap - 1);
  }
  c->ctl[CW_MISS_ADDR] = address;
  c->ctl[CW_MISS_SIZE] = size;
  c->ctl[CW_MISS_COUNT] = 1;
  c->miss();
  uint32_t n = (uint32_t)c->ctl[CW_MISS_COUNT];
  if (n == 0) n = 1;
  if ((c->used + 1) * 2 > c->cap && grow(c) != 0) return n;
  i = slot_of(c, k);
  while (c->keys[i]) i = (i + 1) & (c->cap - 1);
  c->keys[i] = k;
  c->counts[i] = n;
  c->used++;
  return n;
}

/*
 * The hook runs once per executed block, so its common case is kept to a few instructions: the same
 * block as last time and the run's limit not reached; everything else, with the same rules, is
 * counter_slow. Measured with bench/unicorn-plain-floor.c on the FNV loop (one 10-instruction block
 * per byte, 64 MiB, AMD Zen 5 VM, loaded): an empty block hook costs about 0.6 ns per block (the
 * helper call), the former hook (FIRST and LIMIT probed first, six registers kept) 1.4-2.2 ns more,
 * this one 0.6-0.9 ns more. The run's first block is the one entered with EXECUTED = 0 (emuStart
 * clears it, and every block counts at least 1).
 */
static __attribute__((noinline)) void counter_slow(void *uc, struct counter *c, uint64_t address, uint32_t size) {
  uint64_t *w = c->ctl;
  uint32_t n = count_of(c, address, size);
  uint64_t e = w[CW_EXECUTED];
  if (e && w[CW_LIMIT] && e + n > w[CW_LIMIT]) {
    if (w[CW_MORE_QUANTA]) {
      if (--w[CW_MORE_QUANTA] == 0) w[CW_LIMIT] = w[CW_LAST_LIMIT];
      w[CW_QUANTA_DONE]++;
      w[CW_EXECUTED] = n;
      return;
    }
    w[CW_STOPPED] = 1;
    w[CW_STOP_PC] = address;
    uc_emu_stop_p(uc);
    return;
  }
  w[CW_EXECUTED] = e + n;
}

static void counter_hook(void *uc, uint64_t address, uint32_t size, void *user_data) {
  struct counter *c = user_data;
  uint64_t *w = c->ctl;
  uint64_t k = (address << 16) | (size & 0xffff);
  uint64_t e = w[CW_EXECUTED] + c->last_count;
  /* LIMIT 0 (no limit) wraps to the largest value; e = LIMIT goes the slow way, which decides exactly. */
  if (__builtin_expect(k == c->last_key && e <= w[CW_LIMIT] - 1, 1)) { w[CW_EXECUTED] = e; return; }
  counter_slow(uc, c, address, size);
}

void *xl_counter_hook_ptr(void) { return (void *)counter_hook; }

/*
 * Precise RIP at memory faults. Without a per-instruction code hook, unicorn 2.0.1 reports a fault
 * inside a block with RIP at the block's start while the instructions before the faulting one have
 * run (measured: `mov rax,24; add rbx,1; add rbx,1; mov dword [rax],1` faults with RIP at the mov
 * rax and RBX 2). With a UC_HOOK_MEM_READ|UC_HOOK_MEM_WRITE hook present (on any range: this one
 * covers only address 1, which a Linux process cannot map, so it is never called), the translator
 * stores RIP before each memory access and the fault's RIP is the faulting instruction's (measured;
 * about 15% on a loop of loads and stores).
 */
static void never_called(void *uc, int type, uint64_t address, int size, int64_t value, void *user_data) {
  (void)uc; (void)type; (void)address; (void)size; (void)value; (void)user_data;
}
void *xl_counter_mem_hook_ptr(void) { return (void *)never_called; }
