/* The tracker's registry alone, loaded with the data of bench/tracker.py
 * (PEERS hosts x 100 files, each name held by 5 hosts, the same names,
 * addresses and ports), for sizes whose connections this machine's open-file
 * limit cannot give the real tracker. Prints one line:
 *   rss_kib <n> base_kib <n> p50_ns <n> p99_ns <n>
 * rss_kib: the process's VmRSS once every host is in; base_kib: before the
 * first; p50/p99: registry_lookup of LOOKUPS random names, one at a time,
 * each timed alone (in process: no socket, no JSON).
 * Usage: registry_load PEERS (at most 1,000,000) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"

#define FILES 100
#define HOLDERS 5
#define LOOKUPS 2000
#define SOURCES 8

static long vm_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  if (f != NULL) fclose(f);
  return kib;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Host i as tracker.py's peer i: its name, address, port and 100 files. */
static int load_host(registry_t *r, long i, ls_announce_file_t *files, char (*names)[32]) {
  char host[32], addr[32];
  snprintf(host, sizeof host, "peer%ld", i);
  snprintf(addr, sizeof addr, "127.0.0.%ld", 1 + i % SOURCES);
  reg_host_t *h;
  int rc = registry_add(r, host, addr, (uint16_t)(10000 + i % 50000), NULL, &h);
  if (rc != 0) return rc;
  for (int j = 0; j < FILES; j++) {
    snprintf(names[j], sizeof names[j], "f%ld-%d", i / HOLDERS, j);
    files[j] = (ls_announce_file_t){names[j], 1000, 1048576, {0}, 1};
    memset(files[j].root, 0xab, sizeof files[j].root);
  }
  return registry_publish(r, h, files, FILES, 1);
}

int main(int argc, char **argv) {
  long peers = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
  if (peers < HOLDERS || peers > 1000000) {
    fprintf(stderr, "usage: registry_load PEERS (%d to 1000000)\n", HOLDERS);
    return 2;
  }
  registry_t r;
  if (registry_init(&r) != 0) return 1;
  long base = vm_rss_kib();
  static ls_announce_file_t files[FILES];
  static char names[FILES][32];
  for (long i = 0; i < peers; i++) {
    int rc = load_host(&r, i, files, names);
    if (rc != 0) {
      fprintf(stderr, "registry_load: host %ld: %s\n", i, strerror(-rc));
      return 1;
    }
  }
  long rss = vm_rss_kib();
  static uint64_t lat[LOOKUPS];
  static ls_tentry_t out[HOLDERS + 1];
  srand(1);
  for (int k = 0; k < LOOKUPS; k++) {
    char name[32];
    snprintf(name, sizeof name, "f%ld-%d", (long)(rand() % (peers / HOLDERS)), rand() % FILES);
    uint64_t t0 = now_ns();
    size_t n = registry_lookup(&r, name, HOLDERS + 1, out);
    lat[k] = now_ns() - t0;
    if (n != HOLDERS) {
      fprintf(stderr, "registry_load: %s has %zu holders, not %d\n", name, n, HOLDERS);
      return 1;
    }
  }
  qsort(lat, LOOKUPS, sizeof lat[0], cmp_u64);
  printf("rss_kib %ld base_kib %ld p50_ns %llu p99_ns %llu\n", rss, base, (unsigned long long)lat[LOOKUPS / 2],
         (unsigned long long)lat[LOOKUPS * 99 / 100]);
  registry_close(&r);
  return 0;
}
