/* libFuzzer: the downloader's --events lines. What decodes is encoded, and
 * that text must decode to an event that encodes to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_events.h"

static ls_event_t ev, back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ls_events_decode((const char *)data, size, &ev) != 0) return 0;
  char *text = NULL, *again = NULL;
  if (ls_events_encode(&ev, 0, &text) != 0) abort();
  if (ls_events_decode(text, strlen(text), &back) != 0) abort();
  if (back.kind != ev.kind || back.npeers != ev.npeers || back.nholders != ev.nholders) abort();
  if (ls_events_encode(&back, 0, &again) != 0) abort();
  if (strcmp(text, again) != 0) abort();
  free(text);
  free(again);
  return 0;
}
