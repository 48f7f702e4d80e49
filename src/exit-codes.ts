/**
 * The exit status of every xstate-lab command (one rule, README "Commands"). `exec` is the
 * exception by design: it exits with the guest's status, as qemu-x86_64 does.
 */
/** Everything asked for was done; every expectation held, no mismatch. */
export const EXIT_OK = 0;
/** An expectation failed (`run`), or a referee found mismatches (`selfcheck`). */
export const EXIT_FAILED = 1;
/** Bad input or usage: an unknown option or command, a missing argument, a bad file, an empty selection. */
export const EXIT_USAGE = 2;

export const EXIT_STATUS_HELP = `Exit status: ${EXIT_OK} ok; ${EXIT_FAILED} an expectation failed or mismatches were found; ${EXIT_USAGE} bad input or usage (one line on stderr).
exec exits with the guest's status (128 + N when a signal N killed it, 125 when the tool could not go on).`;
