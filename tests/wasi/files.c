// Files and directories through the WASI fd_* and path_* calls, run in the current directory
// (preopened as `.` under wrun). Output must match the native run exactly.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <poll.h>

#define CHECK(expr) do { if ((expr) < 0) { printf("FAILED %s: %s\n", #expr, strerror(errno)); } } while (0)
#define EXPECT_ERR(expr, e) do { errno = 0; long r_ = (long)(expr); printf("%-40s -> %ld %s\n", #expr, r_, r_ < 0 && errno == (e) ? "expected errno" : strerror(errno)); } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
    char *names[64]; int n = 0; struct dirent *e;
    while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(char *), cmp);
    printf("ls %s:", dir);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(void) {
    // Create, write, read back, seek, tell.
    int fd = open("data.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd);
    CHECK(write(fd, "hello, world\n", 13));
    struct iovec iov[2] = {{"abc", 3}, {"defg\n", 5}};
    CHECK(writev(fd, iov, 2));
    printf("tell after writes: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    printf("seek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
    printf("seek set: %ld\n", (long)lseek(fd, 7, SEEK_SET));
    char buf[64] = {0};
    CHECK(read(fd, buf, 5));
    printf("read at 7: %s\n", buf);
    char a[4] = {0}, b[6] = {0};
    struct iovec riov[2] = {{a, 3}, {b, 5}};
    lseek(fd, 13, SEEK_SET);
    CHECK(readv(fd, riov, 2));
    printf("readv: %s|%s", a, b);
    // pread/pwrite do not move the offset.
    CHECK(pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 12, 0));
    printf("pread: %s, offset still %ld\n", buf, (long)lseek(fd, 0, SEEK_CUR));
    // Size, truncate, allocate, advise, sync.
    struct stat st;
    CHECK(fstat(fd, &st));
    printf("size %ld, regular %d\n", (long)st.st_size, S_ISREG(st.st_mode));
    CHECK(ftruncate(fd, 5));
    CHECK(fstat(fd, &st));
    printf("truncated to %ld\n", (long)st.st_size);
    printf("fallocate: %d\n", posix_fallocate(fd, 0, 4096));
    CHECK(fstat(fd, &st));
    printf("allocated size %ld\n", (long)st.st_size);
    printf("fadvise: %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    CHECK(fsync(fd));
    CHECK(fdatasync(fd));
    // Times.
    struct timespec times[2] = {{1000000000, 500}, {1200000000, 0}};
    CHECK(futimens(fd, times));
    CHECK(fstat(fd, &st));
    printf("futimens: atime %ld mtime %ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1300000000, 7}};
    CHECK(utimensat(AT_FDCWD, "data.txt", omit, 0));
    CHECK(stat("data.txt", &st));
    printf("utimensat: atime %ld mtime %ld.%09ld\n", (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    // Flags: append.
    int flags = fcntl(fd, F_GETFL);
    printf("append before: %d\n", (flags & O_APPEND) != 0);
    CHECK(fcntl(fd, F_SETFL, flags | O_APPEND));
    printf("append after: %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    CHECK(write(fd, "tail", 4));
    CHECK(fstat(fd, &st));
    printf("appended size %ld\n", (long)st.st_size);
    CHECK(close(fd));
    // Poll on a regular file: always readable and writable.
    fd = open("data.txt", O_RDONLY);
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll file: %d revents-in %d\n", poll(&p, 1, 1000), (p.revents & POLLIN) != 0);
    close(fd);
    // Directories.
    CHECK(mkdir("dir", 0755));
    CHECK(mkdir("dir/sub", 0755));
    fd = open("dir/sub/f.txt", O_CREAT | O_WRONLY | O_EXCL, 0644);
    CHECK(fd);
    close(fd);
    list("dir");
    list("dir/sub");
    CHECK(rename("dir/sub/f.txt", "dir/g.txt"));
    list("dir");
    CHECK(link("dir/g.txt", "dir/h.txt"));
    CHECK(stat("dir/h.txt", &st));
    printf("nlink after link: %ld\n", (long)st.st_nlink);
    CHECK(symlink("g.txt", "dir/sym"));
    char target[64] = {0};
    printf("readlink: %ld %s\n", (long)readlink("dir/sym", target, sizeof target), target);
    CHECK(lstat("dir/sym", &st));
    printf("lstat is link: %d\n", S_ISLNK(st.st_mode));
    CHECK(stat("dir/sym", &st));
    printf("stat follows: %d\n", S_ISREG(st.st_mode));
    // Errors with their numbers.
    EXPECT_ERR(open("missing.txt", O_RDONLY), ENOENT);
    EXPECT_ERR(mkdir("dir", 0755), EEXIST);
    EXPECT_ERR(rmdir("dir"), ENOTEMPTY);
    EXPECT_ERR(unlink("dir"), EISDIR);
    EXPECT_ERR(open("dir/g.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
    EXPECT_ERR(open("dir", O_WRONLY), EISDIR);
    EXPECT_ERR(open("dir/g.txt/x", O_RDONLY), ENOTDIR);
    EXPECT_ERR(open("dir/sym", O_RDONLY | O_NOFOLLOW), ELOOP);
    EXPECT_ERR(read(99, buf, 1), EBADF);
    EXPECT_ERR(lseek(99, 0, SEEK_SET), EBADF);
    EXPECT_ERR(rmdir("dir/g.txt"), ENOTDIR);
    EXPECT_ERR(readlink("dir/g.txt", target, sizeof target), EINVAL);
    // Clean up.
    CHECK(unlink("dir/sym"));
    CHECK(unlink("dir/h.txt"));
    CHECK(unlink("dir/g.txt"));
    CHECK(rmdir("dir/sub"));
    CHECK(rmdir("dir"));
    CHECK(unlink("data.txt"));
    list(".");
    return 0;
}
