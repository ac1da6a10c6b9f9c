/* lanswarm-web: the peer's dashboard in a browser (optional fifth daemon).
 *
 * Reads what the other daemons write (tags.txt, client.log, server.log,
 * server.status) and this peer's catalog, publishes each part of the page as
 * JSON in the hub, and starts downloads by running lanswarm-downloader
 * --events (jobs.c). HTTP is http.c; the JSON shapes are model.c; the API is
 * documented in docs/WEB.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "hub.h"
#include "jobs.h"
#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_hash.h"
#include "ls_log.h"
#include "ls_map.h"
#include "ls_name.h"
#include "ls_net.h"
#include "ls_share.h"
#include "ls_tags.h"
#include "ls_tagsq.h"
#include "ls_util.h"
#include "model.h"

#define REFRESH_MS 250       /* how often the files are looked at (a stat each) */
#define STATUS_MAX (1u << 20)
#define STOP_GRACE_MS 10000  /* downloads get this long to stop on SIGINT */

enum { OPT_DOWNLOADER = 1000 };

typedef struct {
  int64_t mtime_ns;
  int64_t size;
  uint64_t ino;
} stamp_t;

/* An "Add file" copying across file systems, answered when it ends. */
typedef struct add_s {
  ls_share_add_t req;
  struct add_s *next;
  struct web_s *web;
  hub_cmd_t *cmd;    /* NULL once answered at shutdown */
  char name[LS_NAME_MAX + 1];
} add_t;

typedef struct web_s {
  ls_config_t cfg;
  uv_loop_t *loop;
  hub_t hub;
  http_t *http;
  jobs_t jobs;
  ls_catalog_t *catalog;
  ls_signals_t signals;
  uv_timer_t refresh;
  uv_timer_t stop_timer;
  char downloader[PATH_MAX];
  char **pass_args;           /* options handed on to the downloader */
  char token[LS_WEB_TOKEN_MAX + 1];
  stamp_t tags_st, client_st, status_st;
  ls_tag_entry_t *tags;
  size_t ntags;
  model_serverlog_t serverlog;
  char *status_text;
  ls_map_t names;              /* root prefix -> name, this peer's files */
  cJSON *history;
  add_t *adds;
  unsigned add_seq;
  int64_t last_peers_second;
  int64_t server_checked;      /* when the server section was last rebuilt */
  int stopping;
  int exit_code;
} web_t;

/* ---------- publishing ---------- */

static char *print(cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static int stamp_changed(const char *path, stamp_t *st) {
  struct stat s;
  stamp_t now = {0, -1, 0};
  if (stat(path, &s) == 0) {
    now.mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
    now.size = (int64_t)s.st_size;
    now.ino = (uint64_t)s.st_ino;
  }
  if (memcmp(&now, st, sizeof now) == 0) return 0;
  *st = now;
  return 1;
}

static const ls_catalog_snapshot_t *mine(const web_t *w) {
  return w->catalog ? ls_catalog_current(w->catalog) : NULL;
}

static void publish_peers(web_t *w) {
  hub_publish(&w->hub, HUB_PEERS, print(model_peers(w->tags, w->ntags, ls_unix_now(), w->cfg.interval, w->cfg.tag)));
}

static void publish_files(web_t *w) {
  hub_publish(&w->hub, HUB_FILES, print(model_files(w->tags, w->ntags, mine(w), w->cfg.tag)));
}

static void publish_transfers(web_t *w) {
  cJSON *o = jobs_json(&w->jobs);
  cJSON_AddItemToObject(o, "history", w->history ? cJSON_Duplicate(w->history, 1) : cJSON_CreateArray());
  hub_publish(&w->hub, HUB_TRANSFERS, print(o));
}

static void publish_server(web_t *w) {
  hub_publish(&w->hub, HUB_SERVER, print(model_server(&w->serverlog, w->status_text, &w->names)));
}

static void publish_share(web_t *w) {
  cJSON *o = model_share(mine(w));
  cJSON_AddStringToObject(o, "share_dir", w->cfg.share_dir);
  hub_publish(&w->hub, HUB_SHARE, print(o));
}

static void publish_status(web_t *w) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "tag", w->cfg.tag);
  cJSON_AddStringToObject(o, "dir", w->cfg.dir);
  cJSON_AddNumberToObject(o, "udp_port", w->cfg.udp_port);
  cJSON_AddNumberToObject(o, "tcp_port", w->cfg.tcp_port);
  cJSON_AddNumberToObject(o, "interval", w->cfg.interval);
  cJSON_AddNumberToObject(o, "web_port", http_port(w->http));
  cJSON_AddNumberToObject(o, "max_downloads", JOBS_MAX_ACTIVE);
  hub_publish(&w->hub, HUB_STATUS, print(o));
}

static void refresh_cb(uv_timer_t *t) {
  web_t *w = t->data;
  if (stamp_changed(w->cfg.tags_path, &w->tags_st)) {
    ls_tag_entry_t *e;
    size_t n;
    if (ls_tags_read(w->cfg.tags_path, &e, &n, NULL) == 0) {
      ls_tags_free(w->tags, w->ntags);
      w->tags = e;
      w->ntags = n;
      publish_files(w);
      publish_peers(w);
    }
  }
  int64_t sec = ls_unix_now();
  if (sec != w->last_peers_second) { /* "last seen" ages every second */
    w->last_peers_second = sec;
    publish_peers(w);
  }
  if (stamp_changed(w->cfg.client_log, &w->client_st)) {
    cJSON_Delete(w->history);
    w->history = model_history(w->cfg.client_log);
    publish_transfers(w);
  }
  int server_changed = model_serverlog_update(&w->serverlog, w->cfg.server_log);
  if (stamp_changed(w->cfg.server_status, &w->status_st)) {
    uint8_t *data = NULL;
    size_t len = 0;
    free(w->status_text);
    w->status_text = NULL;
    if (ls_read_file(w->cfg.server_status, STATUS_MAX, &data, &len) == 0) {
      w->status_text = malloc(len + 1);
      if (w->status_text) {
        memcpy(w->status_text, data, len);
        w->status_text[len] = '\0';
      }
      free(data);
    }
    server_changed = 1;
  }
  /* A server that died leaves running=true behind: look again now and then. */
  if (server_changed || sec >= w->server_checked + 5) {
    w->server_checked = sec;
    publish_server(w);
  }
}

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  web_t *w = ud;
  ls_map_close(&w->names);
  ls_map_init(&w->names);
  model_names_fill(&w->names, ls_catalog_current(cat));
  publish_share(w);
  publish_files(w);
  publish_server(w);
}

static void jobs_changed(jobs_t *j, void *ud) {
  (void)j;
  publish_transfers(ud);
}

/* ---------- commands ---------- */

static char *error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *error_json(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", msg);
  return print(o);
}

static void answer(hub_cmd_t *cmd, int status, char *json) {
  cmd->status = status;
  cmd->answer = json;
}

static const char *body_string(const hub_cmd_t *cmd, const char *key) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(cmd->body, key);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void cmd_download(web_t *w, hub_cmd_t *cmd) {
  const char *name = body_string(cmd, "name"), *root = body_string(cmd, "root");
  if (name == NULL || !ls_name_valid(name, strlen(name))) {
    answer(cmd, 400, error_json("\"name\": a valid file name (relative, no '..', no control characters)"));
    return;
  }
  uint8_t want[LS_HASH_LEN];
  if (cJSON_GetObjectItemCaseSensitive(cmd->body, "root") != NULL && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cmd->body, "root")) &&
      (root == NULL || ls_hash_from_hex(root, strlen(root), want) != 0)) {
    answer(cmd, 400, error_json("\"root\": 64 hex characters"));
    return;
  }
  ls_tagsq_lookup_t found;
  if (ls_tagsq_lookup(w->tags, w->ntags, name, root ? want : NULL, w->cfg.tag, (uint16_t)w->cfg.tcp_port, &found) != 0) {
    answer(cmd, 404, error_json("no peer in tags.txt has '%s'", name));
    return;
  }
  char dest[PATH_MAX];
  struct stat st;
  if (snprintf(dest, sizeof dest, "%s/%s", w->cfg.downloads_dir, name) < (int)sizeof dest && lstat(dest, &st) == 0) {
    answer(cmd, 409, error_json("downloads/%s exists already; not overwriting it", name));
    return;
  }
  char err[300];
  unsigned id = 0;
  jobs_err_t rc = jobs_start(&w->jobs, name, root, &id, err, sizeof err);
  if (rc != JOBS_OK) {
    answer(cmd, rc == JOBS_BUSY ? 429 : rc == JOBS_DUPLICATE ? 409 : 500, error_json("%s", err));
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", id);
  cJSON_AddStringToObject(o, "name", name);
  answer(cmd, 202, print(o));
}

static void cmd_cancel(web_t *w, hub_cmd_t *cmd) {
  jobs_err_t rc = jobs_cancel(&w->jobs, cmd->id);
  if (rc == JOBS_UNKNOWN) answer(cmd, 404, error_json("no download %u", cmd->id));
  else if (rc == JOBS_DONE) answer(cmd, 409, error_json("download %u has ended already", cmd->id));
  else answer(cmd, 202, strdup("{\"cancelling\":true}"));
}

static void add_done_json(web_t *w, hub_cmd_t *cmd, const char *name) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "added", "share");
  answer(cmd, 201, print(o));
  if (w->catalog) ls_catalog_poke(w->catalog);
}

/* An ls_share_add failure as an HTTP status: the request's fault or ours. */
static int add_status(int rc) {
  switch (-rc) {
    case EEXIST:
    case EBUSY: return 409;
    case EINVAL:
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case ELOOP:
    case ENAMETOOLONG: return 400;
    default: return 500;
  }
}

static void add_free(add_t *a) {
  web_t *w = a->web;
  for (add_t **pp = &w->adds; *pp; pp = &(*pp)->next)
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  free(a);
}

static void add_copied(ls_share_add_t *req, int rc) {
  add_t *a = req->data;
  web_t *w = a->web;
  ls_log(rc == 0 ? LS_LOG_INFO : LS_LOG_WARN, "add %s: %s", a->name, rc == 0 ? "copied into the share" : req->why);
  if (a->cmd) {
    hub_cmd_t tmp;
    memset(&tmp, 0, sizeof tmp);
    if (rc == 0) add_done_json(w, &tmp, a->name);
    else answer(&tmp, add_status(rc), error_json("%s", req->why));
    hub_answer(&w->hub, a->cmd, tmp.status, tmp.answer);
  } else if (rc == 0 && w->catalog) {
    ls_catalog_poke(w->catalog);
  }
  add_free(a);
}

/* "Add file": a local file into the share under a name (ls_share, strictly:
 * an absolute path to a regular file, never a symlink; nothing replaced). */
static void cmd_share_add(web_t *w, hub_cmd_t *cmd) {
  const char *path = body_string(cmd, "path"), *name = body_string(cmd, "name");
  if (path == NULL || name == NULL) {
    answer(cmd, 400, error_json("\"path\" (an absolute path on this machine) and \"name\" (its name in the share)"));
    return;
  }
  add_t *a = calloc(1, sizeof *a);
  if (a == NULL) {
    answer(cmd, 500, error_json("out of memory"));
    return;
  }
  a->req.data = a;
  int rc = ls_share_add(w->loop, &a->req, w->cfg.share_dir, path, name, LS_SHARE_STRICT, add_copied);
  if (rc == 1) {
    ls_log(LS_LOG_INFO, "add %s: linked from %s", name, path);
    add_done_json(w, cmd, name);
  } else if (rc < 0) {
    answer(cmd, add_status(rc), error_json("%s", a->req.why));
  }
  if (rc != 0) {
    free(a);
    return;
  }
  /* Copying: answered in add_copied. */
  a->web = w;
  a->cmd = cmd;
  snprintf(a->name, sizeof a->name, "%s", name);
  a->next = w->adds;
  w->adds = a;
}

/* "Remove": the file leaves the share but is not deleted: it moves to
 * DIR/unshared/, under a new name if that one is taken. */
static void cmd_share_remove(web_t *w, hub_cmd_t *cmd) {
  const char *name = body_string(cmd, "name");
  if (name == NULL || !ls_name_valid(name, strlen(name))) {
    answer(cmd, 400, error_json("\"name\": a valid file name (relative, no '..', no control characters)"));
    return;
  }
  char src[PATH_MAX], dest[PATH_MAX], base[PATH_MAX];
  struct stat st;
  if (snprintf(src, sizeof src, "%s/%s", w->cfg.share_dir, name) >= (int)sizeof src || lstat(src, &st) != 0 ||
      !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
    answer(cmd, 404, error_json("'%s' is not a file in the share", name));
    return;
  }
  if (snprintf(base, sizeof base, "%s/unshared/%s", w->cfg.dir, name) >= (int)sizeof base) {
    answer(cmd, 400, error_json("\"name\": too long"));
    return;
  }
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", base);
  *strrchr(parent, '/') = '\0';
  if (ls_mkdir_p(parent) != 0) {
    answer(cmd, 500, error_json("cannot create %s", parent));
    return;
  }
  snprintf(dest, sizeof dest, "%s", base);
  int rc = -EEXIST;
  for (unsigned n = 1; n < 1000 && rc == -EEXIST; n++) {
    /* renameat2(RENAME_NOREPLACE) is not on every file system: link + unlink. */
    if (link(src, dest) == 0) rc = 0;
    else if (errno == EEXIST) {
      if (snprintf(dest, sizeof dest, "%s.%u", base, n) >= (int)sizeof dest) break;
    } else {
      rc = -errno;
    }
  }
  if (rc == 0) rc = unlink(src) == 0 ? 0 : -errno;
  if (rc != 0) {
    answer(cmd, 500, error_json("cannot move %s out of the share: %s", name, strerror(-rc)));
    return;
  }
  ls_log(LS_LOG_INFO, "remove %s: moved to %s", name, dest);
  if (w->catalog) ls_catalog_poke(w->catalog);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "moved_to", dest);
  answer(cmd, 200, print(o));
}

static void exec_cb(hub_t *hub, hub_cmd_t *cmd) {
  web_t *w = hub->data;
  if (w->stopping) {
    answer(cmd, 503, error_json("lanswarm-web is stopping"));
    return;
  }
  switch (cmd->type) {
    case HUB_CMD_DOWNLOAD: cmd_download(w, cmd); break;
    case HUB_CMD_CANCEL: cmd_cancel(w, cmd); break;
    case HUB_CMD_SHARE_ADD: cmd_share_add(w, cmd); break;
    case HUB_CMD_SHARE_REMOVE: cmd_share_remove(w, cmd); break;
  }
}

/* ---------- start and stop ---------- */

static void finish_stop(web_t *w) {
  uv_close((uv_handle_t *)&w->stop_timer, NULL);
  if (w->catalog) ls_catalog_close(w->catalog);
  w->catalog = NULL;
  hub_close(&w->hub);
}

/* A download that did not stop within the grace period is killed (its
 * partial state stays valid: every chunk is verified before it counts). */
static void stop_timer_cb(uv_timer_t *t) {
  web_t *w = t->data;
  if (jobs_idle(&w->jobs)) finish_stop(w);
  else jobs_kill(&w->jobs);
}

static void jobs_changed_stopping(jobs_t *j, void *ud) {
  web_t *w = ud;
  if (jobs_idle(j) && !uv_is_closing((uv_handle_t *)&w->stop_timer)) {
    uv_timer_stop(&w->stop_timer);
    finish_stop(w);
  }
}

static void on_signal(ls_signals_t *s, int signum) {
  web_t *w = s->data;
  if (w->stopping) return;
  w->stopping = 1;
  ls_log(LS_LOG_INFO, "stopping (signal %d)", signum);
  for (add_t *a = w->adds; a; a = a->next)
    if (a->cmd) {
      hub_answer(&w->hub, a->cmd, 503, error_json("lanswarm-web is stopping"));
      a->cmd = NULL;
    }
  hub_stop(&w->hub);
  http_stop(w->http); /* every HTTP thread has returned after this */
  w->http = NULL;
  uv_timer_stop(&w->refresh);
  uv_close((uv_handle_t *)&w->refresh, NULL);
  ls_signals_close(&w->signals);
  w->jobs.cb = jobs_changed_stopping;
  if (jobs_close(&w->jobs)) {
    finish_stop(w);
  } else {
    /* Downloads stop on SIGINT, keeping their partial state; wait for them. */
    uv_timer_start(&w->stop_timer, stop_timer_cb, STOP_GRACE_MS, 0);
  }
}

/* The options given to lanswarm-web, less its own, for the downloader. */
static char **pass_through(int argc, char **argv) {
  char **out = calloc((size_t)argc + 1, sizeof *out);
  if (out == NULL) return NULL;
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--downloader") == 0) {
      i++;
      continue;
    }
    if (strncmp(argv[i], "--downloader=", 13) == 0) continue;
    out[n++] = argv[i];
  }
  return out;
}

static int own_option(void *ud, int code, const char *arg) {
  web_t *w = ud;
  if (code != OPT_DOWNLOADER) return -1;
  if (strlen(arg) >= sizeof w->downloader) {
    fprintf(stderr, "lanswarm-web: --downloader: path too long\n");
    return -1;
  }
  snprintf(w->downloader, sizeof w->downloader, "%s", arg);
  return 0;
}

static const struct option own_options[] = {
    {"downloader", required_argument, NULL, OPT_DOWNLOADER},
    {NULL, 0, NULL, 0},
};

static const ls_config_program_t program = {
    .program = "lanswarm-web",
    .synopsis = "[OPTIONS]",
    .description =
        "The peer's dashboard: peers, files on the LAN (search, download), transfers\n"
        "(progress, cancel, history), this peer's share (add, remove) and its chunk\n"
        "server, live in a browser at http://WEB_ADDR:WEB_PORT/. It reads the files the\n"
        "other daemons write and runs lanswarm-downloader for downloads.\n\n"
        "Listens on 127.0.0.1 by default; elsewhere only with web_token set. Without\n"
        "web_token a token is made at start. The page's address with the token is\n"
        "written to DIR/web.url (mode 0600). API: docs/WEB.md.",
    .own_options_help = "  --downloader PATH    the lanswarm-downloader to run (default: next to this program)\n",
    .own_options = own_options,
    .own_cb = own_option,
    .reads = LS_PROG_WEB,
    .start = LS_START_MAKE_DIRS,
};

int main(int argc, char **argv) {
  static web_t w; /* large; lives for the whole program */
  ls_config_program_t prog = program;
  prog.ud = &w;
  ls_daemon_t d = {.cfg = &w.cfg}; /* no key: the downloads it runs load it */
  int rc = ls_daemon_start(&d, &prog, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  struct in_addr a;
  inet_pton(AF_INET, w.cfg.web_addr, &a);
  int loopback = (ntohl(a.s_addr) >> 24) == 127;
  if (!loopback && w.cfg.web_token[0] == '\0') {
    fprintf(stderr, "lanswarm-web: listening on %s (not loopback) needs web_token in the config\n", w.cfg.web_addr);
    return 2;
  }
  if (w.cfg.web_token[0]) {
    snprintf(w.token, sizeof w.token, "%s", w.cfg.web_token);
  } else {
    uint8_t raw[20];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      fprintf(stderr, "lanswarm-web: no randomness for a token\n");
      return 1;
    }
    for (size_t i = 0; i < sizeof raw; i++) snprintf(w.token + 2 * i, 3, "%02x", raw[i]);
  }
  if (w.downloader[0] == '\0') {
    char dir[PATH_MAX];
    ls_program_dir(dir, sizeof dir);
    if (snprintf(w.downloader, sizeof w.downloader, "%s/lanswarm-downloader", dir) >= (int)sizeof w.downloader) {
      fprintf(stderr, "lanswarm-web: the path of lanswarm-downloader is too long (use --downloader)\n");
      return 1;
    }
  }
  w.pass_args = pass_through(argc, argv);
  w.loop = d.loop;
  w.exit_code = 0;
  if (hub_init(&w.hub, w.loop, exec_cb) != 0 || w.pass_args == NULL || model_serverlog_init(&w.serverlog) != 0 ||
      ls_map_init(&w.names) != 0) {
    fprintf(stderr, "lanswarm-web: out of memory\n");
    return 1;
  }
  w.hub.data = &w;
  jobs_init(&w.jobs, w.loop, w.downloader, w.pass_args, jobs_changed, &w);
  uv_timer_init(w.loop, &w.refresh);
  w.refresh.data = &w;
  uv_timer_init(w.loop, &w.stop_timer);
  w.stop_timer.data = &w;
  char url[512], path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/web.url", w.cfg.dir);
  unlink(path); /* an old run's address (and token) must not be taken for this one's */
  /* Every section has its real shape before the first request can come. */
  publish_transfers(&w);
  publish_share(&w);
  refresh_cb(&w.refresh);
  /* Before the port opens: whoever sees it open may stop us at once. */
  ls_signals_init(w.loop, &w.signals, on_signal, &w);
  char err[256];
  if (http_start(&w.hub, w.cfg.web_addr, w.cfg.web_port, w.token, &w.http, err, sizeof err) != 0) {
    fprintf(stderr, "lanswarm-web: %s\n", err);
    return 1;
  }
  publish_status(&w);
  ls_catalog_dirs_t dirs = {w.cfg.share_dir, w.cfg.downloads_dir, w.cfg.temp_dir, w.cfg.cache_dir, w.cfg.chunk_size};
  if (ls_catalog_new(w.loop, &dirs, w.cfg.rescan, catalog_cb, &w, &w.catalog) != 0 || ls_catalog_start(w.catalog) != 0) {
    fprintf(stderr, "lanswarm-web: cannot watch the share\n");
    return 1;
  }
  uv_timer_start(&w.refresh, refresh_cb, REFRESH_MS, REFRESH_MS);
  /* web.url last: whoever waits for it finds the dashboard answering. */
  snprintf(url, sizeof url, "http://%s:%d/#token=%s\n", w.cfg.web_addr, http_port(w.http), w.token);
  if ((rc = ls_write_file_atomic_mode(path, url, strlen(url), 0, 0600)) != 0) ls_log(LS_LOG_WARN, "cannot write %s: %s", path, strerror(-rc));
  ls_log(LS_LOG_INFO, "dashboard on http://%s:%d/ (open the address in %s: it carries the token)", w.cfg.web_addr,
         http_port(w.http), path);
  uv_run(w.loop, UV_RUN_DEFAULT);

  uv_loop_close(w.loop);
  jobs_free(&w.jobs);
  hub_free(&w.hub);
  ls_tags_free(w.tags, w.ntags);
  cJSON_Delete(w.history);
  free(w.status_text);
  model_serverlog_close(&w.serverlog);
  ls_map_close(&w.names);
  free(w.pass_args);
  ls_log(LS_LOG_INFO, "stopped");
  ls_log_close();
  return w.exit_code;
}
