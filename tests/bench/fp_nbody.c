// bench: floating point: an n-body simulation.
#include <math.h>
#include <stdio.h>

#define N 5
static double x[N], y[N], z[N], vx[N], vy[N], vz[N], m[N];

static void advance(double dt) {
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j], dz = z[i] - z[j];
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * sqrt(d2));
            vx[i] -= dx * m[j] * mag; vy[i] -= dy * m[j] * mag; vz[i] -= dz * m[j] * mag;
            vx[j] += dx * m[i] * mag; vy[j] += dy * m[i] * mag; vz[j] += dz * m[i] * mag;
        }
    for (int i = 0; i < N; i++) { x[i] += dt * vx[i]; y[i] += dt * vy[i]; z[i] += dt * vz[i]; }
}

int main(void) {
    for (int i = 0; i < N; i++) {
        x[i] = i * 1.1; y[i] = i * 0.7 - 1.0; z[i] = (i % 2) * 0.5;
        vx[i] = 0.01 * i; vy[i] = -0.02 * i; vz[i] = 0.005; m[i] = 1.0 + i * 0.3;
    }
    for (int s = 0; s < 12000000; s++) advance(0.001);
    double e = 0;
    for (int i = 0; i < N; i++) e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
    printf("%.5f\n", e); // the trajectory is chaotic: builds agree to these digits
    return 0;
}
