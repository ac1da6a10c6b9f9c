#include "helpers.h"
#include "ls_auth.h"

static void keys_and_seals(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/key", dir);
  write_bytes(path, "short\n", 6);
  ls_key_t k, other;
  assert_int_equal(ls_key_load(path, &k), -EINVAL);
  write_bytes(path, "0123456789abcdef0123\n\n", 22);
  assert_int_equal(ls_key_load(path, &k), 0);
  assert_int_equal(k.len, 20); /* trailing newlines are not part of the key */
  write_bytes(path, "another key of twenty", 21);
  assert_int_equal(ls_key_load(path, &other), 0);

  const char *json = "{\"v\":1,\"type\":\"bye\",\"tag\":\"a\",\"port\":1}";
  char buf[256];
  int n = ls_auth_seal(&k, json, strlen(json), buf, sizeof buf);
  assert_int_equal(n, (int)strlen(json) + LS_SEAL_OVERHEAD);
  const char *inner;
  size_t len;
  uint64_t at = 0;
  assert_int_equal(ls_auth_open(&k, buf, (size_t)n, &inner, &len, &at), 0);
  assert_int_equal(len, strlen(json));
  assert_memory_equal(inner, json, len);
  assert_true(ls_auth_fresh(at, ls_auth_now_ms()));
  assert_int_equal(ls_auth_seal_len(buf, (size_t)n), LS_SEAL_OVERHEAD);
  assert_int_equal(ls_auth_seal_len(json, strlen(json)), 0);
  assert_int_equal(ls_auth_open(&other, buf, (size_t)n, &inner, &len, &at), -EACCES); /* another key */
  buf[n - 2] ^= 1;
  assert_int_equal(ls_auth_open(&k, buf, (size_t)n, &inner, &len, &at), -EACCES);    /* tampered */
  assert_int_equal(ls_auth_open(&k, json, strlen(json), &inner, &len, &at), -EACCES); /* unsealed */
  assert_int_equal(ls_auth_seal(&k, json, strlen(json), buf, 10), -EMSGSIZE);

  /* The time is sealed: moved, the seal breaks; read back as sealed. */
  n = ls_auth_seal_at(&k, 1700000000123ull, json, strlen(json), buf, sizeof buf);
  assert_memory_equal(buf, "LSK20000018bcfe5687b", 20);
  assert_int_equal(ls_auth_open(&k, buf, (size_t)n, &inner, &len, &at), 0);
  assert_true(at == 1700000000123ull);
  buf[19] = 'c';
  assert_int_equal(ls_auth_open(&k, buf, (size_t)n, &inner, &len, &at), -EACCES);
  buf[19] = 'B'; /* not lowercase hex */
  assert_int_equal(ls_auth_open(&k, buf, (size_t)n, &inner, &len, &at), -EACCES);
  /* The window, both ways, at its edge. */
  assert_true(ls_auth_fresh(1000000, 1000000 + LS_SEAL_WINDOW_MS));
  assert_false(ls_auth_fresh(1000000, 1000000 + LS_SEAL_WINDOW_MS + 1));
  assert_true(ls_auth_fresh(1000000 + LS_SEAL_WINDOW_MS, 1000000));
  assert_false(ls_auth_fresh(1000000 + LS_SEAL_WINDOW_MS + 1, 1000000));
  /* The old seal, without a time: told apart, refused. */
  char old[256];
  memcpy(old, "LSK1", 4);
  memset(old + 4, 'a', 64);
  memcpy(old + 68, json, strlen(json));
  assert_int_equal(ls_auth_open(&k, old, 68 + strlen(json), &inner, &len, &at), -EPROTO);
  assert_int_equal(ls_auth_seal_len(old, 68 + strlen(json)), LS_SEAL_OLD_OVERHEAD);

  /* Challenge MACs depend on label, key and both nonces. */
  uint8_t n1[LS_NONCE_LEN], n2[LS_NONCE_LEN], m1[LS_MAC_LEN], m2[LS_MAC_LEN];
  ls_auth_nonce(n1);
  ls_auth_nonce(n2);
  assert_memory_not_equal(n1, n2, LS_NONCE_LEN);
  ls_auth_mac(&k, "chunk-client", n1, sizeof n1, n2, sizeof n2, m1);
  ls_auth_mac(&k, "chunk-client", n1, sizeof n1, n2, sizeof n2, m2);
  assert_true(ls_auth_equal(m1, m2));
  ls_auth_mac(&k, "chunk-server", n1, sizeof n1, n2, sizeof n2, m2);
  assert_false(ls_auth_equal(m1, m2));
  ls_auth_mac(&other, "chunk-client", n1, sizeof n1, n2, sizeof n2, m2);
  assert_false(ls_auth_equal(m1, m2));
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(keys_and_seals)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
