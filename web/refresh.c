#include "refresh.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ls_partial.h"
#include "ls_util.h"

#define STATUS_MAX (1u << 20)
#define SERVER_RECHECK_S 5

static char *print(cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static int stamp_changed(const char *path, refresh_stamp_t *st) {
  struct stat s;
  refresh_stamp_t now = {0, -1, 0};
  if (stat(path, &s) == 0) {
    now.mtime_ns = (int64_t)s.st_mtim.tv_sec * 1000000000 + s.st_mtim.tv_nsec;
    now.size = (int64_t)s.st_size;
    now.ino = (uint64_t)s.st_ino;
  }
  if (memcmp(&now, st, sizeof now) == 0) return 0;
  *st = now;
  return 1;
}

static const ls_catalog_snapshot_t *mine(const refresh_t *r) {
  return r->catalog ? ls_catalog_current(r->catalog) : NULL;
}

static void publish_peers(refresh_t *r) {
  hub_publish(r->hub, HUB_PEERS,
              print(model_peers(r->peers, r->npeers, r->tags, r->ntags, ls_unix_now(), r->cfg->interval, r->cfg->tag)));
}

static void publish_files(refresh_t *r) {
  cJSON *o = model_files(r->tags, r->ntags, mine(r), r->cfg->tag);
  if (o != NULL && r->tags_problem[0] != '\0') cJSON_AddStringToObject(o, "problem", r->tags_problem);
  hub_publish(r->hub, HUB_FILES, print(o));
}

#define CHUNK_MAP_CELLS 64

/* Each running download's chunk map, from its R.have in temp/. */
static void add_chunk_maps(const refresh_t *r, cJSON *active) {
  cJSON *job;
  char map[CHUNK_MAP_CELLS + 1];
  cJSON_ArrayForEach(job, active) {
    const char *root = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(job, "root"));
    long n = root && strlen(root) == LS_HASH_HEX_LEN ? ls_partial_map(r->cfg->temp_dir, root, CHUNK_MAP_CELLS, map) : -1;
    if (n >= 0) cJSON_AddStringToObject(job, "chunk_map", map);
    else cJSON_AddNullToObject(job, "chunk_map");
  }
}

void refresh_publish_transfers(refresh_t *r) {
  cJSON *o = jobs_json(r->jobs);
  add_chunk_maps(r, cJSON_GetObjectItemCaseSensitive(o, "active"));
  cJSON_AddItemToObject(o, "history", r->history ? cJSON_Duplicate(r->history, 1) : cJSON_CreateArray());
  hub_publish(r->hub, HUB_TRANSFERS, print(o));
}

static void publish_server(refresh_t *r) {
  hub_publish(r->hub, HUB_SERVER, print(model_server(&r->serverlog, r->status_text, &r->names)));
}

static void publish_share(refresh_t *r) {
  cJSON *o = model_share(mine(r));
  cJSON_AddStringToObject(o, "share_dir", r->cfg->share_dir);
  hub_publish(r->hub, HUB_SHARE, print(o));
}

void refresh_publish_status(refresh_t *r, int web_port) {
  const ls_config_t *cfg = r->cfg;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "tag", cfg->tag);
  cJSON_AddStringToObject(o, "dir", cfg->dir);
  cJSON_AddNumberToObject(o, "udp_port", cfg->udp_port);
  cJSON_AddNumberToObject(o, "tcp_port", cfg->tcp_port);
  cJSON_AddNumberToObject(o, "interval", cfg->interval);
  cJSON_AddNumberToObject(o, "web_port", web_port);
  cJSON_AddNumberToObject(o, "max_downloads", JOBS_MAX_ACTIVE);
  hub_publish(r->hub, HUB_STATUS, print(o));
}

/* tags.txt: the files and the peers. */
static void look_at_tags(refresh_t *r) {
  if (!stamp_changed(r->cfg->tags_path, &r->tags_st)) return;
  ls_tag_entry_t *e;
  size_t n;
  int rc = ls_tags_read(r->cfg->tags_path, &e, &n, NULL);
  if (rc != 0) { /* once per change of the file: what is listed stays */
    ls_warn("cannot read %s: %s", r->cfg->tags_path, ls_tags_read_error(rc));
    snprintf(r->tags_problem, sizeof r->tags_problem, "cannot read %s: %s", r->cfg->tags_path, ls_tags_read_error(rc));
    publish_files(r);
    return;
  }
  r->tags_problem[0] = '\0';
  ls_tags_free(r->tags, r->ntags);
  r->tags = e;
  r->ntags = n;
  publish_files(r);
  publish_peers(r);
}

/* peers.txt: the peers, sharing or not. */
static void look_at_peers(refresh_t *r) {
  if (!stamp_changed(r->cfg->peers_path, &r->peers_st)) return;
  ls_peer_entry_t *p;
  size_t n;
  if (ls_peers_read(r->cfg->peers_path, &p, &n, NULL) != 0) return;
  free(r->peers);
  r->peers = p;
  r->npeers = n;
  publish_peers(r);
}

/* client.log: the transfers' history. */
static void look_at_client_log(refresh_t *r) {
  if (!stamp_changed(r->cfg->client_log, &r->client_st)) return;
  cJSON_Delete(r->history);
  r->history = model_history(r->cfg->client_log);
  refresh_publish_transfers(r);
}

/* server.status as text (model_server parses it); true if it changed. */
static int look_at_server_status(refresh_t *r) {
  if (!stamp_changed(r->cfg->server_status, &r->status_st)) return 0;
  uint8_t *data = NULL;
  size_t len = 0;
  free(r->status_text);
  r->status_text = NULL;
  if (ls_read_file(r->cfg->server_status, STATUS_MAX, &data, &len) == 0) {
    r->status_text = malloc(len + 1);
    if (r->status_text) {
      memcpy(r->status_text, data, len);
      r->status_text[len] = '\0';
    }
    free(data);
  }
  return 1;
}

static void look(refresh_t *r) {
  cJSON *logs = logs_look(&r->logs, r->cfg->dir);
  if (logs) hub_publish(r->hub, HUB_LOGS, print(logs));
  look_at_peers(r);
  look_at_tags(r);
  int64_t sec = ls_unix_now();
  if (sec != r->last_peers_second) { /* "last seen" ages every second */
    r->last_peers_second = sec;
    publish_peers(r);
  }
  look_at_client_log(r);
  int server_changed = model_serverlog_update(&r->serverlog, r->cfg->server_log);
  if (look_at_server_status(r)) server_changed = 1;
  /* A server that died leaves running=true behind: look again now and then. */
  if (server_changed || sec >= r->server_checked + SERVER_RECHECK_S) {
    r->server_checked = sec;
    publish_server(r);
  }
}

static void timer_cb(uv_timer_t *t) {
  look(t->data);
}

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  refresh_t *r = ud;
  ls_map_close(&r->names);
  ls_map_init(&r->names);
  model_names_fill(&r->names, ls_catalog_current(cat));
  publish_share(r);
  publish_files(r);
  publish_server(r);
}

int refresh_init(refresh_t *r, uv_loop_t *loop, const ls_config_t *cfg, hub_t *hub, jobs_t *jobs) {
  memset(r, 0, sizeof *r);
  r->cfg = cfg;
  r->hub = hub;
  r->jobs = jobs;
  r->loop = loop;
  if (model_serverlog_init(&r->serverlog) != 0) return -1;
  if (ls_map_init(&r->names) != 0) {
    model_serverlog_close(&r->serverlog);
    return -1;
  }
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  refresh_publish_transfers(r);
  publish_share(r);
  look(r);
  return 0;
}

int refresh_start(refresh_t *r) {
  const ls_config_t *cfg = r->cfg;
  ls_catalog_dirs_t dirs = {cfg->share_dir,  cfg->downloads_dir, cfg->temp_dir, cfg->cache_dir,
                            cfg->chunk_size, cfg->max_chunks,    0};
  if (ls_catalog_new(r->loop, &dirs, cfg->rescan, catalog_cb, r, &r->catalog) != 0 ||
      ls_catalog_start(r->catalog) != 0)
    return -1;
  uv_timer_start(&r->timer, timer_cb, REFRESH_MS, REFRESH_MS);
  return 0;
}

void refresh_poke(refresh_t *r) {
  if (r->catalog) ls_catalog_poke(r->catalog);
}

void refresh_stop(refresh_t *r) {
  uv_timer_stop(&r->timer);
  uv_close((uv_handle_t *)&r->timer, NULL);
}

void refresh_close(refresh_t *r) {
  if (r->catalog) ls_catalog_close(r->catalog);
  r->catalog = NULL;
}

void refresh_free(refresh_t *r) {
  ls_tags_free(r->tags, r->ntags);
  r->tags = NULL;
  free(r->peers);
  r->peers = NULL;
  r->npeers = 0;
  r->ntags = 0;
  cJSON_Delete(r->history);
  r->history = NULL;
  free(r->status_text);
  r->status_text = NULL;
  model_serverlog_close(&r->serverlog);
  ls_map_close(&r->names);
}
