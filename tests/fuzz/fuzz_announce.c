/* libFuzzer: announcement datagrams (ls_announce_decode: announce, bye,
 * query, beat), then the listener's peer table fed with what decodes, and
 * peers.txt rendered from it. */
#include <stdint.h>
#include <stdlib.h>

#include "ls_announce.h"
#include "peer_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static peer_table_t table;
  static int ready;
  static uint64_t now;
  if (!ready) {
    peer_table_init(&table, 60);
    ready = 1;
  }
  ls_announce_t a;
  const char *why;
  if (ls_announce_decode(&a, (const char *)data, size, &why) == 0) {
    now += 1000;
    const char *src = size % 2 ? "127.0.0.1" : "127.0.0.2";
    peer_table_apply(&table, &a, src, 1u << (size % 4), now, (int64_t)now / 1000);
    if (a.type == LS_ANNOUNCE_BEAT) peer_table_wants_list(&table, &a, src);
    /* A page carrying a digest stands in for a fetched list. */
    if (a.type == LS_ANNOUNCE_FILES && a.digest[0] != '\0')
      peer_table_apply_list(&table, &a, src, LS_HOW_UNICAST, now, (int64_t)now / 1000);
    peer_table_expire(&table, now);
    ls_tag_entry_t *e;
    size_t n;
    if (peer_table_entries(&table, &e, &n) == 0) free(e);
    ls_peer_entry_t *pe;
    if (peer_table_peers(&table, &pe, &n) == 0) {
      char *text;
      size_t len;
      if (ls_peers_render(pe, n, &text, &len) != 0) abort(); /* what the table holds always renders */
      free(text);
      free(pe);
    }
    ls_announce_free(&a);
  }
  return 0;
}
