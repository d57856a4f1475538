// bench: branchy code: tokenizing and evaluating generated arithmetic expressions.
#include <stdio.h>
#include <string.h>

static char buf[1 << 20];
static const char *p;

static long long expr(void);
static long long atom(void) {
    while (*p == ' ') p++;
    if (*p == '(') { p++; long long v = expr(); while (*p == ' ') p++; p++; return v; }
    long long v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    return v;
}
static long long term(void) {
    long long v = atom();
    for (;;) {
        while (*p == ' ') p++;
        if (*p == '*') { p++; v = (v * atom()) % 1000003; }
        else if (*p == '%') { p++; long long d = atom(); v = d ? v % d : v; }
        else return v;
    }
}
static long long expr(void) {
    long long v = term();
    for (;;) {
        while (*p == ' ') p++;
        if (*p == '+') { p++; v += term(); }
        else if (*p == '-') { p++; v -= term(); }
        else return v;
    }
}

int main(void) {
    unsigned s = 7;
    int n = 0, depth = 0;
    while (n < (int)sizeof buf - 64) {
        s = s * 1103515245u + 12345u;
        unsigned r = (s >> 16) % 10;
        if (r < 2 && depth < 20) { buf[n++] = '('; depth++; }
        n += sprintf(buf + n, "%u", (s >> 8) % 1000);
        if (r > 7 && depth > 0) { buf[n++] = ')'; depth--; }
        buf[n++] = ' ';
        buf[n++] = "+-*%"[(s >> 20) % 4];
        buf[n++] = ' ';
    }
    n += sprintf(buf + n, "1");
    while (depth-- > 0) buf[n++] = ')';
    buf[n] = 0;
    long long total = 0;
    for (int r = 0; r < 300; r++) { p = buf; total += expr() + r; }
    printf("%lld\n", total);
    return 0;
}
