#include "ls_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#define LIBUV_DEFAULT 4
#define LIBUV_MAX 1024

void ls_pool_init(void) {
  if (getenv("UV_THREADPOOL_SIZE") != NULL) return;
  unsigned n = uv_available_parallelism() + 2;
  if (n < LIBUV_DEFAULT) n = LIBUV_DEFAULT;
  if (n > LIBUV_MAX) n = LIBUV_MAX;
  char v[16];
  snprintf(v, sizeof v, "%u", n);
  setenv("UV_THREADPOOL_SIZE", v, 0);
}

unsigned ls_pool_size(void) {
  const char *v = getenv("UV_THREADPOOL_SIZE");
  if (v == NULL) return LIBUV_DEFAULT;
  long n = strtol(v, NULL, 10); /* as libuv reads it: atoi, then clamped */
  if (n < 1) return 1;
  return n > LIBUV_MAX ? LIBUV_MAX : (unsigned)n;
}

unsigned ls_pool_bulk_jobs(void) {
  unsigned n = uv_available_parallelism() + 1, size = ls_pool_size();
  if (n > size - 1) n = size - 1;
  if (n > LS_POOL_MAX_BULK) n = LS_POOL_MAX_BULK;
  return n < 1 ? 1 : n;
}
