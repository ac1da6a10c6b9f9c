#include "helpers.h"
#include "ls_hash.h"

static void known_vector(void **state) {
  (void)state;
  uint8_t h[LS_HASH_LEN];
  char hex[LS_HASH_HEX_LEN + 1];
  ls_sha256("abc", 3, h);
  ls_hash_to_hex(h, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ls_sha256_t *ctx = ls_sha256_new();
  assert_non_null(ctx);
  ls_sha256_update(ctx, "a", 1);
  ls_sha256_update(ctx, "bc", 2);
  uint8_t h2[LS_HASH_LEN];
  ls_sha256_final(ctx, h2);
  ls_sha256_free(ctx);
  assert_memory_equal(h, h2, LS_HASH_LEN);
}

static void hex_round_trip(void **state) {
  (void)state;
  uint8_t h[LS_HASH_LEN], back[LS_HASH_LEN];
  char hex[LS_HASH_HEX_LEN + 1];
  for (int i = 0; i < LS_HASH_LEN; i++) h[i] = (uint8_t)(i * 37);
  ls_hash_to_hex(h, hex);
  assert_int_equal(ls_hash_from_hex(hex, strlen(hex), back), 0);
  assert_memory_equal(h, back, LS_HASH_LEN);
  hex[5] = 'g';
  assert_int_not_equal(ls_hash_from_hex(hex, 64, back), 0);
  assert_int_not_equal(ls_hash_from_hex("abcd", 4, back), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(known_vector), cmocka_unit_test(hex_round_trip)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
