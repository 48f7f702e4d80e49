/* /dev/kvm's XSAVE ioctls from a guest: API version, capabilities, KVM_GET_SUPPORTED_CPUID leaf
   0xD, a VM and a vCPU, KVM_GET/SET_XSAVE(2), KVM_GET/SET_XCRS, KVM_SET_CPUID2, the guest
   permission arch_prctls, fork (the child's VM ioctls are EIO) and bad pointers. The vCPU
   never runs. Structures and ioctl numbers are spelled out here (musl has no linux/kvm.h);
   they follow include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KVMIO 0xAE
struct kvm_cpuid_entry2 { uint32_t function, index, flags, eax, ebx, ecx, edx, padding[3]; };
struct kvm_cpuid2 { uint32_t nent, padding; struct kvm_cpuid_entry2 entries[]; };
struct kvm_xcr { uint32_t xcr, reserved; uint64_t value; };
struct kvm_xcrs { uint32_t nr_xcrs, flags; struct kvm_xcr xcrs[16]; uint64_t padding[16]; };
struct kvm_xsave { uint32_t region[1024]; };

#define KVM_GET_API_VERSION _IO(KVMIO, 0x00)
#define KVM_CREATE_VM _IO(KVMIO, 0x01)
#define KVM_CHECK_EXTENSION _IO(KVMIO, 0x03)
#define KVM_GET_VCPU_MMAP_SIZE _IO(KVMIO, 0x04)
#define KVM_GET_SUPPORTED_CPUID _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
#define KVM_CREATE_VCPU _IO(KVMIO, 0x41)
#define KVM_SET_CPUID2 _IOW(KVMIO, 0x90, struct kvm_cpuid2)
#define KVM_GET_XSAVE _IOR(KVMIO, 0xa4, struct kvm_xsave)
#define KVM_SET_XSAVE _IOW(KVMIO, 0xa5, struct kvm_xsave)
#define KVM_GET_XCRS _IOR(KVMIO, 0xa6, struct kvm_xcrs)
#define KVM_SET_XCRS _IOW(KVMIO, 0xa7, struct kvm_xcrs)
#define KVM_GET_XSAVE2 _IOR(KVMIO, 0xcf, struct kvm_xsave)
#define KVM_UNUSED_NR _IO(KVMIO, 0xff) /* no KVM ioctl has this number */
#define KVM_CAP_XSAVE 55
#define KVM_CAP_XCRS 56
#define KVM_CAP_XSAVE2 208
#define ARCH_GET_XCOMP_GUEST_PERM 0x1024
#define ARCH_REQ_XCOMP_GUEST_PERM 0x1025
#define XFEATURE_XTILE_DATA 18
#define MAX_ENTRIES 256
#define BUF 16384

static uint8_t img[BUF], out[BUF];
static unsigned uabi = 4096; /* what KVM_GET_XSAVE2 fills: KVM_CAP_XSAVE2 or 4096 */

static const char *err(long r) {
  static char b[32];
  if (r >= 0) { snprintf(b, sizeof b, "%ld", r); return b; }
  switch (errno) {
    case EINVAL: return "EINVAL"; case EFAULT: return "EFAULT"; case E2BIG: return "E2BIG"; case EIO: return "EIO";
    case EBUSY: return "EBUSY"; case EPERM: return "EPERM"; case EOPNOTSUPP: return "EOPNOTSUPP"; case ENOTTY: return "ENOTTY";
    case EEXIST: return "EEXIST"; case ENOENT: return "ENOENT"; case EBADF: return "EBADF";
  }
  snprintf(b, sizeof b, "errno %d", errno);
  return b;
}
static uint32_t r32(const uint8_t *b, unsigned o) { uint32_t v; memcpy(&v, b + o, 4); return v; }
static uint64_t r64(const uint8_t *b, unsigned o) { uint64_t v; memcpy(&v, b + o, 8); return v; }
static void w32(uint8_t *b, unsigned o, uint32_t v) { memcpy(b + o, &v, 4); }
static void w64(uint8_t *b, unsigned o, uint64_t v) { memcpy(b + o, &v, 8); }

static uint64_t guest_perm(void) { uint64_t p = 0; syscall(SYS_arch_prctl, ARCH_GET_XCOMP_GUEST_PERM, &p); return p; }

/* The legacy fields, the header and the software bytes of a KVM_GET_XSAVE{,2} image; PKRU at
   its standard offset (CPUID.(0DH,9).EBX) when the host has it. */
static unsigned pkru_off;
static void show(const char *what, const uint8_t *b) {
  printf("%s: FCW %04x FSW %04x FTW %02x MXCSR %08x MXCSR_MASK %08x XSTATE_BV %016llx XCOMP_BV %016llx sw464 %016llx",
         what, r32(b, 0) & 0xffff, r32(b, 2) & 0xffff, b[4], r32(b, 24), r32(b, 28), (unsigned long long)r64(b, 512),
         (unsigned long long)r64(b, 520), (unsigned long long)r64(b, 464));
  if (pkru_off) printf(" PKRU %08x", r32(b, pkru_off));
  printf("\n");
  int nz = 0;
  for (unsigned i = 528; i < 576; i++) nz |= b[i];
  if (nz) printf("  header reserved bytes not zero\n");
}

static void show_xcrs(const char *what, int fd) {
  struct kvm_xcrs x;
  memset(&x, 0xcc, sizeof x);
  long r = ioctl(fd, KVM_GET_XCRS, &x);
  if (r < 0) { printf("%s: KVM_GET_XCRS %s\n", what, err(r)); return; }
  printf("%s: nr_xcrs %u flags %u", what, x.nr_xcrs, x.flags);
  for (unsigned i = 0; i < x.nr_xcrs && i < 16; i++) printf(" xcr%u=%#llx", x.xcrs[i].xcr, (unsigned long long)x.xcrs[i].value);
  printf("\n");
}

static void get_xsave(const char *what, int vcpu) {
  memset(out, 0xcc, sizeof out);
  long r = ioctl(vcpu, KVM_GET_XSAVE, out);
  if (r < 0) {
    printf("%s: KVM_GET_XSAVE %s\n", what, err(r));
    memset(out, 0xcc, sizeof out);
    r = ioctl(vcpu, KVM_GET_XSAVE2, out);
    if (r < 0) { printf("%s: KVM_GET_XSAVE2 %s\n", what, err(r)); return; }
  }
  show(what, out);
}

static void set_xcrs(const char *what, int vcpu, uint32_t nr, uint32_t flags, uint32_t idx, uint64_t v) {
  struct kvm_xcrs x;
  memset(&x, 0, sizeof x);
  x.nr_xcrs = nr;
  x.flags = flags;
  x.xcrs[0].xcr = idx;
  x.xcrs[0].value = v;
  printf("KVM_SET_XCRS %-34s -> %s\n", what, err(ioctl(vcpu, KVM_SET_XCRS, &x)));
}

/* Keeps the leaf 0xD entries of a KVM_GET_SUPPORTED_CPUID answer (KVM_SET_CPUID2 gets only
   those), printing them; sets `supported` to sub-leaf 0's EAX. */
static uint32_t supported;
static unsigned leaf_d(struct kvm_cpuid2 *cpuid, int print) {
  unsigned nd = 0;
  for (unsigned i = 0; i < cpuid->nent; i++) {
    struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
    if (e->function != 0xd) continue;
    if (e->index == 0) supported = e->eax;
    if (print) printf("  leaf 0xd.%u flags %u: %08x %08x %08x %08x\n", e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx);
    cpuid->entries[nd++] = *e;
  }
  cpuid->nent = nd;
  return nd;
}

static void set_xsave(const char *what, int vcpu, const uint8_t *b) {
  printf("KVM_SET_XSAVE %-32s -> %s\n", what, err(ioctl(vcpu, KVM_SET_XSAVE, b)));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) { printf("open /dev/kvm: %s: this machine offers no KVM\n", err(kvm)); return 0; }
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(9));
  if (b) pkru_off = b;

  printf("KVM_GET_API_VERSION %s\n", err(ioctl(kvm, KVM_GET_API_VERSION, 0)));
  printf("KVM_GET_API_VERSION(1) %s\n", err(ioctl(kvm, KVM_GET_API_VERSION, 1)));
  printf("KVM_GET_VCPU_MMAP_SIZE %s\n", err(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)));
  printf("KVM_CHECK_EXTENSION XSAVE %s", err(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE)));
  printf(" XCRS %s", err(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS)));
  printf(" XSAVE2 %s\n", err(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2)));
  printf("unknown ioctl on /dev/kvm: %s\n", err(ioctl(kvm, KVM_UNUSED_NR, 0)));

  struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
  cpuid->nent = 1;
  printf("KVM_GET_SUPPORTED_CPUID nent 1: %s (nent still %u)\n", err(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid)), cpuid->nent);
  printf("KVM_GET_SUPPORTED_CPUID to a bad address: %s\n", err(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, (void *)8)));
  cpuid->nent = MAX_ENTRIES;
  printf("KVM_GET_SUPPORTED_CPUID nent %u: %s\n", MAX_ENTRIES, err(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid)));
  unsigned nd = leaf_d(cpuid, 1);

  /* Guest permission: the requests KVM's process may make, then a fork whose child locks its own. */
  printf("ARCH_GET_XCOMP_GUEST_PERM %#llx\n", (unsigned long long)guest_perm());
  printf("ARCH_REQ_XCOMP_GUEST_PERM 100 -> %s\n", err(syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, 100)));
  printf("ARCH_REQ_XCOMP_GUEST_PERM 2 -> %s\n", err(syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, 2)));
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) { printf("KVM_CREATE_VM %s\n", err(vm)); return 1; }
  printf("KVM_CREATE_VM: a VM fd\n");
  pid_t child = fork();
  if (child == 0) {
    printf("child: KVM_CREATE_VCPU on the parent's VM -> %s\n", err(ioctl(vm, KVM_CREATE_VCPU, 0)));
    printf("child: KVM_CHECK_EXTENSION on the parent's VM -> %s\n", err(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE)));
    printf("child: KVM_GET_API_VERSION on the inherited /dev/kvm fd -> %s\n", err(ioctl(kvm, KVM_GET_API_VERSION, 0)));
    int cvm = ioctl(kvm, KVM_CREATE_VM, 0);
    int cvcpu = ioctl(cvm, KVM_CREATE_VCPU, 0);
    printf("child: own VM and vCPU: %s\n", cvm >= 0 && cvcpu >= 0 ? "ok" : err(cvcpu));
    printf("child: ARCH_REQ_XCOMP_GUEST_PERM %d after a vCPU -> %s\n", XFEATURE_XTILE_DATA, err(syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILE_DATA)));
    printf("child: ARCH_GET_XCOMP_GUEST_PERM %#llx\n", (unsigned long long)guest_perm());
    /* kvm_check_cpuid: AMX in the guest's CPUID needs the guest permission. */
    for (unsigned i = 0; i < cpuid->nent; i++) if (cpuid->entries[i].index == 0) cpuid->entries[i].eax |= 0x60000;
    printf("child: KVM_SET_CPUID2 with XTILE_CFG|XTILE_DATA -> %s\n", err(ioctl(cvcpu, KVM_SET_CPUID2, cpuid)));
    _exit(0);
  }
  int st;
  waitpid(child, &st, 0);
  printf("child exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  printf("ARCH_REQ_XCOMP_GUEST_PERM %d -> %s\n", XFEATURE_XTILE_DATA, err(syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILE_DATA)));
  printf("ARCH_GET_XCOMP_GUEST_PERM %#llx\n", (unsigned long long)guest_perm());
  cpuid->nent = MAX_ENTRIES;
  printf("KVM_GET_SUPPORTED_CPUID again: %s\n", err(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid)));
  nd = leaf_d(cpuid, 0);
  printf("  leaf 0xd.0 EAX %08x, %u sub-leaves\n", supported, nd);
  long cap2 = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
  printf("VM KVM_CHECK_EXTENSION XSAVE2 %s (system fd: %s)\n", err(cap2), err(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2)));
  if (cap2 > 4096 && cap2 <= BUF) uabi = cap2;
  printf("unknown ioctl on the VM fd: %s\n", err(ioctl(vm, KVM_UNUSED_NR, 0)));

  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) { printf("KVM_CREATE_VCPU %s\n", err(vcpu)); return 1; }
  printf("KVM_CREATE_VCPU 0: a vCPU fd; again: %s\n", err(ioctl(vm, KVM_CREATE_VCPU, 0)));
  printf("ARCH_REQ_XCOMP_GUEST_PERM %d after a vCPU -> %s\n", XFEATURE_XTILE_DATA, err(syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILE_DATA)));
  printf("unknown ioctl on the vCPU fd: %s\n", err(ioctl(vcpu, KVM_UNUSED_NR, 0)));

  get_xsave("fresh KVM_GET_XSAVE", vcpu);
  memset(out, 0xcc, sizeof out);
  printf("fresh KVM_GET_XSAVE2 -> %s", err(ioctl(vcpu, KVM_GET_XSAVE2, out)));
  unsigned filled = 0;
  while (filled < BUF && out[filled] != 0xcc) filled++;
  printf(", bytes up to %s\n", filled >= 4096 ? "4096 or more" : "fewer than 4096");
  show_xcrs("fresh KVM_GET_XCRS", vcpu);
  printf("KVM_GET_XSAVE to a bad address: %s\n", err(ioctl(vcpu, KVM_GET_XSAVE, (void *)8)));
  printf("KVM_SET_XCRS from a bad address: %s\n", err(ioctl(vcpu, KVM_SET_XCRS, (void *)8)));

  /* Before KVM_SET_CPUID2 the guest supports only FP. */
  set_xcrs("xcr0=0x3 before KVM_SET_CPUID2", vcpu, 1, 0, 0, 3);
  printf("KVM_SET_CPUID2 leaf 0xD (%u entries, XCR0 %#x) -> %s\n", nd, supported, err(ioctl(vcpu, KVM_SET_CPUID2, cpuid)));
  get_xsave("after KVM_SET_CPUID2", vcpu);
  set_xcrs("nr_xcrs 17", vcpu, 17, 0, 0, 3);
  set_xcrs("flags 1", vcpu, 1, 1, 0, 3);
  set_xcrs("xcr0=0 (no FP)", vcpu, 1, 0, 0, 0);
  set_xcrs("xcr0=0x5 (YMM without SSE)", vcpu, 1, 0, 0, 5);
  set_xcrs("xcr0=0x27 (opmask alone)", vcpu, 1, 0, 0, 0x27);
  set_xcrs("xcr0=0x9 (BNDREGS alone)", vcpu, 1, 0, 0, 9);
  set_xcrs("xcr0=0x20003 (XTILE_CFG alone)", vcpu, 1, 0, 0, 0x20003);
  set_xcrs("xcr0 bit 63", vcpu, 1, 0, 0, (1ull << 63) | 3);
  set_xcrs("only an XCR1 entry (ignored)", vcpu, 1, 0, 1, 3);
  set_xcrs("xcr0=0x7", vcpu, 1, 0, 0, 7);
  show_xcrs("KVM_GET_XCRS", vcpu);
  set_xcrs("xcr0=supported", vcpu, 1, 0, 0, supported);
  show_xcrs("KVM_GET_XCRS", vcpu);

  /* Images built from KVM's own: PKRU with XSTATE_BV[9] set, then clear. */
  memset(img, 0, sizeof img);
  memset(out, 0, sizeof out);
  if (ioctl(vcpu, KVM_GET_XSAVE2, out) < 0) ioctl(vcpu, KVM_GET_XSAVE, out);
  memcpy(img, out, uabi);
  w32(img, 24, 0x1f80 | 0x6000); /* MXCSR: RC toward zero */
  memset(img + 160, 0x5a, 16);    /* XMM0 */
  w64(img, 512, r64(img, 512) | 3);
  if (pkru_off && (supported & (1u << 9))) {
    w64(img, 512, r64(img, 512) | (1u << 9));
    w32(img, pkru_off, 0x55555554);
    set_xsave("PKRU 55555554, XSTATE_BV[9] set", vcpu, img);
    get_xsave("  then KVM_GET_XSAVE", vcpu);
    w64(img, 512, r64(img, 512) & ~(1ull << 9));
    w32(img, pkru_off, 0x0000000c);
    set_xsave("PKRU bytes 0c, XSTATE_BV[9] clear", vcpu, img);
    get_xsave("  then KVM_GET_XSAVE", vcpu);
  } else {
    set_xsave("XMM0 and MXCSR", vcpu, img);
    get_xsave("  then KVM_GET_XSAVE", vcpu);
    printf("no PKRU in KVM's supported XCR0: the PKRU cases are not run\n");
  }
  uint8_t *bad = malloc(BUF);
  memcpy(bad, img, BUF);
  w64(bad, 520, 1ull << 63 | 3);
  set_xsave("XCOMP_BV set", vcpu, bad);
  memcpy(bad, img, BUF);
  bad[540] = 1;
  set_xsave("reserved header byte 540", vcpu, bad);
  memcpy(bad, img, BUF);
  w64(bad, 512, r64(bad, 512) | (1u << 8));
  set_xsave("XSTATE_BV bit 8 (PT)", vcpu, bad);
  memcpy(bad, img, BUF);
  w64(bad, 512, r64(bad, 512) | (1ull << 62));
  set_xsave("XSTATE_BV bit 62", vcpu, bad);
  printf("KVM_SET_XSAVE XSTATE_BV bits outside XCR0 %#x:", supported);
  for (unsigned i = 2; i < 32; i++) {
    if (supported & (1u << i) || i == 8) continue;
    memcpy(bad, img, BUF);
    w64(bad, 512, r64(bad, 512) | (1u << i));
    printf(" %u %s", i, err(ioctl(vcpu, KVM_SET_XSAVE, bad)));
  }
  printf("\n");
  memcpy(bad, img, BUF);
  w32(bad, 24, 0x1f80 | (1u << 31));
  set_xsave("MXCSR bit 31", vcpu, bad);
  printf("KVM_SET_XSAVE from a bad address: %s\n", err(ioctl(vcpu, KVM_SET_XSAVE, (void *)8)));
  get_xsave("after the refused images", vcpu);

  printf("close: vCPU %d, VM %d, /dev/kvm %d\n", close(vcpu), close(vm), close(kvm));
  printf("KVM_GET_API_VERSION on a closed fd: %s\n", err(ioctl(kvm, KVM_GET_API_VERSION, 0)));
  return 0;
}
