#include "helpers.h"
#include "peer_table.h"

static ls_announce_t ann(const char *tag, uint32_t seq, uint32_t page, uint32_t pages, ls_announce_file_t *files,
                         size_t n) {
  ls_announce_t a;
  memset(&a, 0, sizeof a);
  a.type = LS_ANNOUNCE_FILES;
  snprintf(a.tag, sizeof a.tag, "%s", tag);
  a.port = 9000;
  a.interval = 1;
  a.seq = seq;
  a.page = page;
  a.pages = pages;
  a.files = files;
  a.nfiles = n;
  return a;
}

static size_t count(peer_table_t *t) {
  ls_tag_entry_t *e;
  size_t n;
  assert_int_equal(peer_table_entries(t, &e, &n), 0);
  free(e);
  return n;
}

static size_t count_tag(peer_table_t *t, const char *tag) {
  ls_peer_entry_t *p;
  size_t n, k = 0;
  assert_int_equal(peer_table_peers(t, &p, &n), 0);
  for (size_t i = 0; i < n; i++) k += strcmp(p[i].tag, tag) == 0;
  free(p);
  return k;
}

static void rounds_pages_expiry_goodbye(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  ls_announce_file_t f[3] = {{"a", 1, 4096, {1}, 1}, {"b", 2, 4096, {2}, 1}, {"c", 3, 4096, {3}, 0}};
  ls_announce_t a = ann("alpha", 1, 0, 2, f, 2);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100), PT_CHANGED);
  a = ann("alpha", 1, 1, 2, f + 2, 1);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100), PT_CHANGED);
  assert_int_equal(count(&t), 3);
  /* The same page again: nothing new in the same second, only last_seen later. */
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1100, 100), PT_UNCHANGED);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1200, 101), PT_SEEN);
  /* Round 2 lists only "a" in one page: b and c are gone at once. */
  a = ann("alpha", 2, 0, 1, f, 1);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 2000, 101), PT_CHANGED);
  assert_int_equal(count(&t), 1);
  /* The same tag from another address is another peer, not a takeover. */
  a = ann("alpha", 1, 0, 1, f + 1, 1);
  peer_table_apply(&t, &a, "127.0.0.2", LS_HOW_BROADCAST, 2000, 101);
  assert_int_equal(peer_table_peer_count(&t), 2);
  /* Silent for 3 intervals (1 s each): dropped. */
  assert_int_equal(peer_table_expire(&t, 4500), 0);
  assert_true(peer_table_expire(&t, 5001) > 0);
  assert_int_equal(peer_table_peer_count(&t), 0);
  /* A goodbye removes only the peer it comes from. */
  a = ann("alpha", 3, 0, 1, f, 3);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 6000, 102);
  a.type = LS_ANNOUNCE_BYE;
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.9", LS_HOW_BROADCAST, 6000, 102), PT_UNCHANGED);
  assert_int_equal(count(&t), 3);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 6000, 102), PT_CHANGED);
  assert_int_equal(count(&t), 0);
  peer_table_close(&t);
}

/* A lost page: the earlier round's files stay until the whole new round is
 * in, or until they go unannounced for 3 intervals. */
static void lost_page_keeps_files_until_round_or_expiry(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  ls_announce_file_t f[3] = {{"a", 1, 4096, {1}, 1}, {"b", 2, 4096, {2}, 1}, {"c", 3, 4096, {3}, 1}};
  ls_announce_t a = ann("alpha", 1, 0, 2, f, 2);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100);
  a = ann("alpha", 1, 1, 2, f + 2, 1);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100);
  assert_int_equal(count(&t), 3);
  /* Round 2: page 0 arrives, page 1 (with c) is lost: c is kept. */
  a = ann("alpha", 2, 0, 2, f, 2);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 2000, 101);
  assert_int_equal(count(&t), 3);
  /* Round 3's page 0 as well: still no whole round, c still kept... */
  a = ann("alpha", 3, 0, 2, f, 2);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 3000, 102);
  assert_int_equal(peer_table_expire(&t, 3500), 0);
  assert_int_equal(count(&t), 3);
  /* ...until it was last seen 3 intervals (1 s each) ago, not before. */
  assert_int_equal(peer_table_expire(&t, 4000), 0);
  assert_int_equal(peer_table_expire(&t, 4001), 1);
  assert_int_equal(count(&t), 2);
  /* A whole round listing only a: b goes once both pages are in. */
  a = ann("alpha", 4, 1, 2, NULL, 0);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 4100, 103);
  assert_int_equal(count(&t), 2);
  a = ann("alpha", 4, 0, 2, f, 1);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 4200, 103), PT_CHANGED);
  assert_int_equal(count(&t), 1);
  peer_table_close(&t);
}

static void peers_sharing_nothing_and_how(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  /* An empty round makes a peer, and peers.txt changes for it. */
  ls_announce_t a = ann("empty", 1, 0, 1, NULL, 0);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100), PT_CHANGED);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1500, 100), PT_UNCHANGED);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 2000, 101), PT_SEEN);
  /* Heard another way: a change. */
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_UNICAST, 2000, 101), PT_CHANGED);
  ls_announce_file_t f[1] = {{"a", 1, 4096, {1}, 1}};
  a = ann("sharer", 1, 0, 1, f, 1);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.2", LS_HOW_TRACKER, 2000, 101), PT_CHANGED);
  /* A query changes nothing. */
  ls_announce_t q = ann("asker", 0, 0, 0, NULL, 0);
  q.type = LS_ANNOUNCE_QUERY;
  assert_int_equal(peer_table_apply(&t, &q, "127.0.0.3", LS_HOW_BROADCAST, 2000, 101), PT_UNCHANGED);
  assert_int_equal(peer_table_peer_count(&t), 2);
  assert_int_equal(count(&t), 1);
  ls_peer_entry_t *p;
  size_t n;
  assert_int_equal(peer_table_peers(&t, &p, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(p[0].tag, "empty");
  assert_int_equal(p[0].how, LS_HOW_BROADCAST | LS_HOW_UNICAST);
  assert_int_equal(p[0].first_seen, 100);
  assert_int_equal(p[0].last_seen, 101);
  assert_int_equal(p[0].files, 0);
  assert_int_equal(p[0].interval, 1);
  assert_string_equal(p[1].tag, "sharer");
  assert_int_equal(p[1].how, LS_HOW_TRACKER);
  assert_int_equal(p[1].files, 1);
  free(p);
  /* What peers.txt said comes back after a restart: how, first_seen, interval. */
  peer_table_t t2;
  peer_table_init(&t2, 60);
  assert_int_equal(peer_table_peers(&t, &p, &n), 0);
  peer_table_load_peers(&t2, p, n, 50000, 102);
  free(p);
  assert_int_equal(peer_table_peers(&t2, &p, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(p[0].how, LS_HOW_BROADCAST | LS_HOW_UNICAST);
  assert_int_equal(p[0].first_seen, 100);
  assert_int_equal(p[0].last_seen, 101);
  assert_int_equal(p[0].interval, 1);
  free(p);
  /* ... and expires at the same time: 3 intervals (1 s) after last_seen (1 s ago). */
  assert_int_equal(peer_table_expire(&t2, 51500), 0);
  assert_true(peer_table_expire(&t2, 52100) > 0);
  assert_int_equal(peer_table_peer_count(&t2), 0);
  peer_table_close(&t2);
  /* It expires like any peer, and a goodbye removes it. */
  assert_int_equal(peer_table_expire(&t, 4000), 0);
  a = ann("empty", 2, 0, 1, NULL, 0);
  a.type = LS_ANNOUNCE_BYE;
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 4000, 103), PT_CHANGED);
  assert_int_equal(peer_table_peer_count(&t), 1);
  peer_table_close(&t);
}

static void limits_and_load(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  /* More files than one peer may have: the excess is refused. */
  static ls_announce_file_t f[64];
  static char names[64][32];
  for (int i = 0; i < 64; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    f[i] = (ls_announce_file_t){names[i], 1, 4096, {0}, 1};
  }
  size_t rounds = PEER_TABLE_MAX_FILES_PER_PEER / 64 + 2;
  int refused = 0;
  for (size_t r = 0; r < rounds; r++) {
    for (int i = 0; i < 64; i++) snprintf(names[i], sizeof names[i], "f%zu-%d", r, i);
    ls_announce_t a = ann("big", 1, (uint32_t)r, (uint32_t)rounds, f, 64);
    if (peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1, 1) < 0) refused = 1;
  }
  assert_true(refused);
  assert_int_equal(count(&t), PEER_TABLE_MAX_FILES_PER_PEER);
  peer_table_close(&t);

  /* Loading an old tags.txt: entries keep their age. */
  peer_table_init(&t, 1);
  ls_tag_entry_t e;
  memset(&e, 0, sizeof e);
  snprintf(e.tag, sizeof e.tag, "old");
  snprintf(e.addr, sizeof e.addr, "127.0.0.1");
  e.port = 1;
  e.chunk_size = 4096;
  e.name = "x";
  e.last_seen = 1000 - 10; /* 10 s before now */
  peer_table_load(&t, &e, 1, 100000, 1000);
  assert_int_equal(count(&t), 1);
  assert_true(peer_table_expire(&t, 100000) > 0); /* 10 s > 3 x 1 s */
  peer_table_close(&t);
}

/* A beat: a known digest refreshes the peer and every file; an unknown one
 * asks for the list, which replaces the files as a complete round. */
static void beats_and_lists(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  ls_announce_file_t f[3] = {{"a", 1, 4096, {1}, 1}, {"b", 2, 4096, {2}, 1}, {"c", 3, 4096, {3}, 0}};
  ls_announce_t b = ann("big", 5, 0, 1, NULL, 0);
  b.type = LS_ANNOUNCE_BEAT;
  memset(b.digest, 'a', LS_ANNOUNCE_DIGEST_HEX);
  assert_true(peer_table_wants_list(&t, &b, "127.0.0.1"));
  assert_int_equal(peer_table_apply(&t, &b, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100), PT_CHANGED);
  assert_int_equal(peer_table_peer_count(&t), 1);
  assert_int_equal(count(&t), 0);
  assert_true(peer_table_wants_list(&t, &b, "127.0.0.1"));
  /* A page round of the peer in progress is not disturbed by the list. */
  ls_announce_t list = ann("big", 0, 0, 1, f, 3);
  memcpy(list.digest, b.digest, sizeof list.digest);
  assert_int_equal(peer_table_apply_list(&t, &list, "127.0.0.1", LS_HOW_BROADCAST, 1000, 100), PT_CHANGED);
  assert_int_equal(count(&t), 3);
  assert_false(peer_table_wants_list(&t, &b, "127.0.0.1"));
  assert_true(peer_table_wants_list(&t, &b, "127.0.0.2")); /* another peer */
  ls_peer_entry_t *pe;
  size_t np;
  assert_int_equal(peer_table_peers(&t, &pe, &np), 0);
  assert_int_equal(np, 1);
  assert_string_equal(pe[0].digest, b.digest);
  free(pe);
  /* Known beats keep every file alive past 3 intervals (no expiry). */
  for (uint64_t ms = 60000; ms <= 600000; ms += 60000)
    peer_table_apply(&t, &b, "127.0.0.1", LS_HOW_BROADCAST, ms, 100 + (int64_t)ms / 1000);
  assert_int_equal(peer_table_expire(&t, 600000 + 1000), 0);
  assert_int_equal(count(&t), 3);
  /* A new version: the files stay until its list comes, which drops "c". */
  memset(b.digest, 'b', LS_ANNOUNCE_DIGEST_HEX);
  assert_true(peer_table_wants_list(&t, &b, "127.0.0.1"));
  list = ann("big", 0, 0, 1, f, 2);
  memcpy(list.digest, b.digest, sizeof list.digest);
  assert_int_equal(peer_table_apply_list(&t, &list, "127.0.0.1", LS_HOW_BROADCAST, 601000, 701), PT_CHANGED);
  assert_int_equal(count(&t), 2);
  /* The same list again: nothing changes, and nothing is dropped. */
  assert_int_equal(peer_table_apply_list(&t, &list, "127.0.0.1", LS_HOW_BROADCAST, 601000, 701), PT_UNCHANGED);
  assert_int_equal(count(&t), 2);
  /* Unknown beats alone do not keep the files: silent lists expire. */
  memset(b.digest, 'c', LS_ANNOUNCE_DIGEST_HEX);
  peer_table_apply(&t, &b, "127.0.0.1", LS_HOW_BROADCAST, 900000, 1000);
  assert_true(peer_table_expire(&t, 900000) > 0);
  assert_int_equal(count(&t), 0);
  assert_int_equal(peer_table_peer_count(&t), 1);
  peer_table_close(&t);
}

/* A flood of tags from one address holds at most its share; a newcomer from
 * elsewhere always gets in; peers that keep announcing are never evicted. */
static void one_address_cannot_crowd_out_the_rest(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  ls_announce_file_t f = {"x", 1, 4096, {1}, 1};
  char tag[32];
  for (int i = 0; i < 10000; i++) {
    snprintf(tag, sizeof tag, "fake%d", i);
    ls_announce_t a = ann(tag, 1, 0, 1, &f, 1);
    a.interval = 3600;
    assert_true(peer_table_apply(&t, &a, "127.0.0.2", LS_HOW_BROADCAST, 1000 + (uint64_t)i, 1) >= 0);
  }
  assert_int_equal(peer_table_peer_count(&t), PEER_TABLE_MAX_PEERS_PER_ADDR);
  assert_true(t.evicted_peers > 0);
  /* The interval believed is capped: the flood leaves within 3 x the cap. */
  assert_int_equal(peer_table_expire(&t, 20000 + 3ull * PEER_TABLE_MAX_INTERVAL * 1000), PEER_TABLE_MAX_PEERS_PER_ADDR * 2);
  assert_int_equal(peer_table_peer_count(&t), 0);
  /* A peer of that address heard twice, a second apart, keeps its place. */
  ls_announce_t real = ann("real", 1, 0, 1, &f, 1);
  peer_table_apply(&t, &real, "127.0.0.2", LS_HOW_BROADCAST, 1000, 1);
  real.seq = 2;
  peer_table_apply(&t, &real, "127.0.0.2", LS_HOW_BROADCAST, 1000 + PEER_TABLE_SETTLED_MS, 2);
  for (int i = 0; i < 200; i++) {
    snprintf(tag, sizeof tag, "fake%d", i);
    ls_announce_t a = ann(tag, 1, 0, 1, &f, 1);
    peer_table_apply(&t, &a, "127.0.0.2", LS_HOW_BROADCAST, 3000, 3);
  }
  assert_int_equal(count_tag(&t, "real"), 1);
  /* The whole table full of settled peers of one address each: a newcomer is refused, not
   * an old peer evicted. */
  peer_table_close(&t);
  peer_table_init(&t, 60);
  char addr[32];
  for (int i = 0; i < PEER_TABLE_MAX_PEERS; i++) {
    snprintf(addr, sizeof addr, "10.%d.%d.1", i / 256, i % 256);
    ls_announce_t a = ann("p", 1, 0, 1, &f, 1);
    peer_table_apply(&t, &a, addr, LS_HOW_BROADCAST, 1000, 1);
    if (i % 2 == 0) peer_table_apply(&t, &a, addr, LS_HOW_BROADCAST, 3000, 3);
  }
  /* Half are settled: a newcomer takes the place of one heard once. */
  ls_announce_t a = ann("new", 1, 0, 1, &f, 1);
  assert_true(peer_table_apply(&t, &a, "192.0.2.1", LS_HOW_BROADCAST, 4000, 4) >= 0);
  assert_int_equal(count_tag(&t, "new"), 1);
  assert_int_equal(peer_table_peer_count(&t), PEER_TABLE_MAX_PEERS);
  peer_table_close(&t);
}

/* tags.txt's size: one address holds a quarter of max_bytes, all of them
 * max_bytes; each entry counted at its longest line. */
static void the_byte_bound(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  t.max_bytes = 400000;
  static char names[64][1001];
  static ls_announce_file_t f[64];
  char tag[16], addr[32];
  for (int k = 0; k < 5; k++) {
    snprintf(addr, sizeof addr, "127.0.0.%d", k + 2);
    for (int r = 0; r < 20; r++) {
      for (int i = 0; i < 64; i++) {
        memset(names[i], 'n', 1000);
        snprintf(names[i], 16, "%d-%d-%d", k % 10, r % 100, i % 100);
        names[i][strlen(names[i])] = 'n';
        names[i][1000] = '\0';
        f[i] = (ls_announce_file_t){names[i], 1, 4096, {1}, 1};
      }
      snprintf(tag, sizeof tag, "t%d", r % 5);
      ls_announce_t a = ann(tag, 1, 0, 2, f, 64);
      peer_table_apply(&t, &a, addr, LS_HOW_BROADCAST, 1000, 1);
    }
    assert_true(t.total_bytes <= t.max_bytes);
    if (k == 0) assert_true(t.total_bytes <= t.max_bytes / PEER_TABLE_ADDR_SHARE); /* one address: its share */
  }
  ls_tag_entry_t *e;
  size_t n;
  char *text;
  size_t len;
  assert_int_equal(peer_table_entries(&t, &e, &n), 0);
  assert_int_equal(ls_tags_render(e, n, &text, &len), 0);
  assert_true(len <= t.max_bytes);
  assert_true(len > t.max_bytes * 3 / 4); /* four addresses filled it */
  free(text);
  free(e);
  assert_true(strstr(t.refusal, "tags_max_bytes") != NULL);
  peer_table_close(&t);
}

/* Pages claimed cost nothing until they arrive; the round still completes. */
static void claimed_pages_and_replays(void **state) {
  (void)state;
  peer_table_t t;
  peer_table_init(&t, 60);
  ls_announce_file_t f[2] = {{"a", 1, 4096, {1}, 1}, {"b", 1, 4096, {1}, 1}};
  ls_announce_t a = ann("p", 1, 65000, 65535, f, 2);
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1), PT_CHANGED);
  /* Pages out of order, again, then the round of three is whole: b goes. */
  a = ann("p", 2, 2, 3, f, 1);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1);
  a.page = 0;
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1);
  peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1);
  assert_int_equal(count(&t), 2);
  a.page = 1;
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1), PT_CHANGED);
  assert_int_equal(count(&t), 1);
  /* Sealed: a datagram sealed before the newest taken is a replay; the same
   * time again is not (one datagram by two ways). */
  a.sealed_ms = 5000;
  assert_true(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1) >= 0);
  assert_true(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_MULTICAST, 1000, 1) >= 0);
  ls_announce_t bye = ann("p", 0, 0, 0, NULL, 0);
  bye.type = LS_ANNOUNCE_BYE;
  bye.sealed_ms = 4999;
  assert_int_equal(peer_table_apply(&t, &bye, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1), -ESTALE);
  a.sealed_ms = 4000;
  assert_int_equal(peer_table_apply(&t, &a, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1), -ESTALE);
  assert_int_equal(count(&t), 1);
  bye.sealed_ms = 5001;
  assert_int_equal(peer_table_apply(&t, &bye, "127.0.0.1", LS_HOW_BROADCAST, 1000, 1), PT_CHANGED);
  assert_int_equal(count(&t), 0);
  peer_table_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(rounds_pages_expiry_goodbye),
                                     cmocka_unit_test(lost_page_keeps_files_until_round_or_expiry),
                                     cmocka_unit_test(peers_sharing_nothing_and_how), cmocka_unit_test(limits_and_load),
                                     cmocka_unit_test(beats_and_lists),
                                     cmocka_unit_test(one_address_cannot_crowd_out_the_rest),
                                     cmocka_unit_test(the_byte_bound), cmocka_unit_test(claimed_pages_and_replays)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
