/* ls_events: the downloader's --events lines, both ways. */
#include "helpers.h"
#include "ls_events.h"

static ls_event_t *fresh(ls_event_kind_t kind) {
  ls_event_t *ev = calloc(1, sizeof *ev);
  assert_non_null(ev);
  ev->kind = kind;
  snprintf(ev->name, sizeof ev->name, "movie.mkv");
  memset(ev->root, 'a', LS_HASH_HEX_LEN);
  return ev;
}

/* Encodes ev, checks the text, decodes it back to the same record. */
static void check(const ls_event_t *ev, unsigned flags, const char *want) {
  char *text;
  assert_int_equal(ls_events_encode(ev, flags, &text), 0);
  assert_string_equal(text, want);
  if (!(flags & LS_EVENTS_NO_KIND)) {
    ls_event_t *back = malloc(sizeof *back);
    assert_int_equal(ls_events_decode(text, strlen(text), back), 0);
    assert_memory_equal(back, ev, sizeof *ev);
    free(back);
  }
  free(text);
}

#define ROOT "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

static void round_trips(void **state) {
  (void)state;
  ls_event_t *ev = fresh(LS_EVENT_START);
  ev->size = 12582912;
  snprintf(ev->holders[0], sizeof ev->holders[0], "b");
  snprintf(ev->holders[1], sizeof ev->holders[1], "c");
  ev->nholders = 2;
  check(ev, 0,
        "{\"event\":\"start\",\"name\":\"movie.mkv\",\"root\":" ROOT ",\"size\":12582912,\"holders\":[\"b\",\"c\"]}");
  free(ev);

  ev = calloc(1, sizeof *ev);
  ev->kind = LS_EVENT_PROGRESS;
  ev->done = 2621440;
  ev->total = 12582912;
  ev->rate_Bps = 5662310;
  ev->eta_s = 1;
  snprintf(ev->peers[0].tag, sizeof ev->peers[0].tag, "b");
  ev->peers[0].bytes = 1310720;
  ev->npeers = 1;
  check(ev, 0,
        "{\"event\":\"progress\",\"done\":2621440,\"total\":12582912,\"rate_Bps\":5662310,\"eta_s\":1,"
        "\"peers\":[{\"tag\":\"b\",\"bytes\":1310720}]}");
  ev->eta_s = -1;
  ev->npeers = 0;
  memset(ev->peers, 0, sizeof ev->peers);
  check(ev, 0,
        "{\"event\":\"progress\",\"done\":2621440,\"total\":12582912,\"rate_Bps\":5662310,\"eta_s\":null,"
        "\"peers\":[]}");
  free(ev);

  ev = fresh(LS_EVENT_END);
  memset(ev->root, 0, sizeof ev->root);
  snprintf(ev->result, sizeof ev->result, "not-found");
  snprintf(ev->message, sizeof ev->message, "no peer in tags.txt has it");
  check(
      ev, 0,
      "{\"event\":\"end\",\"name\":\"movie.mkv\",\"result\":\"not-found\",\"message\":\"no peer in tags.txt has it\"}");
  free(ev);

  ev = fresh(LS_EVENT_END);
  ev->started = 1;
  snprintf(ev->result, sizeof ev->result, "ok");
  snprintf(ev->message, sizeof ev->message, "verified");
  ev->size = 100;
  ev->fetched = 60;
  ev->resumed = 40;
  ev->seconds = 0.25;
  ev->speed_Bps = 240;
  snprintf(ev->path, sizeof ev->path, "/d/movie.mkv");
  snprintf(ev->peers[0].tag, sizeof ev->peers[0].tag, "b");
  snprintf(ev->peers[0].address, sizeof ev->peers[0].address, "127.0.0.1:2000");
  ev->peers[0].bytes = 60;
  snprintf(ev->peers[0].end, sizeof ev->peers[0].end, "ok");
  ev->npeers = 1;
  const char *end = "\"name\":\"movie.mkv\",\"root\":" ROOT
                    ",\"result\":\"ok\",\"message\":\"verified\",\"size\":100,"
                    "\"fetched\":60,\"resumed\":40,\"seconds\":0.25,\"speed_Bps\":240,\"path\":\"/d/movie.mkv\","
                    "\"peers\":[{\"tag\":\"b\",\"address\":\"127.0.0.1:2000\",\"bytes\":60,\"end\":\"ok\"}]}";
  char want[1024];
  snprintf(want, sizeof want, "{\"event\":\"end\",%s", end);
  check(ev, 0, want);
  snprintf(want, sizeof want, "{%s", end); /* --json: the summary without "event" */
  check(ev, LS_EVENTS_NO_KIND, want);
  free(ev);
}

static void hostile(void **state) {
  (void)state;
  ls_event_t *ev = malloc(sizeof *ev);
  const char *bad[] = {
      "",
      "null",
      "[]",
      "{}",
      "{\"event\":\"later\"}",
      "{\"event\":7}",
      "{\"event\":\"start\",\"name\":\"x\",\"root\":\"ab\",\"size\":1,\"holders\":[]}",
      "{\"event\":\"start\",\"name\":\"x\",\"root\":" ROOT ",\"size\":-1,\"holders\":[]}",
      "{\"event\":\"start\",\"name\":\"x\",\"root\":" ROOT ",\"size\":1e300,\"holders\":[]}",
      "{\"event\":\"start\",\"name\":\"x\",\"root\":" ROOT ",\"size\":1,\"holders\":[\"bad tag\"]}",
      "{\"event\":\"start\",\"name\":\"x\",\"root\":" ROOT ",\"size\":1,\"holders\":\"b\"}",
      "{\"event\":\"progress\",\"done\":1,\"total\":2,\"rate_Bps\":1,\"peers\":[]}",
      "{\"event\":\"progress\",\"done\":1.5,\"total\":2,\"rate_Bps\":1,\"eta_s\":null,\"peers\":[]}",
      "{\"event\":\"progress\",\"done\":1,\"total\":2,\"rate_Bps\":1,\"eta_s\":\"1\",\"peers\":[]}",
      "{\"event\":\"progress\",\"done\":1,\"total\":2,\"rate_Bps\":1,\"eta_s\":null,\"peers\":[{\"tag\":\"b\"}]}",
      "{\"event\":\"end\",\"name\":\"x\",\"result\":\"ok\"}",
      "{\"event\":\"end\",\"name\":\"x\",\"result\":\"ok\",\"message\":\"m\",\"root\":" ROOT "}",
      "{\"event\":\"end\",\"name\":\"x\",\"result\":\"a-result-word-that-is-far-too-long\",\"message\":\"m\"}",
      "{\"event\":\"end\",\"name\":\"x\",\"result\":\"ok\",\"message\":\"m\"} trailing",
      "{\"event\":\"end\",\"name\":\"x\",\"result\":\"ok\",\"message\":\"m\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(ls_events_decode(bad[i], strlen(bad[i]), ev), -EINVAL);
  const char nul[] = "{\"event\":\"end\",\"name\":\"x\",\"result\":\"ok\",\"message\":\"m\"}\0";
  assert_int_equal(ls_events_decode(nul, sizeof nul, ev), -EINVAL);
  const char *good = "{\"event\":\"end\",\"name\":\"x\",\"result\":\"ok\",\"message\":\"m\"}\n";
  assert_int_equal(ls_events_decode(good, strlen(good), ev), 0);
  /* Too many holders. */
  char *many = malloc(LS_EVENTS_LINE_MAX);
  size_t used = (size_t)snprintf(many, LS_EVENTS_LINE_MAX,
                                 "{\"event\":\"start\",\"name\":\"x\",\"root\":" ROOT ",\"size\":1,\"holders\":[");
  for (int i = 0; i <= LS_EVENTS_PEERS_MAX; i++)
    used += (size_t)snprintf(many + used, LS_EVENTS_LINE_MAX - used, "%s\"b\"", i ? "," : "");
  snprintf(many + used, LS_EVENTS_LINE_MAX - used, "]}");
  assert_int_equal(ls_events_decode(many, strlen(many), ev), -EINVAL);
  /* An overlong line. */
  char *big = malloc(LS_EVENTS_LINE_MAX + 2);
  memset(big, ' ', LS_EVENTS_LINE_MAX + 1);
  memcpy(big, good, strlen(good) - 1);
  big[LS_EVENTS_LINE_MAX + 1] = '\0';
  assert_int_equal(ls_events_decode(big, LS_EVENTS_LINE_MAX + 1, ev), -EINVAL);
  free(big);
  free(many);
  free(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trips), cmocka_unit_test(hostile)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
