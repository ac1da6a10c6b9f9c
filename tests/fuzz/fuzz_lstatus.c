/* libFuzzer: run/listener.status texts. What decodes is encoded, and that
 * text must decode to the same status, which encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_lstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_lstatus_t st, back;
  if (ls_lstatus_decode((const char *)data, size, &st) != 0) return 0;
  char *text = NULL, *again = NULL;
  size_t n, m;
  if (ls_lstatus_encode(&st, &text, &n) != 0) abort();
  if (ls_lstatus_decode(text, n, &back) != 0) abort();
  if (memcmp(&st, &back, sizeof st) != 0) abort();
  if (ls_lstatus_encode(&back, &again, &m) != 0) abort();
  if (m != n || memcmp(text, again, n) != 0) abort();
  free(text);
  free(again);
  return 0;
}
