/*
 * An AMX guest (musl-gcc -static -mamx-tile -mamx-int8 -mamx-bf16): a tile instruction before
 * ARCH_REQ_XCOMP_PERM must raise SIGILL (Linux's XFD #NM without permission); after it, 16x16
 * tiles of deterministic data go through TDPBSSD, TDPBSUD, TDPBUSD, TDPBUUD and TDPBF16PS and the
 * results are printed for test/amx.test.ts to compare with its own reference. XINUSE[18:17]
 * (XGETBV ECX=1) is printed after the loads and after TILERELEASE.
 */
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* arch/x86/include/uapi/asm/prctl.h */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

struct tilecfg {
	uint8_t palette;
	uint8_t start_row;
	uint8_t reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
} __attribute__((aligned(64)));

static uint32_t seed = 12345;
static uint32_t next(void) { seed = seed * 1664525u + 1013904223u; return seed >> 8; }

static int8_t a8[16][64], b8[16][64];
static int32_t c8[16][16], out8[16][16];
static uint16_t a16[16][32], b16[16][32];
static uint32_t c32[16][16], out32[16][16];

static sigjmp_buf jb;
static volatile int sigill_code;
static void on_sigill(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; sigill_code = si->si_code; siglongjmp(jb, 1); }

/*
 * A second thread loads its own tile 3 and yields while the main thread holds other data in its
 * tile 3: each must read back its own bytes (the tiles are per-thread state the kernel switches).
 */
static struct tilecfg thread_cfg;
static uint8_t thread_rows[16][64], thread_back[16][64];
static void *tile_thread(void *arg) {
	(void)arg;
	_tile_loadconfig(&thread_cfg);
	_tile_loadd(3, thread_rows, 64);
	for (int i = 0; i < 20; i++) sched_yield();
	_tile_stored(3, thread_back, 64);
	_tile_release();
	return (void *)(long)(memcmp(thread_rows, thread_back, sizeof thread_rows) == 0);
}

/*
 * A TILELOADD whose rows 8..15 are on a page without access: SIGSEGV; the handler reads
 * TILECFG.start_row from the signal frame's XSAVE image (standard format, TILECFG at
 * CPUID.(0DH,17):EBX), opens the page and returns, and the instruction restarts at that row.
 */
#define STRIDE 512
static uint8_t *fault_page;
static volatile int frame_start_row = -1, segv_count;
static void on_sigsegv(int sig, siginfo_t *si, void *ucv) {
	(void)sig; (void)si;
	ucontext_t *uc = ucv;
	unsigned a, b, c, d;
	__cpuid_count(0xd, 17, a, b, c, d);
	frame_start_row = ((uint8_t *)uc->uc_mcontext.fpregs)[b + 1];
	segv_count++;
	mprotect(fault_page, 4096, PROT_READ | PROT_WRITE);
}

static unsigned xinuse_tiles(void) { return (unsigned)(_xgetbv(1) >> 17) & 3; }

/* A bfloat16 with a finite exponent (products stay finite), now and then a tiny or a zero one. */
static uint16_t bf16(void) {
	uint32_t r = next();
	uint32_t sign = r & 1, kind = (r >> 1) % 16;
	if (kind == 0) return sign << 15;
	uint32_t exp = kind == 1 ? 1 + (r >> 5) % 40 : 90 + (r >> 5) % 70;
	return (uint16_t)((sign << 15) | (exp << 7) | ((r >> 12) & 0x7f));
}

int main(void) {
	for (int i = 0; i < 16; i++) for (int j = 0; j < 64; j++) a8[i][j] = (int8_t)next();
	for (int i = 0; i < 16; i++) for (int j = 0; j < 64; j++) b8[i][j] = (int8_t)next();
	for (int i = 0; i < 16; i++) for (int j = 0; j < 16; j++) c8[i][j] = (int32_t)next();
	for (int i = 0; i < 16; i++) for (int j = 0; j < 32; j++) a16[i][j] = bf16();
	for (int i = 0; i < 16; i++) for (int j = 0; j < 32; j++) b16[i][j] = bf16();
	for (int i = 0; i < 16; i++) for (int j = 0; j < 16; j++) {
		/* Sign, exponent, mantissa drawn in this order (one statement each: C leaves the order of operands open). */
		uint32_t s = next() & 1;
		uint32_t e = 60 + next() % 130;
		uint32_t m = next() & 0x7fffff;
		c32[i][j] = (s << 31) | (e << 23) | m;
	}

	struct tilecfg cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1;
	for (int t = 0; t < 3; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGILL, &sa, 0);
	if (sigsetjmp(jb, 1) == 0) { _tile_loadconfig(&cfg); puts("before permission: ran"); }
	else printf("before permission: SIGILL si_code %d\n", sigill_code);
	long r = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
	printf("ARCH_REQ_XCOMP_PERM: %ld\n", r);
	if (r) return 1;

	_tile_loadconfig(&cfg);
	const char *names[4] = { "tdpbssd", "tdpbsud", "tdpbusd", "tdpbuud" };
	for (int op = 0; op < 4; op++) {
		_tile_loadd(0, c8, 64);
		_tile_loadd(1, a8, 64);
		_tile_loadd(2, b8, 64);
		if (op == 0) printf("xinuse after loads: %u\n", xinuse_tiles());
		switch (op) {
		case 0: _tile_dpbssd(0, 1, 2); break;
		case 1: _tile_dpbsud(0, 1, 2); break;
		case 2: _tile_dpbusd(0, 1, 2); break;
		default: _tile_dpbuud(0, 1, 2); break;
		}
		_tile_stored(0, out8, 64);
		for (int i = 0; i < 16; i++) {
			printf("%s %d:", names[op], i);
			for (int j = 0; j < 16; j++) printf(" %08x", (uint32_t)out8[i][j]);
			putchar('\n');
		}
	}
	_tile_loadd(0, c32, 64);
	_tile_loadd(1, a16, 64);
	_tile_loadd(2, b16, 64);
	_tile_dpbf16ps(0, 1, 2);
	_tile_stored(0, out32, 64);
	for (int i = 0; i < 16; i++) {
		printf("tdpbf16ps %d:", i);
		for (int j = 0; j < 16; j++) printf(" %08x", out32[i][j]);
		putchar('\n');
	}
	/* The page-fault restart. */
	uint8_t *area = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 16; i++) for (int j = 0; j < 64; j++) area[i * STRIDE + j] = (uint8_t)(3 * i + j);
	fault_page = area + 4096;
	mprotect(fault_page, 4096, PROT_NONE);
	struct sigaction sv;
	memset(&sv, 0, sizeof sv);
	sv.sa_sigaction = on_sigsegv;
	sv.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sv, 0);
	_tile_loadd(2, area, STRIDE);
	static uint8_t back[16][64];
	_tile_stored(2, back, 64);
	int rows_same = 1;
	for (int i = 0; i < 16; i++) rows_same &= memcmp(back[i], area + i * STRIDE, 64) == 0;
	struct tilecfg now;
	_tile_storeconfig(&now);
	printf("page fault: %d SIGSEGV, start_row in the frame %d, rows %s, start_row after %d\n", segv_count, frame_start_row, rows_same ? "loaded" : "wrong", now.start_row);

	/* Threads: the main thread keeps a's first rows in tile 3 while the other thread uses its own. */
	thread_cfg = cfg;
	thread_cfg.rows[3] = 16;
	thread_cfg.colsb[3] = 64;
	for (int i = 0; i < 16; i++) for (int j = 0; j < 64; j++) thread_rows[i][j] = (uint8_t)(i * 64 + j);
	_tile_loadconfig(&thread_cfg);
	_tile_loadd(3, a8, 64);
	pthread_t th;
	void *same = 0;
	pthread_create(&th, 0, tile_thread, 0);
	for (int i = 0; i < 20; i++) sched_yield();
	pthread_join(th, &same);
	static int8_t main_back[16][64];
	_tile_stored(3, main_back, 64);
	printf("thread tiles: %s, main tiles: %s\n", same ? "kept" : "lost", memcmp(main_back, a8, sizeof a8) == 0 ? "kept" : "lost");
	_tile_release();
	printf("xinuse after release: %u\n", xinuse_tiles());
	return 0;
}
