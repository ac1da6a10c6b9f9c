/* lanswarm status: one JSON object gathered from what the daemons wrote, in
 * steps (what runs, what is shared, downloads in progress, peers seen, recent
 * downloads), then printed as it is (--json) or as lines for a person. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ls_catalog.h"
#include "ls_clientlog.h"
#include "ls_partial.h"
#include "ls_tagsq.h"
#include "ls_util.h"

#define RECENT_MAX 5             /* finished downloads shown */
#define RECENT_TAIL (64u << 10)  /* the end of client.log read for them: many lines' worth */

/* ---------- gathering ---------- */

/* What runs: the supervisor's pid and its daemons from DIR/run/state.json,
 * each with "running" as it is now. */
static void add_daemons(const cli_ctx_t *c, cJSON *o) {
  long sup = cli_supervisor_pid(c);
  cJSON_AddNumberToObject(o, "supervisor_pid", (double)sup);
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/run/state.json", c->cfg.dir);
  uint8_t *data;
  size_t len;
  cJSON *state = NULL;
  if (sup && ls_read_file(path, 1 << 20, &data, &len) == 0) {
    state = cJSON_ParseWithLength((char *)data, len);
    free(data);
  }
  cJSON *out = cJSON_AddArrayToObject(o, "daemons");
  const cJSON *d;
  cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(state, "daemons")) { /* NULL without state */
    cJSON *pid = cJSON_GetObjectItemCaseSensitive(d, "pid");
    int alive = cJSON_IsNumber(pid) && pid->valueint > 0 && kill(pid->valueint, 0) == 0;
    cJSON *copy = cJSON_Duplicate(d, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(copy, "running", cJSON_CreateBool(alive));
    cJSON_AddItemToArray(out, copy);
  }
  cJSON_Delete(state);
}

/* What is shared: the catalog as the daemons see it (cached manifests). */
static void add_shared(const cli_ctx_t *c, cJSON *o) {
  ls_catalog_dirs_t dirs = {c->cfg.share_dir, c->cfg.downloads_dir, NULL, c->cfg.cache_dir, c->cfg.chunk_size, c->cfg.max_chunks, 0};
  ls_catalog_snapshot_t snap;
  struct stat st;
  cJSON_AddStringToObject(o, "share_dir", c->cfg.share_dir);
  cJSON_AddBoolToObject(o, "share_exists", stat(c->cfg.share_dir, &st) == 0 && S_ISDIR(st.st_mode));
  cJSON *shared = cJSON_AddArrayToObject(o, "shared");
  if (ls_catalog_scan(&dirs, NULL, &snap) != 0) return;
  for (size_t i = 0; i < snap.count; i++) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "name", snap.entries[i].name);
    cJSON_AddNumberToObject(f, "size", (double)snap.entries[i].manifest.size);
    cJSON_AddItemToArray(shared, f);
  }
  ls_catalog_snapshot_free(&snap);
}

/* ls_partial_scan: one download in progress into the array ud. */
static int add_partial(void *ud, ls_partial_info_t *info) {
  cJSON *a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "name", info->name);
  cJSON_AddNumberToObject(a, "size", (double)info->manifest.size);
  cJSON_AddNumberToObject(a, "chunks", info->manifest.nchunks);
  cJSON_AddNumberToObject(a, "chunks_verified", (double)(info->held > 0 ? info->held : 0));
  cJSON_AddItemToArray(ud, a);
  return 0;
}

/* Downloads in progress: temp/ROOT.manifest and .have. */
static void add_downloading(const cli_ctx_t *c, cJSON *o) {
  ls_partial_scan(c->cfg.temp_dir, add_partial, cJSON_AddArrayToObject(o, "downloading"));
}

/* Peers seen: peers.txt (with tags.txt's sizes), a row per peer. */
static void add_peers(const cli_ctx_t *c, cJSON *o) {
  cJSON *peers = cJSON_AddArrayToObject(o, "peers");
  ls_tagsq_known_t *rows;
  size_t k;
  if (cli_read_known(c, &rows, &k) != 0) return;
  for (size_t i = 0; i < k; i++) {
    cJSON *p = cJSON_CreateObject();
    char how[64] = "";
    if (rows[i].how) ls_how_format(rows[i].how, how, sizeof how);
    cJSON_AddStringToObject(p, "tag", rows[i].tag);
    cJSON_AddStringToObject(p, "address", rows[i].address);
    cJSON_AddNumberToObject(p, "files", (double)rows[i].files);
    cJSON_AddNumberToObject(p, "bytes", (double)rows[i].bytes);
    cJSON_AddNumberToObject(p, "last_seen", (double)rows[i].last_seen);
    cJSON_AddNumberToObject(p, "first_seen", (double)rows[i].first_seen);
    cJSON_AddStringToObject(p, "how", how);
    cJSON_AddItemToArray(peers, p);
  }
  free(rows);
}

/* The last RECENT_TAIL bytes of the file at path (all of a smaller one),
 * malloc'ed and NUL-terminated; *whole: they begin at a line's start. */
static char *read_tail(const char *path, size_t *len, int *whole) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  ssize_t got = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t from = st.st_size > (off_t)RECENT_TAIL ? st.st_size - (off_t)RECENT_TAIL : 0;
    buf = malloc((size_t)(st.st_size - from) + 1);
    if (buf != NULL) got = pread(fd, buf, (size_t)(st.st_size - from), from);
    *whole = from == 0;
  }
  close(fd);
  if (got < 0) {
    free(buf);
    return NULL;
  }
  buf[got] = '\0';
  *len = (size_t)got;
  return buf;
}

/* A finished download from a client.log line; NULL if the line does not decode. */
static cJSON *recent_item(const char *line, size_t len, ls_clientlog_t *rec) {
  if (ls_clientlog_decode(line, len, rec) != 0) return NULL;
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "name", rec->name);
  cJSON_AddStringToObject(r, "result", rec->result);
  cJSON_AddNumberToObject(r, "size", (double)rec->size);
  cJSON_AddStringToObject(r, "time", rec->time);
  return r;
}

/* Recent downloads: client.log's last RECENT_MAX lines that decode. */
static void add_recent(const cli_ctx_t *c, cJSON *o) {
  cJSON *recent = cJSON_AddArrayToObject(o, "recent");
  size_t len;
  int whole;
  char *text = read_tail(c->cfg.client_log, &len, &whole);
  ls_clientlog_t *rec = malloc(sizeof *rec);
  char *line = text, *end = text;
  if (text != NULL) end = text + len;
  if (text != NULL && !whole) { /* the read began inside a line */
    char *nl = memchr(text, '\n', len);
    line = nl ? nl + 1 : end;
  }
  while (rec != NULL && text != NULL && line < end) {
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (nl == NULL) nl = end;
    cJSON *r = recent_item(line, (size_t)(nl - line), rec);
    if (r != NULL) cJSON_AddItemToArray(recent, r);
    if (cJSON_GetArraySize(recent) > RECENT_MAX) cJSON_DeleteItemFromArray(recent, 0);
    line = nl + 1;
  }
  free(rec);
  free(text);
}

/* ---------- printing ---------- */

static double json_number(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *json_string(const cJSON *o, const char *key) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A line per daemon; state.json is a file on disk: a field may be missing or
 * of another type. Whether the dashboard runs. */
static int print_daemons(const cli_ctx_t *c, const cJSON *daemons) {
  const cJSON *it;
  int web_up = 0;
  cJSON_ArrayForEach(it, daemons) {
    int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "running"));
    const char *name = json_string(it, "name");
    if (up && name && strcmp(name, "web") == 0) web_up = 1;
    int64_t started = (int64_t)json_number(it, "started");
    printf("  %-10s %s%-8s%s pid %-7d up %-10lld restarts %d\n", name ? name : "?",
           cli_color(c, up ? CLI_GREEN : CLI_RED), up ? "running" : "stopped", cli_color(c, CLI_RESET),
           (int)json_number(it, "pid"), up ? (long long)(ls_unix_now() - started) : 0LL,
           (int)json_number(it, "restarts"));
  }
  return web_up;
}

static void print_runs(const cli_ctx_t *c, const cJSON *o) {
  printf("%speer %s%s in %s%s\n", cli_color(c, CLI_BOLD), c->cfg.tag, cli_color(c, CLI_RESET), c->cfg.dir,
         c->config_path[0] ? "" : " (no config file: defaults)");
  long sup = (long)json_number(o, "supervisor_pid");
  if (!sup)
    printf("daemons: %snot up%s (start with: lanswarm --dir %s up)\n", cli_color(c, CLI_YELLOW),
           cli_color(c, CLI_RESET), c->cfg.dir);
  else printf("supervisor: pid %ld\n", sup);
  if (!print_daemons(c, cJSON_GetObjectItemCaseSensitive(o, "daemons"))) return;
  char url_path[PATH_MAX + 16];
  snprintf(url_path, sizeof url_path, "%s/web.url", c->cfg.dir);
  if (access(url_path, F_OK) == 0)
    printf("dashboard: http://%s:%d/ (open the address in %s: it carries the token)\n", c->cfg.web_addr,
           c->cfg.web_port, url_path);
}

static void print_transfers(const cJSON *o) {
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "downloading")) {
    double total = json_number(it, "chunks"), got = json_number(it, "chunks_verified");
    printf("downloading %s: %.0f%%\n", json_string(it, "name"), total > 0 ? 100.0 * got / total : 100.0);
  }
  const cJSON *recent = cJSON_GetObjectItemCaseSensitive(o, "recent");
  if (cJSON_GetArraySize(recent) > 0) printf("last downloads (client.log):\n");
  cJSON_ArrayForEach(it, recent) {
    char size[32];
    ls_format_bytes(json_number(it, "size"), size, sizeof size);
    printf("  %s, %s, %s, %s\n", json_string(it, "name"), json_string(it, "result"), size, json_string(it, "time"));
  }
}

static void print_status(const cli_ctx_t *c, const cJSON *o) {
  print_runs(c, o);
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "share_exists")))
    printf("sharing %d file(s) from %s\n", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "shared")),
           c->cfg.share_dir);
  else
    printf("sharing nothing: the share folder %s does not exist (create it, or set share in %s)\n",
           c->cfg.share_dir, c->config_path[0] ? c->config_path : "lanswarm.conf");
  printf("peers seen: %d (lanswarm peers)\n", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "peers")));
  print_transfers(o);
}

static int run_status(cli_ctx_t *c, int argc, char **argv) {
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "dir", c->cfg.dir);
  cJSON_AddStringToObject(o, "tag", c->cfg.tag);
  add_daemons(c, o);
  add_shared(c, o);
  add_peers(c, o);
  add_downloading(c, o);
  add_recent(c, o);
  if (json) {
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
  } else {
    print_status(c, o);
  }
  cJSON_Delete(o);
  return 0;
}

const cli_command_t cli_cmd_status = {
    "status",
    "status [--json]",
    "daemons, shared files, peers, downloads",
    "Usage: lanswarm status [--json]\n\nWhich daemons run (pid, uptime, restarts), this peer's shared files,\n"
    "the peers seen (peers.txt), downloads in progress (temp/) and the last few\n"
    "finished (client.log). --json prints the same as one JSON object.\n",
    run_status,
    0,
};
