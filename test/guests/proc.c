/* /proc as a test program reads it: readlink of /proc/self and exe, status fields (Name, State,
 * Tgid/Pid, TracerPid after PTRACE_ATTACH, Threads, the signal sets, Cpus_allowed_list), stat's
 * fields, maps lines of a region the program mapped and of its own file, auxv against getauxval,
 * cmdline (read live), comm, task/ and fd/ listings, arch_status. Prints nothing that depends on
 * the host (no pids, no device or inode numbers). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[1 << 16];

static long slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  long n = 0, r;
  while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
  close(fd);
  buf[n] = 0;
  return n;
}

/* The value of "Key:\t..." (status) or "key\t: ..." (cpuinfo) in the text, or NULL. */
static const char *field(const char *text, const char *key) {
  static char v[4096];
  size_t k = strlen(key);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    const char *c = l + k;
    if (strncmp(l, key, k)) continue;
    while (*c == '\t' || *c == ' ') c++;
    if (*c == ':') {
      const char *s = c + 1;
      while (*s == '\t' || *s == ' ') s++;
      size_t n = strcspn(s, "\n");
      if (n > sizeof v - 1) n = sizeof v - 1;
      memcpy(v, s, n);
      v[n] = 0;
      return v;
    }
  }
  return NULL;
}

static void status_of(const char *path, const char *key) {
  slurp(path);
  const char *v = field(buf, key);
  printf("  %s %s\n", key, v ? v : "(absent)");
}

static void *sleeper(void *arg) { (void)arg; pause(); return NULL; }
static void on_int(int s) { (void)s; }

int main(int argc, char **argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IONBF, 0);
  char link[4096], want[64];

  /* /proc/cpuinfo: CPU 0's block (the fields that come from CPUID and the kernel's flags), one block per CPU. */
  slurp("/proc/cpuinfo");
  printf("cpuinfo:\n");
  for (const char *k = "vendor_id\0cpu family\0model\0stepping\0cache size\0fpu\0fpu_exception\0cpuid level\0wp\0clflush size\0cache_alignment\0address sizes\0"; *k; k += strlen(k) + 1) printf("  %s: %s\n", k, field(buf, k) ? field(buf, k) : "(absent)");
  {
    const char *f = field(buf, "flags");
    char flat[4096];
    int o = 0, sp = 0;
    for (; f && *f && o < (int)sizeof flat - 1; f++) { if (*f == ' ') { sp = 1; continue; } if (sp && o) flat[o++] = ' '; sp = 0; flat[o++] = *f; }
    flat[o] = 0;
    printf("  flags: %s\n", flat);
    /* The blocks are numbered 0, 1, ... in order (how many is the machine's: not printed). */
    int blocks = 0, in_order = 1;
    for (const char *l = buf; (l = strstr(l, "processor\t: ")); l++) in_order &= atoi(l + 12) == blocks++;
    printf("  blocks numbered from 0 in order: %s\n", blocks > 0 && in_order ? "yes" : "no");
  }

  /* /proc/self is a link to the tgid; exe to the program. */
  long n = readlink("/proc/self", link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  snprintf(want, sizeof want, "%d", getpid());
  printf("readlink /proc/self is the pid: %s\n", !strcmp(link, want) ? "yes" : "no");
  n = readlink("/proc/self/exe", link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  printf("readlink /proc/self/exe is argv[0]: %s\n", !strcmp(link, argv[0]) ? "yes" : "no");
  errno = 0;
  printf("readlink of 4 bytes returns %ld (cut, no NUL)\n", readlink("/proc/self/exe", link, 4));
  errno = 0;
  n = readlink("/proc/self/status", link, sizeof link);
  printf("readlink of status: %ld %s\n", n, errno == EINVAL ? "EINVAL" : strerror(errno));
  errno = 0;
  printf("open /proc/self/nonexistent: %s\n", open("/proc/self/nonexistent", O_RDONLY) < 0 && errno == ENOENT ? "ENOENT" : "other");
  struct stat st;
  printf("stat status: regular %d size %ld\n", stat("/proc/self/status", &st) == 0 && S_ISREG(st.st_mode), (long)st.st_size);
  printf("stat /proc/self/task: directory %d\n", stat("/proc/self/task", &st) == 0 && S_ISDIR(st.st_mode));

  /* status. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  raise(SIGUSR1);
  signal(SIGUSR2, SIG_IGN);
  signal(SIGINT, on_int);
  slurp("/proc/self/status");
  char tid[32], pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  snprintf(tid, sizeof tid, "%ld", (long)syscall(SYS_gettid));
  printf("status:\n");
  for (const char *k = "Name\0State\0TracerPid\0Threads\0SigPnd\0ShdPnd\0SigBlk\0"; *k; k += strlen(k) + 1) printf("  %s %s\n", k, field(buf, k) ? field(buf, k) : "(absent)");
  unsigned long long ign = strtoull(field(buf, "SigIgn"), 0, 16);
  unsigned long long cgt = strtoull(field(buf, "SigCgt"), 0, 16);
  printf("  SigIgn has SIGUSR2: %d, SigCgt has SIGINT: %d\n", (int)(ign >> (SIGUSR2 - 1) & 1), (int)(cgt >> (SIGINT - 1) & 1));
  printf("  Tgid is the pid: %s,", !strcmp(field(buf, "Tgid"), pid) ? "yes" : "no");
  printf(" Pid is the tid: %s\n", !strcmp(field(buf, "Pid"), tid) ? "yes" : "no");
  sigprocmask(SIG_UNBLOCK, &(sigset_t){0}, NULL);
  signal(SIGUSR1, SIG_IGN);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  cpu_set_t cs;
  CPU_ZERO(&cs);
  CPU_SET(0, &cs);
  sched_setaffinity(0, sizeof cs, &cs);
  status_of("/proc/self/status", "Cpus_allowed_list");
  status_of("/proc/thread-self/status", "Cpus_allowed_list");

  /* stat: state, num_threads, exit_signal, processor. */
  slurp("/proc/self/stat");
  char *p = strrchr(buf, ')');
  char state = 0;
  long f[52] = {0};
  if (p) {
    state = p[2];
    char *s = p + 4;
    for (int i = 4; i <= 52 && s; i++) { f[i - 1] = strtol(s, &s, 10); while (*s == ' ') s++; }
  }
  printf("stat: comm %.*s state %c num_threads %ld exit_signal %ld processor is getcpu: %s\n", (int)(strchr(buf, ')') - strchr(buf, '(') + 1), strchr(buf, '('), state, f[19], f[37], f[38] == sched_getcpu() ? "yes" : "no");

  /* comm and cmdline (read from the process's memory, live). */
  slurp("/proc/self/comm");
  printf("comm: %s", buf);
  n = slurp("/proc/self/cmdline");
  printf("cmdline is argv[0] and its NUL: %s\n", n == (long)strlen(argv[0]) + 1 && !strcmp(buf, argv[0]) ? "yes" : "no");
  argv[0][0] = '#';
  slurp("/proc/self/cmdline");
  printf("after argv[0][0] = '#': cmdline starts with '%c'\n", buf[0]);
  argv[0][0] = '/';

  /* auxv against getauxval, entry by entry. */
  n = slurp("/proc/self/auxv");
  unsigned long *av = (unsigned long *)buf;
  int same = 1, ended = 0, hwcap = 0;
  for (long i = 0; i + 1 < n / 8; i += 2) {
    if (av[i] == AT_NULL) { ended = i + 2 == n / 8; break; }
    if (av[i] == AT_HWCAP) hwcap = av[i + 1] == getauxval(AT_HWCAP);
    if (getauxval(av[i]) != av[i + 1]) same = 0;
  }
  printf("auxv: every entry as getauxval gives it: %s, AT_HWCAP equal: %s, ends with AT_NULL: %s\n", same ? "yes" : "no", hwcap ? "yes" : "no", ended ? "yes" : "no");

  /* maps: a region this program placed, with a read-only page inside. */
  char *r = mmap((void *)0x5a5a5a000000UL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  mprotect(r + 4096, 4096, PROT_READ);
  slurp("/proc/self/maps");
  printf("maps:\n");
  for (char *l = buf; *l; l = strchr(l, '\n') + 1) {
    size_t len = strcspn(l, "\n");
    unsigned long lo = strtoul(l, 0, 16);
    if (lo >= 0x5a5a5a000000UL && lo < 0x5a5a5a003000UL) printf("  %.*s\n", (int)len, l);
    /* The program's own file: addresses, perms and offset (device and inode are the host's). */
    if (len > strlen(argv[0]) && !strncmp(l + len - strlen(argv[0]), argv[0], strlen(argv[0]))) printf("  %.*s ... program\n", 31, l);
    if (!strncmp(l + len - 7, "[stack]", 7)) printf("  stack %.4s\n", l + strcspn(l, " ") + 1);
    if (!*(l + len)) break;
  }

  /* A thread: two entries in task/, and its own status there. */
  pthread_t th;
  pthread_create(&th, NULL, sleeper, NULL);
  sched_yield();
  DIR *d = opendir("/proc/self/task");
  int tasks = 0, dots = 0;
  struct stat dst;
  printf("fstat of the open task/ directory: directory %d\n", d && fstat(dirfd(d), &dst) == 0 && S_ISDIR(dst.st_mode));
  struct dirent *e;
  while (d && (e = readdir(d))) { if (e->d_name[0] == '.') dots++; else tasks++; }
  if (d) closedir(d);
  printf("task/: %d threads, %d dot entries\n", tasks, dots);
  status_of("/proc/self/status", "Threads");

  /* fd/: a pipe shows as pipe:[inode]. */
  int pp[2];
  pipe(pp);
  snprintf(want, sizeof want, "/proc/self/fd/%d", pp[0]);
  n = readlink(want, link, sizeof link - 1);
  link[n > 0 ? n : 0] = 0;
  printf("fd of a pipe: %.6s...]: %s\n", link, link[n - 1] == ']' ? "yes" : "no");

  /* arch_status: the AVX-512 line where the kernel has AVX-512 (its value is a time: only its form is printed). */
  if (slurp("/proc/self/arch_status") >= 0) {
    const char *v = field(buf, "AVX512_elapsed_ms");
    printf("arch_status: AVX512_elapsed_ms %s\n", !v ? "(absent: no AVX-512)" : strtol(v, 0, 10) >= -1 ? "a number from -1 up" : "malformed");
  }

  /* TracerPid and the tracing stop of a traced child, as its parent reads them. */
  pid_t c = fork();
  if (c == 0) { for (;;) pause(); }
  ptrace(PTRACE_ATTACH, c, 0, 0);
  int ws;
  waitpid(c, &ws, 0);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", c);
  slurp(path);
  printf("traced child: State %s,", field(buf, "State"));
  printf(" TracerPid is my pid: %s\n", !strcmp(field(buf, "TracerPid"), pid) ? "yes" : "no");
  snprintf(path, sizeof path, "/proc/%d/stat", c);
  slurp(path);
  printf("traced child's stat state: %c\n", strrchr(buf, ')')[2]);
  ptrace(PTRACE_DETACH, c, 0, 0);
  kill(c, SIGKILL);
  waitpid(c, &ws, 0);
  snprintf(path, sizeof path, "/proc/%d/status", c);
  printf("reaped child's status: %s\n", slurp(path) == -ENOENT ? "ENOENT" : "present");

  /* A zombie: waited for with WNOWAIT, still there, without its memory lines. */
  c = fork();
  if (c == 0) _exit(3);
  siginfo_t si;
  waitid(P_PID, c, &si, WEXITED | WNOWAIT);
  snprintf(path, sizeof path, "/proc/%d/status", c);
  slurp(path);
  printf("zombie: State %s,", field(buf, "State"));
  printf(" VmSize %s,", field(buf, "VmSize") ? "present" : "absent");
  printf(" Threads %s\n", field(buf, "Threads"));
  snprintf(path, sizeof path, "/proc/%d/stat", c);
  slurp(path);
  printf("zombie's stat state: %c\n", strrchr(buf, ')')[2]);
  waitpid(c, &ws, 0);
  return 0;
}
