/*
 * BMI1/BMI2 results and status flags (the SDM leaves AF and PF, and SF of BEXTR, undefined) over
 * random and edge-case operands: natively-equal under `exec --cpu host` pins the model's
 * definitions (emulator/vector/bmi.ts) to this CPU. Build with -mbmi -mbmi2.
 */
#include <stdio.h>
#include <stdint.h>
static uint64_t seed = 88172645463325252ull;
static uint64_t rnd(void){ seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed; }
#define OP2(name, ins) static uint64_t name(uint64_t a, uint64_t b, uint64_t *fl){ uint64_t r, f; __asm__ volatile("xor %%eax,%%eax\n\t" ins " %3, %2, %0\n\tpushfq\n\tpop %1" : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "rax","cc"); *fl = f & 0x8d5; return r; }
#define OP1(name, ins) static uint64_t name(uint64_t a, uint64_t *fl){ uint64_t r, f; __asm__ volatile("xor %%eax,%%eax\n\t" ins " %2, %0\n\tpushfq\n\tpop %1" : "=&r"(r), "=&r"(f) : "r"(a) : "rax","cc"); *fl = f & 0x8d5; return r; }
OP2(andn_, "andn") OP2(bextr_, "bextr") OP2(bzhi_, "bzhi") OP2(pdep_, "pdep") OP2(pext_, "pext") OP2(sarx_, "sarx") OP2(shlx_, "shlx") OP2(shrx_, "shrx")
OP1(blsi_, "blsi") OP1(blsmsk_, "blsmsk") OP1(blsr_, "blsr")
static uint64_t mulx_(uint64_t a, uint64_t b, uint64_t *lo) { uint64_t hi, l; __asm__("mulx %3, %1, %0" : "=r"(hi), "=r"(l) : "d"(a), "r"(b)); *lo = l; return hi; }
static uint32_t mulx32_(uint32_t a, uint32_t b, uint32_t *lo) { uint32_t hi, l; __asm__("mulx %3, %1, %0" : "=r"(hi), "=r"(l) : "d"(a), "r"(b)); *lo = l; return hi; }
static uint64_t rorx_(uint64_t a) { uint64_t r; __asm__("rorx $13, %1, %0" : "=r"(r) : "r"(a)); return r; }
static uint32_t rorx32_(uint32_t a) { uint32_t r; __asm__("rorx $37, %1, %0" : "=r"(r) : "r"(a)); return r; }
static uint32_t bextr32_(uint32_t a, uint32_t b, uint64_t *fl) { uint32_t r; uint64_t f; __asm__ volatile("xor %%eax,%%eax\n\tbextr %3, %2, %0\n\tpushfq\n\tpop %1" : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "rax", "cc"); *fl = f & 0x8d5; return r; }
int main(void){
  uint64_t h = 0, f;
  for (int i = 0; i < 20000; i++) {
    uint64_t a = rnd(), b = rnd();
    if (i % 3 == 0) a &= 0xff;
    if (i % 5 == 0) b &= 0x3f3f;
    if (i % 7 == 0) a = 0;
    uint64_t r[11], fl[11];
    r[0]=andn_(a,b,&fl[0]); r[1]=bextr_(a,b,&fl[1]); r[2]=bzhi_(a,b,&fl[2]); r[3]=pdep_(a,b,&fl[3]); r[4]=pext_(a,b,&fl[4]);
    r[5]=sarx_(a,b,&fl[5]); r[6]=shlx_(a,b,&fl[6]); r[7]=shrx_(a,b,&fl[7]); r[8]=blsi_(a,&fl[8]); r[9]=blsmsk_(a,&fl[9]); r[10]=blsr_(a,&fl[10]);
    { uint64_t lo; uint32_t lo32; h = h * 1000003 ^ mulx_(a, b, &lo); h = h * 1000003 ^ lo; h = h * 1000003 ^ mulx32_((uint32_t)a, (uint32_t)b, &lo32); h = h * 1000003 ^ lo32;
      h = h * 1000003 ^ rorx_(a); h = h * 1000003 ^ rorx32_((uint32_t)a); h = h * 1000003 ^ bextr32_((uint32_t)a, (uint32_t)b, &f); h = h * 1000003 ^ f; }
    for (int k = 0; k < 11; k++) { h = h * 1000003 ^ r[k]; h = h * 1000003 ^ fl[k]; if (i < 3) printf("%d %d %016llx %03llx\n", i, k, (unsigned long long)r[k], (unsigned long long)fl[k]); }
  }
  printf("hash %016llx\n", (unsigned long long)h);
  return 0;
}
