/* libFuzzer: client.log lines. What decodes is encoded, and that text must
 * decode to a record that encodes to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_clientlog.h"

static ls_clientlog_t rec, back;
static char text[LS_LOGFMT_LINE_MAX + 2], again[LS_LOGFMT_LINE_MAX + 2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ls_clientlog_decode((const char *)data, size, &rec) != 0) return 0;
  int n = ls_clientlog_encode(&rec, text, sizeof text);
  if (n <= 0) abort();
  if (ls_clientlog_decode(text, (size_t)n, &back) != 0) abort();
  int m = ls_clientlog_encode(&back, again, sizeof again);
  if (m != n || memcmp(text, again, (size_t)n) != 0) abort();
  if (strcmp(rec.name, back.name) != 0 || rec.size != back.size || rec.npeers != back.npeers) abort();
  return 0;
}
