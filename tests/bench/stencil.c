// bench: memory-bound loops: a 2D Jacobi stencil.
#include <stdio.h>

#define N 512
static float g[2][N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) g[0][i][j] = (i == N / 2 && j == N / 2) ? 1000.0f : (float)((i * j) % 3);
    int cur = 0;
    for (int it = 0; it < 18000; it++) {
        for (int i = 1; i < N - 1; i++)
            for (int j = 1; j < N - 1; j++)
                g[1 - cur][i][j] = 0.25f * (g[cur][i - 1][j] + g[cur][i + 1][j] + g[cur][i][j - 1] + g[cur][i][j + 1]);
        cur = 1 - cur;
    }
    double s = 0;
    for (int i = 0; i < N; i++) s += g[cur][i][i];
    printf("%.4f\n", s);
    return 0;
}
