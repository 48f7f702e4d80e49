/*
 * xstate-lab general-instruction probe: the same static program runs natively and under
 * `xstate-lab exec` (unicorn plus the model's owned instructions), so every general instruction
 * is compared as a guest program meets it. The cases are generated assembly (case_fn[k], linked
 * in from cases.S): each loads RAX RBX RCX RDX RSI RDI R8-R11 and RFLAGS from its record, runs
 * the instruction(s) under test with RBP pointing at a 64-byte data buffer, and stores the
 * registers and RFLAGS back. Faults are caught as signals.
 *
 * Output (little endian): a header u32 magic, u32 cases, u32 cpu (the CPU the probe pinned itself
 * to), u32 pad; then per case u32 signal, u32 si_code, u64 gpr[10], u64 rflags, u8 data[64].
 */
#define _GNU_SOURCE
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "probe-io.h"

#define NGPR 10
#define DATA 64
struct in_rec { uint64_t gpr[NGPR]; uint64_t rflags; uint8_t data[DATA]; };
extern const struct in_rec cases_in[];
extern const uint32_t n_cases;
extern void (*const case_fn[])(uint64_t *regs, uint8_t *data);

static sigjmp_buf jb;
static volatile int caught_sig, caught_code;
static void clear_ac(void) { __asm__ volatile("pushq $0x202\n\tpopfq" ::: "cc"); } /* AC set by a case must not reach C code */
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  clear_ac();
  caught_sig = sig;
  caught_code = si->si_code;
  siglongjmp(jb, 1);
}

int main(void) {
  /* CPU 0: CPUID's per-CPU fields and TSC_AUX as a capture read them (pinned to CPU 0). */
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
  struct { uint32_t magic, cases, cpu, pad; } hello = { 0x4e454750u, n_cases, (uint32_t)sched_getcpu(), 0 };
  write_full(&hello, sizeof hello);
  catch_faults_info(on_fault);
  static uint64_t regs[NGPR + 1];
  static uint8_t data[DATA] __attribute__((aligned(64)));
  for (uint32_t k = 0; k < n_cases; k++) {
    memcpy(regs, cases_in[k].gpr, sizeof regs);
    memcpy(data, cases_in[k].data, DATA);
    caught_sig = caught_code = 0;
    if (sigsetjmp(jb, 1) == 0) case_fn[k](regs, data);
    clear_ac();
    struct { uint32_t sig, code; } r = { (uint32_t)caught_sig, (uint32_t)caught_code };
    write_full(&r, sizeof r);
    write_full(regs, sizeof regs);
    write_full(data, DATA);
  }
  return 0;
}
