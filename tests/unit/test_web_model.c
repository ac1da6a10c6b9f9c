/* web/model.c: the dashboard's JSON from tags.txt entries, client.log,
 * server.log and server.status; web/hub.c: sections and versions. */
#include "helpers.h"

#include <signal.h>

#include "hub.h"
#include "model.h"

static ls_tag_entry_t entry(const char *tag, const char *addr, uint16_t port, uint8_t root_byte, uint64_t size,
                            int complete, int64_t seen, const char *name) {
  ls_tag_entry_t e;
  memset(&e, 0, sizeof e);
  snprintf(e.tag, sizeof e.tag, "%s", tag);
  snprintf(e.addr, sizeof e.addr, "%s", addr);
  e.port = port;
  memset(e.root, root_byte, sizeof e.root);
  e.size = size;
  e.chunk_size = 65536;
  e.complete = complete;
  e.last_seen = seen;
  e.name = (char *)name;
  return e;
}

static cJSON *item(cJSON *arr, const char *key, const char *value) {
  cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(it, key);
    if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0) return it;
  }
  return NULL;
}

static double num(const cJSON *o, const char *key) {
  return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *str(const cJSON *o, const char *key) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void peers_grouped_and_aged(void **state) {
  (void)state;
  ls_tag_entry_t e[] = {
      entry("b", "127.0.0.1", 2000, 1, 100, 1, 990, "x"),
      entry("a", "127.0.0.1", 1000, 2, 10, 1, 1000, "y"),
      entry("b", "127.0.0.1", 2000, 3, 50, 0, 995, "z"),
      entry("me", "127.0.0.1", 3000, 4, 7, 1, 1000, "mine"),
  };
  cJSON *o = model_peers(NULL, 0, e, 4, 1000, 2, "me");
  cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "peers");
  assert_int_equal(cJSON_GetArraySize(arr), 3);
  assert_string_equal(str(cJSON_GetArrayItem(arr, 0), "tag"), "a"); /* sorted */
  cJSON *b = item(arr, "tag", "b");
  assert_int_equal((int)num(b, "files"), 2);
  assert_int_equal((int)num(b, "bytes"), 150);
  assert_int_equal((int)num(b, "age_s"), 5);
  assert_string_equal(str(b, "state"), "quiet"); /* 5 s > 2 intervals of 2 s */
  assert_string_equal(str(item(arr, "tag", "a"), "state"), "live");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item(arr, "tag", "me"), "self")));
  assert_string_equal(str(b, "address"), "127.0.0.1:2000");
  cJSON_Delete(o);
  o = model_peers(NULL, 0, NULL, 0, 0, 60, NULL);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "peers")), 0);
  cJSON_Delete(o);
}

/* peers.txt's peers come first, a silent one (no files) included. */
static void peers_from_peers_txt(void **state) {
  (void)state;
  ls_tag_entry_t e[] = {entry("b", "127.0.0.1", 2000, 1, 100, 1, 990, "x")};
  ls_peer_entry_t p[2];
  memset(p, 0, sizeof p);
  snprintf(p[0].tag, sizeof p[0].tag, "quiet");
  snprintf(p[0].addr, sizeof p[0].addr, "127.0.0.1");
  p[0].port = 4000;
  p[0].how = LS_HOW_BROADCAST | LS_HOW_TRACKER;
  p[0].last_seen = 999;
  p[0].interval = 2;
  p[1] = p[0];
  snprintf(p[1].tag, sizeof p[1].tag, "b");
  p[1].port = 2000;
  p[1].files = 1;
  cJSON *o = model_peers(p, 2, e, 1, 1000, 2, NULL);
  cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "peers");
  assert_int_equal(cJSON_GetArraySize(arr), 2);
  cJSON *q = item(arr, "tag", "quiet");
  assert_int_equal((int)num(q, "files"), 0);
  assert_string_equal(str(q, "how"), "broadcast,tracker");
  assert_string_equal(str(q, "address"), "127.0.0.1:4000");
  assert_int_equal((int)num(item(arr, "tag", "b"), "bytes"), 100);
  cJSON_Delete(o);
}

static void files_by_content(void **state) {
  (void)state;
  ls_tag_entry_t e[] = {
      entry("b", "127.0.0.1", 2000, 7, 100, 1, 1, "movie.mkv"),
      entry("c", "127.0.0.1", 3000, 7, 100, 0, 1, "film.mkv"),
      entry("c", "127.0.0.1", 3000, 8, 5, 1, 1, "movie.mkv"), /* same name, other content */
      entry("me", "127.0.0.1", 4000, 9, 1, 1, 1, "only-mine"),
  };
  cJSON *o = model_files(e, 4, NULL, "me");
  cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "files");
  assert_int_equal(cJSON_GetArraySize(arr), 2); /* by root; this peer's own entries left out */
  char hex7[65];
  memset(hex7, '0', 64);
  hex7[64] = '\0';
  for (int i = 0; i < 64; i += 2) memcpy(hex7 + i, "07", 2);
  cJSON *f = item(arr, "root", hex7);
  assert_non_null(f);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, "holders")), 2);
  assert_int_equal((int)num(f, "complete_holders"), 1);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, "names")), 2);
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(f, "mine")));
  assert_int_equal((int)num(o, "more"), 0);
  cJSON_Delete(o);
  /* Beyond MODEL_FILES_MAX contents the rest is counted, not listed. */
  size_t n = MODEL_FILES_MAX + 5;
  ls_tag_entry_t *many = calloc(n, sizeof *many);
  for (size_t i = 0; i < n; i++) {
    many[i] = entry("b", "127.0.0.1", 2000, 0, 1, 1, 1, "f");
    memcpy(many[i].root, &i, sizeof i);
  }
  o = model_files(many, n, NULL, NULL);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "files")), MODEL_FILES_MAX);
  assert_int_equal((int)num(o, "more"), 5);
  cJSON_Delete(o);
  free(many);
}

static void history_newest_first(void **state) {
  (void)state;
  char dir[256], path[512];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/client.log", dir);
  cJSON *h = model_history(path); /* missing: empty */
  assert_int_equal(cJSON_GetArraySize(h), 0);
  cJSON_Delete(h);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < MODEL_HISTORY_MAX + 20; i++)
    fprintf(f,
            "2026-11-25T10:00:%02d.000Z name=\"f%d\" root=%064d size=%d result=%s duration_s=1.500 speed_Bps=10 "
            "fetched=1 resumed=0 peers=b@127.0.0.1:2000=%d,c@127.0.0.1:3000=4 message=\"m\"\n",
            i % 60, i, 0, i, i % 2 ? "ok" : "integrity", i);
  fprintf(f, "garbage line without fields\n\n");
  fclose(f);
  h = model_history(path);
  assert_int_equal(cJSON_GetArraySize(h), MODEL_HISTORY_MAX);
  cJSON *first = cJSON_GetArrayItem(h, 0);
  char want[16];
  snprintf(want, sizeof want, "f%d", MODEL_HISTORY_MAX + 19);
  assert_string_equal(str(first, "name"), want);
  assert_int_equal((int)num(first, "size"), MODEL_HISTORY_MAX + 19);
  assert_true(num(first, "duration_s") == 1.5);
  cJSON *peers = cJSON_GetObjectItemCaseSensitive(first, "peers");
  assert_int_equal(cJSON_GetArraySize(peers), 2);
  assert_string_equal(str(cJSON_GetArrayItem(peers, 0), "address"), "127.0.0.1:2000");
  cJSON_Delete(h);
  rm_tree(dir);
}

static void serverlog_totals_and_status(void **state) {
  (void)state;
  char dir[256], path[512];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/server.log", dir);
  model_serverlog_t s;
  assert_int_equal(model_serverlog_init(&s), 0);
  assert_int_equal(model_serverlog_update(&s, path), 0); /* no file yet */
  FILE *f = fopen(path, "w");
  fprintf(f, "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 start=x duration_ms=3 bytes=100 manifests=1 chunks=2 haves=0 "
             "errors=0 roots=aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb end=closed\n");
  fprintf(f, "2026-11-25T10:00:01.000Z peer=127.0.0.1:6 start=x duration_ms=3 bytes=50 manifests=1 chunks=1 haves=0 "
             "errors=1 roots=aaaaaaaaaaaaaaaa end=closed\n");
  fprintf(f, "2026-11-25T10:00:02.000Z peer=127.0.0.1:7 start=x duration_ms=3 bytes=7 manifests=0 chunks=0 haves=0 ");
  fclose(f);
  assert_int_equal(model_serverlog_update(&s, path), 1);
  assert_int_equal((int)s.connections, 2); /* the unfinished line waits */
  f = fopen(path, "a");
  fprintf(f, "errors=0 roots=- end=idle\n");
  fclose(f);
  model_serverlog_update(&s, path);
  assert_int_equal((int)s.connections, 3);
  assert_int_equal((int)s.bytes, 157);
  assert_int_equal((int)s.errors, 1);

  ls_map_t names;
  ls_map_init(&names);
  ls_map_put(&names, "aaaaaaaaaaaaaaaa", "movie.mkv");
  char status[512];
  snprintf(status, sizeof status,
           "{\"updated\":1,\"pid\":%d,\"port\":41771,\"running\":true,\"connections\":[{\"peer\":\"127.0.0.1:9\","
           "\"start\":\"x\",\"duration_ms\":1500,\"bytes\":4096,\"chunks\":1,\"roots\":[\"aaaaaaaaaaaaaaaa\",7]}]}",
           (int)getpid());
  cJSON *o = model_server(&s, status, &names);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "running")));
  cJSON *now = cJSON_GetObjectItemCaseSensitive(o, "connections_now");
  assert_int_equal(cJSON_GetArraySize(now), 1);
  cJSON *files = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(now, 0), "files");
  assert_int_equal(cJSON_GetArraySize(files), 1); /* the non-string root is skipped */
  assert_string_equal(str(cJSON_GetArrayItem(files, 0), "name"), "movie.mkv");
  cJSON *top = cJSON_GetObjectItemCaseSensitive(o, "top");
  assert_int_equal(cJSON_GetArraySize(top), 2);
  assert_string_equal(str(cJSON_GetArrayItem(top, 0), "name"), "movie.mkv");
  assert_int_equal((int)num(cJSON_GetArrayItem(top, 0), "connections"), 2);
  assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(top, 1), "name")));
  cJSON_Delete(o);
  /* A dead server's leftover status, and garbage, read as stopped. */
  const char *dead[] = {"{\"pid\":999999999,\"running\":true}", "{\"pid\":-4,\"running\":true}", "not json", "[]"};
  for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++) {
    o = model_server(&s, dead[i], NULL);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "running")));
    cJSON_Delete(o);
  }
  /* A replaced (shorter) log starts the totals over. */
  f = fopen(path, "w");
  fprintf(f, "2026-11-25T10:00:00.000Z peer=127.0.0.1:5 bytes=1 roots=- end=closed\n");
  fclose(f);
  model_serverlog_update(&s, path);
  assert_int_equal((int)s.connections, 1);
  assert_int_equal((int)s.bytes, 1);
  ls_map_close(&names);
  model_serverlog_close(&s);
  rm_tree(dir);
}

static void hub_versions(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  hub_t hub;
  assert_int_equal(hub_init(&hub, &loop, NULL), 0);
  uint64_t v0, v1, seen = 0;
  free(hub_get(&hub, HUB_PEERS, &v0));
  hub_publish(&hub, HUB_PEERS, strdup("{\"peers\":[]}"));
  char *s = hub_get(&hub, HUB_PEERS, &v1);
  assert_string_equal(s, "{\"peers\":[]}");
  free(s);
  assert_true(v1 == v0 + 1);
  hub_publish(&hub, HUB_PEERS, strdup("{\"peers\":[]}")); /* the same text: no new version */
  free(hub_get(&hub, HUB_PEERS, &v0));
  assert_true(v0 == v1);
  assert_int_equal(hub_wait(&hub, &seen, 0), 0);
  uint64_t before = seen;
  assert_int_equal(hub_wait(&hub, &seen, 10), 0); /* times out: nothing new */
  assert_true(seen == before);
  hub_stop(&hub);
  assert_int_equal(hub_wait(&hub, &seen, 1000), -1);
  hub_close(&hub);
  uv_run(&loop, UV_RUN_DEFAULT);
  hub_free(&hub);
  uv_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(peers_grouped_and_aged),
      cmocka_unit_test(peers_from_peers_txt),
      cmocka_unit_test(files_by_content),
      cmocka_unit_test(history_newest_first),
      cmocka_unit_test(serverlog_totals_and_status),
      cmocka_unit_test(hub_versions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
