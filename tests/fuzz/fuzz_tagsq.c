/* libFuzzer: tags.txt queries over whatever lines parse. The holders found
 * must be entries of the name (and root), never self, never twice; the peers
 * must account for every entry once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_tagsq.h"

#define MAX_ENTRIES 256

static void check_lookup(const ls_tag_entry_t *e, size_t n) {
  ls_tagsq_lookup_t lk;
  if (ls_tagsq_lookup(e, n, e[0].name, NULL, e[n - 1].tag, e[n - 1].port, &lk) != 0) return;
  if (lk.chosen >= lk.ncontents || lk.nholders > LS_TAGSQ_HOLDERS_MAX) abort();
  for (size_t i = 0; i < lk.nholders; i++) {
    if (strcmp(lk.holders[i].tag, e[n - 1].tag) == 0 && lk.holders[i].port == e[n - 1].port) abort();
    for (size_t j = i + 1; j < lk.nholders; j++)
      if (strcmp(lk.holders[i].addr, lk.holders[j].addr) == 0 && lk.holders[i].port == lk.holders[j].port) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_tag_entry_t e[MAX_ENTRIES];
  size_t n = 0;
  const char *p = (const char *)data, *end = p + size;
  while (p < end && n < MAX_ENTRIES) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (ls_tags_parse_line(p, len, &e[n]) == 0) n++;
    p += len + 1;
  }
  if (n > 0) check_lookup(e, n);
  ls_tagsq_peer_t *peers;
  size_t count, files = 0;
  if (ls_tagsq_peers(e, n, &peers, &count) == 0) {
    for (size_t i = 0; i < count; i++) files += peers[i].files;
    if (files != n) abort();
    free(peers);
  }
  for (size_t i = 0; i < n; i++) free(e[i].name);
  return 0;
}
