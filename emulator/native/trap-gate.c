/*
 * The trap gate: the native UC_HOOK_CODE callback for owned instructions (emulator/unicorn.ts
 * hookTrapGate, used by emulator/machine.ts), hooked over the code ranges around owned addresses; for an address in its set
 * it does the unicorn calls a trap needs around the JS emulation, so that JS makes none of them:
 *
 *   1. reads the first `read_count` registers of a register block (uc_reg_read_batch) into the
 *      block's buffer, which JS sees, and the general-purpose registers the instruction reads;
 *   2. computes the memory operand's address from those registers and reads a window of guest memory
 *      into the area buffer, which JS sees (a prefetch: it has no side effect, and JS checks that it
 *      covers what the instruction needs before using it);
 *   2b. for an XSAVE-family instruction the machine described (xl_gate_xs_describe), tries the
 *      instruction natively (xs_fast, over xsave-fast.c and the running thread's register-file
 *      store): done, it writes RIP and returns without calling JS;
 *   3. calls the JS callback (no arguments: the address is in the control block);
 *   4. writes back what JS asked for in the control block: ranges of the area buffer to guest memory,
 *      then a range of the register block, then RIP. Of the block's registers it writes only those
 *      whose bytes differ from what it read before the callback (writing a register the value it
 *      holds changes nothing, and x87 writes are the dearest part of a trap: 0.3 us for 16).
 *
 * Why: each call from JS into libunicorn through koffi costs 0.3-1 us whatever its size, and a trap
 * needed four to six of them (register reads and writes, memory reads and writes); the same calls made
 * here cost what unicorn's own work costs. Measured with bench/floor: 0.1 us per trap for the hook and
 * a RIP write, 0.45 us with a 50-register batch read.
 *
 * The address set is an open-addressing hash (linear probing) with a descriptor per address: unicorn
 * 2.0.1 walks every UC_HOOK_CODE hook at each hooked instruction, so the hooks cover ranges of nearby
 * addresses (unicorn.ts GATE_CLUSTER_GAP), not one address each, and the hash picks the owned ones.
 *
 * libunicorn is not linked: its functions are found in the copy the process already loaded (koffi
 * loaded it by soname) with dlopen(RTLD_NOLOAD).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xsave-fast.c"
#include "vector-fast.c"

/*
 * Where the register block keeps what the legacy region has no room for (machine.ts IMG_*), the
 * block's register counts, and the full tag word's "empty" value: given by xl_gate_xs_bind.
 */
struct xs_image { uint32_t ftag, fcs, fds, all_count, tag_empty, changed_x87_bits; };

typedef int (*reg_batch_fn)(void *uc, int *regs, void **vals, int count);
typedef int (*reg_fn)(void *uc, int regid, void *value);
typedef int (*reg_write_fn)(void *uc, int regid, const void *value);
typedef int (*mem_read_fn)(void *uc, uint64_t address, void *bytes, size_t size);
typedef int (*mem_write_fn)(void *uc, uint64_t address, const void *bytes, size_t size);

static reg_batch_fn uc_reg_read_batch_p, uc_reg_write_batch_p;
static reg_fn uc_reg_read_p;
static reg_write_fn uc_reg_write_p;
static mem_read_fn uc_mem_read_p;
static mem_write_fn uc_mem_write_p;

/* unicorn 2.0.1 x86.h: UC_X86_REG_FS_BASE, UC_X86_REG_GS_BASE (X86Reg in emulator/unicorn.ts). */
enum { UC_X86_REG_RIP = 41, UC_X86_REG_FS_BASE = 250, UC_X86_REG_GS_BASE = 251 };

/* The control block shared with JS; the field offsets are mirrored in emulator/unicorn.ts (GateCtl). */
#define GATE_MAX_WRITES 64
struct gate_ctl {
  uint64_t address;     /*  0 in:  the trapped instruction's address */
  uint64_t mem_addr;    /*  8 in:  guest address the window was read at (pf_status 1) */
  uint64_t write_base;  /* 16 out: guest address the `writes` ranges are relative to */
  int32_t read_count;   /* 24 in:  registers read into the block (from index 0) */
  int32_t pf_status;    /* 28 in:  1 window read, -1 its read failed (unmapped); either way mem_addr is the operand's address; 0 none */
  uint32_t pf_from;     /* 32 in:  window [pf_from, pf_to) of the area buffer, relative to mem_addr */
  uint32_t pf_to;       /* 36 in */
  int32_t write_first;  /* 40 out: block registers to write back: [write_first, write_first + write_count) */
  int32_t write_count;  /* 44 out */
  uint32_t n_writes;    /* 48 out: [from, to) pairs in `writes` */
  int32_t write_rip;    /* 52 out: 1: set RIP to next_rip last */
  uint64_t next_rip;    /* 56 out */
  uint32_t changed;     /* 64 in:  bits of the compare ranges whose bytes the register read changed */
  uint32_t gprs_read;   /* 68 in:  bit k: GPR k (encoding order) is in the block, read before the callback */
  uint32_t writes[2 * GATE_MAX_WRITES]; /* 72 out */
  /*
   * Observed x87 instructions (xl_gate_observe), recorded without calling JS; JS reads and clears
   * x87_events when it brings the x87 state into the model.
   */
  uint64_t x87_ip;      /* 584 in: address of the last non-control x87 instruction; 0 after FNINIT */
  uint64_t x87_mem_ip;  /* 592 in: address of the last one with a memory operand; 0 after FNINIT */
  uint64_t x87_fdp;     /* 600 in: that operand's effective address (offset, no segment base) */
  uint32_t x87_events;  /* 608 in/out: bit 0 x87_ip set, bit 1 x87_mem_ip and x87_fdp set, since JS cleared it */
  uint32_t xs_mirror;   /* 612 out: 1 while the block's x87/SSE bytes equal the model's (machine.ts mirrorSse && mirrorX87) */
  uint64_t xs_done;     /* 616 in:  XSAVE-family instructions the native path did (xs_fast) */
  uint32_t reg_gen;     /* 624 out: bumped by JS at every register write through unicorn's API and every run (unicorn.ts) */
};

/* A range of the register block and the bit it sets in `changed` when a read changes its bytes. */
#define GATE_MAX_COMPARE 40
struct compare_range { uint32_t offset, length, bit; };

/* What the gate does before calling JS at one address; set by JS after the first decode. */
struct desc {
  int32_t read_count;   /* registers to read (0: none) */
  uint32_t gpr_mask;    /* GPRs (bit k: encoding order) to read besides */
  int8_t base;          /* GPR index 0-15 of the base, -1 none */
  int8_t index;         /* GPR index 0-15 of the index, -1 none */
  uint8_t scale_log2;
  uint8_t seg;          /* 0 none, 1 FS, 2 GS */
  int64_t disp;         /* displacement, or the absolute address of a RIP-relative operand */
  uint32_t pf_from, pf_to; /* prefetch window relative to the operand's address; empty: none */
  uint8_t observe;      /* OBSERVE_*: record the address (no JS call) and let unicorn run the instruction */
  uint8_t addr32;       /* observed memory operand with a 32-bit address size (67h) */
  /* Legacy SSE floating point computed here without a JS call (xl_gate_fp; fp_shape 0: none). */
  uint8_t fp_shape, fp_dst, fp_src_kind, fp_src, fp_src_len, fp_align, fp_n, fp_imm, fp_len; /* fp_len: as xs_len */
  uint32_t fp_op;
  int8_t fp_base, fp_index;
  uint8_t fp_scale_log2, fp_seg;
  int64_t fp_disp;
  /* The XSAVE family done here without a JS call (xs_fast; xs_op 0: none): xsave-fast.c's op, REX.W. */
  uint8_t xs_op, xs_rexw, xs_len; /* xs_len: the instruction's length (the hook's size argument is not reliable: measured garbage here) */
  /* A vector or opmask instruction done here without a JS call (vf_fast over vector-fast.c; vf.word 0: none). */
  struct vf_insn vf;
};

/* What an observed address is (xl_gate_observe). */
enum { OBSERVE_NONE = 0, OBSERVE_X87 = 1, OBSERVE_X87_MEM = 2, OBSERVE_X87_INIT = 3, OBSERVE_SSE_WRITE = 4 };
/* OBSERVE_SSE_WRITE: a legacy SSE instruction unicorn runs writes XMM `base`: bit SSE_EVENT_SHIFT + n of x87_events (XINUSE[1] on any write). */
#define SSE_EVENT_SHIFT 16u
#define X87_EVENT_IP 1u
#define X87_EVENT_MEM 2u

struct gate {
  uint64_t *keys; /* 0: empty slot (address 0 is never added) */
  struct desc *descs;
  uint32_t cap;   /* power of two */
  uint32_t count;
  void (*cb)(void);
  struct gate_ctl *ctl;
  int *ids;       /* the register block: ids, value pointers, buffer */
  void **ptrs;
  const uint8_t *block;
  uint32_t gpr_offset; /* offset in the block of RAX..R15 (8 bytes each, encoding order) */
  int32_t gpr_first;   /* index in the block's list of RAX (R15 at gpr_first + 15) */
  int32_t n_regs;      /* registers in the block */
  uint8_t *widths;     /* bytes of each register's slot, | GATE_WRITE_REST (xl_gate_set_widths); NULL: write all */
  /*
   * The registers are read into `fresh` (same layout as the block), not into the block: the gate
   * compares fresh with the block (what JS last read or wrote) and copies only the ranges that
   * differ, and fresh is then what the write-back compares with (unicorn's values when the callback
   * began). Before, the block was copied aside before the read and again after it (two copies of
   * the block per trap, about a tenth of a trapped XSAVE+XRSTOR pair in perf).
   */
  uint8_t *fresh;
  uint32_t entry_end;  /* the block's size */
  int *rids;           /* the batch read's ids and value pointers: ids/fresh slots, then the extra GPRs (into the block) */
  void **rptrs;
  int32_t *uncovered;  /* registers whose slot no compare range covers (copied from fresh whenever read) */
  int32_t n_uncovered;
  uint8_t *area;
  uint32_t area_cap;
  struct compare_range cmp[GATE_MAX_COMPARE];
  uint32_t n_cmp;
  int fp_xmm0, fp_mxcsr, fp_eflags; /* unicorn ids of XMM0, MXCSR and EFLAGS for the fp fast path (0: off) */
  uint64_t *readable;  /* [start, end) pairs of guest memory the guest may read, ascending (xl_gate_fp_readable) */
  uint32_t n_readable;
  uint64_t *writable;  /* the same for writes (xl_gate_xs_writable) */
  uint32_t n_writable;
  /* The native XSAVE family (xl_gate_xs_bind): the CPU's table, the running thread's register-file store, the block's layout. */
  const uint32_t *xs_table;
  uint8_t *xs_store;
  struct xs_image img;
  /* The native vector instructions (xl_gate_vf_bind). */
  struct vf_binding vf;
  /*
   * Adjacent XSAVE-family instructions (XSAVE then XRSTOR): when xs_fast has done one and the next
   * address is the gate's too, no instruction runs before that one's trap (the RIP written here is
   * the next thing unicorn runs, and it is hooked), so unicorn's registers are still what the block
   * and fresh hold: that trap skips the register read. Valid only for that address, for the next
   * hook call of any address, and while JS wrote no register and started no run (ctl->reg_gen).
   */
  uint64_t skip_addr;
  uint32_t skip_gen;
  uint32_t skip_gprs;
  int32_t skip_read_count;
};

static uint32_t slot_of(const struct gate *g, uint64_t a) {
  return (uint32_t)((a * 0x9E3779B97F4A7C15ull) >> 40) & (g->cap - 1);
}

static int find(const struct gate *g, uint64_t a) {
  uint32_t i = slot_of(g, a);
  while (g->keys[i] != 0) {
    if (g->keys[i] == a) return (int)i;
    i = (i + 1) & (g->cap - 1);
  }
  return -1;
}

static int insert(struct gate *g, uint64_t a, const struct desc *d) {
  uint32_t i = slot_of(g, a);
  while (g->keys[i] != 0) {
    if (g->keys[i] == a) return 0;
    i = (i + 1) & (g->cap - 1);
  }
  g->keys[i] = a;
  g->descs[i] = *d;
  g->count++;
  return 1;
}

static const struct desc no_desc = { 0, 0, -1, -1, 0, 0, 0, 0, 0, OBSERVE_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0 };

#define GATE_WRITE_REST 0x80
#define GATE_WIDTH_MASK 0x7f
/*
 * The registers whose slot in the block no compare range covers wholly (RIP, the GPRs): read into
 * fresh, they are copied into the block whatever their value. Without widths (not set yet) a
 * register counts as 16 bytes: uncovered unless a range spans that much.
 */
static void uncovered_update(struct gate *g) {
  int32_t n = 0;
  for (int i = 0; i < g->n_regs; i++) {
    uint32_t off = (uint32_t)((const uint8_t *)g->ptrs[i] - g->block), w = g->widths ? (g->widths[i] & GATE_WIDTH_MASK) : 16, inside = 0;
    for (uint32_t k = 0; k < g->n_cmp && !inside; k++) inside = g->cmp[k].offset <= off && off + w <= g->cmp[k].offset + g->cmp[k].length;
    if (!inside) g->uncovered[n++] = i;
  }
  g->n_uncovered = n;
}

/* Returns NULL when libunicorn is not loaded or memory is short. */
void *xl_gate_new(void *cb, void *ctl, int *ids, void **ptrs, const uint8_t *block, uint32_t block_size, int32_t n_regs, uint32_t gpr_offset, int32_t gpr_first, uint8_t *area, uint32_t area_cap) {
  if (gpr_first < 0 || gpr_first + 16 > n_regs || gpr_offset + 16 * 8 > block_size) return NULL;
  if (!uc_reg_read_batch_p) {
    void *lib = dlopen("libunicorn.so.2", RTLD_NOW | RTLD_NOLOAD);
    if (!lib) return NULL;
    uc_reg_read_batch_p = (reg_batch_fn)dlsym(lib, "uc_reg_read_batch");
    uc_reg_write_batch_p = (reg_batch_fn)dlsym(lib, "uc_reg_write_batch");
    uc_reg_read_p = (reg_fn)dlsym(lib, "uc_reg_read");
    uc_reg_write_p = (reg_write_fn)dlsym(lib, "uc_reg_write");
    uc_mem_read_p = (mem_read_fn)dlsym(lib, "uc_mem_read");
    uc_mem_write_p = (mem_write_fn)dlsym(lib, "uc_mem_write");
    if (!uc_reg_read_batch_p || !uc_reg_write_batch_p || !uc_reg_read_p || !uc_reg_write_p || !uc_mem_read_p || !uc_mem_write_p) {
      uc_reg_read_batch_p = NULL;
      return NULL;
    }
  }
  struct gate *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->cap = 256;
  g->keys = calloc(g->cap, sizeof *g->keys);
  g->descs = calloc(g->cap, sizeof *g->descs);
  if (!g->keys || !g->descs) { free(g->keys); free(g->descs); free(g); return NULL; }
  g->cb = (void (*)(void))cb;
  g->ctl = ctl;
  g->ids = ids;
  g->ptrs = ptrs;
  g->block = block;
  g->gpr_offset = gpr_offset;
  g->gpr_first = gpr_first;
  g->n_regs = n_regs;
  g->fresh = calloc(1, block_size);
  g->entry_end = block_size;
  g->rids = malloc(sizeof *g->rids * (size_t)(n_regs + 16));
  g->rptrs = malloc(sizeof *g->rptrs * (size_t)(n_regs + 16));
  g->uncovered = malloc(sizeof *g->uncovered * (size_t)n_regs);
  if (!g->fresh || !g->rids || !g->rptrs || !g->uncovered) {
    free(g->fresh); free(g->rids); free(g->rptrs); free(g->uncovered); free(g->keys); free(g->descs); free(g);
    return NULL;
  }
  for (int i = 0; i < n_regs; i++) {
    g->rids[i] = ids[i];
    g->rptrs[i] = g->fresh + ((const uint8_t *)ptrs[i] - block);
  }
  uncovered_update(g);
  g->area = area;
  g->area_cap = area_cap;
  return g;
}

/*
 * Sets the compare ranges (triples offset, length, bit; bit < 32): before each register read the gate
 * keeps the block's bytes, after it sets `changed` bit b when a range with bit b differs. What the
 * block held is what JS last read or wrote there, so a clear bit means unicorn left those registers
 * as JS last saw them. Returns the number of ranges set, or -1 when one is out of bounds.
 */
int xl_gate_set_compare(struct gate *g, const uint32_t *triples, uint32_t n, uint32_t block_size) {
  if (n > GATE_MAX_COMPARE) return -1;
  uint32_t end = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t off = triples[3 * k], len = triples[3 * k + 1], bit = triples[3 * k + 2];
    if (bit >= 32 || len == 0 || off > block_size || len > block_size - off) return -1;
    if (off + len > end) end = off + len;
  }
  (void)end;
  for (uint32_t k = 0; k < n; k++) {
    g->cmp[k].offset = triples[3 * k];
    g->cmp[k].length = triples[3 * k + 1];
    g->cmp[k].bit = triples[3 * k + 2];
  }
  g->n_cmp = n;
  uncovered_update(g);
  return (int)n;
}

/*
 * Slot widths of the block's registers (n_regs bytes), for the write-back of changed registers only.
 * GATE_WRITE_REST on a register: once it is written, every later register of the write range is
 * written too (FPSW: the ST registers that follow it are relative to its TOP field).
 */
int xl_gate_set_widths(struct gate *g, const uint8_t *widths) {
  uint8_t *w = malloc((size_t)g->n_regs);
  if (!w) return -1;
  for (int i = 0; i < g->n_regs; i++) {
    size_t off = (size_t)((const uint8_t *)g->ptrs[i] - g->block);
    if (off + (widths[i] & GATE_WIDTH_MASK) > g->entry_end) { free(w); return -1; }
    w[i] = widths[i];
  }
  free(g->widths);
  g->widths = w;
  uncovered_update(g);
  return 0;
}

void xl_gate_free(struct gate *g) {
  if (!g) return;
  free(g->widths);
  free(g->readable);
  free(g->writable);
  free(g->fresh);
  free(g->rids);
  free(g->rptrs);
  free(g->uncovered);
  free(g->keys);
  free(g->descs);
  free(g);
}

/* Returns 1 when added, 0 when present, -1 on allocation failure or address 0. */
int xl_gate_add(struct gate *g, uint64_t a) {
  if (a == 0) return -1;
  if ((g->count + 1) * 2 > g->cap) {
    uint64_t *old = g->keys;
    struct desc *olddescs = g->descs;
    uint32_t oldcap = g->cap;
    uint64_t *keys = calloc((size_t)oldcap * 2, sizeof *keys);
    struct desc *descs = calloc((size_t)oldcap * 2, sizeof *descs);
    if (!keys || !descs) { free(keys); free(descs); return -1; }
    g->keys = keys;
    g->descs = descs;
    g->cap = oldcap * 2;
    g->count = 0;
    for (uint32_t i = 0; i < oldcap; i++) if (old[i]) insert(g, old[i], &olddescs[i]);
    free(old);
    free(olddescs);
  }
  return insert(g, a, &no_desc);
}

/* Backward-shift deletion keeps every probe chain intact. Returns 1 when removed. */
int xl_gate_remove(struct gate *g, uint64_t a) {
  uint32_t m = g->cap - 1;
  int found = find(g, a);
  if (found < 0) return 0;
  uint32_t i = (uint32_t)found;
  g->keys[i] = 0;
  g->count--;
  for (uint32_t j = (i + 1) & m; g->keys[j] != 0; j = (j + 1) & m) {
    uint32_t h = slot_of(g, g->keys[j]);
    /* Move keys[j] into the hole at i unless its home slot lies cyclically in (i, j]. */
    if (((j - h) & m) >= ((j - i) & m)) {
      g->keys[i] = g->keys[j];
      g->descs[i] = g->descs[j];
      g->keys[j] = 0;
      i = j;
    }
  }
  return 1;
}

int xl_gate_has(const struct gate *g, uint64_t a) { return find(g, a) >= 0; }

/* Sets what the gate does before calling JS at `a` (present in the set). Returns 1, or 0 when absent. */
int xl_gate_describe(struct gate *g, uint64_t a, int32_t read_count, uint32_t gpr_mask, int32_t base, int32_t index, int32_t scale_log2, int32_t seg, int64_t disp, uint32_t pf_from, uint32_t pf_to) {
  int i = find(g, a);
  if (i < 0) return 0;
  struct desc *d = &g->descs[i];
  if (read_count > g->n_regs) read_count = g->n_regs;
  d->read_count = read_count;
  d->gpr_mask = gpr_mask & 0xffff;
  d->base = (int8_t)base;
  d->index = (int8_t)index;
  d->scale_log2 = (uint8_t)scale_log2;
  d->seg = (uint8_t)seg;
  d->disp = disp;
  if (pf_to > g->area_cap) pf_to = g->area_cap;
  d->pf_from = pf_from;
  d->pf_to = pf_to > pf_from ? pf_to : pf_from;
  return 1;
}

/*
 * Adds `a` as an observed x87 instruction: the hook records its address (and, for a memory operand,
 * the operand's effective address from base + index << scale + disp, GPR indexes 0-15 or -1) in the
 * control block and returns without calling JS. Returns 1 when added or updated, -1 on failure.
 */
int xl_gate_observe(struct gate *g, uint64_t a, int32_t kind, int32_t base, int32_t index, int32_t scale_log2, int64_t disp, int32_t addr32) {
  if (kind <= OBSERVE_NONE || kind > OBSERVE_SSE_WRITE) return -1;
  if (kind == OBSERVE_SSE_WRITE && (base < 0 || base > 15)) return -1;
  if (find(g, a) < 0 && xl_gate_add(g, a) < 0) return -1;
  struct desc *d = &g->descs[find(g, a)];
  *d = no_desc;
  d->observe = (uint8_t)kind;
  d->base = (int8_t)base;
  d->index = (int8_t)index;
  d->scale_log2 = (uint8_t)scale_log2;
  d->disp = disp;
  d->addr32 = addr32 != 0;
  return 1;
}

/* The observed instruction at `address` is about to run: record it (SDM Vol. 1 8.1.8, 8.1.9). */
static void observe_x87(void *uc, const struct gate *g, const struct desc *d, uint64_t address) {
  struct gate_ctl *c = g->ctl;
  if (d->observe == OBSERVE_X87_INIT) {
    c->x87_ip = c->x87_mem_ip = c->x87_fdp = 0;
    c->x87_events |= X87_EVENT_IP | X87_EVENT_MEM;
    return;
  }
  c->x87_ip = address;
  c->x87_events |= X87_EVENT_IP;
  if (d->observe != OBSERVE_X87_MEM) return;
  uint64_t ea = (uint64_t)d->disp, v = 0;
  if (d->base >= 0 && uc_reg_read_p(uc, g->ids[g->gpr_first + d->base], &v) == 0) ea += v;
  v = 0;
  if (d->index >= 0 && uc_reg_read_p(uc, g->ids[g->gpr_first + d->index], &v) == 0) ea += v << d->scale_log2;
  c->x87_mem_ip = address;
  c->x87_fdp = d->addr32 ? (uint32_t)ea : ea;
  c->x87_events |= X87_EVENT_MEM;
}

static uint64_t gpr(const struct gate *g, int k) {
  uint64_t v;
  memcpy(&v, g->block + g->gpr_offset + 8 * (uint32_t)k, 8);
  return v;
}


/*
 * The legacy SSE floating-point fast path (emulator/vector/float-legacy.ts legacyFastPath describes
 * the instruction): the gate reads the operands from unicorn, computes them with the floating-point
 * kernel (sse-float.c, the same code the JS path calls) under the guest's MXCSR, and writes the
 * destination, MXCSR (flags), EFLAGS (COMIS) and RIP. Whatever it cannot finish (an unmasked
 * exception, a misaligned or unreadable memory operand) it leaves untouched and returns 0: the JS
 * path then runs the instruction and raises the fault. Equivalent to unicorn running the
 * instruction (the model sees the new XMM and MXCSR values at its next trap, like any SSE write)
 * but with MXCSR's exception flags.
 */
#include "sse-float.c"
enum { FP_PACKED = 1, FP_PACKED_UNARY, FP_SCALAR, FP_SCALAR_UNARY, FP_COMI, FP_CVT_PACKED, FP_CVT_SCALAR, FP_CVT_TO_GPR };
enum { FP_SRC_XMM = 0, FP_SRC_MEM, FP_SRC_GPR };
/* EFLAGS bits COMIS writes (SDM Vol. 2A COMISS): ZF PF CF from the compare; OF SF AF cleared. */
#define EFL_COMIS_MASK 0x8d5u

static int fp_readable(const struct gate *g, uint64_t a, uint32_t len) {
  uint32_t lo = 0, hi = g->n_readable;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (g->readable[2 * mid + 1] <= a) lo = mid + 1; else hi = mid;
  }
  return lo < g->n_readable && g->readable[2 * lo] <= a && a + len <= g->readable[2 * lo + 1] && a + len > a;
}

static int fp_fast(void *uc, struct gate *g, const struct desc *d, uint64_t address) {
  uint8_t dst[16], src[16], out[16];
  uint32_t mxcsr;
  if (uc_reg_read_p(uc, g->fp_mxcsr, &mxcsr) != 0) return 0;
  if (d->fp_shape != FP_CVT_TO_GPR && uc_reg_read_p(uc, g->fp_xmm0 + d->fp_dst, dst) != 0) return 0;
  memset(src, 0, sizeof src);
  if (d->fp_src_kind == FP_SRC_XMM) { uint8_t t[16]; if (uc_reg_read_p(uc, g->fp_xmm0 + d->fp_src, t) != 0) return 0; memcpy(src, t, d->fp_src_len); }
  else if (d->fp_src_kind == FP_SRC_GPR) { uint64_t v; if (uc_reg_read_p(uc, g->ids[g->gpr_first + d->fp_src], &v) != 0) return 0; memcpy(src, &v, d->fp_src_len); }
  else {
    uint64_t ea = (uint64_t)d->fp_disp, v;
    if (d->fp_base >= 0) { if (uc_reg_read_p(uc, g->ids[g->gpr_first + d->fp_base], &v) != 0) return 0; ea += v; }
    if (d->fp_index >= 0) { if (uc_reg_read_p(uc, g->ids[g->gpr_first + d->fp_index], &v) != 0) return 0; ea += v << d->fp_scale_log2; }
    if (d->fp_seg) { uint64_t base; if (uc_reg_read_p(uc, d->fp_seg == 1 ? UC_X86_REG_FS_BASE : UC_X86_REG_GS_BASE, &base) != 0) return 0; ea += base; }
    if (d->fp_align && (ea & 15)) return 0;
    /* uc_mem_read ignores page permissions: only ranges the machine says are readable (else JS faults). */
    if (!fp_readable(g, ea, d->fp_src_len)) return 0;
    if (uc_mem_read_p(uc, ea, src, d->fp_src_len) != 0) return 0;
  }
  memset(out, 0, sizeof out);
  const uint8_t *a, *b = NULL;
  switch (d->fp_shape) {
    case FP_PACKED: case FP_SCALAR: case FP_COMI: a = dst; b = src; break;
    default: a = src; break;
  }
  uint32_t mask = d->fp_n >= 32 ? 0xffffffffu : (1u << d->fp_n) - 1;
  uint32_t fl = xl_fp_run(d->fp_op, d->fp_n, a, b, NULL, out, mxcsr, d->fp_imm, mask, 0);
  if (fl & ~(mxcsr >> 7) & 0x3fu) return 0; /* unmasked: the JS path raises #XM */
  int es = (d->fp_op >> 12 & 15) == 1 || (d->fp_op >> 12 & 15) == 3 || (d->fp_op >> 12 & 15) == 5 ? 8 : 4;
  switch (d->fp_shape) {
    case FP_PACKED: case FP_PACKED_UNARY: case FP_CVT_PACKED: memcpy(dst, out, 16); break;
    case FP_SCALAR: case FP_SCALAR_UNARY: case FP_CVT_SCALAR: memcpy(dst, out, (size_t)es); break;
    case FP_COMI: {
      uint64_t efl;
      if (uc_reg_read_p(uc, g->fp_eflags, &efl) != 0) return 0;
      efl = (efl & ~(uint64_t)EFL_COMIS_MASK) | out[0];
      uc_reg_write_p(uc, g->fp_eflags, &efl);
      break;
    }
    case FP_CVT_TO_GPR: {
      uint64_t v = 0;
      memcpy(&v, out, (size_t)es); /* a 32-bit destination zero-extends (SDM Vol. 1 3.4.1.1) */
      uc_reg_write_p(uc, g->ids[g->gpr_first + d->fp_dst], &v);
      break;
    }
  }
  if (d->fp_shape != FP_COMI && d->fp_shape != FP_CVT_TO_GPR) {
    uc_reg_write_p(uc, g->fp_xmm0 + d->fp_dst, dst);
    /* A write puts SSE in use whatever the value (measured: XGETBV(1) after ADDPS of zeros): the same
       event as an observed SSE write, which the model applies at its next look (machine.ts applySseEvents). */
    g->ctl->x87_events |= 1u << (SSE_EVENT_SHIFT + (uint32_t)d->fp_dst);
  }
  if ((mxcsr | fl) != mxcsr) { mxcsr |= fl; uc_reg_write_p(uc, g->fp_mxcsr, &mxcsr); }
  uint64_t next = address + d->fp_len;
  uc_reg_write_p(uc, UC_X86_REG_RIP, &next);
  return 1;
}

/* Unicorn ids of XMM0 (XMMk = xmm0 + k), MXCSR and EFLAGS: turns the fp fast path on. */
void xl_gate_fp_regs(struct gate *g, int32_t xmm0, int32_t mxcsr, int32_t eflags) { g->fp_xmm0 = xmm0; g->fp_mxcsr = mxcsr; g->fp_eflags = eflags; }

/* Describes `a` (present in the set) for the fp fast path; shape 0 turns it off. Returns 1, or 0 when absent. */
int xl_gate_fp(struct gate *g, uint64_t a, int32_t shape, uint32_t op, int32_t n, int32_t dst, int32_t src_kind, int32_t src, int32_t src_len, int32_t align, int32_t imm,
               int32_t base, int32_t index, int32_t scale_log2, int32_t seg, int64_t disp, int32_t len) {
  int i = find(g, a);
  if (i < 0) return 0;
  struct desc *d = &g->descs[i];
  d->fp_shape = (uint8_t)shape; d->fp_op = op; d->fp_n = (uint8_t)n; d->fp_dst = (uint8_t)dst; d->fp_src_kind = (uint8_t)src_kind;
  d->fp_src = (uint8_t)src; d->fp_src_len = (uint8_t)src_len; d->fp_align = (uint8_t)align; d->fp_imm = (uint8_t)imm;
  d->fp_base = (int8_t)base; d->fp_index = (int8_t)index; d->fp_scale_log2 = (uint8_t)scale_log2; d->fp_seg = (uint8_t)seg; d->fp_disp = disp;
  d->fp_len = (uint8_t)len;
  return 1;
}

/* The guest's readable memory as ascending [start, end) pairs (adjacent ranges may be merged). Returns 0, or -1 when out of memory. */
int xl_gate_fp_readable(struct gate *g, const uint64_t *pairs, uint32_t n) {
  uint64_t *r = n ? malloc(sizeof *r * 2 * n) : NULL;
  if (n && !r) return -1;
  if (n) memcpy(r, pairs, sizeof *r * 2 * n);
  free(g->readable);
  g->readable = r;
  g->n_readable = n;
  return 0;
}

/* Writes block registers [first, first + count) back to unicorn: those read before (< read_count) only when they changed. */
/*
 * Whether n bytes differ. The gate compares registers (2 to 16 bytes) dozens of times per trap, and a
 * call to memcmp for each cost about 6% of a trapped XSAVE+XRSTOR pair (perf, bench guest loop): the
 * register sizes are compared inline, other sizes with memcmp.
 */
static inline int bytes_differ(const uint8_t *a, const uint8_t *b, uint32_t n) {
  uint64_t x0, y0, x1, y1;
  uint32_t u, v;
  uint16_t h, k;
  switch (n) {
  case 16: memcpy(&x0, a, 8); memcpy(&y0, b, 8); memcpy(&x1, a + 8, 8); memcpy(&y1, b + 8, 8); return ((x0 ^ y0) | (x1 ^ y1)) != 0;
  case 10: memcpy(&x0, a, 8); memcpy(&y0, b, 8); memcpy(&h, a + 8, 2); memcpy(&k, b + 8, 2); return x0 != y0 || h != k;
  case 8: memcpy(&x0, a, 8); memcpy(&y0, b, 8); return x0 != y0;
  case 4: memcpy(&u, a, 4); memcpy(&v, b, 4); return u != v;
  case 2: memcpy(&h, a, 2); memcpy(&k, b, 2); return h != k;
  default: return memcmp(a, b, n) != 0;
  }
}

/* Whether any compare range differs between fresh and the block. */
static int ranges_differ(const struct gate *g) {
  for (uint32_t k = 0; k < g->n_cmp; k++) {
    const struct compare_range *r = &g->cmp[k];
    const uint8_t *f = g->fresh + r->offset, *b = g->block + r->offset;
    if (r->length == 16) {
      uint64_t x0, y0, x1, y1;
      memcpy(&x0, f, 8); memcpy(&y0, b, 8); memcpy(&x1, f + 8, 8); memcpy(&y1, b + 8, 8);
      if ((x0 ^ y0) | (x1 ^ y1)) return 1;
    } else if (bytes_differ(f, b, r->length)) return 1;
  }
  return 0;
}

/* Whether register i's slot lies within a compare range (not in `uncovered`). */
static int is_covered(const struct gate *g, int32_t i) {
  for (int32_t j = 0; j < g->n_uncovered; j++) {
    if (g->uncovered[j] == i) return 0;
    if (g->uncovered[j] > i) break;
  }
  return 1;
}

static void write_back(void *uc, struct gate *g, int first, int count, int read_count) {
  {
    int end = first + count;
    if (first < 0 || end > g->n_regs) { /* JS asked for registers the block does not have */ }
    else if (!g->widths) uc_reg_write_batch_p(uc, g->ids + first, g->ptrs + first, count);
    else {
      int rest = 0;
      /*
       * The common case after a restore that changed nothing unicorn holds: no compare range differs
       * from what was read, so every register that a range covers and that was read is left alone,
       * found with the ranges' few wide compares instead of a compare per register.
       */
      int skip_covered = read_count > 0 && !ranges_differ(g);
      for (int i = first; i < end; i++) {
        if (skip_covered && i < read_count && is_covered(g, i)) continue;
        size_t off = (size_t)((const uint8_t *)g->ptrs[i] - g->block);
        /* Registers read before the callback and left as read are not written again. */
        if (!rest && i < read_count && !bytes_differ(g->fresh + off, g->block + off, g->widths[i] & GATE_WIDTH_MASK)) continue;
        uc_reg_write_p(uc, g->ids[i], g->ptrs[i]);
        /* fresh stays what unicorn holds (the next trap's read may be skipped: skip_addr). */
        if (i < read_count) memcpy(g->fresh + off, g->block + off, g->widths[i] & GATE_WIDTH_MASK);
        if (g->widths[i] & GATE_WRITE_REST) rest = 1;
      }
    }
  }
}

/*
 * The XSAVE family without a JS call (xsave-fast.c over the running thread's register-file store).
 * Runs after the gate's register reads, when the block mirrors the model (c->xs_mirror, set by the
 * machine) and no x87 register changed since JS last saw it (then machine.ts absorb would only copy
 * the XMM registers and MXCSR that changed, done here the same way), no x87 event is pending, and
 * the area lies in guest memory the guest may read (and, for saves, write). Guest memory is reached
 * with uc_mem_read/uc_mem_write (unicorn 2.0.1 owns the pages: uc_mem_map, no host pointer to them):
 * a save reads XSTATE_BV and writes only the ranges it wrote; a restore reads the header and legacy
 * region, then the bytes it loads. Returns 0 without a side effect on the guest when it cannot: the
 * JS path then runs the instruction (it may have absorbed the SSE registers into the model already,
 * which JS's absorb then finds equal).
 */
static int in_ranges(const uint64_t *r, uint32_t n, uint64_t a, uint64_t len) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (r[2 * mid + 1] <= a) lo = mid + 1; else hi = mid;
  }
  return lo < n && r[2 * lo] <= a && a + len <= r[2 * lo + 1] && a + len >= a;
}

/* machine.ts absorb with the block mirroring the model and x87 unchanged: XMM registers and MXCSR. */
static void xs_absorb_sse(struct gate *g, uint32_t changed) {
  const uint32_t *t = g->xs_table;
  uint8_t *L = g->xs_store;
  uint32_t *w = (uint32_t *)(void *)(L + t[XT_STATE_WORDS]);
  uint32_t sse = t[XT_SSE], xmm0 = t[XT_LEGACY_XMM0], mx = t[XT_LEGACY_MXCSR];
  uint32_t bytes = t[XT_XMM_BYTES_64BIT] / 16;
  for (uint32_t n = 0; n < 16; n++) {
    if (!(changed >> n & 1)) continue;
    uint32_t o = xmm0 + n * bytes;
    if (!bytes_differ(L + o, g->block + o, bytes)) continue;
    memcpy(L + o, g->block + o, bytes);
    /* register-file.ts setRegInUse (tracking CPUs) and touched(SSE, true) */
    if (t[XT_Q_TRACKS_ZERO_REGISTERS]) w[SW_REGS_IN_USE + __builtin_ctz(sse)] |= 1u << n;
    w[SW_KNOWN_ZERO] &= ~sse;
    w[SW_XINUSE] |= sse;
    w[SW_XMODIFIED] |= sse;
  }
  memcpy(L + mx, g->block + mx, 4);
  /* Observed SSE writes since JS last looked (machine.ts applySseEvents): in use whatever the value. */
  uint32_t written = g->ctl->x87_events >> SSE_EVENT_SHIFT;
  if (written) {
    g->ctl->x87_events &= (1u << SSE_EVENT_SHIFT) - 1;
    if (t[XT_Q_TRACKS_ZERO_REGISTERS]) w[SW_REGS_IN_USE + __builtin_ctz(sse)] |= written;
    w[SW_KNOWN_ZERO] &= ~sse;
    w[SW_XINUSE] |= sse;
    w[SW_XMODIFIED] |= sse;
  }
}

/*
 * machine.ts absorb's x87 half when the x87 compare ranges changed: it takes FCW, FSW (ES and B as
 * the flags and masks make them, x87-env.ts fswWithSummary), the abridged tag and ST0-7 from the
 * block, and ignores the pointers (the model's own). Returns 1 when those equal the model's (only
 * pointer fields differed: absorb would change nothing), 0 when the model must absorb them.
 */
static int xs_x87_unchanged(const struct gate *g) {
  const uint32_t *t = g->xs_table;
  const uint8_t *L = g->xs_store, *I = g->block;
  uint32_t fcw = rd16(I + t[XT_LEGACY_FCW]), fsw = rd16(I + t[XT_LEGACY_FSW]), esb = t[XT_FSW_ES] | t[XT_FSW_B];
  fsw = (fsw & t[XT_FSW_EXCEPTIONS] & ~fcw) ? (fsw | esb) & 0xffff : fsw & ~esb & 0xffff;
  if (fcw != rd16(L + t[XT_LEGACY_FCW]) || fsw != rd16(L + t[XT_LEGACY_FSW])) return 0;
  uint32_t ftag = rd16(I + g->img.ftag), abridged = 0;
  for (int i = 0; i < 8; i++) if ((ftag >> (2 * i) & 3) != g->img.tag_empty) abridged |= 1u << i;
  if (abridged != L[t[XT_LEGACY_FTW]]) return 0;
  return memcmp(L + t[XT_LEGACY_ST0], I + t[XT_LEGACY_ST0], t[XT_LEGACY_XMM0] - t[XT_LEGACY_ST0]) == 0;
}

/* machine.ts fillImage(true): the model's x87/SSE state into the block, as unicorn takes it. */
static void xs_fill_image(struct gate *g) {
  const uint32_t *t = g->xs_table;
  const uint8_t *L = g->xs_store;
  const uint32_t *w = (const uint32_t *)(const void *)(L + t[XT_STATE_WORDS]);
  uint8_t *I = (uint8_t *)g->block;
  uint32_t xmm0 = t[XT_LEGACY_XMM0], mx = t[XT_LEGACY_MXCSR], st0 = t[XT_LEGACY_ST0], stride = t[XT_LEGACY_ST_STRIDE], stb = t[XT_LEGACY_ST_BYTES];
  memcpy(I + xmm0, L + xmm0, t[XT_LEGACY_END_OF_SAVED] - xmm0);
  memcpy(I + mx, L + mx, 4);
  memcpy(I, L, mx);
  for (uint32_t o = st0; o < xmm0; o += stride) { memcpy(I + o, L + o, stb); memset(I + o + stb, 0, stride - stb); }
  uint32_t abridged = L[t[XT_LEGACY_FTW]], tag = 0;
  for (int i = 0; i < 8; i++) if (!(abridged >> i & 1)) tag |= g->img.tag_empty << (2 * i);
  wr16(I + g->img.ftag, tag);
  wr16(I + g->img.fcs, w[SW_FCS]);
  wr16(I + g->img.fds, w[SW_FDS]);
}

/* Sorts and merges the written ranges (adjacent ones too): fewer uc_mem_write calls. */
static void xs_merge(struct xs_ranges *wr) {
  for (uint32_t i = 1; i < wr->n; i++) {
    uint32_t f = wr->r[2 * i], e = wr->r[2 * i + 1], j = i;
    while (j > 0 && wr->r[2 * (j - 1)] > f) { wr->r[2 * j] = wr->r[2 * (j - 1)]; wr->r[2 * j + 1] = wr->r[2 * (j - 1) + 1]; j--; }
    wr->r[2 * j] = f;
    wr->r[2 * j + 1] = e;
  }
  uint32_t m = 0;
  for (uint32_t i = 0; i < wr->n; i++) {
    if (m && wr->r[2 * i] <= wr->r[2 * (m - 1) + 1]) { if (wr->r[2 * i + 1] > wr->r[2 * (m - 1) + 1]) wr->r[2 * (m - 1) + 1] = wr->r[2 * i + 1]; continue; }
    wr->r[2 * m] = wr->r[2 * i];
    wr->r[2 * m + 1] = wr->r[2 * i + 1];
    m++;
  }
  wr->n = m;
}

static int xs_fast(void *uc, struct gate *g, const struct desc *d, uint64_t address) {
  struct gate_ctl *c = g->ctl;
  const uint32_t *t = g->xs_table;
  /* Pending x87 events need JS (the pointers); pending SSE-write events are applied by xs_absorb_sse. */
  if (!g->xs_store || c->xs_mirror != 1 || (c->x87_events & ((1u << SSE_EVENT_SHIFT) - 1)) || c->read_count < (int32_t)g->img.all_count) return 0;
  if ((c->changed & g->img.changed_x87_bits) && !xs_x87_unchanged(g)) return 0;
  uint32_t need = 1u << 0 | 1u << 2; /* EAX, EDX (encoding order 0 and 2) */
  if (d->base >= 0) need |= 1u << d->base;
  if (d->index >= 0) need |= 1u << d->index;
  if ((c->gprs_read & need) != need) return 0;
  uint64_t ea = (uint64_t)d->disp;
  if (d->base >= 0) ea += gpr(g, d->base);
  if (d->index >= 0) ea += gpr(g, d->index) << d->scale_log2;
  if (d->seg) {
    uint64_t base = 0;
    if (uc_reg_read_p(uc, d->seg == 1 ? UC_X86_REG_FS_BASE : UC_X86_REG_GS_BASE, &base) != 0) return 0;
    ea += base;
  }
  uint32_t eax = (uint32_t)gpr(g, 0), edx = (uint32_t)gpr(g, 2);
  int op = d->xs_op;
  uint32_t ext = t[XT_EXTENDED];
  if (op <= XS_OP_XSAVES) {
    uint32_t n = xl_xs_save_size(t, g->xs_store, op, eax);
    if (n > g->area_cap || !in_ranges(g->readable, g->n_readable, ea, n) || !in_ranges(g->writable, g->n_writable, ea, n)) return 0;
    /*
     * The whole area in, the span of the written ranges out: two calls instead of one per range
     * (each call looks the mapping up: measured about 20-30 ns per call, the copies about 10 ns per KiB).
     * Bytes in the span the save does not write go back as they were read (one guest thread runs at a time).
     */
    if (uc_mem_read_p(uc, ea, g->area, n) != 0) return 0;
    xs_absorb_sse(g, c->changed);
    struct xs_ranges wr;
    if (xl_xs_save(t, g->xs_store, op, g->area, ea, eax, edx, d->xs_rexw, &wr) != XS_DONE || wr.overflow) return 0;
    xs_merge(&wr);
    if (wr.n) uc_mem_write_p(uc, ea + wr.r[0], g->area + wr.r[0], wr.r[2 * wr.n - 1] - wr.r[0]);
  } else {
    /* Usually one read: the standard-format size for RFBM (what the last restore here read would do as well), then what the header says is missing. */
    uint32_t guess = xl_xs_save_size(t, g->xs_store, XS_OP_XSAVE, eax);
    if (guess < ext) guess = ext;
    if (guess > g->area_cap || !in_ranges(g->readable, g->n_readable, ea, guess)) guess = ext;
    if (ext > g->area_cap || !in_ranges(g->readable, g->n_readable, ea, ext)) return 0;
    if (uc_mem_read_p(uc, ea, g->area, guess) != 0) return 0;
    uint32_t reads;
    uint32_t n = xl_xs_restore_size(t, g->xs_store, op, g->area, eax, &reads);
    if (reads < n) reads = n;
    if (reads > g->area_cap || !in_ranges(g->readable, g->n_readable, ea, reads)) return 0;
    if (reads > guess && uc_mem_read_p(uc, ea + guess, g->area + guess, reads - guess) != 0) return 0;
    xs_absorb_sse(g, c->changed);
    if (xl_xs_restore(t, g->xs_store, op, g->area, ea, eax, edx, d->xs_rexw) != XS_DONE) return 0;
    xs_fill_image(g);
    write_back(uc, g, 0, (int)g->img.all_count, c->read_count);
  }
  uint64_t next = address + d->xs_len;
  uc_reg_write_p(uc, UC_X86_REG_RIP, &next);
  c->xs_done++;
  if (g->widths && find(g, next) >= 0) { g->skip_addr = next; g->skip_gen = c->reg_gen; g->skip_gprs = c->gprs_read; g->skip_read_count = c->read_count; }
  return 1;
}

/*
 * Binds the native XSAVE family: the CPU's table (xsave-native.ts xsaveTable), the running thread's
 * register-file store (NULL: off), and the block's layout (machine.ts IMG_FTAG, IMG_FCS, IMG_FDS,
 * SYNC_ALL_COUNT, X87_TAG_EMPTY, the CHANGED bits of the x87 compare ranges). Both buffers must
 * outlive the binding (the machine keeps them).
 */
void xl_gate_xs_bind(struct gate *g, const uint32_t *table, uint8_t *store, uint32_t ftag, uint32_t fcs, uint32_t fds, uint32_t all_count, uint32_t tag_empty, uint32_t changed_x87_bits) {
  g->xs_table = table;
  g->xs_store = table ? store : NULL;
  g->img.ftag = ftag; g->img.fcs = fcs; g->img.fds = fds; g->img.all_count = all_count; g->img.tag_empty = tag_empty; g->img.changed_x87_bits = changed_x87_bits;
}

/* Marks `a` (present) for the native XSAVE family: op (xsave-fast.c XS_OP_*, 0 off), REX.W and the instruction's length. Returns 1, or 0 when absent. */
int xl_gate_xs_describe(struct gate *g, uint64_t a, int32_t op, int32_t rexw, int32_t len) {
  int i = find(g, a);
  if (i < 0 || len <= 0 || len > 15) return 0;
  g->descs[i].xs_len = (uint8_t)len;
  g->descs[i].xs_op = (uint8_t)op;
  g->descs[i].xs_rexw = rexw != 0;
  return 1;
}

/* The guest's writable memory as ascending [start, end) pairs. Returns 0, or -1 when out of memory. */
int xl_gate_xs_writable(struct gate *g, const uint64_t *pairs, uint32_t n) {
  uint64_t *r = n ? malloc(sizeof *r * 2 * n) : NULL;
  if (n && !r) return -1;
  if (n) memcpy(r, pairs, sizeof *r * 2 * n);
  free(g->writable);
  g->writable = r;
  g->n_writable = n;
  return 0;
}

/*
 * Vector and opmask instructions without a JS call (vector-fast.c vf_gate_run over the running
 * thread's register-file store): after the gate's register reads, like xs_fast.
 */
static int vf_fast(void *uc, struct gate *g, const struct desc *d, uint64_t address) {
  if (!g->fp_xmm0 || !vf_ready(&g->vf, &d->vf)) return 0;
  /* Only the operands' XMM registers are read (the descriptor reads none): the block keeps mirroring the model for the others. */
  uint32_t regs = vf_sse_operands(&d->vf), xb = g->vf.table[VT_XMM_BYTES];
  uint8_t *img = (uint8_t *)g->block + g->vf.img_xmm0;
  for (uint32_t m = regs; m; m &= m - 1) {
    uint32_t n = (uint32_t)__builtin_ctz(m);
    if (uc_reg_read_p(uc, g->fp_xmm0 + (int)n, img + n * xb) != 0) return 0;
  }
  int r = vf_gate_run(&g->vf, &d->vf, (uint8_t *)g->block, regs, &g->ctl->x87_events, SSE_EVENT_SHIFT);
  if (r < 0) return 0;
  if (r & VF_XMM_CHANGED) { uint32_t n = (uint32_t)r & 15; uc_reg_write_p(uc, g->fp_xmm0 + (int)n, img + n * xb); }
  uint64_t next = address + d->vf.len;
  uc_reg_write_p(uc, UC_X86_REG_RIP, &next);
  return 1;
}

/* Binds the native vector path: the CPU's tables (vector-native.ts), the thread's store (NULL: off), where the block keeps XMM0 (registers XMM_BYTES apart, as in the store). */
void xl_gate_vf_bind(struct gate *g, const uint32_t *table, const uint32_t *accept, uint8_t *store, uint32_t img_xmm0) {
  g->vf.table = table; g->vf.accept = accept; g->vf.store = table && accept ? store : NULL;
  g->vf.img_xmm0 = img_xmm0;
}

/* Decodes the instruction bytes at `a` (present) with the bound acceptance table: 1 when the gate does it from now on, 0 when not (absent, unbound or not accepted). */
int xl_gate_vf_describe(struct gate *g, uint64_t a, const uint8_t *bytes, uint32_t n) {
  int i = find(g, a);
  if (i < 0) return 0;
  memset(&g->descs[i].vf, 0, sizeof g->descs[i].vf);
  if (!g->vf.accept || !xl_vf_decode(g->vf.accept, bytes, n, &g->descs[i].vf)) return 0;
  return 1;
}

/* Vector instructions the gate did natively. */
uint64_t xl_gate_vf_done(const struct gate *g) { return g->vf.done; }

/*
 * Step 1: the first d->read_count registers into fresh and the GPRs of d->gpr_mask (beyond them)
 * into the block, in one uc_reg_read_batch (each unicorn call costs its entry checks); then the
 * compare ranges that differ from the block set their CHANGED bit and are copied into it, as are
 * the read registers no range covers. The block then holds unicorn's values for every register
 * read, as if read there, and fresh is the write-back's reference.
 */
static void read_registers(void *uc, struct gate *g, const struct desc *d) {
  struct gate_ctl *c = g->ctl;
  int32_t rc = d->read_count > 0 ? d->read_count : 0;
  uint32_t extra = rc >= g->gpr_first + 16 ? 0 : d->gpr_mask;
  int32_t n = rc;
  for (uint32_t m = extra; m; m &= m - 1) {
    int k = g->gpr_first + __builtin_ctz(m);
    if (k < rc) continue;
    g->rids[n] = g->ids[k];
    g->rptrs[n] = g->ptrs[k];
    n++;
  }
  if (n == 0) return;
  int ok = uc_reg_read_batch_p(uc, g->rids, g->rptrs, n) == 0;
  /* Put the list back as xl_gate_new made it (ids and fresh slots). */
  for (int32_t i = rc; i < n && i < g->n_regs; i++) { g->rids[i] = g->ids[i]; g->rptrs[i] = g->fresh + ((const uint8_t *)g->ptrs[i] - g->block); }
  if (!ok) return;
  if (rc > 0) {
    c->read_count = rc;
    uint32_t changed = 0;
    for (uint32_t k = 0; k < g->n_cmp; k++) {
      const struct compare_range *r = &g->cmp[k];
      const uint8_t *f = g->fresh + r->offset;
      uint8_t *b = (uint8_t *)g->block + r->offset;
      if (r->length == 16) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, f, 8); memcpy(&y0, b, 8); memcpy(&x1, f + 8, 8); memcpy(&y1, b + 8, 8);
        if (!((x0 ^ y0) | (x1 ^ y1))) continue;
        memcpy(b, f, 16);
      } else {
        if (!bytes_differ(f, b, r->length)) continue;
        memcpy(b, f, r->length);
      }
      changed |= 1u << r->bit;
    }
    c->changed = changed;
    for (int32_t j = 0; j < g->n_uncovered; j++) {
      int32_t i = g->uncovered[j];
      if (i >= rc) break;
      uint32_t off = (uint32_t)((const uint8_t *)g->ptrs[i] - g->block);
      memcpy((uint8_t *)g->block + off, g->fresh + off, g->widths ? (g->widths[i] & GATE_WIDTH_MASK) : 16);
    }
  }
  c->gprs_read = rc >= g->gpr_first + 16 ? 0xffff : (extra & 0xffff);
}

static void gate_hook(void *uc, uint64_t address, uint32_t size, void *user_data) {
  struct gate *g = user_data;
  int skip = address == g->skip_addr && g->ctl->reg_gen == g->skip_gen;
  g->skip_addr = 0;
  int slot = find(g, address);
  if (slot < 0) return;
  const struct desc d = g->descs[slot]; /* a copy: JS may re-describe or remove the address */
  if (d.observe == OBSERVE_SSE_WRITE) { g->ctl->x87_events |= 1u << (SSE_EVENT_SHIFT + (uint32_t)d.base); return; }
  if (d.observe) { observe_x87(uc, g, &d, address); return; }
  if (d.fp_shape && g->fp_xmm0 && fp_fast(uc, g, &d, address)) return;
  struct gate_ctl *c = g->ctl;
  c->address = address;
  c->read_count = 0;
  c->pf_status = 0;
  c->write_count = 0;
  c->n_writes = 0;
  c->write_rip = 0;
  c->changed = 0xffffffffu;
  c->gprs_read = 0;
  if (skip && d.xs_op && d.read_count > 0 && d.read_count <= g->skip_read_count && (d.gpr_mask & ~g->skip_gprs) == 0) {
    /* Nothing ran since the last trap (skip_addr): the block and fresh hold unicorn's registers. */
    c->read_count = d.read_count;
    c->changed = 0;
    c->gprs_read = g->skip_gprs;
  } else read_registers(uc, g, &d);
  if (d.xs_op && xs_fast(uc, g, &d, address)) return;
  if (d.vf.word && vf_fast(uc, g, &d, address)) return;
  uint32_t need = 0;
  if (d.base >= 0) need |= 1u << d.base;
  if (d.index >= 0) need |= 1u << d.index;
  if (d.pf_to > d.pf_from && (c->gprs_read & need) == need) {
    uint64_t ea = (uint64_t)d.disp;
    if (d.base >= 0) ea += gpr(g, d.base);
    if (d.index >= 0) ea += gpr(g, d.index) << d.scale_log2;
    int ok = 1;
    if (d.seg) {
      uint64_t base = 0;
      ok = uc_reg_read_p(uc, d.seg == 1 ? UC_X86_REG_FS_BASE : UC_X86_REG_GS_BASE, &base) == 0;
      ea += base;
    }
    /* Without the segment base the address is unknown: no window, and JS computes the address. */
    if (ok) {
      c->mem_addr = ea;
      c->pf_from = d.pf_from;
      c->pf_to = d.pf_to;
      c->pf_status = uc_mem_read_p(uc, ea + d.pf_from, g->area + d.pf_from, d.pf_to - d.pf_from) == 0 ? 1 : -1;
    }
  }
  g->cb();
  uint32_t n = c->n_writes > GATE_MAX_WRITES ? GATE_MAX_WRITES : c->n_writes;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t from = c->writes[2 * k], to = c->writes[2 * k + 1];
    if (from < to && to <= g->area_cap) uc_mem_write_p(uc, c->write_base + from, g->area + from, to - from);
  }
  if (c->write_count > 0) write_back(uc, g, c->write_first, c->write_count, c->read_count);
  if (c->write_rip) uc_reg_write_p(uc, UC_X86_REG_RIP, &c->next_rip);
}

/* The hook's address, for uc_hook_add. */
void *xl_gate_hook_ptr(void) { return (void *)gate_hook; }
