/*
 * xstate-lab native x87 probe: runs a short x87/MMX instruction sequence on the real CPU between
 * an FXRSTOR64 of a given image and an FXSAVE64, for the x87 referee (src/selfcheck/x87-selfcheck.ts).
 *
 * Greeting: u32 magic, u32 pad, u64 code address, u64 data address.
 * Record in: u32 code_len, u32 pad, u8 code[CODE_MAX] (the sequence; the probe appends RET),
 *   u8 image[512] (FXSAVE64 format), u8 data[DATA_SIZE].
 * Record out: u32 signal, u32 si_code, u64 rip (where the fault was, 0 without one), u64 rax,
 *   u64 rflags, u8 image[512] (FXSAVE64 after the sequence, or the signal frame's fpstate),
 *   u8 data[DATA_SIZE].
 * RBX points at the data page while the sequence runs; RAX starts 0, RFLAGS 2.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_MAX 256
#define DATA_SIZE 256
#define X87_MAGIC 0x37385850u

static uint8_t setup[512] __attribute__((aligned(64)));
static uint8_t out[512] __attribute__((aligned(64)));
static uint64_t regs[2]; /* rax, rflags */
static sigjmp_buf jb;
static volatile uint32_t caught, caught_code;
static volatile uint64_t caught_rip;

static void on_fault(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  caught = (uint32_t)sig;
  caught_code = (uint32_t)si->si_code;
  caught_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  /* The state the kernel saved at the fault: the frame's fpstate starts with the FXSAVE image. */
  if (uc->uc_mcontext.fpregs) memcpy(out, uc->uc_mcontext.fpregs, 512);
  siglongjmp(jb, 1);
}

/* run(setup, out, code, data, regs) */
extern void run_seq(void *setup, void *out, void *code, void *data, uint64_t *regs);
__asm__(
    ".text\n.globl run_seq\n"
    "run_seq:\n"
    "  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  mov %rsi, %r13\n  mov %rcx, %rbx\n  mov %r8, %r14\n  mov %rdx, %r15\n"
    "  fxrstor64 (%rdi)\n"
    "  xor %eax, %eax\n  push $2\n  popfq\n"
    "  call *%r15\n"
    "  pushfq\n  pop %r15\n"
    "  mov %rax, (%r14)\n  mov %r15, 8(%r14)\n"
    "  fxsave64 (%r13)\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n  ret\n");

#include "probe-io.h"

int main(void) {
  uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *data = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED || data == MAP_FAILED) { perror("mmap"); return 2; }
  struct { uint32_t magic, pad; uint64_t code, data; } hello = { X87_MAGIC, 0, (uint64_t)(uintptr_t)code, (uint64_t)(uintptr_t)data };
  write_full(&hello, sizeof hello);
  catch_faults_info(on_fault);
  struct { uint32_t len, pad; uint8_t code[CODE_MAX]; } h;
  while (read_full(&h, sizeof h)) {
    if (!read_full(setup, sizeof setup) || !read_full(data, DATA_SIZE)) return 4;
    uint32_t n = h.len < CODE_MAX - 1 ? h.len : CODE_MAX - 1;
    memcpy(code, h.code, n);
    code[n] = 0xc3; /* RET */
    memset(out, 0, sizeof out);
    regs[0] = regs[1] = 0;
    caught = caught_code = 0;
    caught_rip = 0;
    if (sigsetjmp(jb, 1) == 0) run_seq(setup, out, code, data, regs);
    struct { uint32_t sig, code; uint64_t rip, rax, rflags; } r = { caught, caught_code, caught_rip, regs[0], regs[1] };
    write_full(&r, sizeof r);
    write_full(out, sizeof out);
    write_full(data, DATA_SIZE);
  }
  return 0;
}
