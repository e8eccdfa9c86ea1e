/* Runs a libFuzzer target over files given on the command line (a seed
 * corpus), without libFuzzer: ctest replays every corpus this way in the
 * plain and sanitizer builds, so a crash the fuzzer once found stays fixed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int n = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      perror(argv[i]);
      return 1;
    }
    uint8_t *buf = malloc(1 << 20);
    size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!buf) return 1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    n++;
  }
  printf("%d passed, 0 failed\n", n);
  return 0;
}
