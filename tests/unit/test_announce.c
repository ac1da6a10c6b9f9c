#include "helpers.h"
#include "ls_announce.h"
#include "ls_json.h"

typedef struct {
  char *pages[4096];
  size_t len[4096];
  size_t n;
} sink_t;

static int collect(void *ud, const char *buf, size_t len) {
  sink_t *s = ud;
  assert_true(len <= LS_ANNOUNCE_MAX_PAYLOAD);
  s->pages[s->n] = malloc(len);
  memcpy(s->pages[s->n], buf, len);
  s->len[s->n++] = len;
  return 0;
}

static void sink_free(sink_t *s) {
  for (size_t i = 0; i < s->n; i++) free(s->pages[i]);
}

static void round_trip_many_pages(void **state) {
  (void)state;
  size_t n = 2000;
  ls_announce_file_t *files = calloc(n, sizeof *files);
  char (*names)[64] = calloc(n, 64);
  for (size_t i = 0; i < n; i++) {
    snprintf(names[i], 64, "folder %zu/file-%zu.dat", i % 7, i);
    files[i].name = names[i];
    files[i].size = i * 1000003ULL;
    files[i].chunk_size = 1 << 20;
    files[i].root[0] = (uint8_t)i;
    files[i].root[1] = (uint8_t)(i >> 8);
    files[i].complete = i % 3 != 0;
  }
  sink_t *s = calloc(1, sizeof *s);
  size_t skipped;
  int pages = ls_announce_encode_pages("alpha", 41771, 60, 9, files, n, collect, s, &skipped);
  assert_true(pages > 1);
  assert_int_equal((size_t)pages, s->n);
  assert_int_equal(skipped, 0);
  size_t seen = 0;
  for (size_t p = 0; p < s->n; p++) {
    ls_announce_t a;
    const char *why;
    assert_int_equal(ls_announce_decode(&a, s->pages[p], s->len[p], &why), 0);
    assert_int_equal(a.type, LS_ANNOUNCE_FILES);
    assert_string_equal(a.tag, "alpha");
    assert_int_equal(a.port, 41771);
    assert_int_equal(a.seq, 9);
    assert_int_equal(a.page, p);
    assert_int_equal(a.pages, (uint32_t)pages);
    for (size_t i = 0; i < a.nfiles; i++, seen++) {
      assert_string_equal(a.files[i].name, names[seen]);
      assert_int_equal(a.files[i].size, files[seen].size);
      assert_memory_equal(a.files[i].root, files[seen].root, LS_HASH_LEN);
      assert_int_equal(a.files[i].complete, files[seen].complete);
    }
    ls_announce_free(&a);
  }
  assert_int_equal(seen, n);
  sink_free(s);
  free(s);
  free(files);
  free(names);
}

static void empty_share_and_bye(void **state) {
  (void)state;
  sink_t *s = calloc(1, sizeof *s);
  size_t skipped;
  assert_int_equal(ls_announce_encode_pages("b", 1, 1, 0, NULL, 0, collect, s, &skipped), 1);
  ls_announce_t a;
  const char *why;
  assert_int_equal(ls_announce_decode(&a, s->pages[0], s->len[0], &why), 0);
  assert_int_equal(a.nfiles, 0);
  ls_announce_free(&a);
  sink_free(s);
  free(s);
  char buf[2048];
  int n = ls_announce_encode_bye("b", 7, buf, sizeof buf);
  assert_true(n > 0);
  assert_int_equal(ls_announce_decode(&a, buf, (size_t)n, &why), 0);
  assert_int_equal(a.type, LS_ANNOUNCE_BYE);
  assert_int_equal(a.port, 7);
}

static void oversized_name_is_skipped(void **state) {
  (void)state;
  char name[1000];
  memset(name, '"', sizeof name - 1); /* each escapes to two bytes */
  name[sizeof name - 1] = '\0';
  ls_announce_file_t f[2] = {{name, 1, 4096, {0}, 1}, {"ok.txt", 1, 4096, {0}, 1}};
  sink_t *s = calloc(1, sizeof *s);
  size_t skipped;
  assert_int_equal(ls_announce_encode_pages("t", 1, 1, 0, f, 2, collect, s, &skipped), 1);
  assert_int_equal(skipped, 1);
  sink_free(s);
  free(s);
}

static void query_both_ways(void **state) {
  (void)state;
  char buf[LS_ANNOUNCE_MAX_PAYLOAD];
  int n = ls_announce_encode_query("late.joiner", buf, sizeof buf);
  assert_true(n > 0);
  assert_string_equal(buf, "{\"v\":1,\"type\":\"query\",\"tag\":\"late.joiner\"}");
  ls_announce_t a;
  const char *why;
  assert_int_equal(ls_announce_decode(&a, buf, (size_t)n, &why), 0);
  assert_int_equal(a.type, LS_ANNOUNCE_QUERY);
  assert_string_equal(a.tag, "late.joiner");
  assert_int_equal(a.port, 0);
  assert_int_equal(a.nfiles, 0);
  /* Unknown fields are ignored, as in every datagram. */
  const char *extra = "{\"v\":1,\"type\":\"query\",\"tag\":\"q\",\"port\":\"x\",\"files\":7}";
  assert_int_equal(ls_announce_decode(&a, extra, strlen(extra), &why), 0);
  const char *bad[] = {
      "{\"v\":1,\"type\":\"query\"}",
      "{\"v\":1,\"type\":\"query\",\"tag\":\"\"}",
      "{\"v\":1,\"type\":\"query\",\"tag\":\"a b\"}",
      "{\"v\":1,\"type\":\"query\",\"tag\":5}",
      "{\"v\":2,\"type\":\"query\",\"tag\":\"q\"}",
      "{\"type\":\"query\",\"tag\":\"q\"}",
      "{\"v\":1,\"type\":\"Query\",\"tag\":\"q\"}",
      "{\"v\":1,\"type\":\"query\",\"tag\":\"q\"}x",
      "{\"v\":1,\"type\":\"query\",\"tag\":\"q\\u0000r\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ls_announce_decode(&a, bad[i], strlen(bad[i]), &why) == 0) fail_msg("accepted: %s", bad[i]);
}

#define R "\"0000000000000000000000000000000000000000000000000000000000000000\""
#define HEAD "{\"v\":1,\"type\":\"announce\",\"tag\":\"t\",\"port\":5,\"interval\":60,\"seq\":1,\"page\":0,\"pages\":1,"

/* The digest: the same for the same list in any order; any field changes it. */
static void digest_stable_and_order_independent(void **state) {
  (void)state;
  ls_announce_file_t f[3] = {{"b.txt", 2, 4096, {2}, 1}, {"a.txt", 1, 4096, {1}, 1}, {"c/d.txt", 3, 4096, {3}, 0}};
  ls_announce_file_t g[3] = {f[2], f[0], f[1]};
  char d1[LS_ANNOUNCE_DIGEST_HEX + 1], d2[LS_ANNOUNCE_DIGEST_HEX + 1];
  assert_int_equal(ls_announce_digest(f, 3, d1), 0);
  assert_int_equal(ls_announce_digest(g, 3, d2), 0);
  assert_string_equal(d1, d2);
  assert_true(ls_announce_digest_valid(d1, strlen(d1)));
  /* The canonical text, hashed here by hand: first 16 bytes of its SHA-256. */
  const char *canon = "a.txt\t0100000000000000000000000000000000000000000000000000000000000000\t1\t4096\t1\n"
                      "b.txt\t0200000000000000000000000000000000000000000000000000000000000000\t2\t4096\t1\n"
                      "c/d.txt\t0300000000000000000000000000000000000000000000000000000000000000\t3\t4096\t0\n";
  uint8_t sum[LS_HASH_LEN];
  char hex[LS_HASH_HEX_LEN + 1];
  ls_sha256(canon, strlen(canon), sum);
  ls_hash_to_hex(sum, hex);
  assert_memory_equal(d1, hex, LS_ANNOUNCE_DIGEST_HEX);
  g[0].complete = 1;
  assert_int_equal(ls_announce_digest(g, 3, d2), 0);
  assert_string_not_equal(d1, d2);
  assert_int_equal(ls_announce_digest(NULL, 0, d2), 0); /* an empty share has one too */
  assert_true(ls_announce_digest_valid(d2, strlen(d2)));
}

static void beat_both_ways(void **state) {
  (void)state;
  char buf[LS_ANNOUNCE_MAX_PAYLOAD], d[LS_ANNOUNCE_DIGEST_HEX + 1];
  memset(d, 'a', LS_ANNOUNCE_DIGEST_HEX);
  d[LS_ANNOUNCE_DIGEST_HEX] = '\0';
  int n = ls_announce_encode_beat("alpha", 41771, 60, 8, d, 20000, buf, sizeof buf);
  assert_true(n > 0);
  ls_announce_t a;
  const char *why;
  assert_int_equal(ls_announce_decode(&a, buf, (size_t)n, &why), 0);
  assert_int_equal(a.type, LS_ANNOUNCE_BEAT);
  assert_string_equal(a.tag, "alpha");
  assert_int_equal(a.port, 41771);
  assert_int_equal(a.interval, 60);
  assert_int_equal(a.seq, 8);
  assert_int_equal(a.beat_files, 20000);
  assert_string_equal(a.digest, d);
  assert_int_equal(a.nfiles, 0);
  assert_int_equal(ls_announce_encode_beat("alpha", 1, 60, 8, "ABC", 1, buf, sizeof buf), -EINVAL);
#define BEAT "{\"v\":1,\"type\":\"beat\",\"tag\":\"t\",\"port\":5,\"interval\":60,\"seq\":1,"
  const char *bad[] = {
      BEAT "\"files\":1}",
      BEAT "\"digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
      BEAT "\"digest\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"files\":1}",
      BEAT "\"digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"files\":1}",
      BEAT "\"digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"files\":1}",
      BEAT "\"digest\":7,\"files\":1}",
      BEAT "\"digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"files\":-1}",
      "{\"v\":1,\"type\":\"beat\",\"tag\":\"t\",\"port\":5,\"seq\":1,"
      "\"digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"files\":1}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ls_announce_decode(&a, bad[i], strlen(bad[i]), &why) == 0) fail_msg("accepted: %s", bad[i]);
  /* Pages carry the digest too; unknown fields are ignored. */
  ls_announce_file_t f[1] = {{"a", 1, 4096, {1}, 1}};
  sink_t *s = calloc(1, sizeof *s);
  size_t skipped;
  assert_int_equal(ls_announce_encode_pages_d("t", 5, 60, 1, f, 1, 0, d, collect, s, &skipped), 1);
  assert_int_equal(ls_announce_decode(&a, s->pages[0], s->len[0], &why), 0);
  assert_string_equal(a.digest, d);
  ls_announce_free(&a);
  sink_free(s);
  free(s);
  const char *extra = BEAT "\"digest\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"files\":1,\"later\":[1]}";
  assert_int_equal(ls_announce_decode(&a, extra, strlen(extra), &why), 0);
}

static void hostile_datagrams_are_refused(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "not json",
      "[]",
      "{\"v\":2,\"type\":\"bye\",\"tag\":\"t\",\"port\":5}",
      "{\"v\":1,\"type\":\"bye\",\"tag\":\"t t\",\"port\":5}",
      "{\"v\":1,\"type\":\"bye\",\"tag\":\"t\",\"port\":0}",
      "{\"v\":1,\"type\":\"bye\",\"tag\":\"t\",\"port\":70000}",
      "{\"v\":1,\"type\":\"bye\",\"tag\":\"t\",\"port\":5.5}",
      "{\"v\":1,\"type\":\"hello\",\"tag\":\"t\",\"port\":5}",
      "{\"v\":1,\"type\":\"bye\",\"tag\":\"t\",\"port\":5} trailing",
      HEAD "\"files\":[{\"name\":\"../x\",\"size\":1,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"/etc/passwd\",\"size\":1,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\\tb\",\"size\":1,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\",\"size\":-1,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\",\"size\":18446744073709551615,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\",\"size\":1e300,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\",\"size\":1,\"chunk\":0,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\",\"size\":1,\"chunk\":4096,\"root\":\"abc\",\"complete\":true}]}",
      HEAD "\"files\":[{\"name\":\"a\",\"size\":1,\"chunk\":4096,\"root\":" R ",\"complete\":1}]}",
      HEAD "\"files\":[{\"name\":5,\"size\":1,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      HEAD "\"files\":{}}",
      /* A NUL escape would cut the string short: "ok.txt" and "nultag" must not come out. */
      HEAD "\"files\":[{\"name\":\"ok.txt\\u0000/../../etc/passwd\",\"size\":1,\"chunk\":4096,\"root\":" R ",\"complete\":true}]}",
      "{\"v\":1,\"type\":\"bye\",\"tag\":\"nultag\\u0000!!bad tag\",\"port\":5}",
      "{\"v\":1,\"type\":\"announce\",\"tag\":\"t\",\"port\":5,\"interval\":0,\"seq\":1,\"page\":0,\"pages\":1,\"files\":[]}",
      "{\"v\":1,\"type\":\"announce\",\"tag\":\"t\",\"port\":5,\"interval\":60,\"seq\":1,\"page\":1,\"pages\":1,\"files\":[]}",
      /* 1 TiB in 1 KiB chunks: more chunks than a manifest may hold. */
      HEAD "\"files\":[{\"name\":\"a\",\"size\":1099511627776,\"chunk\":1024,\"root\":" R ",\"complete\":true}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ls_announce_t a;
    const char *why = NULL;
    int rc = ls_announce_decode(&a, bad[i], strlen(bad[i]), &why);
    if (rc == 0) fail_msg("accepted: %s", bad[i]);
    assert_non_null(why);
  }
  /* An escaped backslash before "u0000" is no NUL escape (and a backslash is no name). */
  const char *escaped_backslash = "\"a\\\\u0000\"", *nul_escape = "\"a\\u0000\"";
  assert_int_equal(ls_json_has_nul_escape(escaped_backslash, strlen(escaped_backslash)), 0);
  assert_int_equal(ls_json_has_nul_escape(nul_escape, strlen(nul_escape)), 1);
  /* A NUL inside, and a datagram over the limit. */
  ls_announce_t a;
  const char *why;
  assert_int_not_equal(ls_announce_decode(&a, "{\"v\":1}\0{}", 10, &why), 0);
  char big[LS_ANNOUNCE_MAX_PAYLOAD + 10];
  memset(big, ' ', sizeof big);
  assert_int_not_equal(ls_announce_decode(&a, big, sizeof big, &why), 0);
  /* A valid datagram padded with whitespace: taken at exactly the limit,
   * refused one byte over it, for its length. */
  const char *bye = "{\"v\":1,\"type\":\"bye\",\"tag\":\"t\",\"port\":5}";
  memcpy(big, bye, strlen(bye));
  assert_int_equal(ls_announce_decode(&a, big, LS_ANNOUNCE_MAX_PAYLOAD, &why), 0);
  ls_announce_free(&a);
  assert_int_equal(ls_announce_decode(&a, big, LS_ANNOUNCE_MAX_PAYLOAD + 1, &why), -EINVAL);
  assert_string_equal(why, "bad datagram length");
  /* A 10 KB tag cannot even fit; a 65-char tag is refused. */
  char tagged[300];
  snprintf(tagged, sizeof tagged, "{\"v\":1,\"type\":\"bye\",\"tag\":\"%065d\",\"port\":5}", 0);
  assert_int_not_equal(ls_announce_decode(&a, tagged, strlen(tagged), &why), 0);
}

/* ls_json_add_uint prints what cJSON's own number printing does, byte for
 * byte (peers and digests see the same text), at every magnitude. */
static void uint_text_as_cjson(void **state) {
  (void)state;
  const uint64_t v[] = {0, 1, 9, 10, 65535, 4294967295ULL, 999999999999999ULL, 1000000000000000ULL,
                        1234567890123456ULL, 9007199254740992ULL, 18446744073709551615ULL};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    cJSON *a = cJSON_CreateObject(), *b = cJSON_CreateObject();
    assert_non_null(ls_json_add_uint(a, "n", v[i]));
    cJSON_AddNumberToObject(b, "n", (double)v[i]);
    char *ta = cJSON_PrintUnformatted(a), *tb = cJSON_PrintUnformatted(b);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_many_pages), cmocka_unit_test(empty_share_and_bye),
      cmocka_unit_test(query_both_ways),
      cmocka_unit_test(oversized_name_is_skipped), cmocka_unit_test(hostile_datagrams_are_refused),
      cmocka_unit_test(digest_stable_and_order_independent), cmocka_unit_test(beat_both_ways),
      cmocka_unit_test(uint_text_as_cjson)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
