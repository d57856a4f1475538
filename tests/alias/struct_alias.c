// One field written through a static offset (`p->b`) and through an `i32.add` address
// (`((int *)p)[i]`): clang emits the two address forms for the same byte.
#include <stdio.h>
#include <stdlib.h>

struct S { int a, b, c; };
static struct S s;

__attribute__((noinline)) int set(struct S *p, int i) {
  p->b = 1;
  ((int *)p)[i] = 2;
  return p->b;
}

__attribute__((noinline)) int set_back(struct S *p, int i) {
  ((int *)p)[i] = 3;
  p->b = 4;
  return ((int *)p)[i];
}

// The same in a loop: the store through the added address must reach the field on every
// iteration, and the sum of fields must see it.
__attribute__((noinline)) long loop(struct S *p, int n, int i) {
  long sum = 0;
  for (int k = 0; k < n; k++) {
    p->b = k;
    ((int *)p)[i] += 7;
    sum += p->b + p->a + p->c;
  }
  return sum;
}

int run(int i) { return set(&s, i); }

int main(int argc, char **argv) {
  int i = argc > 5 ? atoi(argv[1]) : 1; // 1, unknown to the compiler
  printf("%d %d %ld\n", run(i), set_back(&s, i), loop(&s, 1000, i));
  return 0;
}
