/* libFuzzer: manifests from the network (ls_manifest_decode). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_manifest_t m;
  if (ls_manifest_decode(&m, data, size) == 0) {
    uint8_t *back;
    size_t len;
    if (ls_manifest_encode(&m, &back, &len) == 0) {
      /* Canonical: what decodes re-encodes to the same bytes, byte for byte. */
      if (len != size || memcmp(back, data, size) != 0) abort();
      free(back);
    }
    if (m.nchunks > 0) ls_manifest_chunk_ok(&m, m.nchunks - 1, data, size < m.chunk_size ? size : m.chunk_size);
    ls_manifest_free(&m);
  }
  return 0;
}
