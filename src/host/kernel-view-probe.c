/*
 * `cpu capture`: the capturing kernel's view of the CPU that only a process can ask for: the
 * auxiliary vector entries Linux derives from its feature words (AT_HWCAP, AT_HWCAP2,
 * AT_MINSIGSTKSZ) and the size of PTRACE_GETREGSET(NT_X86_XSTATE) on a stopped child (the
 * kernel's user-ABI XSAVE size, arch/x86/kernel/fpu/regset.c xstateregs_get).
 *
 * Output: "hwcap 0x..", "hwcap2 0x..", "minsigstksz N" (each only when the kernel supplies it),
 * "xstate_regset_size N" (only when the regset exists), one per line.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51 /* include/uapi/linux/auxvec.h, Linux 5.14 */
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202 /* include/uapi/linux/elf.h */
#endif

static unsigned char regset[1 << 17];

/* The auxiliary vector as the kernel wrote it. (glibc's getauxval(AT_HWCAP) on x86-64 answers
   its own dl_hwcap, which it overwrites with HWCAP_X86_64: sysdeps/x86/cpu-features.c.) */
static int auxv_entry(unsigned long type, unsigned long *value) {
  FILE *f = fopen("/proc/self/auxv", "rb");
  if (!f) return 0;
  unsigned long e[2];
  int found = 0;
  while (fread(e, sizeof e, 1, f) == 1 && e[0] != AT_NULL) {
    if (e[0] == type) { *value = e[1]; found = 1; break; }
  }
  fclose(f);
  return found;
}

int main(void) {
  unsigned long v;
  if (auxv_entry(AT_HWCAP, &v)) printf("hwcap 0x%08lx\n", v);
  if (auxv_entry(AT_HWCAP2, &v)) printf("hwcap2 0x%08lx\n", v);
  if (auxv_entry(AT_MINSIGSTKSZ, &v)) printf("minsigstksz %lu\n", v);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    _exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
    struct iovec iov = { regset, sizeof regset };
    if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) == 0) printf("xstate_regset_size %zu\n", iov.iov_len);
    else fprintf(stderr, "PTRACE_GETREGSET(NT_X86_XSTATE): %s\n", strerror(errno));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return 0;
}
