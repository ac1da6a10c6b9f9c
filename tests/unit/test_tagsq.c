/* ls_tagsq: who holds a name (or one content of it); the peers of tags.txt. */
#include "helpers.h"
#include "ls_tagsq.h"

static ls_tag_entry_t entry(const char *tag, const char *addr, uint16_t port, uint8_t root0, int complete,
                            const char *name) {
  ls_tag_entry_t e;
  memset(&e, 0, sizeof e);
  snprintf(e.tag, sizeof e.tag, "%s", tag);
  snprintf(e.addr, sizeof e.addr, "%s", addr);
  e.port = port;
  e.root[0] = root0;
  e.size = 10;
  e.chunk_size = 4096;
  e.complete = complete;
  e.name = (char *)name;
  return e;
}

static void most_holders_wins(void **state) {
  (void)state;
  ls_tag_entry_t e[5] = {entry("a", "127.0.0.1", 1, 1, 1, "f"), entry("b", "127.0.0.1", 2, 2, 0, "f"),
                         entry("c", "127.0.0.1", 3, 2, 1, "f"), entry("me", "127.0.0.1", 4, 2, 1, "f"),
                         entry("d", "127.0.0.1", 5, 3, 1, "g")};
  ls_tagsq_lookup_t lk;
  assert_int_equal(ls_tagsq_lookup(e, 5, "f", NULL, "me", 4, &lk), 0);
  assert_int_equal(lk.ncontents, 2);
  assert_int_equal(lk.contents[lk.chosen].root[0], 2);
  assert_int_equal(lk.nholders, 2);              /* b and c; never ourselves */
  assert_string_equal(lk.holders[0].tag, "c");   /* complete holders first */
  uint8_t want[LS_HASH_LEN] = {1};
  assert_int_equal(ls_tagsq_lookup(e, 5, "f", want, "me", 4, &lk), 0);
  assert_int_equal(lk.nholders, 1);
  assert_string_equal(lk.holders[0].tag, "a");
  want[0] = 9;
  assert_int_equal(ls_tagsq_lookup(e, 5, "f", want, "me", 4, &lk), -ENOENT);
  assert_int_equal(ls_tagsq_lookup(e, 5, "nope", NULL, "me", 4, &lk), -ENOENT);
}

static void holders_deduplicated_and_bounded(void **state) {
  (void)state;
  /* The same address twice counts once; no more than LS_TAGSQ_HOLDERS_MAX. */
  size_t n = LS_TAGSQ_HOLDERS_MAX + 10;
  ls_tag_entry_t *e = calloc(n, sizeof *e);
  for (size_t i = 0; i < n; i++) e[i] = entry("p", "127.0.0.1", (uint16_t)(1000 + i), 1, (int)(i % 2), "f");
  e[1].port = e[0].port;
  ls_tagsq_lookup_t lk;
  assert_int_equal(ls_tagsq_lookup(e, n, "f", NULL, NULL, 0, &lk), 0);
  assert_int_equal(lk.nholders, LS_TAGSQ_HOLDERS_MAX);
  for (size_t i = 0; i < lk.nholders; i++)
    for (size_t j = i + 1; j < lk.nholders; j++) assert_int_not_equal(lk.holders[i].port, lk.holders[j].port);
  /* More distinct contents than it tells apart: the rest are left out, not overrun. */
  for (size_t i = 0; i < n; i++) e[i].root[1] = (uint8_t)i;
  assert_int_equal(ls_tagsq_lookup(e, n, "f", NULL, NULL, 0, &lk), 0);
  assert_int_equal(lk.ncontents, LS_TAGSQ_CONTENTS_MAX);
  assert_int_equal(ls_tagsq_lookup(NULL, 0, "f", NULL, NULL, 0, &lk), -ENOENT);
  free(e);
}

static void peers_grouped_sorted(void **state) {
  (void)state;
  ls_tag_entry_t e[4] = {entry("b", "127.0.0.1", 2, 1, 1, "x"), entry("a", "127.0.0.1", 1, 2, 1, "y"),
                         entry("b", "127.0.0.1", 2, 3, 0, "z"), entry("b", "127.0.0.2", 2, 3, 0, "z")};
  e[0].last_seen = 5;
  e[2].last_seen = 9;
  e[2].size = 90;
  ls_tagsq_peer_t *p;
  size_t k;
  assert_int_equal(ls_tagsq_peers(e, 4, &p, &k), 0);
  assert_int_equal(k, 3);
  assert_string_equal(p[0].first->tag, "a");
  assert_string_equal(p[1].address, "127.0.0.1:2");
  assert_int_equal(p[1].files, 2);
  assert_int_equal(p[1].bytes, 100);
  assert_int_equal(p[1].last_seen, 9);
  assert_string_equal(p[2].address, "127.0.0.2:2");
  free(p);
  assert_int_equal(ls_tagsq_peers(NULL, 0, &p, &k), 0);
  assert_int_equal(k, 0);
  free(p);
}

static void similar_names(void **state) {
  (void)state;
  ls_tag_entry_t e[6] = {entry("a", "127.0.0.1", 1, 1, 1, "big.bin"), entry("b", "127.0.0.1", 2, 1, 1, "big.bin"),
                         entry("a", "127.0.0.1", 1, 2, 1, "BIG.BIN"), entry("a", "127.0.0.1", 1, 3, 1, "bag.bin"),
                         entry("a", "127.0.0.1", 1, 4, 1, "other.txt"), entry("a", "127.0.0.1", 1, 5, 1, "big22.bin")};
  const char *out[LS_TAGSQ_SIMILAR_MAX];
  /* Case first, then one edit (ties by name), then two; each name once. */
  assert_int_equal(ls_tagsq_similar(e, 6, "Big.bin", out, 3), 3);
  assert_string_equal(out[0], "BIG.BIN");
  assert_string_equal(out[1], "big.bin");
  assert_string_equal(out[2], "bag.bin");
  assert_int_equal(ls_tagsq_similar(e, 6, "big3.bin", out, 8), 4);
  assert_string_equal(out[0], "BIG.BIN");
  assert_string_equal(out[1], "big.bin");
  assert_string_equal(out[2], "bag.bin");
  assert_string_equal(out[3], "big22.bin");
  assert_int_equal(ls_tagsq_similar(e, 6, "zzz", out, 3), 0);
  assert_int_equal(ls_tagsq_similar(e, 6, "big.bin", out, 1), 1); /* itself is not a suggestion */
  assert_string_equal(out[0], "BIG.BIN");
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(most_holders_wins), cmocka_unit_test(similar_names),
                                     cmocka_unit_test(holders_deduplicated_and_bounded),
                                     cmocka_unit_test(peers_grouped_sorted)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
