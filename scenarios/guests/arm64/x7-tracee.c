/*
 * A tracee for the arm64 syscall-stop scenarios: it makes system calls with a known value in x7
 * and reports what x7 and x0 hold afterwards, so a tracer's effect on them is visible.
 * AAPCS64 lets a syscall clobber nothing but x0 (arch/arm64: the kernel restores all other
 * registers), so x7 after the svc is the value the kernel put back.
 */
#include <stdio.h>

#define X7_MAGIC 0x1111

/* getppid (asm-generic/unistd.h 173) with x0 = arg and x7 = X7_MAGIC; x7 and x0 come back. */
static long svc_getppid(long arg, long *x7_after)
{
	register long x8 __asm__("x8") = 173;
	register long x0 __asm__("x0") = arg;
	register long x7 __asm__("x7") = X7_MAGIC;
	__asm__ volatile("svc #0" : "+r"(x0), "+r"(x7) : "r"(x8) : "memory");
	*x7_after = x7;
	return x0;
}

/* A user-issued syscall(-1): x8 = -1. */
static long svc_minus_one(long arg)
{
	register long x8 __asm__("x8") = -1;
	register long x0 __asm__("x0") = arg;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8) : "memory");
	return x0;
}

int main(void)
{
	long x7, r;
	setvbuf(stdout, NULL, _IONBF, 0);
	r = svc_getppid(0x5555, &x7);
	printf("first_x7: 0x%lx\n", x7);
	printf("first_x0: 0x%lx\n", r);
	r = svc_getppid(0x6666, &x7);
	printf("second_x7: 0x%lx\n", x7);
	printf("second_x0: 0x%lx\n", r);
	r = svc_getppid(0x7777, &x7);
	printf("third_x7: 0x%lx\n", x7);
	printf("third_x0: 0x%lx\n", r);
	r = svc_minus_one(0x8888);
	printf("minus_one_x0: 0x%lx\n", r);
	return 0;
}
