// Path corners: every path operation on every shape of path — trailing slashes, `.` and `..`
// components, empty paths, paths through a file, symlinks to files and directories — printing
// the errno each call gives. Run natively and under waot (AOT and interpreter) from a fresh
// directory; the outputs must be identical (tests/tests/wasi.rs).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

static const char *name(int e) {
  switch (e) {
  case 0: return "ok";
  case ENOENT: return "ENOENT";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EEXIST: return "EEXIST";
  case ENOTEMPTY: return "ENOTEMPTY";
  case EINVAL: return "EINVAL";
  case EPERM: return "EPERM";
  case EACCES: return "EACCES";
  case EBUSY: return "EBUSY";
  case ELOOP: return "ELOOP";
  case EXDEV: return "EXDEV";
  default: return strerror(e);
  }
}

static void report_errno(const char *op, const char *a, const char *b, int e) {
  if (b)
    printf("%s(\"%s\", \"%s\") = %s\n", op, a, b, name(e));
  else
    printf("%s(\"%s\") = %s\n", op, a, name(e));
}

static void report(const char *op, const char *a, const char *b, int r) {
  report_errno(op, a, b, r < 0 ? errno : 0);
}

// A fresh fixture in the current directory: file f, directory d (with file d/g), empty
// directory e, symlinks lf -> f and ld -> d, a dangling symlink lx -> x.
static void fixture(void) {
  int fd = open("f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd >= 0) {
    (void)!write(fd, "data", 4);
    close(fd);
  }
  mkdir("d", 0755);
  fd = open("d/g", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd >= 0)
    close(fd);
  mkdir("e", 0755);
  symlink("f", "lf");
  symlink("d", "ld");
  symlink("x", "lx");
}

// Removes everything in directory `path` (symlinks themselves, never their targets).
static void wipe(const char *path) {
  DIR *dir = opendir(path);
  if (!dir)
    return;
  struct dirent *e;
  char child[512];
  while ((e = readdir(dir))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    struct stat st;
    if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
      wipe(child);
      rmdir(child);
    } else {
      unlink(child);
    }
  }
  closedir(dir);
}

static void cleanup(void) { wipe("."); }

// (No `..` at the top: natively it leads out of the test directory, in the sandbox it is
// refused; `d/..` stays inside.)
static const char *shapes[] = {"x",  "x/",  "f",  "f/",  "f/.", "f/x", "d",   "d/",   "d/.",
                               "d/..", "e", "e/", ".",   "lf",  "lf/", "ld",   "ld/",
                               "lx",  "lx/", "d/g", "d/g/", "./f", "d/../f", "d//g", "d/./g"};
#define NSHAPES (sizeof shapes / sizeof *shapes)

// An empty path names nothing (ENOENT) for every operation. wasi-libc reads "" as ".", so
// under WASI the calls go to the runtime directly, on the preopened directory (fd 3).
static void empty_path(void) {
  fixture();
#ifdef __wasi__
  const __wasi_rights_t all = ~(__wasi_rights_t)0;
  __wasi_filestat_t st;
  __wasi_fd_t fd;
  __wasi_size_t n;
  uint8_t buf[64];
  report_errno("stat", "", 0, __wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "", &st));
  report_errno("lstat", "", 0, __wasi_path_filestat_get(3, 0, "", &st));
  report_errno("open_rdonly", "", 0, __wasi_path_open(3, 0, "", 0, all, all, 0, &fd));
  report_errno("open_directory", "", 0,
         __wasi_path_open(3, 0, "", __WASI_OFLAGS_DIRECTORY, all, all, 0, &fd));
  report_errno("open_creat", "", 0, __wasi_path_open(3, 0, "", __WASI_OFLAGS_CREAT, all, all, 0, &fd));
  report_errno("open_excl", "", 0,
         __wasi_path_open(3, 0, "", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, all, all, 0, &fd));
  report_errno("mkdir", "", 0, __wasi_path_create_directory(3, ""));
  report_errno("rmdir", "", 0, __wasi_path_remove_directory(3, ""));
  report_errno("unlink", "", 0, __wasi_path_unlink_file(3, ""));
  report_errno("readlink", "", 0, __wasi_path_readlink(3, "", buf, sizeof buf, &n));
  report_errno("utimensat", "", 0,
         __wasi_path_filestat_set_times(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "", 1, 2,
                                         __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  report_errno("rename", "", "f", __wasi_path_rename(3, "", 3, "f"));
  report_errno("rename", "f", "", __wasi_path_rename(3, "f", 3, ""));
  report_errno("link", "", "n", __wasi_path_link(3, 0, "", 3, "n"));
  report_errno("link", "f", "", __wasi_path_link(3, 0, "f", 3, ""));
  report_errno("symlink", "f", "", __wasi_path_symlink("f", 3, ""));
#else
  struct stat st;
  char buf[64];
  struct timespec times[2] = {{1, 0}, {2, 0}};
  report("stat", "", 0, stat("", &st));
  report("lstat", "", 0, lstat("", &st));
  report("open_rdonly", "", 0, open("", O_RDONLY));
  report("open_directory", "", 0, open("", O_RDONLY | O_DIRECTORY));
  report("open_creat", "", 0, open("", O_CREAT | O_WRONLY, 0644));
  report("open_excl", "", 0, open("", O_CREAT | O_EXCL | O_WRONLY, 0644));
  report("mkdir", "", 0, mkdir("", 0755));
  report("rmdir", "", 0, rmdir(""));
  report("unlink", "", 0, unlink(""));
  report("readlink", "", 0, (int)readlink("", buf, sizeof buf));
  report("utimensat", "", 0, utimensat(AT_FDCWD, "", times, 0));
  report("rename", "", "f", rename("", "f"));
  report("rename", "f", "", rename("f", ""));
  report("link", "", "n", link("", "n"));
  report("link", "f", "", link("f", ""));
  report("symlink", "f", "", symlink("f", ""));
#endif
  cleanup();
}

// Run in an empty directory (preopened as `.` in the sandbox).
int main(void) {
  for (unsigned i = 0; i < NSHAPES; i++) {
    const char *p = shapes[i];
    struct stat st;
    fixture();
    report("stat", p, 0, stat(p, &st));
    report("lstat", p, 0, lstat(p, &st));
    int fd = open(p, O_RDONLY);
    report("open_rdonly", p, 0, fd);
    if (fd >= 0)
      close(fd);
    fd = open(p, O_RDONLY | O_DIRECTORY);
    report("open_directory", p, 0, fd);
    if (fd >= 0)
      close(fd);
    fd = open(p, O_CREAT | O_WRONLY, 0644);
    report("open_creat", p, 0, fd);
    if (fd >= 0)
      close(fd);
    cleanup();
    fixture();
    fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
    report("open_excl", p, 0, fd);
    if (fd >= 0)
      close(fd);
    cleanup();
    fixture();
    report("mkdir", p, 0, mkdir(p, 0755));
    cleanup();
    fixture();
    report("rmdir", p, 0, rmdir(p));
    cleanup();
    fixture();
    report("unlink", p, 0, unlink(p));
    cleanup();
    fixture();
    char buf[64];
    report("readlink", p, 0, (int)readlink(p, buf, sizeof buf));
    struct timespec times[2] = {{1, 0}, {2, 0}};
    report("utimensat", p, 0, utimensat(AT_FDCWD, p, times, 0));
    report("utimensat_nofollow", p, 0, utimensat(AT_FDCWD, p, times, AT_SYMLINK_NOFOLLOW));
    cleanup();
    // Two-path operations, with this shape on either side.
    const char *others[] = {"n", "n/", "e", "f", "d/h"};
    for (unsigned j = 0; j < sizeof others / sizeof *others; j++) {
      const char *o = others[j];
      fixture();
      report("rename", p, o, rename(p, o));
      cleanup();
      fixture();
      report("rename", o, p, rename(o, p));
      cleanup();
      fixture();
      report("link", p, o, link(p, o));
      cleanup();
      fixture();
      report("link", o, p, link(o, p));
      cleanup();
      fixture();
      report("symlink", o, p, symlink(o, p));
      cleanup();
    }
  }
  empty_path();
  return 0;
}
