/* libFuzzer: server.status texts. What decodes is encoded, and that text must
 * decode to a status that encodes to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_srvstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_srvstatus_t st, back;
  if (ls_srvstatus_decode((const char *)data, size, &st) != 0) return 0;
  char *text = NULL, *again = NULL;
  size_t n, m;
  if (ls_srvstatus_encode(&st, &text, &n) != 0) abort();
  if (ls_srvstatus_decode(text, n, &back) != 0) abort();
  if (back.nconns != st.nconns || back.pid != st.pid || back.running != st.running) abort();
  if (st.nconns && memcmp(st.conns, back.conns, st.nconns * sizeof *st.conns) != 0) abort();
  if (ls_srvstatus_encode(&back, &again, &m) != 0) abort();
  if (m != n || memcmp(text, again, n) != 0) abort();
  free(text);
  free(again);
  ls_srvstatus_free(&st);
  ls_srvstatus_free(&back);
  return 0;
}
