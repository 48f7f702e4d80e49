/**
 * Wait queues (kernel/sched/wait.c, Linux 6.18) as far as the model needs them: the entries that
 * epoll registers on the files it watches (ep_ptable_queue_proc), woken with a poll key.
 * Tasks that sleep in a system call are not entries here: the scheduler retries their `Wait`
 * (kernel/sched/core.ts), which is how the model's sleeps end.
 */

/** wait_queue_entry: `func` is the wake function (ep_poll_callback); it returns whether it woke a waiter (the exclusive count). */
export interface WaitQueueEntry {
  exclusive: boolean;
  func: (key: number) => boolean;
}

/** wait_queue_head. */
export class WaitQueueHead {
  readonly entries: WaitQueueEntry[] = [];
  get active(): boolean { return this.entries.length > 0; }
}

/** add_wait_queue(): a non-exclusive entry goes at the head. */
export function add_wait_queue(wq: WaitQueueHead, e: WaitQueueEntry): void {
  e.exclusive = false;
  wq.entries.unshift(e);
}

/** add_wait_queue_exclusive(): an exclusive entry goes at the tail. */
export function add_wait_queue_exclusive(wq: WaitQueueHead, e: WaitQueueEntry): void {
  e.exclusive = true;
  wq.entries.push(e);
}

export function remove_wait_queue(wq: WaitQueueHead, e: WaitQueueEntry): void {
  const i = wq.entries.indexOf(e);
  if (i >= 0) wq.entries.splice(i, 1);
}

/**
 * __wake_up(): every entry in order until `nrExclusive` exclusive ones report that they woke
 * someone (__wake_up_common). wake_up, wake_up_poll and wake_up_interruptible_sync_poll pass 1;
 * wake_up_interruptible_all passes 0 (no limit). A key of 0 is the NULL key (no events named).
 */
export function wake_up_poll(wq: WaitQueueHead, key: number, nrExclusive = 1): void {
  for (const e of [...wq.entries]) {
    if (e.func(key) && e.exclusive && --nrExclusive === 0) break;
  }
}
