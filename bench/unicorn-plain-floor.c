/*
 * The floor under `xstate-lab exec` on plain guest code, for `npm run bench` part 5: a static
 * x86-64 ELF (bench/guest-plain-hash.c built with musl-gcc -static) run on bare unicorn 2.0.1, then
 * with each hook exec installs added (`hooks`, bits):
 *
 *   FLOOR_COUNTER   the native UC_HOOK_BLOCK instruction counter (emulator/native/insn-counter.c,
 *                   included below: the same callback; every block counted as one instruction);
 *   FLOOR_MEM_HOOK  its UC_HOOK_MEM_READ|WRITE hook on address 1 (exact fault RIPs);
 *   FLOOR_GATE      a UC_HOOK_CODE hook over [gate_begin, gate_end) as the trap gate hooks the code
 *                   ranges around owned instructions (an empty callback: the range's cost, not the gate's);
 *   FLOOR_OTHERS    the hooks exec adds besides (syscall, cpuid and invalid-instruction UC_HOOK_INSN /
 *                   UC_HOOK_INSN_INVALID, UC_HOOK_INTR, UC_HOOK_MEM_INVALID), all empty.
 *
 * The process is loaded as Linux would (PT_LOAD segments, a stack with argc, argv, envp and an empty
 * auxv), and the few system calls musl's start-up and printf make are answered here (a syscall hook:
 * write/writev to fd 1 kept in a buffer (xl_plain_floor_output), exit, everything else -ENOSYS or a
 * harmless success), so the caller can check the guest's hash against native. Returns the CPU time
 * (CLOCK_PROCESS_CPUTIME_ID) of uc_emu_start in ns, or a negative value on error.
 *
 * Built as a shared library by bench/bench.ts (gcc); libunicorn found in the process with dlopen.
 */
#include <dlfcn.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../emulator/native/insn-counter.c"

typedef int (*open_fn)(int arch, int mode, void **uc);
typedef int (*close_fn)(void *uc);
typedef int (*map_fn)(void *uc, uint64_t address, size_t size, uint32_t perms);
typedef int (*mem_rw_fn)(void *uc, uint64_t address, void *bytes, size_t size);
typedef int (*reg_fn)(void *uc, int regid, void *value);
typedef int (*hook_add_fn)(void *uc, size_t *hh, int type, void *callback, void *user_data, uint64_t begin, uint64_t end, ...);
typedef int (*start_fn)(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count);

/* unicorn 2.0.1 unicorn.h / x86.h values. */
enum { UC_ARCH_X86 = 4, UC_MODE_64 = 8, UC_PROT_ALL = 7 };
enum { UC_HOOK_INTR = 1, UC_HOOK_INSN = 2, UC_HOOK_CODE = 4, UC_HOOK_BLOCK = 8, UC_HOOK_MEM_READ = 1024, UC_HOOK_MEM_WRITE = 2048,
       UC_HOOK_MEM_INVALID = 16 | 32 | 64 | 128 | 256 | 512, UC_HOOK_INSN_INVALID = 1 << 14 };
enum { UC_X86_REG_RAX = 35, UC_X86_REG_RDI = 39, UC_X86_REG_RSI = 43, UC_X86_REG_RDX = 40, UC_X86_REG_RSP = 44,
       UC_X86_REG_FS_BASE = 250 };
enum { UC_X86_INS_CPUID = 58, UC_X86_INS_SYSCALL = 699 };
enum { FLOOR_COUNTER = 1, FLOOR_MEM_HOOK = 2, FLOOR_GATE = 4, FLOOR_OTHERS = 8 };

/* Linux x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) musl's start-up and stdio use. */
enum { NR_WRITE = 1, NR_IOCTL = 16, NR_WRITEV = 20, NR_EXIT = 60, NR_ARCH_PRCTL = 158, NR_SET_TID_ADDRESS = 218, NR_EXIT_GROUP = 231 };
#define ARCH_SET_FS 0x1002 /* asm/prctl.h */
#define ENOSYS 38
#define ENOTTY 25

static reg_fn reg_read, reg_write;
static mem_rw_fn mem_read;
static void (*emu_stop)(void *uc);

/* What the guest wrote to fd 1 in the last run (its first bytes). */
static char out_buf[256];
static size_t out_len;
static void out_append(const char *b, size_t n) {
  if (n > sizeof out_buf - 1 - out_len) n = sizeof out_buf - 1 - out_len;
  memcpy(out_buf + out_len, b, n);
  out_len += n;
  out_buf[out_len] = 0;
}
const char *xl_plain_floor_output(void) { return out_buf; }

static void syscall_hook(void *uc, void *user_data) {
  (void)user_data;
  uint64_t nr, a0, a1, a2, ret = (uint64_t)-ENOSYS;
  reg_read(uc, UC_X86_REG_RAX, &nr);
  reg_read(uc, UC_X86_REG_RDI, &a0);
  reg_read(uc, UC_X86_REG_RSI, &a1);
  reg_read(uc, UC_X86_REG_RDX, &a2);
  if (nr == NR_EXIT || nr == NR_EXIT_GROUP) { emu_stop(uc); return; }
  if (nr == NR_WRITEV && a0 == 1) {
    ret = 0;
    for (uint64_t i = 0; i < a2 && i < 16; i++) {
      uint64_t v[2];
      if (mem_read(uc, a1 + 16 * i, v, sizeof v) != 0) break;
      char buf[4096];
      uint64_t n = v[1] < sizeof buf ? v[1] : sizeof buf;
      if (n && mem_read(uc, v[0], buf, n) == 0) { out_append(buf, n); ret += n; }
    }
  } else if (nr == NR_WRITE && a0 == 1) {
    char buf[4096];
    uint64_t n = a2 < sizeof buf ? a2 : sizeof buf;
    if (mem_read(uc, a1, buf, n) == 0) { out_append(buf, n); ret = n; }
  } else if (nr == NR_IOCTL) ret = (uint64_t)-ENOTTY;
  else if (nr == NR_ARCH_PRCTL && a0 == ARCH_SET_FS) { reg_write(uc, UC_X86_REG_FS_BASE, &a1); ret = 0; }
  else if (nr == NR_SET_TID_ADDRESS) ret = 1;
  reg_write(uc, UC_X86_REG_RAX, &ret);
}

static void empty_code(void *uc, uint64_t a, uint32_t s, void *u) { (void)uc; (void)a; (void)s; (void)u; }
static void empty_intr(void *uc, uint32_t n, void *u) { (void)uc; (void)n; (void)u; }
static int empty_cpuid(void *uc, void *u) { (void)uc; (void)u; return 0; }
static int empty_invalid(void *uc, void *u) { (void)uc; (void)u; return 0; }
static int empty_mem_invalid(void *uc, int t, uint64_t a, int s, int64_t v, void *u) { (void)uc; (void)t; (void)a; (void)s; (void)v; (void)u; return 0; }
static void no_miss(void) {}

double xl_plain_floor_run(const char *path, const char *arg, int hooks, uint64_t gate_begin, uint64_t gate_end) {
  void *lib = dlopen("libunicorn.so.2", RTLD_NOW);
  if (!lib) return -1;
  open_fn uc_open = (open_fn)dlsym(lib, "uc_open");
  close_fn uc_close = (close_fn)dlsym(lib, "uc_close");
  map_fn uc_mem_map = (map_fn)dlsym(lib, "uc_mem_map");
  mem_rw_fn uc_mem_write = (mem_rw_fn)dlsym(lib, "uc_mem_write");
  hook_add_fn uc_hook_add = (hook_add_fn)dlsym(lib, "uc_hook_add");
  start_fn uc_emu_start = (start_fn)dlsym(lib, "uc_emu_start");
  reg_read = (reg_fn)dlsym(lib, "uc_reg_read");
  reg_write = (reg_fn)dlsym(lib, "uc_reg_write");
  mem_read = (mem_rw_fn)dlsym(lib, "uc_mem_read");
  emu_stop = (void (*)(void *))dlsym(lib, "uc_emu_stop");
  if (!uc_open || !uc_close || !uc_mem_map || !uc_mem_write || !uc_hook_add || !uc_emu_start || !reg_read || !reg_write || !mem_read || !emu_stop) return -2;

  FILE *f = fopen(path, "rb");
  if (!f) return -3;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *img = malloc((size_t)len);
  if (!img || fread(img, 1, (size_t)len, f) != (size_t)len) { fclose(f); free(img); return -3; }
  fclose(f);
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
  if (len < (long)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_type != ET_EXEC || eh->e_machine != EM_X86_64) { free(img); return -4; }

  void *uc;
  if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != 0) { free(img); return -5; }
  const uint64_t page = 4096;
  for (int i = 0; i < eh->e_phnum; i++) {
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff + (uint64_t)i * eh->e_phentsize);
    if (ph->p_type != PT_LOAD) continue;
    uint64_t lo = ph->p_vaddr & ~(page - 1), hi = (ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
    /* Segments may share a page: map what is not mapped yet, page by page. */
    for (uint64_t p = lo; p < hi; p += page) uc_mem_map(uc, p, page, UC_PROT_ALL);
    if (ph->p_filesz) uc_mem_write(uc, ph->p_vaddr, img + ph->p_offset, ph->p_filesz);
  }
  uint64_t entry = eh->e_entry;
  free(img);

  /* The stack: argc, argv[0..1], NULL, envp NULL, auxv AT_NULL; strings above. */
  const uint64_t stack_top = 0x7ff000000000ull, stack_size = 0x100000;
  uc_mem_map(uc, stack_top - stack_size, stack_size, UC_PROT_ALL);
  uint64_t strs = stack_top - 256;
  uc_mem_write(uc, strs, (void *)"guest", 6);
  uc_mem_write(uc, strs + 16, (void *)arg, strlen(arg) + 1);
  uint64_t sp = stack_top - 1024;
  uint64_t frame[] = { 2, strs, strs + 16, 0, 0, 0, 0 };
  uc_mem_write(uc, sp, frame, sizeof frame);
  reg_write(uc, UC_X86_REG_RSP, &sp);

  size_t hh;
  uc_hook_add(uc, &hh, UC_HOOK_INSN, (void *)syscall_hook, NULL, 1, 0, UC_X86_INS_SYSCALL);
  uint64_t ctl[CW_WORDS] = { 0 };
  struct counter *counter = NULL;
  if (hooks & FLOOR_COUNTER) {
    counter = xl_counter_new((void *)no_miss, ctl);
    if (!counter) { uc_close(uc); return -6; }
    uc_hook_add(uc, &hh, UC_HOOK_BLOCK, xl_counter_hook_ptr(), counter, 1, 0);
  }
  if (hooks & FLOOR_MEM_HOOK) uc_hook_add(uc, &hh, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, xl_counter_mem_hook_ptr(), NULL, 1, 1);
  if ((hooks & FLOOR_GATE) && gate_end > gate_begin) uc_hook_add(uc, &hh, UC_HOOK_CODE, (void *)empty_code, NULL, gate_begin, gate_end - 1);
  if (hooks & FLOOR_OTHERS) {
    uc_hook_add(uc, &hh, UC_HOOK_INSN, (void *)empty_cpuid, NULL, 1, 0, UC_X86_INS_CPUID);
    uc_hook_add(uc, &hh, UC_HOOK_INSN_INVALID, (void *)empty_invalid, NULL, 1, 0);
    uc_hook_add(uc, &hh, UC_HOOK_INTR, (void *)empty_intr, NULL, 1, 0);
    uc_hook_add(uc, &hh, UC_HOOK_MEM_INVALID, (void *)empty_mem_invalid, NULL, 1, 0);
  }
  out_len = 0;
  out_buf[0] = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  int err = uc_emu_start(uc, entry, 0, 0, 0);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  uc_close(uc);
  xl_counter_free(counter);
  if (err != 0) return -7;
  return (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
}
