/*
 * An rr-like tracer on arm64 (a guest program: it forks its tracee). Like rr it keeps its own copy
 * of x0 at the syscall-entry stop (the kernel's orig_x0 is not visible: rr PR #2573), reads the
 * syscall number through NT_ARM_SYSTEM_CALL (rr PR #2564), and restarts a system call at its exit
 * stop by moving pc back over the svc and putting the saved x0 back. It also tries
 * PTRACE_O_ARM64_RAW_REGS, the unmerged option, and writes x7 at the exit stop.
 * Prints `key: value` lines; the tracee prints its own (first_x7 ...).
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/ptrace.h>

#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif
/* Vagin's v2 (not merged): arch/arm64/include/uapi/asm/ptrace.h PTRACE_O_ARM64_RAW_REGS. */
#define PTRACE_O_ARM64_RAW_REGS (1 << 28)
#define NR_GETPPID 173
#define X7_MAGIC 0x1111

static long svc_getppid(long arg, long *x7_after)
{
	register long x8 __asm__("x8") = NR_GETPPID;
	register long x0 __asm__("x0") = arg;
	register long x7 __asm__("x7") = X7_MAGIC;
	__asm__ volatile("svc #0" : "+r"(x0), "+r"(x7) : "r"(x8) : "memory");
	*x7_after = x7;
	return x0;
}

static int get_regs(pid_t pid, struct user_pt_regs *r)
{
	struct iovec iov = { r, sizeof(*r) };
	return (int)ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov);
}

static int set_regs(pid_t pid, struct user_pt_regs *r)
{
	struct iovec iov = { r, sizeof(*r) };
	return (int)ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov);
}

static int syscall_no(pid_t pid)
{
	int nr = 0;
	struct iovec iov = { &nr, sizeof(nr) };
	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_ARM_SYSTEM_CALL, &iov))
		return -1000;
	return nr;
}

/* PTRACE_SYSCALL and wait for the next syscall stop; returns 0, or -1 if the tracee is gone. */
static int next_syscall_stop(pid_t pid)
{
	int st;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0))
			return -1;
		if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			return -1;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80))
			return 0;
	}
}

int main(void)
{
	pid_t pid;
	int st;
	long x7, r;
	struct user_pt_regs regs;
	unsigned long my_orig_x0;

	setvbuf(stdout, NULL, _IONBF, 0);
	pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		r = svc_getppid(0x5555, &x7);
		printf("first_x7: 0x%lx\n", x7);
		printf("first_x0_is_ppid: %d\n", r == getppid());
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("first_stop_sig: %d\n", WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
	r = ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_ARM64_RAW_REGS));
	printf("raw_regs_option: %s\n", r == 0 ? "0" : strerror(errno));
	if (r != 0)
		ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	printf("getregs: %s\n", ptrace(12 /* PTRACE_GETREGS */, pid, 0, &regs) == 0 ? "0" : strerror(errno));

	/* Entry stop of getppid: keep our own orig_x0. */
	do {
		if (next_syscall_stop(pid))
			return 1;
	} while (syscall_no(pid) != NR_GETPPID);
	get_regs(pid, &regs);
	my_orig_x0 = regs.regs[0];
	printf("entry_x7: 0x%llx\n", regs.regs[7]);
	printf("entry_x0: 0x%llx\n", regs.regs[0]);

	/* Exit stop: restart the call (pc back over the svc, x0 from our copy), and try to set x7. */
	if (next_syscall_stop(pid))
		return 1;
	get_regs(pid, &regs);
	printf("exit_x7: 0x%llx\n", regs.regs[7]);
	regs.pc -= 4;
	regs.regs[0] = my_orig_x0;
	regs.regs[7] = 0x4444;
	printf("restart_set: %d\n", set_regs(pid, &regs));

	/* The restarted call: a new entry stop of getppid with x0 as at the first entry. */
	if (next_syscall_stop(pid))
		return 1;
	get_regs(pid, &regs);
	printf("restart_nr: %d\n", syscall_no(pid));
	printf("restart_entry_x0: 0x%llx\n", regs.regs[0]);
	printf("restart_entry_x7: 0x%llx\n", regs.regs[7]);

	ptrace(PTRACE_CONT, pid, 0, 0);
	waitpid(pid, &st, 0);
	printf("tracee_exit: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
