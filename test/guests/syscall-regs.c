/* SYSCALL's RCX and R11 (SDM Vol. 2B SYSCALL: RCX := the next instruction's RIP, R11 := RFLAGS;
 * Linux returns with both as the CPU saved them): after a getpid (39), RCX holds the address
 * after the instruction and R11 the flags it ran with, for several flag values. */
#include <stdint.h>
#include <stdio.h>

int main(void) {
  /* Bits: CF 0, PF 2, AF 4, ZF 6, SF 7, OF 11; IF (9) and bit 1 are set at user level. */
  const uint64_t cases[] = { 0x202, 0x203, 0x246, 0x2d7, 0xa03, 0xac7 };
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t rcx, before, after, label;
    __asm__ volatile(
        "pushq %[f]\n\t"
        "popfq\n\t"
        "pushfq\n\t"
        "popq %[b]\n\t"
        "movl $39, %%eax\n\t"
        "syscall\n\t"
        "0:\n\t"
        "pushfq\n\t"
        "popq %[a]\n\t"
        "leaq 0b(%%rip), %[l]\n\t"
        : "=c"(rcx), [b] "=&r"(before), [a] "=&r"(after), [l] "=&r"(label)
        : [f] "r"(cases[i])
        : "rax", "r11", "memory", "cc");
    /* R11 read by the instruction right after SYSCALL. */
    uint64_t r11v;
    __asm__ volatile(
        "pushq %[f]\n\t"
        "popfq\n\t"
        "movl $39, %%eax\n\t"
        "syscall\n\t"
        "movq %%r11, %[r]\n\t"
        : [r] "=r"(r11v)
        : [f] "r"(cases[i])
        : "rax", "rcx", "r11", "memory", "cc");
    printf("flags %04llx: rcx - label %lld, r11 %04llx (== flags before: %s), flags after %04llx\n",
           (unsigned long long)before, (long long)(rcx - label), (unsigned long long)r11v,
           r11v == before ? "yes" : "no", (unsigned long long)after);
  }
  return 0;
}
