/* libFuzzer: tracker messages, framed and decoded; what decodes is encoded
 * again and must decode. */
#include <stdint.h>
#include <stdlib.h>

#include "ls_tmsg.h"

static int on_frame(void *ud, const char *json, size_t len) {
  (void)ud;
  ls_tmsg_t m;
  const char *why;
  if (ls_tmsg_decode(&m, json, len, &why) == 0) {
    uint8_t *frame;
    size_t flen;
    if (ls_tmsg_encode(&m, &frame, &flen) == 0) {
      ls_tmsg_t again;
      if (ls_tmsg_decode(&again, (const char *)frame + 4, flen - 4, &why) != 0) abort();
      ls_tmsg_free(&again);
      free(frame);
    }
    ls_tmsg_free(&m);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* As a frame stream, and as one JSON body. */
  ls_tmsg_reader_t r;
  ls_tmsg_reader_init(&r);
  ls_tmsg_reader_feed(&r, data, size, on_frame, NULL);
  ls_tmsg_reader_close(&r);
  on_frame(NULL, (const char *)data, size);
  return 0;
}
