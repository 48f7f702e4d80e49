/*
 * xstate-lab native probe for `selfcheck sigframe`: the extended-state part of a 64-bit signal
 * frame as this host's kernel writes it (copy_fpstate_to_sigframe), the state a handler starts
 * with, and what rt_sigreturn makes of a frame the handler edited (fpu__restore_sig).
 *
 * Greeting: u32 magic, u32 area (standard size for XCR0), u32 frame bytes reported per case.
 * Record in:  u8 image[area]; u32 npatch; npatch x {u32 offset from the fpstate, u8 value, 3 pad}.
 * Record out: u32 outcome (0 = sigreturn returned, else the signal that ended it), u32 fpstate
 *             alignment check (fpstate % 64), u64 distance (interrupted RSP - fpstate address),
 *             u64 handler-entry XINUSE, u64 after XINUSE, u8 frame[FRAME], u8 entry[area],
 *             u8 after[area].
 * Each case runs on a private stack filled with 0xA5, so bytes the kernel does not write in the
 * frame are known. The interrupted code is one asm block: XRSTOR64 the image, kill(getpid(),
 * SIGUSR1), then (after sigreturn) XGETBV(1) and XSAVE64.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include "probe-io.h"

#define MAX_AREA 12288
#define FRAME (MAX_AREA + 128)
#define STACK_BYTES (64 * 1024)
#define STACK_FILL 0xa5
#define MAX_PATCH 64

static uint8_t image[MAX_AREA] __attribute__((aligned(64)));
static uint8_t entry[MAX_AREA] __attribute__((aligned(64)));
static uint8_t after[MAX_AREA] __attribute__((aligned(64)));
static uint8_t frame[FRAME];
static uint8_t stack[STACK_BYTES] __attribute__((aligned(64)));
static uint32_t area, npatch;
static struct { uint32_t off; uint8_t val, pad[3]; } patch[MAX_PATCH];
static volatile uint64_t entry_xinuse, after_xinuse, distance, misalign;
static volatile uint64_t saved_rsp, interrupted_rsp;
static sigjmp_buf jb;
static volatile int outcome;

/* The handler saves the state it starts with before anything else can touch vector registers,
   then copies the frame and applies the patches with plain byte moves. */
__attribute__((target("general-regs-only"))) static void on_usr1(int sig, siginfo_t *si, void *ucv) {
  uint32_t lo, hi;
  __asm__ volatile("mov $1, %%ecx\n\txgetbv\n\tmov %%eax, %%r8d\n\tmov %%edx, %%r9d\n\t"
                   "mov $-1, %%eax\n\tmov $-1, %%edx\n\txsave64 (%2)\n\tmov %%r8d, %%eax\n\tmov %%r9d, %%edx"
                   : "=&a"(lo), "=&d"(hi) : "r"(entry) : "rcx", "r8", "r9", "memory");
  entry_xinuse = ((uint64_t)hi << 32) | lo;
  (void)sig; (void)si;
  ucontext_t *uc = ucv;
  volatile uint8_t *fp = (volatile uint8_t *)uc->uc_mcontext.fpregs;
  interrupted_rsp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
  distance = interrupted_rsp - (uint64_t)(uintptr_t)fp;
  misalign = (uint64_t)(uintptr_t)fp % 64;
  for (uint32_t k = 0; k < FRAME && (uintptr_t)(fp + k) < (uintptr_t)(stack + STACK_BYTES); k++) frame[k] = fp[k];
  for (uint32_t k = 0; k < npatch; k++) fp[patch[k].off] = patch[k].val;
}

static void on_fatal(int sig) { outcome = sig; siglongjmp(jb, 1); }

int main(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d)) return 2;
  area = b;
  if (area > MAX_AREA) { fprintf(stderr, "XSAVE area of %u bytes is larger than this probe's %u\n", area, MAX_AREA); return 2; }
  /* AMX: ask, then use tile data once, so that the task's fpstate (and its frames) include it
     from the first case on (xfd_enable_feature grows it on first use, never shrinks it). */
  if (request_amx_permission()) {
    memset(image, 0, sizeof image);
    *(uint32_t *)(image + 24) = 0x1f80;
    *(uint64_t *)(image + 512) = 1u << 18;
    __asm__ volatile("mov $0x40000, %%eax\n\txor %%edx, %%edx\n\txrstor64 (%0)" : : "r"(image) : "rax", "rdx", "memory");
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  catch_faults(on_fatal);

  struct { uint32_t magic, area, frame; } hello = { 0x46475253u, area, FRAME };
  write_full(&hello, sizeof hello);
  pid_t pid = getpid();
  while (read_full(image, area)) {
    if (!read_full(&npatch, 4) || npatch > MAX_PATCH || !read_full(patch, npatch * sizeof patch[0])) return 4;
    memset(stack, STACK_FILL, sizeof stack);
    memset(frame, 0, sizeof frame);
    memset(entry, 0, area);
    memset(after, 0, area);
    entry_xinuse = after_xinuse = distance = misalign = 0;
    outcome = 0;
    if (sigsetjmp(jb, 1) == 0) {
      uint32_t lo, hi;
      __asm__ volatile(
          "mov %%rsp, %[saved]\n\tmov %[top], %%rsp\n\t"
          "mov $-1, %%eax\n\tmov $-1, %%edx\n\txrstor64 (%[img])\n\t"
          "mov %[pid], %%edi\n\tmov $10, %%esi\n\tmov $62, %%eax\n\tsyscall\n\t" /* kill(pid, SIGUSR1) */
          "mov $1, %%ecx\n\txgetbv\n\tmov %%eax, %%r8d\n\tmov %%edx, %%r9d\n\t"
          "mov $-1, %%eax\n\tmov $-1, %%edx\n\txsave64 (%[aft])\n\t"
          "mov %%r8d, %%eax\n\tmov %%r9d, %%edx\n\t"
          "mov %[saved], %%rsp"
          : "=&a"(lo), "=&d"(hi), [saved] "=m"(saved_rsp)
          : [top] "r"(stack + STACK_BYTES), [img] "r"(image), [aft] "r"(after), [pid] "r"(pid)
          : "rcx", "rdi", "rsi", "r8", "r9", "r11", "memory");
      after_xinuse = ((uint64_t)hi << 32) | lo;
    }
    struct { uint32_t outcome, misalign; uint64_t distance, entry_xinuse, after_xinuse; } r = { (uint32_t)outcome, (uint32_t)misalign, distance, entry_xinuse, after_xinuse };
    write_full(&r, sizeof r);
    write_full(frame, FRAME);
    write_full(entry, area);
    write_full(after, area);
  }
  return 0;
}
