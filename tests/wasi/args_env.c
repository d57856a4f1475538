// args_get, args_sizes_get, environ_get, environ_sizes_get, proc_exit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    int n = 0;
    while (environ[n]) n++;
    qsort(environ, n, sizeof(char *), cmp);
    for (int i = 0; i < n; i++) printf("env %s\n", environ[i]);
    printf("GREETING=%s\n", getenv("GREETING") ? getenv("GREETING") : "(unset)");
    exit(argc > 2 ? 42 : 0);
}
