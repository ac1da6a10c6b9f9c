#include "helpers.h"
#include "ls_tmsg.h"

typedef struct {
  ls_tmsg_t msgs[4];
  int n;
} got_t;

static int on_frame(void *ud, const char *json, size_t len) {
  got_t *g = ud;
  const char *why;
  assert_int_equal(ls_tmsg_decode(&g->msgs[g->n], json, len, &why), 0);
  g->n++;
  return 0;
}

static void round_trip(void **state) {
  (void)state;
  ls_announce_file_t files[2] = {{"a b.txt", 5, 4096, {1}, 1}, {"dir/c", 1 << 20, 1 << 20, {2}, 0}};
  ls_tmsg_t pub;
  memset(&pub, 0, sizeof pub);
  pub.type = LS_TMSG_PUBLISH;
  pub.id = 9;
  pub.replace = 1;
  pub.files = files;
  pub.nfiles = 2;
  ls_tmsg_t reg;
  memset(&reg, 0, sizeof reg);
  reg.type = LS_TMSG_REGISTER;
  reg.id = 1;
  snprintf(reg.host, sizeof reg.host, "kitchen");
  reg.port = 41771;
  uint8_t *f1, *f2;
  size_t l1, l2;
  assert_int_equal(ls_tmsg_encode(&reg, &f1, &l1), 0);
  assert_int_equal(ls_tmsg_encode(&pub, &f2, &l2), 0);
  uint8_t *both = malloc(l1 + l2);
  memcpy(both, f1, l1);
  memcpy(both + l1, f2, l2);
  ls_tmsg_reader_t r;
  ls_tmsg_reader_init(&r);
  got_t g = {0};
  for (size_t i = 0; i < l1 + l2; i += 7) /* arbitrary splits */
    assert_int_equal(ls_tmsg_reader_feed(&r, both + i, (l1 + l2 - i) < 7 ? l1 + l2 - i : 7, on_frame, &g), 0);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.msgs[0].type, LS_TMSG_REGISTER);
  assert_string_equal(g.msgs[0].host, "kitchen");
  assert_int_equal(g.msgs[0].port, 41771);
  assert_int_equal(g.msgs[1].type, LS_TMSG_PUBLISH);
  assert_int_equal(g.msgs[1].id, 9);
  assert_true(g.msgs[1].replace);
  assert_int_equal(g.msgs[1].nfiles, 2);
  assert_string_equal(g.msgs[1].files[0].name, "a b.txt");
  assert_int_equal(g.msgs[1].files[1].complete, 0);
  for (int i = 0; i < g.n; i++) ls_tmsg_free(&g.msgs[i]);
  ls_tmsg_reader_close(&r);
  free(f1);
  free(f2);
  free(both);
}

static void rejects(void **state) {
  (void)state;
  const char *bad[] = {
      "{\"v\":2,\"type\":\"ping\"}",
      "{\"v\":1,\"type\":\"teleport\"}",
      "{\"v\":1,\"type\":\"register\",\"host\":\"a b\",\"port\":1}",
      "{\"v\":1,\"type\":\"register\",\"host\":\"a\",\"port\":0}",
      "{\"v\":1,\"type\":\"publish\",\"files\":[{\"name\":\"../x\",\"size\":1,\"chunk\":4096,\"root\":\"" \
      "0000000000000000000000000000000000000000000000000000000000000000\",\"complete\":true}]}",
      "{\"v\":1,\"type\":\"unpublish\",\"names\":[\"/etc\"]}",
      "{\"v\":1,\"type\":\"lookup\"}",
      "{\"v\":1,\"type\":\"lookup\",\"name\":\"a\",\"root\":\"00\"}",
      "{\"v\":1,\"type\":\"list\",\"limit\":100000}",
      "{\"v\":1,\"type\":\"entries\",\"entries\":[{\"host\":\"h\",\"addr\":\"1.2.3\",\"port\":1}]}",
      "[1]",
      "{",
      /* A NUL escape would cut the host name short. */
      "{\"v\":1,\"type\":\"register\",\"host\":\"a\\u0000 b\",\"port\":1}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ls_tmsg_t m;
    const char *why;
    if (ls_tmsg_decode(&m, bad[i], strlen(bad[i]), &why) == 0) fail_msg("accepted: %s", bad[i]);
  }
  /* The reader refuses a claimed length over the limit before allocating. */
  ls_tmsg_reader_t r;
  ls_tmsg_reader_init(&r);
  uint8_t hdr[4] = {0x7F, 0xFF, 0xFF, 0xFF};
  assert_int_equal(ls_tmsg_reader_feed(&r, hdr, 4, on_frame, NULL), -EMSGSIZE);
  assert_null(r.body);
  /* The limit is LS_TMSG_MAX (1 MiB) exactly: one byte more is refused. */
  ls_tmsg_reader_init(&r);
  uint8_t over[4] = {0x00, 0x10, 0x00, 0x01};
  assert_int_equal(ls_tmsg_reader_feed(&r, over, 4, on_frame, NULL), -EMSGSIZE);
  ls_tmsg_reader_close(&r);
  ls_tmsg_reader_init(&r);
  uint8_t at[4] = {0x00, 0x10, 0x00, 0x00};
  assert_int_equal(ls_tmsg_reader_feed(&r, at, 4, on_frame, NULL), 0);
  ls_tmsg_reader_close(&r);
  /* A legal but large claim allocates only what arrived. */
  ls_tmsg_reader_init(&r);
  uint8_t big[4] = {0x00, 0x0F, 0x00, 0x00};
  uint8_t some[10] = "{\"v\":1,\"t";
  assert_int_equal(ls_tmsg_reader_feed(&r, big, 4, on_frame, NULL), 0);
  assert_int_equal(ls_tmsg_reader_feed(&r, some, 10, on_frame, NULL), 0);
  assert_true(r.body_cap <= 4096);
  ls_tmsg_reader_close(&r);
  /* Error text is made printable. */
  ls_tmsg_t m;
  const char *why;
  const char *err = "{\"v\":1,\"type\":\"error\",\"code\":2,\"reason\":\"taken\\u001b[31m\"}";
  assert_int_equal(ls_tmsg_decode(&m, err, strlen(err), &why), 0);
  assert_string_equal(m.reason, "taken?[31m");
  ls_tmsg_free(&m);
}

/* SUBSCRIBE: v, type and id only; round trip, and what is refused. */
static void subscribe(void **state) {
  (void)state;
  ls_tmsg_t sub, m;
  const char *why;
  memset(&sub, 0, sizeof sub);
  sub.type = LS_TMSG_SUBSCRIBE;
  sub.id = 77;
  uint8_t *frame;
  size_t len;
  assert_int_equal(ls_tmsg_encode(&sub, &frame, &len), 0);
  assert_int_equal(ls_tmsg_decode(&m, (const char *)frame + 4, len - 4, &why), 0);
  assert_int_equal(m.type, LS_TMSG_SUBSCRIBE);
  assert_int_equal(m.id, 77);
  assert_string_equal(ls_tmsg_type_name(m.type), "subscribe");
  ls_tmsg_free(&m);
  free(frame);
  const char *ok = "{\"v\":1,\"type\":\"subscribe\"}";
  assert_int_equal(ls_tmsg_decode(&m, ok, strlen(ok), &why), 0);
  assert_int_equal(m.id, 0);
  ls_tmsg_free(&m);
  const char *bad[] = {
      "{\"v\":2,\"type\":\"subscribe\",\"id\":1}",
      "{\"type\":\"subscribe\",\"id\":1}",
      "{\"v\":1,\"type\":\"subscribe\",\"id\":-1}",
      "{\"v\":1,\"type\":\"subscribe\",\"id\":1.5}",
      "{\"v\":1,\"type\":\"subscribe\",\"id\":\"1\"}",
      "{\"v\":1,\"type\":\"Subscribe\"}",
      "{\"v\":1,\"type\":\"subscribe\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ls_tmsg_decode(&m, bad[i], strlen(bad[i]), &why) == 0) fail_msg("accepted: %s", bad[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(rejects),
                                     cmocka_unit_test(subscribe)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
