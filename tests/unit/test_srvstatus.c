/* ls_srvstatus: server.status, both ways. */
#include "helpers.h"
#include "ls_srvstatus.h"

static const char *expected =
    "{\"updated\":1795600000,\"pid\":4242,\"port\":41771,\"running\":true,\"connections\":[{\"peer\":"
    "\"127.0.0.1:40000\",\"start\":\"2026-11-25T10:00:00.000Z\",\"duration_ms\":1500,\"bytes\":4096,\"chunks\":1,"
    "\"roots\":[\"aaaaaaaaaaaaaaaa\"]}]}\n";

static void round_trip(void **state) {
  (void)state;
  ls_srvstatus_conn_t c;
  memset(&c, 0, sizeof c);
  snprintf(c.addr, sizeof c.addr, "127.0.0.1");
  c.port = 40000;
  snprintf(c.start, sizeof c.start, "2026-11-25T10:00:00.000Z");
  c.duration_ms = 1500;
  c.bytes = 4096;
  c.chunks = 1;
  memset(c.roots[0], 'a', LS_SERVERLOG_ROOT_PREFIX_LEN);
  c.nroots = 1;
  ls_srvstatus_t st = {1795600000, 4242, 41771, 1, &c, 1}, back;
  char *text;
  size_t len;
  assert_int_equal(ls_srvstatus_encode(&st, &text, &len), 0);
  assert_string_equal(text, expected); /* docs/PROTOCOL.md, section 6 */
  assert_int_equal(len, strlen(expected));
  assert_int_equal(ls_srvstatus_decode(text, len, &back), 0);
  assert_int_equal(back.updated, st.updated);
  assert_int_equal(back.pid, 4242);
  assert_int_equal(back.port, 41771);
  assert_true(back.running);
  assert_int_equal(back.nconns, 1);
  assert_memory_equal(&back.conns[0], &c, sizeof c);
  ls_srvstatus_free(&back);
  free(text);
  /* Stopped: no connections. */
  ls_srvstatus_t stopped = {1, 4242, 0, 0, NULL, 0};
  assert_int_equal(ls_srvstatus_encode(&stopped, &text, &len), 0);
  assert_string_equal(text, "{\"updated\":1,\"pid\":4242,\"port\":0,\"running\":false,\"connections\":[]}\n");
  free(text);
}

static void lenient_where_it_must_be(void **state) {
  (void)state;
  ls_srvstatus_t st;
  /* A root that is not a prefix and a connection without a peer are skipped. */
  const char *t =
      "{\"pid\":1,\"running\":true,\"connections\":[{\"peer\":\"127.0.0.1:9\",\"roots\":"
      "[\"aaaaaaaaaaaaaaaa\",7,\"xyz\"]},{\"bytes\":3},{\"peer\":\"nope\"}]}";
  assert_int_equal(ls_srvstatus_decode(t, strlen(t), &st), 0);
  assert_int_equal(st.nconns, 1);
  assert_int_equal(st.conns[0].nroots, 1);
  assert_int_equal(st.port, 0);
  ls_srvstatus_free(&st);
}

static void hostile(void **state) {
  (void)state;
  ls_srvstatus_t st;
  const char *bad[] = {
      "",
      "not json",
      "[]",
      "{\"pid\":-4,\"running\":true}",
      "{\"pid\":999999999,\"running\":true}",
      "{\"pid\":1.5}",
      "{\"pid\":\"1\"}",
      "{\"port\":65536}",
      "{\"running\":1}",
      "{\"updated\":1e300}",
      "{\"connections\":{}}",
      "{\"pid\":1} trailing",
      "{\"pid\":1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_not_equal(ls_srvstatus_decode(bad[i], strlen(bad[i]), &st), 0);
    assert_null(st.conns);
  }
  /* A connection with a field out of range is left out, like one without a peer. */
  const char *bad_conns[] = {"{\"connections\":[{\"peer\":\"127.0.0.1:9\",\"bytes\":-1}]}",
                             "{\"connections\":[{\"peer\":\"127.0.0.1:9\",\"chunks\":4294967296}]}",
                             "{\"connections\":[{\"peer\":\"127.0.0.1:99999\"}]}", "{\"connections\":[7]}"};
  for (size_t i = 0; i < sizeof bad_conns / sizeof bad_conns[0]; i++) {
    assert_int_equal(ls_srvstatus_decode(bad_conns[i], strlen(bad_conns[i]), &st), 0);
    assert_int_equal(st.nconns, 0);
    ls_srvstatus_free(&st);
  }
  const char nul[] = "{\"pid\":1}\0{\"pid\":2}";
  assert_int_equal(ls_srvstatus_decode(nul, sizeof nul - 1, &st), -EINVAL);
  /* Too many connections. */
  size_t cap = (LS_SRVSTATUS_CONNS_MAX + 1) * 4 + 64;
  char *many = malloc(cap);
  size_t used = (size_t)snprintf(many, cap, "{\"connections\":[");
  for (int i = 0; i <= LS_SRVSTATUS_CONNS_MAX; i++)
    used += (size_t)snprintf(many + used, cap - used, "%s{}", i ? "," : "");
  snprintf(many + used, cap - used, "]}");
  assert_int_equal(ls_srvstatus_decode(many, strlen(many), &st), -EINVAL);
  free(many);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(lenient_where_it_must_be),
                                     cmocka_unit_test(hostile)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
