/* libFuzzer: config files (ls_config_load_file), through a memfd. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ls_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("lanswarm-fuzz-config", 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
  ls_config_t cfg;
  char err[256];
  ls_config_defaults(&cfg);
  if (ls_config_load_file(&cfg, path, err, sizeof err) == 0) ls_config_finish(&cfg);
  return 0;
}
