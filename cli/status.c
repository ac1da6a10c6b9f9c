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

#include "background.h"
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
    cJSON_AddStringToObject(f, "from", snap.entries[i].source == LS_SOURCE_DOWNLOADS ? "downloads" : "share");
    cJSON_AddItemToArray(shared, f);
  }
  ls_catalog_snapshot_free(&snap);
}

typedef struct {
  const cli_ctx_t *c;
  cJSON *list;
} partials_t;

/* ls_partial_scan: one partial download into the array; "running" when a
 * downloader holds it (its lock), whatever started it. */
static int add_partial(void *ud, ls_partial_info_t *info) {
  partials_t *k = ud;
  cJSON *a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "name", info->name);
  cJSON_AddStringToObject(a, "root", info->root_hex);
  cJSON_AddNumberToObject(a, "size", (double)info->manifest.size);
  cJSON_AddNumberToObject(a, "chunks", info->manifest.nchunks);
  cJSON_AddNumberToObject(a, "chunks_verified", (double)(info->held > 0 ? info->held : 0));
  cJSON_AddBoolToObject(a, "running", ls_partial_busy(k->c->cfg.temp_dir, info->root_hex));
  cJSON_AddItemToArray(k->list, a);
  return 0;
}

/* cli_bg_each: a background download into the array ud. */
static int add_background(void *ud, long pid, const char *name) {
  cJSON *b = cJSON_CreateObject();
  cJSON_AddStringToObject(b, "name", name);
  cJSON_AddNumberToObject(b, "pid", (double)pid);
  cJSON_AddItemToArray(ud, b);
  return 0;
}

/* Downloads: the partials in temp/ (.manifest and .have), running or not,
 * and the background downloads (get --detach) still running. */
static void add_downloading(const cli_ctx_t *c, cJSON *o) {
  partials_t k = {c, cJSON_AddArrayToObject(o, "downloading")};
  ls_partial_scan(c->cfg.temp_dir, add_partial, &k);
  cli_bg_each(c, add_background, cJSON_AddArrayToObject(o, "background"));
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
    cJSON_AddBoolToObject(p, "self", strcmp(rows[i].tag, c->cfg.tag) == 0);
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

/* A duration in seconds as "45s", "12m 5s", "3h 4m" or "2d 5h". */
static void format_uptime(int64_t secs, char *out, size_t size) {
  if (secs < 0) secs = 0;
  if (secs < 60)
    snprintf(out, size, "%llds", (long long)secs);
  else if (secs < 3600)
    snprintf(out, size, "%lldm %llds", (long long)(secs / 60), (long long)(secs % 60));
  else if (secs < 86400)
    snprintf(out, size, "%lldh %lldm", (long long)(secs / 3600), (long long)(secs % 3600 / 60));
  else
    snprintf(out, size, "%lldd %lldh", (long long)(secs / 86400), (long long)(secs % 86400 / 3600));
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
    char uptime[32];
    format_uptime(up ? ls_unix_now() - started : 0, uptime, sizeof uptime);
    printf("  %-10s %s%-8s%s pid %-7d up %-10s restarts %d\n", name ? name : "?",
           cli_color(c, up ? CLI_GREEN : CLI_RED), up ? "running" : "stopped", cli_color(c, CLI_RESET),
           (int)json_number(it, "pid"), uptime, (int)json_number(it, "restarts"));
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

/* The pid of the background download of name, or 0. */
static long background_pid(const cJSON *o, const char *name) {
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "background")) {
    const char *n = json_string(it, "name");
    if (n && name && strcmp(n, name) == 0) return (long)json_number(it, "pid");
  }
  return 0;
}

/* A line per partial: being fetched (in the background: its pid) or not
 * (how to resume or discard it); a background download without a partial
 * yet is starting. */
static void print_downloads(const cJSON *o) {
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "downloading")) {
    double total = json_number(it, "chunks"), got = json_number(it, "chunks_verified");
    const char *name = json_string(it, "name");
    long pid = background_pid(o, name);
    double pct = total > 0 ? 100.0 * got / total : 100.0;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "running")))
      printf("partial %s: %.0f%%, nothing is fetching it (lanswarm get %s resumes, lanswarm clean %s discards)\n",
             name, pct, name, name);
    else if (pid) printf("downloading %s: %.0f%% (in the background, pid %ld)\n", name, pct, pid);
    else printf("downloading %s: %.0f%%\n", name, pct);
  }
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "background")) {
    const char *name = json_string(it, "name");
    const cJSON *p;
    int has_partial = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(o, "downloading"))
      has_partial |= name && json_string(p, "name") && strcmp(json_string(p, "name"), name) == 0;
    if (!has_partial) printf("downloading %s: starting (in the background, pid %ld)\n", name, (long)json_number(it, "pid"));
  }
}

static void print_transfers(const cJSON *o) {
  const cJSON *it;
  print_downloads(o);
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
  int from_share = 0, from_downloads = 0;
  const cJSON *f;
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(o, "shared")) {
    const char *from = json_string(f, "from");
    if (from && strcmp(from, "downloads") == 0)
      from_downloads++;
    else
      from_share++;
  }
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "share_exists")))
    printf("sharing %d file(s) from %s\n", from_share, c->cfg.share_dir);
  else
    printf("sharing nothing: the share folder %s does not exist (create it, or set share in %s)\n",
           c->cfg.share_dir, c->config_path[0] ? c->config_path : "lanswarm.conf");
  if (from_downloads > 0) printf("sharing %d downloaded file(s) from %s\n", from_downloads, c->cfg.downloads_dir);
  const cJSON *it;
  int others = 0;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "peers")) {
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "self"))) others++;
  }
  printf("other peers seen: %d (lanswarm peers)\n", others);
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
    "the peers seen (peers.txt), partial downloads (temp/: running, in the\n"
    "background, or fetched by nothing), background downloads and the last few\n"
    "finished (client.log). --json prints the same as one JSON object.\n",
    run_status,
    0,
};
