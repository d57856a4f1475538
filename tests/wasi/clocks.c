// clock_time_get, clock_res_get (all four clocks), poll_oneoff with a clock (nanosleep),
// sched_yield, random_get.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>
#include <string.h>

static long long ns(clockid_t c) {
    struct timespec t;
    if (clock_gettime(c, &t) != 0) return -1;
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
    const char *names[] = {"realtime", "monotonic", "process", "thread"};
    for (int i = 0; i < 4; i++) {
        struct timespec res;
        int r = clock_getres(clocks[i], &res);
        long long a = ns(clocks[i]);
        volatile unsigned x = 0;
        for (int k = 0; k < 2000000; k++) x += k;
        long long b = ns(clocks[i]);
        printf("%s: res ok=%d, advances=%d\n", names[i], r == 0 && (res.tv_sec > 0 || res.tv_nsec > 0), b >= a && a > 0);
    }
    printf("realtime after 2020: %d\n", ns(CLOCK_REALTIME) > 1577836800LL * 1000000000LL);
    long long t0 = ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    long long slept = ns(CLOCK_MONOTONIC) - t0;
    printf("slept at least 20ms: %d, less than 2s: %d\n", slept >= 20000000LL, slept < 2000000000LL);
    printf("sched_yield: %d\n", sched_yield());
    unsigned char a[64], b[64];
    getentropy(a, sizeof a);
    getentropy(b, sizeof b);
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero |= a[i];
    printf("random: nonzero=%d, differs=%d\n", nonzero != 0, memcmp(a, b, 64) != 0);
    return 0;
}
