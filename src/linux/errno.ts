/**
 * The kernel's internal restart errnos (include/linux/errno.h, Linux 6.18). A system call that a
 * signal interrupts returns one of them; user space never sees it: on the way out
 * (arch/x86/kernel/signal.c arch_do_signal_or_restart, handle_signal) it becomes -EINTR or the
 * call is made again. A tracer at a signal-delivery stop does see it in RAX.
 */
/** Restart if no handler runs, or the handler has SA_RESTART; -EINTR otherwise. */
export const ERESTARTSYS = 512;
/** Always restart. */
export const ERESTARTNOINTR = 513;
/** Restart if no handler runs; -EINTR if one does (pause, sigsuspend, absolute sleeps). */
export const ERESTARTNOHAND = 514;
/** Restart through restart_syscall (the task's restart_block) if no handler runs; -EINTR if one does. */
export const ERESTART_RESTARTBLOCK = 516;

/** The four codes, for "is this a restart request". */
export const RESTART_CODES: ReadonlySet<number> = new Set([ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK]);
