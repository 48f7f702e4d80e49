/*
 * The floor under `xstate-lab exec`'s trap path, for `npm run bench`: the guest loop's two trapped
 * instructions (xsave64 [rbx]; xrstor64 [rbx]; dec rcx; jnz) on unicorn 2.0.1 with a UC_HOOK_CODE
 * hook that does no emulation at all, only what any trap-and-emulate tool on unicorn must do:
 *
 *   mode 0: move RIP past the instruction;
 *   mode 1: also the register traffic of xstate-lab's trap: read `n_read` registers (bench.ts passes
 *           emulator/machine.ts's sync block: XMM0-15, MXCSR, the x87 state, RIP, RAX-R15), and after
 *           the restore write back the first `n_write` (the x87/SSE ones);
 *   mode 2: mode 1, and call `cb` (a JS function registered with koffi, which does nothing): the
 *           price of entering JS once per trap.
 *
 * Built as a shared library by bench/bench.ts (gcc), libunicorn found in the process with dlopen
 * like emulator/native/trap-gate.c. Returns ns per pair (CLOCK_PROCESS_CPUTIME_ID), or -1.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef int (*open_fn)(int arch, int mode, void **uc);
typedef int (*close_fn)(void *uc);
typedef int (*map_fn)(void *uc, uint64_t address, size_t size, uint32_t perms);
typedef int (*mem_write_fn)(void *uc, uint64_t address, const void *bytes, size_t size);
typedef int (*reg_fn)(void *uc, int regid, const void *value);
typedef int (*batch_fn)(void *uc, int *regs, void **vals, int count);
typedef int (*hook_add_fn)(void *uc, size_t *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
typedef int (*start_fn)(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);

/* unicorn 2.0.1 unicorn.h values (register ids come from the caller: emulator/unicorn.ts X86Reg). */
enum { UC_ARCH_X86 = 4, UC_MODE_64 = 8, UC_HOOK_CODE = 4, UC_PROT_ALL = 7, UC_PROT_RW = 3 };
#define MAX_REGS 64

static reg_fn reg_write;
static batch_fn read_batch, write_batch;
static int mode, reg_rip, n_read, n_write;
static void (*js_cb)(void);
static int ids[MAX_REGS];
static void *ptrs[MAX_REGS];
static uint8_t slots[MAX_REGS * 64];

static void hook(void *uc, uint64_t address, uint32_t size, void *user_data) {
  (void)size; (void)user_data;
  /* xsave64 [rbx] at CODE, xrstor64 [rbx] 4 bytes later. */
  if (address != 0x10000 && address != 0x10004) return;
  if (mode >= 1) read_batch(uc, ids, ptrs, n_read);
  if (mode >= 2 && js_cb) js_cb();
  if (mode >= 1 && address == 0x10004) write_batch(uc, ids, ptrs, n_write);
  uint64_t rip = address + 4;
  reg_write(uc, reg_rip, &rip);
}

double xl_floor_run(int m, long pairs, void *cb, const int *regs, int nr, int nw, int rip, int rcx, int rbx) {
  if (nr < 0 || nr > MAX_REGS || nw < 0 || nw > nr) return -1;
  void *lib = dlopen("libunicorn.so.2", RTLD_NOW);
  if (!lib) return -1;
  open_fn uc_open = (open_fn)dlsym(lib, "uc_open");
  close_fn uc_close = (close_fn)dlsym(lib, "uc_close");
  map_fn uc_mem_map = (map_fn)dlsym(lib, "uc_mem_map");
  mem_write_fn uc_mem_write = (mem_write_fn)dlsym(lib, "uc_mem_write");
  hook_add_fn uc_hook_add = (hook_add_fn)dlsym(lib, "uc_hook_add");
  start_fn uc_emu_start = (start_fn)dlsym(lib, "uc_emu_start");
  reg_write = (reg_fn)dlsym(lib, "uc_reg_write");
  read_batch = (batch_fn)dlsym(lib, "uc_reg_read_batch");
  write_batch = (batch_fn)dlsym(lib, "uc_reg_write_batch");
  if (!uc_open || !uc_close || !uc_mem_map || !uc_mem_write || !uc_hook_add || !uc_emu_start || !reg_write || !read_batch || !write_batch) return -1;
  mode = m;
  js_cb = (void (*)(void))cb;
  reg_rip = rip;
  n_read = nr;
  n_write = nw;
  memcpy(ids, regs, sizeof *ids * (size_t)nr);
  for (int i = 0; i < MAX_REGS; i++) ptrs[i] = slots + 64 * i;
  void *uc;
  if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != 0) return -1;
  static const uint8_t code[] = { 0x48, 0x0f, 0xae, 0x23, 0x48, 0x0f, 0xae, 0x2b, 0x48, 0xff, 0xc9, 0x75, 0xf3, 0xf4 };
  uc_mem_map(uc, 0x10000, 0x1000, UC_PROT_ALL);
  uc_mem_map(uc, 0x20000, 0x4000, UC_PROT_RW);
  uc_mem_write(uc, 0x10000, code, sizeof code);
  uint64_t v = (uint64_t)pairs;
  reg_write(uc, rcx, &v);
  v = 0x20000;
  reg_write(uc, rbx, &v);
  /* The same slots are written back: read them once so that the writes put back what unicorn has. */
  read_batch(uc, ids, ptrs, n_read);
  size_t hh;
  uc_hook_add(uc, &hh, UC_HOOK_CODE, (void *)hook, NULL, 1, 0);
  struct timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  int err = uc_emu_start(uc, 0x10000, 0x10000 + sizeof code - 1, 0, 0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  uc_close(uc);
  if (err != 0) return -1;
  return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)pairs;
}
