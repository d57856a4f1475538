// The five-body program of issue 19, verbatim but for STEPS (the test uses fewer steps than
// the 12,000,000 of the report; the wrong energy appeared after the first thousand).
#include <math.h>
#include <stdio.h>
#ifndef STEPS
#define STEPS 12000000
#endif
typedef struct { double x, y, z, vx, vy, vz, m; } Body;
static Body b[5] = {
  {0, 0, 0, 0, 0, 0, 39.47841760435743},
  {4.84, -1.16, -0.10, 0.606, 2.81, -0.02, 0.037},
  {8.34, 4.12, -0.40, -1.01, 1.82, 0.008, 0.011},
  {12.89, -15.11, -0.22, 1.08, 0.868, -0.01, 0.0017},
  {15.37, -25.91, 0.179, 0.979, 0.594, -0.034, 0.002}};
static double energy(void) {
  double e = 0;
  for (int i = 0; i < 5; i++) {
    e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < 5; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}
int main(void) {
  printf("%.9f\n", energy());
  for (int s = 0; s < STEPS; s++) {
    for (int i = 0; i < 5; i++)
      for (int j = i + 1; j < 5; j++) {
        double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
        double d2 = dx * dx + dy * dy + dz * dz, mag = 0.01 / (d2 * sqrt(d2));
        b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
        b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
      }
    for (int i = 0; i < 5; i++) { b[i].x += 0.01 * b[i].vx; b[i].y += 0.01 * b[i].vy; b[i].z += 0.01 * b[i].vz; }
  }
  printf("%.9f\n", energy());
  return 0;
}
