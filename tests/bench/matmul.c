// bench: memory-bound loops: scalar double matrix multiply (i-k-j order).
#include <stdio.h>

#define N 384
static double a[N][N], b[N][N], c[N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (i + 2 * j) % 7 * 0.5; b[i][j] = (3 * i + j) % 5 * 0.25; }
    for (int r = 0; r < 80; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) c[i][j] = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double s = a[i][k];
                for (int j = 0; j < N; j++) c[i][j] += s * b[k][j];
            }
        a[r][r] += 1.0;
    }
    double t = 0;
    for (int i = 0; i < N; i++) t += c[i][(i * 13) % N];
    printf("%.6f\n", t);
    return 0;
}
