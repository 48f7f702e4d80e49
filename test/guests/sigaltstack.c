/*
 * sigaltstack as Linux 6.18's kernel/signal.c gives it (what selftests/sigaltstack/sas.c and
 * x86/sigaltstack.c need): the answer of sigaltstack() called on the alternate stack (SS_ONSTACK),
 * uc_stack as __save_altstack writes it (the flags as the task set them), SS_AUTODISARM (disarmed
 * while the handler runs: a nested signal stays on the handler's stack; restored by rt_sigreturn's
 * restore_altstack), EPERM/EINVAL, and SS_FLAG_BITS kept beside SS_DISABLE.
 */
#include <stdio.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>
/* The system call itself: musl refuses SS_ONSTACK and small sizes before the kernel sees them. */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* include/uapi/linux/signal.h */
#endif
#define sigaltstack(ss, old) syscall(SYS_sigaltstack, ss, old)
static int depth;
static void h(int s, siginfo_t *si, void *c){ ucontext_t *uc=c; stack_t o; sigaltstack(0,&o); char here; 
 printf("handler depth %d: query flags %d size %zu, uc_stack flags %d size %zu, on the altstack %s\n", depth, o.ss_flags, o.ss_size, uc->uc_stack.ss_flags, uc->uc_stack.ss_size, (unsigned long)&here - (unsigned long)uc->uc_stack.ss_sp < uc->uc_stack.ss_size ? "yes":"no");
 if (depth++ == 0) raise(SIGUSR1); }
int main(void){ setvbuf(stdout,0,_IONBF,0);
 struct sigaction sa={0}; sa.sa_sigaction=h; sa.sa_flags=SA_ONSTACK|SA_SIGINFO|SA_NODEFER; sigaction(SIGUSR1,&sa,0);
 stack_t s={.ss_sp=malloc(65536),.ss_size=65536,.ss_flags=0}; int r;
 stack_t o; sigaltstack(0,&o); printf("initial: flags %d size %zu\n", o.ss_flags, o.ss_size);
 r=sigaltstack(&s,0); printf("set (flags 0): %d\n", r); depth=0; raise(SIGUSR1);
 sigaltstack(0,&o); printf("after: flags %d size %zu\n", o.ss_flags, o.ss_size);
 s.ss_flags=SS_AUTODISARM; r=sigaltstack(&s,0); printf("set (SS_AUTODISARM): %d\n", r); depth=0; raise(SIGUSR1);
 sigaltstack(0,&o); printf("after: flags %#x size %zu\n", o.ss_flags, o.ss_size);
 s.ss_flags=SS_ONSTACK; r=sigaltstack(&s,0); printf("set (SS_ONSTACK): %d errno %d\n", r, r ? errno : 0); sigaltstack(0,&o); printf("query: flags %d\n", o.ss_flags); depth=1; raise(SIGUSR1);
 s.ss_flags=5; r=sigaltstack(&s,&o); printf("set (flags 5): %d errno %d, old flags %d\n", r, r?errno:0, o.ss_flags);
 s.ss_flags=SS_DISABLE|SS_AUTODISARM; r=sigaltstack(&s,0); sigaltstack(0,&o); printf("set (SS_DISABLE|SS_AUTODISARM): %d, query flags %#x size %zu\n", r, o.ss_flags, o.ss_size);
 return 0; }
