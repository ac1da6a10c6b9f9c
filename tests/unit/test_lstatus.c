/* ls_lstatus: DIR/run/listener.status, both ways. */
#include "helpers.h"

#include "ls_lstatus.h"

static void round_trip(void **state) {
  (void)state;
  ls_lstatus_t st, back;
  memset(&st, 0, sizeof st);
  st.updated = 1795600000;
  st.pid = 4242;
  st.udp_port = 41770;
  st.datagrams = 10;
  st.rejected = 3;
  st.rejected_key = 2;
  st.queries = 1;
  st.answers = 1;
  snprintf(st.query_tags[0], sizeof st.query_tags[0], "doctor-1a2b");
  st.nquery_tags = 1;
  snprintf(st.key_failures[0].addr, sizeof st.key_failures[0].addr, "198.18.0.2");
  snprintf(st.key_failures[0].tag, sizeof st.key_failures[0].tag, "mallory");
  st.nkey_failures = 1;
  char *text;
  size_t len;
  assert_int_equal(ls_lstatus_encode(&st, &text, &len), 0);
  assert_int_equal(text[len - 1], '\n');
  assert_int_equal(ls_lstatus_decode(text, len, &back), 0);
  free(text);
  assert_memory_equal(&st, &back, sizeof st);
}

static void lenient_where_it_must_be(void **state) {
  (void)state;
  ls_lstatus_t st;
  /* Missing fields are 0; invalid tags and sources are skipped. */
  const char *t = "{\"pid\":7,\"query_tags\":[\"ok\",\"bad tag\",3],\"key_failures\":[{\"addr\":\"1.2.3.4\","
                  "\"tag\":\"no way\"},{\"tag\":\"x\"}]}";
  assert_int_equal(ls_lstatus_decode(t, strlen(t), &st), 0);
  assert_int_equal(st.pid, 7);
  assert_int_equal(st.nquery_tags, 1);
  assert_string_equal(st.query_tags[0], "ok");
  assert_int_equal(st.nkey_failures, 1);
  assert_string_equal(st.key_failures[0].tag, "");
  assert_int_equal(st.datagrams, 0);
}

static void hostile(void **state) {
  (void)state;
  ls_lstatus_t st;
  const char *bad[] = {"", "[]", "{\"pid\":-1}", "{\"datagrams\":1.5}", "{\"udp_port\":70000}", "{} x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(ls_lstatus_decode(bad[i], strlen(bad[i]), &st), -EINVAL);
  assert_int_equal(ls_lstatus_read("/nonexistent/listener.status", &st), -ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(lenient_where_it_must_be),
      cmocka_unit_test(hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
