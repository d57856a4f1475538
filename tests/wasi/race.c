// Walks a/b/secret.txt over and over while the test swaps a/b for a symlink to a directory
// outside the sandbox. The sandbox must never let the outside file be read.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    int inside = 0, outside = 0, failed = 0;
    for (int i = 0; i < 20000; i++) {
        int fd = open("a/b/secret.txt", O_RDONLY);
        if (fd < 0) { failed++; continue; }
        char buf[16] = {0};
        read(fd, buf, sizeof buf - 1);
        close(fd);
        if (strncmp(buf, "OUTSIDE", 7) == 0) outside++;
        else inside++;
    }
    printf("inside %d outside %d failed %d\n", inside > 0, outside, failed > 0);
    return outside != 0;
}
