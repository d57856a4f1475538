// bench: deep recursion and call-heavy code: Fibonacci and Ackermann.
#include <stdio.h>

__attribute__((noinline)) static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
__attribute__((noinline)) static int ack(int m, int n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

int main(void) {
    printf("%d %d\n", fib(40), ack(2, 3000) + ack(3, 9));
    return 0;
}
