/* An AArch64 guest that makes a call the model lacks (inotify_init1) and then faults: the model reports the call and kills it with SIGSEGV. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	syscall(SYS_inotify_init1, 0);
	printf("before: 1\n");
	*(volatile int *)16 = 1;
	printf("after: 1\n");
	return 0;
}
