// fd_read on stdin, fd_write on stdout and stderr with large and binary output, fd_fdstat_get
// of the standard streams.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    // Echo stdin, counting bytes and a checksum.
    unsigned char buf[4096];
    unsigned int total = 0, sum = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum = sum * 31 + buf[i];
        total += n;
        write(1, buf, n);
    }
    fprintf(stderr, "stdin: %u bytes, checksum %u\n", total, sum);
    // Large binary output: every byte value, many times.
    unsigned char block[256];
    for (int i = 0; i < 256; i++) block[i] = (unsigned char)i;
    for (int i = 0; i < 8192; i++) fwrite(block, 1, sizeof block, stdout);
    fflush(stdout);
    fprintf(stderr, "done\n");
    return 0;
}
