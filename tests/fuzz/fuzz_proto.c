/* libFuzzer: chunk-protocol frames as a server reads requests and as a
 * downloader reads replies (lengths, types, payload checks). */
#include <stdint.h>
#include <string.h>

#include "ls_proto.h"

static int on_request(void *ud, ls_frame_t *f) {
  (void)ud;
  ls_request_t rq;
  ls_proto_parse_request(f, &rq);
  return 0;
}

static int on_reply(void *ud, ls_frame_t *f) {
  (void)ud;
  uint32_t index;
  const uint8_t *d;
  size_t len;
  uint16_t code;
  char text[64];
  uint8_t have[64];
  ls_proto_parse_chunk_rep(f, &index, &d, &len);
  ls_proto_parse_error(f, &code, text, sizeof text);
  ls_proto_parse_have(f, f->len > 4 ? (uint32_t)((f->len - 4) * 8 < 64 ? (f->len - 4) * 8 : 64) : 0, have);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_proto_reader_t r;
  /* Fed in two pieces at a data-chosen split, like reads from a socket. */
  size_t split = size ? data[0] % (size + 1) : 0;
  ls_proto_reader_init(&r, 0, 1);
  if (ls_proto_reader_feed(&r, data, split, on_request, NULL) == 0)
    ls_proto_reader_feed(&r, data + split, size - split, on_request, NULL);
  ls_proto_reader_close(&r);
  ls_proto_reader_init(&r, 1 << 16, 0);
  if (ls_proto_reader_feed(&r, data, split, on_reply, NULL) == 0)
    ls_proto_reader_feed(&r, data + split, size - split, on_reply, NULL);
  ls_proto_reader_close(&r);
  return 0;
}
