#include "helpers.h"
#include "ls_ptab.h"

typedef struct {
  size_t hash;
  char key[16];
} item_t;

static size_t item_hash(const void *it) {
  return ((const item_t *)it)->hash;
}

static int item_match(const void *it, const void *key) {
  return strcmp(((const item_t *)it)->key, key) == 0;
}

static const ls_ptab_ops_t ops = {item_hash, item_match};

/* Every item findable, every other key not, and the count right. */
static void check_all(const ls_ptab_t *t, item_t *v, const int *present, int n) {
  size_t count = 0;
  for (int i = 0; i < n; i++) {
    void *got = ls_ptab_get(t, v[i].hash, v[i].key);
    if (present[i]) {
      assert_ptr_equal(got, &v[i]);
      count++;
    } else {
      assert_null(got);
    }
  }
  assert_int_equal(t->count, count);
  size_t seen = 0;
  for (size_t i = 0; i < t->nslots; i++) seen += t->slots[i] != NULL;
  assert_int_equal(seen, count);
}

static void put_get_del_grow_shrink(void **state) {
  (void)state;
  enum { N = 1000 };
  static item_t v[N];
  int present[N] = {0};
  ls_ptab_t t;
  ls_ptab_init(&t, &ops);
  assert_null(ls_ptab_get(&t, 1, "none"));
  assert_null(ls_ptab_del(&t, 1, "none"));
  for (int i = 0; i < N; i++) {
    snprintf(v[i].key, sizeof v[i].key, "k%d", i);
    v[i].hash = ls_ptab_hash_str(v[i].key);
    assert_int_equal(ls_ptab_put(&t, &v[i]), 0);
    present[i] = 1;
  }
  check_all(&t, v, present, N);
  assert_true(t.count * 4 <= t.nslots * 3);
  size_t big = t.nslots;
  for (int i = 0; i < N; i += 2) {
    assert_ptr_equal(ls_ptab_del(&t, v[i].hash, v[i].key), &v[i]);
    present[i] = 0;
  }
  check_all(&t, v, present, N);
  for (int i = 1; i < N - 10; i += 2) {
    assert_ptr_equal(ls_ptab_del(&t, v[i].hash, v[i].key), &v[i]);
    present[i] = 0;
  }
  check_all(&t, v, present, N);
  assert_true(t.nslots < big); /* memory follows the count down */
  void **slot = ls_ptab_slot(&t, v[N - 1].hash, v[N - 1].key);
  assert_non_null(slot);
  assert_ptr_equal(*slot, &v[N - 1]);
  for (int i = N - 10; i < N; i++) ls_ptab_del(&t, v[i].hash, v[i].key);
  assert_int_equal(t.count, 0);
  assert_null(t.slots); /* empty: no memory at all */
  ls_ptab_close(&t);
}

/* Hostile keys: every key hashes alike, or alike in the low bits a table
 * indexes by, and clusters wrap past the last slot. Lookups and removals in
 * any order stay right. */
static void colliding_keys(void **state) {
  (void)state;
  enum { N = 300 };
  static item_t v[N];
  int present[N] = {0};
  for (int round = 0; round < 3; round++) {
    ls_ptab_t t;
    ls_ptab_init(&t, &ops);
    for (int i = 0; i < N; i++) {
      snprintf(v[i].key, sizeof v[i].key, "c%d", i);
      /* all the same; the same low bits; a cluster starting at the end */
      v[i].hash = round == 0 ? 42 : round == 1 ? ((size_t)i << 20) : (size_t)-1 - (size_t)(i % 3);
      assert_int_equal(ls_ptab_put(&t, &v[i]), 0);
      present[i] = 1;
    }
    check_all(&t, v, present, N);
    uint32_t x = 12345;
    for (int k = 0; k < N; k++) { /* remove in a scrambled order, checking as we go */
      x = x * 1103515245u + 12345u;
      int i = (int)(x % N);
      while (!present[i]) i = (i + 1) % N;
      assert_ptr_equal(ls_ptab_del(&t, v[i].hash, v[i].key), &v[i]);
      assert_null(ls_ptab_del(&t, v[i].hash, v[i].key));
      present[i] = 0;
      if (k % 37 == 0) check_all(&t, v, present, N);
    }
    assert_int_equal(t.count, 0);
    ls_ptab_close(&t);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(put_get_del_grow_shrink), cmocka_unit_test(colliding_keys)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
