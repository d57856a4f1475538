/* A WASI program run by tests/capi/api.c through waot.h's WASI: it reports its arguments,
 * an environment variable and stdin (upper-cased) on stdout, copies /data/in.txt into
 * /data/out.txt (unless FILES=no), writes a line to stderr, and exits with status 3. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = 0;
  for (size_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
  const char* greeting = getenv("GREETING");
  printf("args: %d %s %s\n", argc, argv[0], argc > 1 ? argv[1] : "-");
  printf("env: %s\n", greeting ? greeting : "(none)");
  printf("stdin: %s\n", buf);
  const char* files = getenv("FILES");
  if (files && files[0] == 'n') {
    fprintf(stderr, "to stderr\n");
    return 3;
  }
  FILE* in = fopen("/data/in.txt", "r");
  FILE* out = fopen("/data/out.txt", "w");
  if (!in || !out) {
    perror("/data");
    return 1;
  }
  n = fread(buf, 1, sizeof buf, in);
  fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
  fprintf(stderr, "to stderr\n");
  return 3;
}
