/*
 * A plain AArch64 program for the qemu-aarch64 referee (test/arm64.test.ts): arguments, heap (brk
 * and mmap through malloc), fork + wait4 (exit status and death by a signal), kill, getpid/getppid
 * relations, and x7 across an untraced system call. Everything it prints is the same on any
 * Linux: no pids, no addresses, no time.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long x7_after_getpid(void)
{
	register long x8 __asm__("x8") = 172;
	register long x0 __asm__("x0") = 0;
	register long x7 __asm__("x7") = 0x7777;
	__asm__ volatile("svc #0" : "+r"(x0), "+r"(x7) : "r"(x8) : "memory");
	return x7;
}

int main(int argc, char **argv)
{
	int i, st;
	pid_t pid, me = getpid();
	char *small, *big;

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("argc: %d\n", argc);
	for (i = 1; i < argc; i++)
		printf("arg%d: %s\n", i, argv[i]);
	small = malloc(100);
	big = malloc(1 << 20);
	memset(big, 0x5a, 1 << 20);
	strcpy(small, "heap ok");
	printf("small: %s\n", small);
	printf("big_sum: %ld\n", (long)big[0] + big[(1 << 20) - 1]);
	free(big);
	printf("x7_after_svc: 0x%lx\n", x7_after_getpid());

	pid = fork();
	if (pid == 0) {
		printf("child_ppid_is_parent: %d\n", getppid() == me);
		_exit(5);
	}
	printf("wait_is_child: %d\n", waitpid(pid, &st, 0) == pid);
	printf("child_exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	pid = fork();
	if (pid == 0) {
		kill(getpid(), SIGTERM);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	printf("child_signal: %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	printf("no_more_children: %d\n", waitpid(-1, &st, 0) == -1);
	return 7;
}
