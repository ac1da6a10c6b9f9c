#include "helpers.h"
#include "ls_name.h"

#define V(s) ls_name_valid(s, strlen(s))

static void names_accepted(void **state) {
  (void)state;
  assert_true(V("a.txt"));
  assert_true(V("dir/sub/file name with spaces.bin"));
  assert_true(V("caf\xc3\xa9.txt"));           /* é */
  assert_true(V("\xf0\x9f\x98\x80.png"));       /* emoji */
  assert_true(V("..hidden"));
  assert_true(V("a..b"));
}

static void names_refused(void **state) {
  (void)state;
  assert_false(V(""));
  assert_false(V("/etc/passwd"));
  assert_false(V("../secret"));
  assert_false(V("a/../../b"));
  assert_false(V("a/./b"));
  assert_false(V("a//b"));
  assert_false(V("a/"));
  assert_false(V("tab\there"));
  assert_false(V("new\nline"));
  assert_false(V("del\x7f"));
  assert_false(V("back\\slash"));
  assert_false(V("\xc3"));                      /* truncated UTF-8 */
  assert_false(V("\xc0\xaf"));                  /* overlong '/' */
  assert_false(V("\xed\xa0\x80"));              /* surrogate */
  assert_false(V("\xe0\x80\xae"));              /* overlong '.' in three bytes */
  assert_false(V("a/\xe0\x80\xae\xe0\x80\xae/b")); /* an overlong ".." component */
  assert_false(ls_name_valid("nul\0byte", 8));
  char big[LS_NAME_MAX + 2];
  memset(big, 'a', sizeof big);
  for (size_t i = 200; i < sizeof big; i += 201) big[i] = '/';
  assert_false(ls_name_valid(big, sizeof big));
  char comp[300];
  memset(comp, 'x', sizeof comp);
  assert_false(ls_name_valid(comp, sizeof comp)); /* component over 255 */
}

static void tags(void **state) {
  (void)state;
  assert_true(ls_tag_valid("alpha-1.lan_x", 13));
  assert_false(ls_tag_valid("", 0));
  assert_false(ls_tag_valid("a b", 3));
  assert_false(ls_tag_valid("a\tb", 3));
  char big[LS_TAG_MAX + 1];
  memset(big, 'a', sizeof big);
  assert_true(ls_tag_valid(big, LS_TAG_MAX));
  assert_false(ls_tag_valid(big, LS_TAG_MAX + 1));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(names_accepted), cmocka_unit_test(names_refused),
                                     cmocka_unit_test(tags)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
