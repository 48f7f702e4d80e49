/*
 * A native UC_HOOK_CODE callback for emulator/unicorn.ts (hookCodeAt): one hook over every address
 * that calls the JS callback only for addresses in a set (open addressing, linear probing).
 *
 * Why: unicorn 2.0.1 calls helper_uc_tracecode for every instruction once any all-address code hook
 * exists (its own instruction counter is one), and the helper walks every UC_HOOK_CODE hook with a
 * bounds check. One hook per owned instruction address made every guest instruction pay for the
 * whole list (measured: 530 ns instead of 22 ns per iteration of a 5-instruction loop with 56 hooks).
 * With this filter the list holds two hooks (the counter and this one), whatever the number of
 * owned addresses. Built with the system gcc on first use (src/native.ts); without it unicorn.ts
 * falls back to a hook per address.
 */
#include <stdint.h>
#include <stdlib.h>

typedef void (*code_cb)(void *uc, uint64_t address, uint32_t size, void *user_data);

struct filter {
  uint64_t *keys; /* 0: empty slot (address 0 is never added) */
  uint32_t cap;   /* power of two */
  uint32_t count;
  code_cb cb;
};

static uint32_t slot_of(const struct filter *f, uint64_t a) {
  return (uint32_t)((a * 0x9E3779B97F4A7C15ull) >> 40) & (f->cap - 1);
}

static int insert(struct filter *f, uint64_t a) {
  uint32_t i = slot_of(f, a);
  while (f->keys[i] != 0) {
    if (f->keys[i] == a) return 0;
    i = (i + 1) & (f->cap - 1);
  }
  f->keys[i] = a;
  f->count++;
  return 1;
}

void *xl_filter_new(void *cb) {
  struct filter *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->cap = 256;
  f->keys = calloc(f->cap, sizeof *f->keys);
  if (!f->keys) { free(f); return NULL; }
  f->cb = (code_cb)cb;
  return f;
}

void xl_filter_free(struct filter *f) {
  if (!f) return;
  free(f->keys);
  free(f);
}

/* Returns 1 when added, 0 when present, -1 on allocation failure or address 0. */
int xl_filter_add(struct filter *f, uint64_t a) {
  if (a == 0) return -1;
  if ((f->count + 1) * 2 > f->cap) {
    uint64_t *old = f->keys;
    uint32_t oldcap = f->cap;
    uint64_t *keys = calloc((size_t)oldcap * 2, sizeof *keys);
    if (!keys) return -1;
    f->keys = keys;
    f->cap = oldcap * 2;
    f->count = 0;
    for (uint32_t i = 0; i < oldcap; i++) if (old[i]) insert(f, old[i]);
    free(old);
  }
  return insert(f, a);
}

/* Backward-shift deletion keeps every probe chain intact. Returns 1 when removed. */
int xl_filter_remove(struct filter *f, uint64_t a) {
  uint32_t m = f->cap - 1, i = slot_of(f, a);
  while (f->keys[i] != a) {
    if (f->keys[i] == 0) return 0;
    i = (i + 1) & m;
  }
  f->keys[i] = 0;
  f->count--;
  for (uint32_t j = (i + 1) & m; f->keys[j] != 0; j = (j + 1) & m) {
    uint32_t h = slot_of(f, f->keys[j]);
    /* Move keys[j] into the hole at i unless its home slot lies cyclically in (i, j]. */
    if (((j - h) & m) >= ((j - i) & m)) {
      f->keys[i] = f->keys[j];
      f->keys[j] = 0;
      i = j;
    }
  }
  return 1;
}

int xl_filter_has(const struct filter *f, uint64_t a) {
  uint32_t i = slot_of(f, a);
  while (f->keys[i] != 0) {
    if (f->keys[i] == a) return 1;
    i = (i + 1) & (f->cap - 1);
  }
  return 0;
}

uint32_t xl_filter_count(const struct filter *f) { return f->count; }

static void filter_hook(void *uc, uint64_t address, uint32_t size, void *user_data) {
  struct filter *f = user_data;
  uint32_t i = slot_of(f, address);
  while (f->keys[i] != 0) {
    if (f->keys[i] == address) { f->cb(uc, address, size, NULL); return; }
    i = (i + 1) & (f->cap - 1);
  }
}

/* The hook's address, for uc_hook_add. */
void *xl_filter_hook_ptr(void) { return (void *)filter_hook; }
