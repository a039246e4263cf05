/* Replays inputs through a fuzz target without libFuzzer, with any compiler:
 *
 *   cc -Isrc/core <target's sources> fuzz/fuzz_X.c fuzz/replay.c -o replay_X
 *   replay_X FILE...
 *
 * Each file is passed in a buffer of exactly its size, so a sanitizer build catches a read
 * one byte past the input as libFuzzer's would. Exits 1 if a file cannot be read; a failed
 * check inside the target aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t in[1 << 20];
        size_t n = fread(in, 1, sizeof in, f);
        fclose(f);
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact)
            return 1;
        for (size_t k = 0; k < n; k++)
            exact[k] = in[k];
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    printf("%d inputs ok\n", argc - 1);
    return 0;
}
