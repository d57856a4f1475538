// bench: floating point: Mandelbrot set escape counts.
#include <stdio.h>

int main(void) {
    const int W = 2400, H = 1800, MAXI = 400;
    long long total = 0;
    for (int py = 0; py < H; py++)
        for (int px = 0; px < W; px++) {
            double cx = -2.2 + 3.2 * px / W, cy = -1.2 + 2.4 * py / H;
            double zx = 0, zy = 0;
            int i = 0;
            while (i < MAXI && zx * zx + zy * zy < 4.0) {
                double t = zx * zx - zy * zy + cx;
                zy = 2 * zx * zy + cy;
                zx = t;
                i++;
            }
            total += i;
        }
    printf("%lld\n", total);
    return 0;
}
