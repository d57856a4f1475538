// What only the sandbox decides: escapes, capabilities, bad pointers and descriptors. Run with
// `--dir .` (fd 3) and `--dir <other>:sub` ... see tests/tests/wasi.rs for the layout.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <wasi/api.h>

#define SHOW(expr) do { errno = 0; long r_ = (long)(expr); printf("%-48s -> %ld (%s)\n", #expr, r_, r_ < 0 ? strerror(errno) : "ok"); } while (0)
#define RAW(expr) printf("%-48s -> errno %d\n", #expr, (int)(expr))

static int preopen(void) { return 3; }

// proc_raise is in the specification but no longer in wasi-libc's header.
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
uint16_t raw_proc_raise(uint8_t signal);

int main(void) {
    // Escapes through `..`, absolute paths and symlinks, including ones made by the guest.
    SHOW(open("../outside.txt", O_RDONLY));
    SHOW(open("sub/../../outside.txt", O_RDONLY));
    SHOW(open("/outside.txt", O_RDONLY));
    SHOW(symlink("../outside.txt", "escape"));
    SHOW(open("escape", O_RDONLY));
    SHOW(symlink("/etc/passwd", "absolute"));
    SHOW(mkdir("../made-outside", 0755));
    SHOW(rename("inside.txt", "../moved.txt"));
    SHOW(link("inside.txt", "../linked.txt"));
    SHOW(unlink("../outside.txt"));
    struct stat st;
    SHOW(stat("escape", &st));
    SHOW(lstat("escape", &st));
    char buf[64];
    SHOW(readlink("escape", buf, sizeof buf));
    SHOW(unlink("escape"));
    // Inside is fine, also through a symlink that stays inside.
    SHOW(symlink("inside.txt", "ok-link"));
    int fd = open("ok-link", O_RDONLY);
    memset(buf, 0, sizeof buf);
    SHOW(read(fd, buf, sizeof buf - 1));
    printf("content: %s", buf);
    close(fd);
    SHOW(unlink("ok-link"));
    // Raw calls: `..` as the whole path, bad pointers and descriptors.
    __wasi_fd_t out;
    RAW(__wasi_path_open(preopen(), 0, "..", 0, 0, 0, 0, &out));
    RAW(__wasi_path_open(preopen(), 0, "sub/..", 0, 0, 0, 0, &out));
    __wasi_ciovec_t bad = {(const uint8_t *)0xfffffff0, 64};
    __wasi_size_t n;
    RAW(__wasi_fd_write(1, &bad, 1, &n));
    RAW(__wasi_fd_write(1, (const __wasi_ciovec_t *)0xfffffffc, 1, &n));
    RAW(__wasi_fd_write(77, &bad, 0, &n));
    RAW(__wasi_fd_close(77));
    RAW(__wasi_fd_prestat_dir_name(1, (uint8_t *)buf, sizeof buf));
    RAW(raw_proc_raise(15));
    RAW(__wasi_fd_renumber(1, 55));
    // Rights: drop FD_WRITE from a writable descriptor, then write.
    fd = open("inside.txt", O_RDWR);
    RAW(__wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0));
    RAW(__wasi_fd_write(fd, &(__wasi_ciovec_t){(const uint8_t *)"x", 1}, 1, &n));
    RAW(__wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0));
    close(fd);
    __wasi_filesize_t pos;
    fd = open("inside.txt", O_RDONLY);
    read(fd, buf, 3);
    RAW(__wasi_fd_tell(fd, &pos));
    printf("tell: %llu\n", (unsigned long long)pos);
    RAW(__wasi_fd_tell(fd, (__wasi_filesize_t *)0xfffffffc));
    close(fd);
    // A renumbered descriptor replaces the target and keeps working; a closed preopen is gone.
    fd = open("inside.txt", O_RDONLY);
    int other = open("sub", O_RDONLY | O_DIRECTORY);
    RAW(__wasi_fd_renumber(fd, 20));
    RAW(__wasi_fd_renumber(fd, other));
    SHOW(read(other, buf, 6));
    SHOW(read(fd, buf, 6));
    close(other);
    __wasi_prestat_t pre;
    RAW(__wasi_fd_prestat_get(preopen(), &pre));
    printf("preopen name length %u\n", (unsigned)pre.u.dir.pr_name_len);
    RAW(__wasi_fd_close(preopen()));
    RAW(__wasi_path_open(preopen(), 0, "inside.txt", 0, 0, 0, 0, &out));
    return 0;
}
