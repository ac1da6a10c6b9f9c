/* libFuzzer: server.log lines. What decodes is encoded, and that text must
 * decode to the same record, which encodes to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_serverlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_serverlog_t rec, back;
  static char text[LS_LOGFMT_LINE_MAX + 2], again[LS_LOGFMT_LINE_MAX + 2];
  if (ls_serverlog_decode((const char *)data, size, &rec) != 0) return 0;
  int n = ls_serverlog_encode(&rec, text, sizeof text);
  if (n <= 0) abort();
  if (ls_serverlog_decode(text, (size_t)n, &back) != 0) abort();
  if (memcmp(&rec, &back, sizeof rec) != 0) abort();
  int m = ls_serverlog_encode(&back, again, sizeof again);
  if (m != n || memcmp(text, again, (size_t)n) != 0) abort();
  return 0;
}
