/* A tracer (Linux arch/x86/kernel/fpu/regset.c, kernel/ptrace.c): a forked tracee sets vector,
 * opmask, MXCSR and PKRU state and stops itself with SIGSTOP; the tracer reads NT_X86_XSTATE,
 * tries SETREGSET with short, odd and oversized lengths, bad headers, foreign XSTATE_BV bits and
 * a bad MXCSR (each must change nothing), then writes new values, components left out of
 * XSTATE_BV, NT_PRFPREG / SETFPREGS, general registers (GETREGS, partial NT_PRSTATUS) and memory
 * (PEEKDATA/POKEDATA), single-steps, and resumes; the tracee prints what it then holds. A second
 * child is attached (ATTACH, POKEDATA, DETACH), a third seized, interrupted and killed. */
#include "guest.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#define PTRACE_INTERRUPT 0x4207
#define PTRACE_EVENT_STOP 128
#endif

static volatile uint64_t cell = 0x1111;
static volatile int spin_stop;
static int pku, amx;
static unsigned o_avx, o_k, o_zh, o_z16, o_pkru, xmax;
static unsigned off(unsigned c) { unsigned r[4]; cpuid2(0xd, c, r); return r[1]; }
static unsigned char buf[16384] __attribute__((aligned(64))), orig[16384], again[16384];

static const char *err(long r) {
  static char b[32];
  if (r >= 0) { sprintf(b, "%ld", r); return b; }
  switch (errno) { case EINVAL: return "EINVAL"; case EFAULT: return "EFAULT"; case ESRCH: return "ESRCH"; case EIO: return "EIO"; case EPERM: return "EPERM"; case ENODEV: return "ENODEV"; }
  sprintf(b, "errno %d", errno);
  return b;
}
static long getset(int req, pid_t c, int note, void *p, size_t len, size_t *out) {
  struct iovec iov = { p, len };
  long r = ptrace(req, c, (void *)(long)note, &iov);
  if (out) *out = iov.iov_len;
  return r;
}
static uint32_t rd32(const unsigned char *b, unsigned o) { uint32_t v; memcpy(&v, b + o, 4); return v; }
static uint64_t rd64(const unsigned char *b, unsigned o) { uint64_t v; memcpy(&v, b + o, 8); return v; }
static void wr32(unsigned char *b, unsigned o, uint32_t v) { memcpy(b + o, &v, 4); }
static void wr64(unsigned char *b, unsigned o, uint64_t v) { memcpy(b + o, &v, 8); }

static void show_xstate(const char *what, const unsigned char *b) {
  printf("%s: XSTATE_BV 0x%llx sw[464] 0x%llx MXCSR %08x xmm3[0] %02x", what, (unsigned long long)rd64(b, 512), (unsigned long long)rd64(b, 464), rd32(b, 24), b[160 + 48]);
  uint64_t bv = rd64(b, 512);
  if (bv & 4) printf(" ymm3[16] %02x", b[o_avx + 48]);
  if (bv & 0x20) printf(" k3 %016llx", (unsigned long long)rd64(b, o_k + 24));
  if (bv & 0x40) printf(" zmm3[32] %02x", b[o_zh + 96]);
  if (bv & 0x80) printf(" zmm17[0] %02x", b[o_z16 + 64]);
  if (pku) printf(" PKRU %08x", rd32(b, o_pkru));
  printf("\n");
}

static void tracee(void) {
  ptrace(PTRACE_TRACEME, 0, 0, 0);
  int tid = (int)syscall(SYS_gettid), pid = getpid();
  static uint8_t zmm_in[64], z17_in[64], zmm_out[64], z17_out[64];
  for (int i = 0; i < 64; i++) { zmm_in[i] = 0x40 + i; z17_in[i] = 0x90 + i; }
  uint64_t k3_in = 0x1122334455667788ull, k3_out, r12_out;
  uint32_t pkru_out = 0, mx_in = 0x3f80, mx_out = 0, def = 0x1f80;
  for (int round = 1; round <= 2; round++) {
    __asm__ volatile("ldmxcsr %[mx]\n\tmov $0x7777, %%r12\n\t"
                     "vmovdqu64 %[z], %%zmm3\n\tvmovdqu64 %[z17], %%zmm17\n\tkmovq %[k], %%k3\n\t"
                     "test %[pku], %[pku]\n\tjz 1f\n\tmov $0x0c, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\twrpkru\n1:\n\t"
                     "mov $234, %%eax\n\tmov %[pid], %%edi\n\tmov %[tid], %%esi\n\tmov $19, %%edx\n\tsyscall\n\t"
                     "vmovdqu64 %%zmm3, %[zo]\n\tvmovdqu64 %%zmm17, %[z17o]\n\tkmovq %%k3, %[ko]\n\tstmxcsr %[mxo]\n\tmov %%r12, %[r12o]\n\t"
                     "test %[pku], %[pku]\n\tjz 2f\n\txor %%ecx, %%ecx\n\trdpkru\n\tmov %%eax, %[pko]\n\t"
                     "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $0x55555554, %%eax\n\twrpkru\n2:\n\t"
                     "ldmxcsr %[def]\n\tvzeroupper"
                     : [zo] "=m"(zmm_out), [z17o] "=m"(z17_out), [ko] "=m"(k3_out), [mxo] "=m"(mx_out), [pko] "=m"(pkru_out), [r12o] "=m"(r12_out)
                     : [z] "m"(zmm_in), [z17] "m"(z17_in), [k] "m"(k3_in), [pku] "r"(pku), [pid] "r"(pid), [tid] "r"(tid), [mx] "m"(mx_in), [def] "m"(def)
                     : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "r12", "xmm3", "memory");
    printf("tracee after stop %d: xmm3[0] %02x ymm3[16] %02x zmm3[32] %02x zmm17[0] %02x k3 %016llx MXCSR %04x r12 %llx cell %llx",
           round, zmm_out[0], zmm_out[16], zmm_out[32], z17_out[0], (unsigned long long)k3_out, mx_out, (unsigned long long)r12_out, (unsigned long long)cell);
    if (pku) printf(" PKRU %08x", pkru_out);
    printf("\n");
    fflush(stdout);
  }
  _exit(0);
}

static void wait_stop(pid_t c, const char *what) {
  int st = 0;
  if (waitpid(c, &st, 0) != c) { printf("%s: waitpid failed\n", what); exit(1); }
  if (WIFSTOPPED(st)) printf("%s: stopped, signal %d, event %d\n", what, WSTOPSIG(st), (st >> 16) & 0xff);
  else if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
}

static void bad_set(pid_t c, const char *what, void (*edit)(unsigned char *), size_t len) {
  memcpy(buf, orig, sizeof buf);
  if (edit) edit(buf);
  size_t out = 0;
  long r = getset(PTRACE_SETREGSET, c, NT_X86_XSTATE, buf, len, &out);
  printf("  SETREGSET %-34s -> %s\n", what, err(r));
}
static void e_reserved(unsigned char *b) { b[512 + 20] = 1; }
static void e_xcomp(unsigned char *b) { wr64(b, 520, 1ull << 63 | rd64(b, 512)); }
static void e_foreign(unsigned char *b) { wr64(b, 512, rd64(b, 512) | 8); }
static void e_amx(unsigned char *b) { wr64(b, 512, rd64(b, 512) | (1ull << 18)); }
static void e_high(unsigned char *b) { wr64(b, 512, rd64(b, 512) | (1ull << 40)); }
static void e_mxcsr(unsigned char *b) { wr32(b, 24, 0x1f80 | (1u << 16)); }
static void e_mxcsr_ymm(unsigned char *b) { wr32(b, 24, 0x1f80 | (1u << 16)); wr64(b, 512, 4); }

int main(void) {
  if (!os_avx512()) { printf("AVX-512: not available, nothing run\n"); return 0; }
  pku = has_bit(7, 0, 2, 4);
  amx = has_bit(7, 0, 3, 24);
  o_avx = off(2); o_k = off(5); o_zh = off(6); o_z16 = off(7); o_pkru = pku ? off(9) : 0;
  { unsigned r[4]; cpuid2(0xd, 0, r); xmax = r[2]; }
  printf("not traced: GETREGS -> %s\n", err(ptrace(PTRACE_GETREGS, getppid() > 0 ? 1 : 1, 0, 0)));
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) tracee();
  wait_stop(c, "stop 1");
  size_t len = 0;
  long r;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  r = ptrace(PTRACE_GETSIGINFO, c, 0, &si);
  printf("GETSIGINFO -> %s, si_signo %d si_code %d\n", err(r), si.si_signo, si.si_code);
  r = getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, orig, sizeof orig, &len);
  printf("GETREGSET NT_X86_XSTATE 16384 -> %s, iov_len %zu (CPUID max %u)\n", err(r), len, xmax);
  size_t full = len;
  show_xstate("  image", orig);
  r = getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, again, 520, &len);
  printf("GETREGSET 520 -> %s, iov_len %zu, prefix %s\n", err(r), len, memcmp(again, orig, 520) ? "differs" : "equal");
  printf("GETREGSET 13 -> %s\n", err(getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, again, 13, 0)));
  r = getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, again, 0, &len);
  printf("GETREGSET 0 -> %s, iov_len %zu\n", err(r), len);
  printf("GETREGSET note 0x999 -> %s\n", err(getset(PTRACE_GETREGSET, c, 0x999, again, 512, 0)));
  bad_set(c, "length 13", 0, 13);
  bad_set(c, "length 2431", 0, 2431);
  bad_set(c, "length 512", 0, 512);
  bad_set(c, "length 0", 0, 0);
  bad_set(c, "length max - 8", 0, full - 8);
  bad_set(c, "header reserved byte", e_reserved, sizeof buf);
  bad_set(c, "XCOMP_BV bit 63", e_xcomp, sizeof buf);
  bad_set(c, "XSTATE_BV bit 3 (foreign)", e_foreign, sizeof buf);
  if (amx) bad_set(c, "XSTATE_BV bit 18 (no AMX permission)", e_amx, sizeof buf);
  bad_set(c, "XSTATE_BV bit 40", e_high, sizeof buf);
  bad_set(c, "MXCSR bit 16", e_mxcsr, sizeof buf);
  bad_set(c, "MXCSR bit 16, XSTATE_BV = YMM", e_mxcsr_ymm, sizeof buf);
  getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, again, sizeof again, &len);
  printf("after the refused writes the image is %s\n", memcmp(again, orig, full) ? "changed" : "unchanged");
  memcpy(buf, orig, sizeof buf);
  buf[160 + 48] ^= 0xff; buf[o_avx + 48] ^= 0xff; buf[o_zh + 96] ^= 0xff; buf[o_z16 + 64] ^= 0xff;
  wr64(buf, o_k + 24, 0xfedcba9876543210ull);
  wr32(buf, 24, 0x1f00);
  if (pku) { wr32(buf, o_pkru, 0x30); wr64(buf, 512, rd64(buf, 512) | 0x200); }
  r = getset(PTRACE_SETREGSET, c, NT_X86_XSTATE, buf, sizeof buf, &len);
  printf("SETREGSET new values, 16384 -> %s, iov_len %zu\n", err(r), len);
  getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, again, sizeof again, &len);
  show_xstate("  read back", again);
  /* NT_PRFPREG and the FP ptrace requests. */
  static unsigned char fx[512], fx2[512];
  r = getset(PTRACE_GETREGSET, c, NT_PRFPREG, fx, 1024, &len);
  printf("GETREGSET NT_PRFPREG 1024 -> %s, iov_len %zu, MXCSR %08x, bytes 464..471 %016llx, xmm3[0] %02x\n", err(r), len, rd32(fx, 24), (unsigned long long)rd64(fx, 464), fx[160 + 48]);
  r = ptrace(PTRACE_GETFPREGS, c, 0, fx2);
  printf("GETFPREGS -> %s, %s NT_PRFPREG\n", err(r), memcmp(fx, fx2, 512) ? "differs from" : "equal to");
  printf("SETREGSET NT_PRFPREG 504 -> %s\n", err(getset(PTRACE_SETREGSET, c, NT_PRFPREG, fx, 504, 0)));
  memcpy(fx2, fx, 512); wr32(fx2, 24, 0x1f80 | (1u << 17));
  printf("SETREGSET NT_PRFPREG MXCSR bit 17 -> %s\n", err(getset(PTRACE_SETREGSET, c, NT_PRFPREG, fx2, 512, 0)));
  printf("SETFPREGS MXCSR bit 17 -> %s\n", err(ptrace(PTRACE_SETFPREGS, c, 0, fx2)));
  memcpy(fx2, fx, 512); fx2[160 + 48 + 1] = 0xee;
  printf("SETFPREGS xmm3[1] = ee -> %s\n", err(ptrace(PTRACE_SETFPREGS, c, 0, fx2)));
  getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, again, sizeof again, &len);
  printf("  XSTATE_BV after SETFPREGS 0x%llx, xmm3[1] %02x\n", (unsigned long long)rd64(again, 512), again[160 + 49]);
  /* General registers and memory. */
  struct user_regs_struct regs;
  r = ptrace(PTRACE_GETREGS, c, 0, &regs);
  printf("GETREGS -> %s, r12 %llx\n", err(r), (unsigned long long)regs.r12);
  uint64_t words[4] = { regs.r15, regs.r14, regs.r13, 0x9999 };
  r = getset(PTRACE_SETREGSET, c, NT_PRSTATUS, words, sizeof words, &len);
  printf("SETREGSET NT_PRSTATUS 32 bytes (r15..r12) -> %s, iov_len %zu\n", err(r), len);
  r = getset(PTRACE_GETREGSET, c, NT_PRSTATUS, &regs, 4096, &len);
  printf("GETREGSET NT_PRSTATUS 4096 -> %s, iov_len %zu, r12 %llx\n", err(r), len, (unsigned long long)regs.r12);
  errno = 0;
  long w = ptrace(PTRACE_PEEKDATA, c, (void *)&cell, 0);
  printf("PEEKDATA cell -> %lx (errno %d)\n", w, errno);
  printf("POKEDATA cell 0x2222 -> %s\n", err(ptrace(PTRACE_POKEDATA, c, (void *)&cell, (void *)0x2222)));
  errno = 0;
  w = ptrace(PTRACE_PEEKDATA, c, (void *)16, 0);
  printf("PEEKDATA address 16 -> %ld, %s\n", w, errno == EIO ? "EIO" : errno == EFAULT ? "EFAULT" : "?");
  printf("CONT signal 100 -> %s\n", err(ptrace(PTRACE_CONT, c, 0, (void *)100)));
  printf("unknown request 0x9999 -> %s\n", err(ptrace(0x9999, c, 0, 0)));
  fflush(stdout);
  ptrace(PTRACE_CONT, c, 0, 0);
  wait_stop(c, "stop 2");
  getset(PTRACE_GETREGSET, c, NT_X86_XSTATE, buf, sizeof buf, &len);
  show_xstate("  image", buf);
  wr64(buf, 512, rd64(buf, 512) & ~0x2a0ull);
  r = getset(PTRACE_SETREGSET, c, NT_X86_XSTATE, buf, sizeof buf, &len);
  printf("SETREGSET without opmask, Hi16_ZMM, PKRU in XSTATE_BV -> %s\n", err(r));
  struct user_regs_struct before, after;
  ptrace(PTRACE_GETREGS, c, 0, &before);
  r = ptrace(PTRACE_SINGLESTEP, c, 0, 0);
  printf("SINGLESTEP -> %s\n", err(r));
  wait_stop(c, "  step");
  memset(&si, 0, sizeof si);
  ptrace(PTRACE_GETSIGINFO, c, 0, &si);
  ptrace(PTRACE_GETREGS, c, 0, &after);
  printf("  si_signo %d si_code %d, rip advanced by %lld\n", si.si_signo, si.si_code, (long long)(after.rip - before.rip));
  fflush(stdout);
  ptrace(PTRACE_CONT, c, 0, 0);
  wait_stop(c, "tracee");
  /* ATTACH, POKEDATA, DETACH. */
  fflush(stdout);
  c = fork();
  if (c == 0) { while (!spin_stop) { } _exit(5); }
  printf("ATTACH -> %s\n", err(ptrace(PTRACE_ATTACH, c, 0, 0)));
  printf("ATTACH again -> %s\n", err(ptrace(PTRACE_ATTACH, c, 0, 0)));
  wait_stop(c, "attached");
  printf("POKEDATA spin_stop -> %s\n", err(ptrace(PTRACE_POKEDATA, c, (void *)&spin_stop, (void *)1)));
  printf("DETACH -> %s\n", err(ptrace(PTRACE_DETACH, c, 0, 0)));
  fflush(stdout);
  wait_stop(c, "detached child");
  /* SEIZE, INTERRUPT, KILL. */
  fflush(stdout);
  c = fork();
  if (c == 0) { for (;;) { } }
  printf("SEIZE -> %s\n", err(ptrace(PTRACE_SEIZE, c, 0, 0)));
  printf("INTERRUPT -> %s\n", err(ptrace(PTRACE_INTERRUPT, c, 0, 0)));
  wait_stop(c, "interrupted");
  printf("KILL -> %s\n", err(ptrace(PTRACE_KILL, c, 0, 0)));
  fflush(stdout);
  wait_stop(c, "killed child");
  return 0;
}
