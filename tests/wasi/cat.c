// Prints the files named on the command line (for --dir mappings and traps).
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '!') abort(); // a trap, for the backtrace test
        FILE *f = fopen(argv[i], "r");
        if (!f) { perror(argv[i]); return 2; }
        int c;
        while ((c = fgetc(f)) != EOF) putchar(c);
        fclose(f);
    }
    return 0;
}
