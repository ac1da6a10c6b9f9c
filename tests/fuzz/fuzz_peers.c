/* libFuzzer: peers.txt, a line and a whole file; what parses is formatted and
 * must parse again to the same entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_peers.h"

static void round_trip(const ls_peer_entry_t *e) {
  char line[LS_PEERS_LINE_MAX + 1];
  int n = ls_peers_format_line(e, line, sizeof line);
  if (n <= 0) abort();
  ls_peer_entry_t back;
  if (ls_peers_parse_line(line, (size_t)n - 1, &back) != 0) abort();
  if (strcmp(back.tag, e->tag) != 0 || strcmp(back.addr, e->addr) != 0 || back.port != e->port ||
      back.how != e->how || back.first_seen != e->first_seen || back.last_seen != e->last_seen ||
      back.interval != e->interval || back.files != e->files || strcmp(back.digest, e->digest) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_peer_entry_t e;
  if (ls_peers_parse_line((const char *)data, size, &e) == 0) round_trip(&e);
  ls_peer_entry_t *all;
  size_t n, bad;
  if (ls_peers_parse((const char *)data, size, &all, &n, &bad) == 0) {
    if (n > LS_PEERS_MAX) abort();
    for (size_t i = 0; i < n; i++) round_trip(&all[i]);
    free(all);
  }
  return 0;
}
