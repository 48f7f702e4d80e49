/*
 * xstate-lab native probe for `selfcheck kvm`: KVM's XSAVE ioctls on this host's /dev/kvm.
 * The vCPU never runs (no KVM_RUN), so every answer is the kernel's software path: the UABI
 * copies between user buffers and the guest fpstate, with no XSAVE/XRSTOR in between.
 *
 * argv[1]: "1" = ask for guest AMX permission (ARCH_REQ_XCOMP_GUEST_PERM, XTILEDATA) before the
 * vCPU exists, "0" = do not. Permission is per process and locked by the first vCPU, hence one
 * process per setting.
 *
 * Greeting (little-endian): see struct hello below, then the fresh vCPU's KVM_GET_XSAVE region
 * (4096 bytes) and KVM_GET_XCRS (struct kvm_xcrs).
 * Record in:  u64 guest CPUID.(0DH,0) EDX:EAX for KVM_SET_CPUID2, u8 base[S], u8 buf[S],
 *             struct kvm_xcrs xcrs   (S = max(4096, KVM_CAP_XSAVE2, CPUID.(0DH,0).EBX))
 * Record out: i32 errnos[8] (SET_CPUID2, SET_XSAVE base, SET_XSAVE buf, GET_XSAVE, GET_XSAVE2,
 *             SET_XCRS, GET_XCRS, 0), u8 get_xsave[4096], u8 get_xsave2[S], struct kvm_xcrs.
 * Exit 5: /dev/kvm cannot be opened; 6: KVM_CREATE_VM failed; 7: KVM_CREATE_VCPU failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe-io.h"

/* arch/x86/include/uapi/asm/prctl.h */
#define PROBE_ARCH_GET_XCOMP_GUEST_PERM 0x1024
#define PROBE_ARCH_REQ_XCOMP_GUEST_PERM 0x1025
#define MAX_CPUID_ENTRIES 256
#define KVM_XSAVE_REGION 4096 /* sizeof(struct kvm_xsave) without the flexible tail */
#define MAX_UABI 16384

static uint8_t base[MAX_UABI], buf[MAX_UABI], out2[MAX_UABI];
static uint8_t out1[KVM_XSAVE_REGION];

struct hello {
  uint32_t magic;
  int32_t req_perm_err;        /* ARCH_REQ_XCOMP_GUEST_PERM before the vCPU: errno, or -1 = not asked */
  int32_t req_perm_after_err;  /* the same request after KVM_CREATE_VCPU (locked permission) */
  uint32_t cap_xsave, cap_xcrs, cap_xsave2_vm, cap_xsave2_sys, uabi;
  uint64_t guest_perm_before, guest_perm_after, host_xcr0;
  uint32_t cpuid_d_present;    /* bit i: KVM_GET_SUPPORTED_CPUID has leaf 0xD sub-leaf i */
  uint32_t fresh_get_err, fresh_xcrs_err, pad;
  uint32_t cpuid_d[20][4];     /* sub-leaves 0..19: EAX, EBX, ECX, EDX */
};

static struct kvm_cpuid2 *cpuid;

static int32_t err_of(int r) { return r < 0 ? errno : 0; }

int main(int argc, char **argv) {
  int want_amx = argc > 1 && argv[1][0] == '1';
  struct hello h;
  memset(&h, 0, sizeof h);
  h.magic = 0x4b564d58u;
  h.req_perm_err = -1;
  if (want_amx) h.req_perm_err = err_of(syscall(SYS_arch_prctl, PROBE_ARCH_REQ_XCOMP_GUEST_PERM, 18));
  syscall(SYS_arch_prctl, PROBE_ARCH_GET_XCOMP_GUEST_PERM, &h.guest_perm_before);
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) { fprintf(stderr, "open /dev/kvm: %s\n", strerror(errno)); return 5; }
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) { fprintf(stderr, "KVM_CREATE_VM: %s\n", strerror(errno)); return 6; }
  h.cap_xsave = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE);
  h.cap_xcrs = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS);
  h.cap_xsave2_vm = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
  h.cap_xsave2_sys = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
  cpuid = calloc(1, sizeof *cpuid + MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
  cpuid->nent = MAX_CPUID_ENTRIES;
  if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) { fprintf(stderr, "KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno)); return 6; }
  struct kvm_cpuid_entry2 *leaf_d0 = 0;
  for (uint32_t i = 0; i < cpuid->nent; i++) {
    struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
    if (e->function != 0xd || e->index >= 20) continue;
    h.cpuid_d_present |= 1u << e->index;
    h.cpuid_d[e->index][0] = e->eax; h.cpuid_d[e->index][1] = e->ebx;
    h.cpuid_d[e->index][2] = e->ecx; h.cpuid_d[e->index][3] = e->edx;
    if (e->index == 0) leaf_d0 = e;
  }
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  h.host_xcr0 = ((uint64_t)hi << 32) | lo;
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) { fprintf(stderr, "KVM_CREATE_VCPU: %s\n", strerror(errno)); return 7; }
  h.req_perm_after_err = err_of(syscall(SYS_arch_prctl, PROBE_ARCH_REQ_XCOMP_GUEST_PERM, 18));
  syscall(SYS_arch_prctl, PROBE_ARCH_GET_XCOMP_GUEST_PERM, &h.guest_perm_after);
  /* Records carry S bytes: enough for the guest fpstate even when KVM_SET_CPUID2 enables a
     dynamic feature that KVM_CAP_XSAVE2 did not count (its uabi_size is the permitted size). */
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
  uint32_t uabi = h.cap_xsave2_vm > KVM_XSAVE_REGION ? h.cap_xsave2_vm : KVM_XSAVE_REGION;
  if (b > uabi) uabi = b;
  if (uabi > MAX_UABI) { fprintf(stderr, "KVM_CAP_XSAVE2 %u is larger than this probe's %u\n", uabi, MAX_UABI); return 2; }
  h.uabi = uabi;
  struct kvm_xcrs xcrs;
  memset(out1, 0, sizeof out1);
  memset(&xcrs, 0, sizeof xcrs);
  h.fresh_get_err = err_of(ioctl(vcpu, KVM_GET_XSAVE, out1));
  h.fresh_xcrs_err = err_of(ioctl(vcpu, KVM_GET_XCRS, &xcrs));
  write_full(&h, sizeof h);
  write_full(out1, sizeof out1);
  write_full(&xcrs, sizeof xcrs);

  uint64_t guest_xcr0;
  while (read_full(&guest_xcr0, 8)) {
    if (!read_full(base, uabi) || !read_full(buf, uabi) || !read_full(&xcrs, sizeof xcrs)) return 4;
    int32_t e[8] = { 0 };
    if (leaf_d0) { leaf_d0->eax = (uint32_t)guest_xcr0; leaf_d0->edx = (uint32_t)(guest_xcr0 >> 32); }
    e[0] = err_of(ioctl(vcpu, KVM_SET_CPUID2, cpuid));
    e[1] = err_of(ioctl(vcpu, KVM_SET_XSAVE, base));
    e[2] = err_of(ioctl(vcpu, KVM_SET_XSAVE, buf));
    memset(out1, 0xcc, sizeof out1);
    memset(out2, 0xcc, uabi); /* GET_XSAVE2 writes guest_fpu.uabi_size bytes: the rest keeps 0xcc */
    e[3] = err_of(ioctl(vcpu, KVM_GET_XSAVE, out1));
    e[4] = err_of(ioctl(vcpu, KVM_GET_XSAVE2, out2));
    e[5] = err_of(ioctl(vcpu, KVM_SET_XCRS, &xcrs));
    memset(&xcrs, 0xcc, sizeof xcrs);
    e[6] = err_of(ioctl(vcpu, KVM_GET_XCRS, &xcrs));
    write_full(e, sizeof e);
    write_full(out1, sizeof out1);
    write_full(out2, uabi);
    write_full(&xcrs, sizeof xcrs);
  }
  return 0;
}
