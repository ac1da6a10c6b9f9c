/* ls_serverlog: server.log lines, both ways. */
#include "helpers.h"
#include "ls_serverlog.h"

static const char *expected = "2026-11-25T10:00:05.000Z peer=127.0.0.1:40000 start=2026-11-25T10:00:00.000Z "
                              "duration_ms=5000 bytes=1048576 manifests=1 chunks=16 haves=1 errors=0 "
                              "roots=34791d0000000000,aaaaaaaaaaaaaaaa end=eof\n";

static void sample(ls_serverlog_t *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->time, sizeof r->time, "2026-11-25T10:00:05.000Z");
  snprintf(r->addr, sizeof r->addr, "127.0.0.1");
  r->port = 40000;
  snprintf(r->start, sizeof r->start, "2026-11-25T10:00:00.000Z");
  r->duration_ms = 5000;
  r->bytes = 1048576;
  r->manifests = 1;
  r->chunks = 16;
  r->haves = 1;
  uint8_t root[LS_HASH_LEN] = {0x34, 0x79, 0x1d};
  ls_serverlog_root_prefix(root, r->roots[0]);
  memset(r->roots[1], 'a', LS_SERVERLOG_ROOT_PREFIX_LEN);
  r->nroots = 2;
  snprintf(r->end, sizeof r->end, "eof");
}

static void round_trip(void **state) {
  (void)state;
  ls_serverlog_t r, back;
  sample(&r);
  char line[LS_LOGFMT_LINE_MAX];
  int n = ls_serverlog_encode(&r, line, sizeof line);
  assert_string_equal(line, expected); /* docs/PROTOCOL.md, section 6 */
  assert_int_equal(ls_serverlog_decode(line, (size_t)n, &back), 0);
  assert_memory_equal(&r, &back, sizeof r);
  r.nroots = 0;
  n = ls_serverlog_encode(&r, line, sizeof line);
  assert_non_null(strstr(line, " roots=- end=eof\n"));
  assert_int_equal(ls_serverlog_decode(line, (size_t)n, &back), 0);
  assert_int_equal(back.nroots, 0);
  /* Fields other than peer may be missing (older lines); they read as zero. */
  const char *short_line = "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 bytes=1 roots=- end=closed";
  assert_int_equal(ls_serverlog_decode(short_line, strlen(short_line), &back), 0);
  assert_int_equal(back.bytes, 1);
  assert_int_equal(back.chunks, 0);
  assert_string_equal(back.end, "closed");
  assert_int_equal(ls_serverlog_encode(&r, line, 30), -ENOSPC);
  assert_true(ls_serverlog_is_root_prefix("0123456789abcdef"));
  assert_false(ls_serverlog_is_root_prefix("0123456789ABCDEF"));
  assert_false(ls_serverlog_is_root_prefix("0123456789abcde"));
}

static void hostile(void **state) {
  (void)state;
  ls_serverlog_t back;
  const char *bad[] = {
      "",
      "2026-11-25T10:00:00.000Z",
      "2026-11-25T10:00:00.000Z bytes=1",                               /* no peer */
      "2026-11-25T10:00:00.000Z peer=127.0.0.1",                        /* no port */
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 bytes=-1",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 bytes=184467440737095516160",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 chunks=4294967296",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 roots=abc",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 roots=aaaaaaaaaaaaaaaa,",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 roots=a,a,a,a,a",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 roots=aaaaaaaaaaaaaaaa,aaaaaaaaaaaaaaaa,aaaaaaaaaaaaaaaa,"
      "aaaaaaaaaaaaaaaa,aaaaaaaaaaaaaaaa",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 end=\"eof\"",          /* quoted where bare */
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 end=EOF",
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 peer=127.0.0.1:6",      /* twice */
      "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 start=2026-11-25T10:00:00.000Z-and-far-too-long-for-a-time",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(ls_serverlog_decode(bad[i], strlen(bad[i]), &back), -EINVAL);
  size_t len = strlen(expected);
  for (size_t i = 0; i < len; i++) {
    int rc = ls_serverlog_decode(expected, i, &back); /* truncated: refused, or a shorter valid record */
    assert_true(rc == 0 || rc == -EINVAL);
  }
  char line[256];
  snprintf(line, sizeof line, "%s", expected);
  line[40] = '\0';
  assert_int_equal(ls_serverlog_decode(line, len, &back), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(hostile)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
