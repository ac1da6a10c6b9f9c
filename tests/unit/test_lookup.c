#include "helpers.h"
#include "lookup.h"

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
  lookup_t lk;
  assert_int_equal(lookup_name(e, 5, "f", NULL, "me", 4, &lk), 0);
  assert_int_equal(lk.ncontents, 2);
  assert_int_equal(lk.contents[lk.chosen].root[0], 2);
  assert_int_equal(lk.nholders, 2);              /* b and c; never ourselves */
  assert_string_equal(lk.holders[0].tag, "c");   /* complete holders first */
  uint8_t want[LS_HASH_LEN] = {1};
  assert_int_equal(lookup_name(e, 5, "f", want, "me", 4, &lk), 0);
  assert_int_equal(lk.nholders, 1);
  assert_string_equal(lk.holders[0].tag, "a");
  want[0] = 9;
  assert_int_equal(lookup_name(e, 5, "f", want, "me", 4, &lk), -ENOENT);
  assert_int_equal(lookup_name(e, 5, "nope", NULL, "me", 4, &lk), -ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(most_holders_wins)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
