/*
 * xstate-lab native instruction probe: runs one instruction at a time on the real CPU between an
 * XRSTOR64 of a given state and an XSAVE64 of everything, for the vector-instruction referee.
 *
 * On SIGFPE the pad holds si_code and the state's MXCSR field the MXCSR of the signal frame.
 * Record in (little endian): u32 code_len, u32 pad, u64 gpr[4] (RAX RCX RDX RSI), u8 code[32],
 * u8 setup[area], u8 data[DATA_SIZE]. Record out: u32 signal, u32 pad, u64 gpr[4], u64 rflags,
 * u8 state[area] (XSAVE64, RFBM = XCR0), u8 data[DATA_SIZE]. RBX points at the data buffer while
 * the instruction runs; instructions must not use RBX, RSP, RBP or R12-R15.
 * The greeting is u32 magic, u32 area, u64 data address.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_MAX 32
#define DATA_SIZE 1024

static uint8_t setup[16384] __attribute__((aligned(64)));
static uint8_t out[16384] __attribute__((aligned(64)));
static uint8_t data[DATA_SIZE] __attribute__((aligned(64)));
static uint64_t gprs[5];
static sigjmp_buf jb;
static volatile int caught, caught_code;
static volatile uint32_t caught_mxcsr;
/* SIGFPE (#XM): si_code and the MXCSR the kernel saved in the signal frame are recorded. */
static void on_fault(int sig, siginfo_t *si, void *ctx) {
  caught = sig;
  caught_code = si->si_code;
  ucontext_t *uc = ctx;
  caught_mxcsr = sig == SIGFPE && uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0;
  siglongjmp(jb, 1);
}

/* run(setup, out, data, gprs): the slot between the two markers is patched with the instruction. */
extern void run_insn(void *setup, void *out, void *data, uint64_t *gprs);
extern uint8_t insn_slot[], insn_slot_end[];
__asm__(
    ".pushsection .probe,\"awx\",@progbits\n"
    ".globl run_insn\n.globl insn_slot\n.globl insn_slot_end\n"
    ".p2align 12\n"
    "run_insn:\n"
    "  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
    "  mov %rdi, %r12\n  mov %rsi, %r13\n  mov %rdx, %rbx\n  mov %rcx, %r14\n"
    "  mov $-1, %eax\n  mov $-1, %edx\n  xrstor64 (%r12)\n"
    "  mov (%r14), %rax\n  mov 8(%r14), %rcx\n  mov 16(%r14), %rdx\n  mov 24(%r14), %rsi\n"
    "  push $2\n  popfq\n"
    "insn_slot:\n"
    "  .fill 32, 1, 0x90\n"
    "insn_slot_end:\n"
    "  pushfq\n  pop %r15\n"
    "  mov %rax, (%r14)\n  mov %rcx, 8(%r14)\n  mov %rdx, 16(%r14)\n  mov %rsi, 24(%r14)\n  mov %r15, 32(%r14)\n"
    "  mov $-1, %eax\n  mov $-1, %edx\n  xsave64 (%r13)\n"
    "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n  ret\n"
    ".popsection\n");

#include "probe-io.h"

int main(void) {
  unsigned a, b, c, d;
  __cpuid_count(0xd, 0, a, b, c, d);
  uint32_t area = (c + 63u) & ~63u;
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t slot_page = (uintptr_t)insn_slot & ~(uintptr_t)(page - 1);
  if (mprotect((void *)slot_page, (size_t)page * 2, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) { perror("mprotect"); return 2; }
  struct { uint32_t magic, area; uint64_t data; } hello = { 0x4e534e49u, area, (uint64_t)(uintptr_t)data };
  write_full(&hello, sizeof hello);
  if (request_amx_permission()) use_amx_once();
  catch_faults_info(on_fault);
  struct { uint32_t len, pad; uint64_t gpr[4]; uint8_t code[CODE_MAX]; } h;
  while (read_full(&h, sizeof h)) {
    if (!read_full(setup, area) || !read_full(data, DATA_SIZE)) return 4;
    memset(insn_slot, 0x90, (size_t)(insn_slot_end - insn_slot));
    memcpy(insn_slot, h.code, h.len < CODE_MAX ? h.len : CODE_MAX);
    memcpy(gprs, h.gpr, sizeof h.gpr);
    gprs[4] = 0;
    memset(out, 0, area);
    caught = caught_code = 0;
    caught_mxcsr = 0;
    if (sigsetjmp(jb, 1) == 0) run_insn(setup, out, data, gprs);
    /* After SIGFPE: MXCSR at its XSAVE offset (24) of the otherwise empty state, si_code in the pad. */
    if (caught == SIGFPE) memcpy(out + 24, (const void *)&caught_mxcsr, 4);
    struct { uint32_t sig, pad; } r = { (uint32_t)caught, caught == SIGFPE ? (uint32_t)caught_code : 0 };
    write_full(&r, sizeof r);
    write_full(gprs, sizeof gprs);
    write_full(out, area);
    write_full(data, DATA_SIZE);
  }
  return 0;
}
