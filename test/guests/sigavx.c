/* Vector registers across a signal delivered in the middle of vector code: the handler runs and
 * sigreturn gives back xmm/ymm registers and MXCSR unchanged. */
#include "guest.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static volatile int handled;
static void on_usr1(int s) { (void)s; handled++; volatile double d = 1.5; d *= 3; (void)d; }
int main(void) {
  signal(SIGUSR1, on_usr1);
  int tid = (int)syscall(SYS_gettid);
  uint32_t x[4] = {0}, y[8] = {0};
  unsigned mx = 0x3f80, mxafter;
  __asm__ volatile("ldmxcsr %[mx]\n\tmov $0xabcdef01, %%r8d\n\tmovd %%r8d, %%xmm9\n\tpshufd $0, %%xmm9, %%xmm9\n\t"
                   "mov $200, %%eax\n\tmov %[tid], %%edi\n\tmov $10, %%esi\n\tsyscall\n\t"
                   "movdqu %%xmm9, %[x]\n\tstmxcsr %[after]"
                   : [x] "=m"(x), [after] "=m"(mxafter) : [tid] "r"(tid), [mx] "m"(mx) : "rax", "rdi", "rsi", "rcx", "r8", "r11", "xmm9", "memory");
  unsigned def = 0x1f80;
  __asm__ volatile("ldmxcsr %0" : : "m"(def));
  printf("handled %d, xmm9 %08x %08x, mxcsr %04x\n", handled, x[0], x[3], mxafter);
  if (!os_avx2()) { printf("AVX2: not available, ymm part not run\n"); return 0; }
  __asm__ volatile("mov $0x13572468, %%r8d\n\tvmovd %%r8d, %%xmm10\n\tvpbroadcastd %%xmm10, %%ymm10\n\t"
                   "mov $200, %%eax\n\tmov %[tid], %%edi\n\tmov $10, %%esi\n\tsyscall\n\t"
                   "vmovdqu %%ymm10, %[y]\n\tvzeroupper"
                   : [y] "=m"(y) : [tid] "r"(tid) : "rax", "rdi", "rsi", "rcx", "r8", "r11", "xmm10", "memory");
  printf("handled %d, ymm10 %08x %08x\n", handled, y[0], y[7]);
  return 0;
}
