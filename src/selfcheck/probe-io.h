/* Record I/O shared by the xstate-lab host probes: whole reads and writes on stdin/stdout. */
#ifndef XSTATE_LAB_PROBE_IO_H
#define XSTATE_LAB_PROBE_IO_H
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read exactly n bytes; 0 at end of input. */
static inline int read_full(void *p, size_t n) {
  size_t got = 0;
  while (got < n) { ssize_t r = read(0, (char *)p + got, n - got); if (r <= 0) return 0; got += (size_t)r; }
  return 1;
}

/* Write exactly n bytes or exit(3). */
static inline void write_full(const void *p, size_t n) {
  size_t put = 0;
  while (put < n) { ssize_t r = write(1, (const char *)p + put, n - put); if (r <= 0) exit(3); put += (size_t)r; }
}

/* Send the faults an instruction under test can raise (#GP, #UD, #AC, #MF/#XM) to `handler`,
   which siglongjmps back; SA_NODEFER so the next case can fault again. */
static inline void catch_faults_with(struct sigaction *sa) {
  sa->sa_flags |= SA_NODEFER;
  sigaction(SIGSEGV, sa, 0);
  sigaction(SIGILL, sa, 0);
  sigaction(SIGBUS, sa, 0);
  sigaction(SIGFPE, sa, 0);
}
static inline void catch_faults(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  catch_faults_with(&sa);
}
/* As catch_faults, for a handler that needs si_code (which tells #UD from #NM, #GP from #PF). */
static inline void catch_faults_info(void (*handler)(int, siginfo_t *, void *)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  catch_faults_with(&sa);
}

/* Linux keeps AMX tile data (XFEATURE_XTILEDATA, 18) armed in IA32_XFD until the process asks
   for it (arch/x86/kernel/fpu/xstate.c: xstate_request_perm); without the permission the first
   XRSTOR or tile instruction touching it gets #NM and the kernel sends SIGILL. The probes ask
   for it so the tile state can be exercised; on kernels or CPUs without AMX the call fails with
   EINVAL or EOPNOTSUPP and changes nothing. Returns 1 when tile data may be used. */
#include <sys/syscall.h>
#define PROBE_ARCH_REQ_XCOMP_PERM 0x1023 /* arch/x86/include/uapi/asm/prctl.h */
#define PROBE_XFEATURE_XTILEDATA 18
static inline int request_amx_permission(void) {
  return syscall(SYS_arch_prctl, PROBE_ARCH_REQ_XCOMP_PERM, PROBE_XFEATURE_XTILEDATA) == 0;
}

/* Use AMX tile data once, right after the permission: the #NM of the first use makes the kernel
   install a larger fpstate and reload the registers on the way back, which writes PKRU (XINUSE[9]
   becomes 1). Done here, that happens before the first case instead of inside whichever case
   first loads tile data. */
static inline void use_amx_once(void) {
  static unsigned char img[16384] __attribute__((aligned(64)));
  memset(img, 0, sizeof img);
  *(unsigned *)(img + 24) = 0x1f80;                                   /* MXCSR */
  *(unsigned long long *)(img + 512) = 1ull << PROBE_XFEATURE_XTILEDATA; /* XSTATE_BV */
  __asm__ volatile("xrstor64 (%0)" : : "r"(img), "a"(1u << PROBE_XFEATURE_XTILEDATA), "d"(0) : "memory");
}
#endif
