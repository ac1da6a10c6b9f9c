/* ls_clientlog: client.log lines, both ways. */
#include "helpers.h"
#include "ls_clientlog.h"

static void sample(ls_clientlog_t *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->time, sizeof r->time, "2026-11-25T10:00:00.000Z");
  snprintf(r->name, sizeof r->name, "dir/a \"quoted\" name.txt");
  memset(r->root, 'a', LS_HASH_HEX_LEN);
  r->size = 12582912;
  snprintf(r->result, sizeof r->result, "ok");
  r->duration_s = 1.5;
  r->speed_Bps = 8388608;
  r->fetched = 12582912;
  r->resumed = 0;
  r->received = 12600000;
  r->has_received = 1;
  r->npeers = 2;
  snprintf(r->peers[0].tag, sizeof r->peers[0].tag, "b");
  snprintf(r->peers[0].addr, sizeof r->peers[0].addr, "127.0.0.1");
  r->peers[0].port = 2000;
  r->peers[0].bytes = 6291456;
  r->peers[1] = r->peers[0];
  snprintf(r->peers[1].tag, sizeof r->peers[1].tag, "c");
  r->peers[1].port = 3000;
  snprintf(r->message, sizeof r->message, "verified, saved to \"x\" \\");
}

static const char *expected =
    "2026-11-25T10:00:00.000Z name=\"dir/a \\\"quoted\\\" name.txt\" "
    "root=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa size=12582912 result=ok "
    "duration_s=1.500 speed_Bps=8388608 fetched=12582912 resumed=0 received=12600000 "
    "peers=b@127.0.0.1:2000=6291456,c@127.0.0.1:3000=6291456 message=\"verified, saved to \\\"x\\\" \\\\\"\n";

static void replace(char *line, const char *from, const char *to) {
  char *at = strstr(line, from);
  assert_non_null(at);
  size_t fl = strlen(from), tl = strlen(to);
  memmove(at + tl, at + fl, strlen(at + fl) + 1);
  memcpy(at, to, tl);
}

static void round_trip(void **state) {
  (void)state;
  ls_clientlog_t r, back;
  sample(&r);
  char line[LS_LOGFMT_LINE_MAX];
  int n = ls_clientlog_encode(&r, line, sizeof line);
  assert_int_equal(n, (int)strlen(expected));
  assert_string_equal(line, expected); /* docs/PROTOCOL.md, section 6 */
  assert_int_equal(ls_clientlog_decode(line, (size_t)n, &back), 0);
  assert_memory_equal(&r, &back, sizeof r);
  /* No peers: "-". */
  r.npeers = 0;
  n = ls_clientlog_encode(&r, line, sizeof line);
  assert_non_null(strstr(line, " peers=- "));
  assert_int_equal(ls_clientlog_decode(line, (size_t)n, &back), 0);
  assert_int_equal(back.npeers, 0);
  /* A line written before received= existed still parses, and is written
   * back the same. */
  r.npeers = 2;
  n = ls_clientlog_encode(&r, line, sizeof line);
  replace(line, " received=12600000", "");
  assert_int_equal(ls_clientlog_decode(line, strlen(line), &back), 0);
  assert_int_equal(back.has_received, 0);
  assert_int_equal(back.received, 0);
  char again[LS_LOGFMT_LINE_MAX];
  assert_int_equal(ls_clientlog_encode(&back, again, sizeof again), (int)strlen(line));
  assert_string_equal(again, line);
  /* Too small a buffer. */
  assert_int_equal(ls_clientlog_encode(&r, line, 40), -ENOSPC);
}

static void hostile(void **state) {
  (void)state;
  ls_clientlog_t back;
  char line[LS_LOGFMT_LINE_MAX * 2];
  /* Every truncation of a good line fails cleanly (or, past its last key, still parses). */
  size_t len = strlen(expected);
  for (size_t i = 0; i + 2 < len; i++) assert_int_not_equal(ls_clientlog_decode(expected, i, &back), 0);
  assert_int_equal(ls_clientlog_decode(expected, len - 1, &back), 0);
  static const char *const edits[][2] = {
      {"size=12582912", "size=-1"},
      {"size=12582912", "size=99999999999999999999999"},
      {"size=12582912", "size=1e9"},
      {"duration_s=1.500", "duration_s=inf"},
      {"result=ok", "result=OK!"},
      {"root=aaaa", "root=zzzz"},
      {"root=aaaa", "root=aaa"},
      {"=b@127.0.0.1:2000", "=b@127.0.0.1:70000"},
      {"=b@127.0.0.1:2000", "=b@localhost:2000"},
      {"=b@127.0.0.1:2000", "=b b@127.0.0.1:2000"},
      {"=b@127.0.0.1:2000", "=@127.0.0.1:2000"},
      {",c@", ",,c@"},
      {"name=\"dir/a", "name=\"../a"},
      {"message=", "message=\"x\" message="},
      {" resumed=0", ""},
      {"received=12600000", "received=-5"},
      {"received=12600000", "received=12600000 received=1"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    snprintf(line, sizeof line, "%s", expected);
    replace(line, edits[i][0], edits[i][1]);
    assert_int_equal(ls_clientlog_decode(line, strlen(line), &back), -EINVAL);
  }
  /* A NUL byte. */
  snprintf(line, sizeof line, "%s", expected);
  line[30] = '\0';
  assert_int_equal(ls_clientlog_decode(line, len, &back), -EINVAL);
  /* An overlong message, and too many peers. */
  snprintf(line, sizeof line, "%s", expected);
  char big[LS_CLIENTLOG_MESSAGE_MAX + 20];
  memset(big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char field[sizeof big + 20];
  snprintf(field, sizeof field, "message=\"%s\"", big);
  replace(line, "message=\"verified", field);
  assert_int_equal(ls_clientlog_decode(line, strlen(line), &back), -EINVAL);
  char peers[LS_LOGFMT_LINE_MAX] = "peers=";
  for (int i = 0; i <= LS_CLIENTLOG_PEERS_MAX; i++) strcat(peers, i ? ",p@1.2.3.4:5=6" : "p@1.2.3.4:5=6");
  snprintf(line, sizeof line, "%s", expected);
  replace(line, "peers=b@127.0.0.1:2000=6291456,c@127.0.0.1:3000=6291456", peers);
  assert_int_equal(ls_clientlog_decode(line, strlen(line), &back), -EINVAL);
  /* Unknown keys are skipped. */
  snprintf(line, sizeof line, "%s", expected);
  replace(line, " message=", " later=\"x y\" message=");
  assert_int_equal(ls_clientlog_decode(line, strlen(line), &back), 0);
}

static void append(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/client.log", dir);
  ls_clientlog_t r;
  sample(&r);
  assert_int_equal(ls_clientlog_append(path, &r), 0);
  assert_int_equal(ls_clientlog_append(path, &r), 0);
  FILE *f = fopen(path, "r");
  char line[LS_LOGFMT_LINE_MAX];
  int lines = 0;
  while (fgets(line, sizeof line, f)) {
    assert_string_equal(line, expected);
    lines++;
  }
  fclose(f);
  assert_int_equal(lines, 2);
  snprintf(path, sizeof path, "%s/missing/client.log", dir);
  assert_int_equal(ls_clientlog_append(path, &r), -ENOENT);
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(hostile), cmocka_unit_test(append)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
