/* pthreads: create/join, a mutex-protected counter, a condition variable, thread-local storage,
 * and per-thread vector registers kept across context switches (sched_yield between writing and
 * reading ymm/xmm registers). */
#include "guest.h"
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#define THREADS 4
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static _Thread_local int tls = 100;
static int avx2;

static uint32_t keep_vector(uint32_t v) {
  uint32_t out[8] = {0};
  if (avx2) {
    __asm__ volatile("vmovd %[v], %%xmm5\n\tvpbroadcastd %%xmm5, %%ymm5\n\t"
                     "mov $3, %%ebx\n1:\n\tmov $24, %%eax\n\tsyscall\n\tdec %%ebx\n\tjnz 1b\n\t"
                     "vmovdqu %%ymm5, %[out]\n\tvzeroupper"
                     : [out] "=m"(out) : [v] "r"(v) : "rax", "rbx", "rcx", "r11", "xmm5", "memory");
    return out[0] ^ out[7] ^ v ^ out[3];
  }
  __asm__ volatile("movd %[v], %%xmm5\n\tpshufd $0, %%xmm5, %%xmm5\n\t"
                   "mov $3, %%ebx\n1:\n\tmov $24, %%eax\n\tsyscall\n\tdec %%ebx\n\tjnz 1b\n\t"
                   "movdqu %%xmm5, %[out]"
                   : [out] "=m"(out) : [v] "r"(v) : "rax", "rbx", "rcx", "r11", "xmm5", "memory");
  return out[0] ^ out[3] ^ v ^ out[2];
}

static void *worker(void *arg) {
  long id = (long)arg;
  tls += (int)id;
  long local = 0;
  for (long i = 0; i < 200000; i++) local += i % (id + 2);
  for (int i = 0; i < 1000; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
    if (i % 250 == 0) sched_yield();
  }
  pthread_mutex_lock(&mu);
  while (!ready) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  uint32_t check = keep_vector(0x11111111u * (uint32_t)(id + 1));
  return (void *)(local * 1000 + tls * 10 + (check == 0x11111111u * (uint32_t)(id + 1) ? 1 : 0));
}

int main(void) {
  avx2 = os_avx2();
  printf("vector registers per thread: %s\n", avx2 ? "ymm" : "xmm (no AVX2)");
  pthread_t t[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], 0, worker, (void *)i);
  for (int spin = 0; spin < 5; spin++) sched_yield();
  pthread_mutex_lock(&mu);
  ready = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    long v = (long)r;
    printf("thread %d: sum %ld tls %ld vector kept %ld\n", i, v / 1000, (v % 1000) / 10, v % 10);
  }
  printf("counter %ld main tls %d\n", counter, tls);
  return 0;
}
