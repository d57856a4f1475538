// bench: virtual dispatch: objects with per-type method tables, as C++ would lay them out.
#include <stdint.h>
#include <stdio.h>

struct shape;
struct vtable { double (*area)(const struct shape *); double (*perimeter)(const struct shape *); };
struct shape { const struct vtable *vt; double a, b; };

static double rect_area(const struct shape *s) { return s->a * s->b; }
static double rect_per(const struct shape *s) { return 2 * (s->a + s->b); }
static double circ_area(const struct shape *s) { return 3.14159265 * s->a * s->a; }
static double circ_per(const struct shape *s) { return 2 * 3.14159265 * s->a; }
static double tri_area(const struct shape *s) { return 0.5 * s->a * s->b; }
static double tri_per(const struct shape *s) { return s->a + s->b + (s->a > s->b ? s->a : s->b); }
static const struct vtable vts[3] = {{rect_area, rect_per}, {circ_area, circ_per}, {tri_area, tri_per}};

#define N 4096
static struct shape shapes[N];

int main(void) {
    uint32_t s = 1;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        shapes[i].vt = &vts[(s >> 16) % 3];
        shapes[i].a = 1 + (s >> 8) % 10;
        shapes[i].b = 1 + (s >> 12) % 7;
    }
    double total = 0;
    for (int r = 0; r < 25000; r++)
        for (int i = 0; i < N; i++) total += shapes[i].vt->area(&shapes[i]) - shapes[i].vt->perimeter(&shapes[i]) * 0.25;
    printf("%.3f\n", total);
    return 0;
}
