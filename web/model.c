#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_clientlog.h"
#include "ls_hash.h"
#include "ls_serverlog.h"
#include "ls_srvstatus.h"
#include "ls_tagsq.h"

/* ---------- peers ---------- */

static void addr_str(const ls_tag_entry_t *e, char *buf, size_t len) {
  ls_net_endpoint_format(e->addr, e->port, buf, len);
}

cJSON *model_peers(const ls_peer_entry_t *pe, size_t npe, const ls_tag_entry_t *e, size_t n, int64_t now,
                   unsigned interval, const char *self_tag) {
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "peers");
  ls_tagsq_known_t *peers;
  size_t count;
  if (ls_tagsq_known(pe, npe, e, n, &peers, &count) != 0) return o;
  for (size_t i = 0; i < count; i++) {
    const ls_tagsq_known_t *acc = &peers[i];
    int64_t age = now > acc->last_seen ? now - acc->last_seen : 0;
    char how[64] = "";
    if (acc->how) ls_how_format(acc->how, how, sizeof how);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "tag", acc->tag);
    cJSON_AddStringToObject(p, "address", acc->address);
    cJSON_AddNumberToObject(p, "files", (double)acc->files);
    cJSON_AddNumberToObject(p, "bytes", (double)acc->bytes);
    cJSON_AddNumberToObject(p, "last_seen", (double)acc->last_seen);
    cJSON_AddNumberToObject(p, "age_s", (double)age);
    cJSON_AddStringToObject(p, "state", age <= 2 * (int64_t)interval ? "live" : "quiet");
    cJSON_AddBoolToObject(p, "self", self_tag != NULL && strcmp(self_tag, acc->tag) == 0);
    cJSON_AddStringToObject(p, "how", how);
    cJSON_AddItemToArray(arr, p);
  }
  free(peers);
  return o;
}

/* ---------- files on the LAN ---------- */

static int entry_root_cmp(const void *a, const void *b) {
  const ls_tag_entry_t *x = *(const ls_tag_entry_t *const *)a, *y = *(const ls_tag_entry_t *const *)b;
  int c = memcmp(x->root, y->root, LS_HASH_LEN);
  if (c) return c;
  return strcmp(x->name, y->name);
}

static const char *source_word(ls_source_t s) {
  switch (s) {
    case LS_SOURCE_SHARE: return "share";
    case LS_SOURCE_DOWNLOADS: return "downloads";
    case LS_SOURCE_PARTIAL: return "partial";
  }
  return "share";
}

cJSON *model_files(const ls_tag_entry_t *e, size_t n, const ls_catalog_snapshot_t *mine, const char *self_tag) {
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "files");
  const ls_tag_entry_t **idx = n ? malloc(n * sizeof *idx) : NULL;
  if (n && idx == NULL) return o;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (self_tag == NULL || strcmp(e[i].tag, self_tag) != 0) idx[m++] = &e[i];
  if (m) qsort(idx, m, sizeof *idx, entry_root_cmp);
  size_t listed = 0, more = 0;
  for (size_t i = 0; i < m;) {
    size_t j = i;
    while (j < m && memcmp(idx[j]->root, idx[i]->root, LS_HASH_LEN) == 0) j++;
    if (listed == MODEL_FILES_MAX) {
      more++;
      i = j;
      continue;
    }
    listed++;
    char hex[LS_HASH_HEX_LEN + 1];
    ls_hash_to_hex(idx[i]->root, hex);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "root", hex);
    cJSON_AddStringToObject(f, "name", idx[i]->name);
    cJSON *names = cJSON_AddArrayToObject(f, "names");
    cJSON_AddNumberToObject(f, "size", (double)idx[i]->size);
    cJSON *holders = cJSON_AddArrayToObject(f, "holders");
    unsigned complete = 0;
    for (size_t k = i; k < j; k++) {
      if (k == i || strcmp(idx[k]->name, idx[k - 1]->name) != 0)
        cJSON_AddItemToArray(names, cJSON_CreateString(idx[k]->name));
      char addr[LS_NET_ENDPOINT_MAX];
      addr_str(idx[k], addr, sizeof addr);
      cJSON *h = cJSON_CreateObject();
      cJSON_AddStringToObject(h, "tag", idx[k]->tag);
      cJSON_AddStringToObject(h, "address", addr);
      cJSON_AddBoolToObject(h, "complete", idx[k]->complete);
      cJSON_AddItemToArray(holders, h);
      complete += idx[k]->complete ? 1u : 0u;
    }
    cJSON_AddNumberToObject(f, "complete_holders", complete);
    const ls_catalog_entry_t *ce = mine ? ls_catalog_snapshot_find(mine, idx[i]->root) : NULL;
    if (ce) cJSON_AddStringToObject(f, "mine", source_word(ce->source));
    else cJSON_AddNullToObject(f, "mine");
    cJSON_AddItemToArray(arr, f);
    i = j;
  }
  cJSON_AddNumberToObject(o, "more", (double)more);
  free(idx);
  return o;
}

/* ---------- this peer's share ---------- */

cJSON *model_share(const ls_catalog_snapshot_t *snap) {
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "files");
  cJSON_AddBoolToObject(o, "scanned", snap != NULL);
  for (size_t i = 0; snap && i < snap->count; i++) {
    const ls_catalog_entry_t *ce = &snap->entries[i];
    char hex[LS_HASH_HEX_LEN + 1];
    ls_hash_to_hex(ce->manifest.root, hex);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "name", ce->name);
    cJSON_AddStringToObject(f, "root", hex);
    cJSON_AddNumberToObject(f, "size", (double)ce->manifest.size);
    cJSON_AddStringToObject(f, "source", source_word(ce->source));
    cJSON_AddNumberToObject(f, "chunks", ce->manifest.nchunks);
    cJSON_AddNumberToObject(f, "chunks_have", ce->nhave);
    cJSON_AddItemToArray(arr, f);
  }
  return o;
}

void model_names_fill(ls_map_t *names, const ls_catalog_snapshot_t *snap) {
  for (size_t i = 0; snap && i < snap->count; i++) {
    ls_root_prefix_t prefix;
    ls_serverlog_root_prefix(snap->entries[i].manifest.root, prefix);
    if (ls_map_get(names, prefix) == NULL) ls_map_put(names, prefix, snap->entries[i].name);
  }
}

/* ---------- client.log ---------- */

static cJSON *history_item(const char *line, size_t len) {
  ls_clientlog_t *rec = malloc(sizeof *rec);
  if (rec == NULL || ls_clientlog_decode(line, len, rec) != 0) {
    free(rec);
    return NULL;
  }
  cJSON *h = cJSON_CreateObject();
  cJSON_AddStringToObject(h, "time", rec->time);
  cJSON_AddStringToObject(h, "name", rec->name);
  cJSON_AddStringToObject(h, "root", rec->root);
  cJSON_AddStringToObject(h, "result", rec->result);
  cJSON_AddStringToObject(h, "message", rec->message);
  cJSON_AddNumberToObject(h, "size", (double)rec->size);
  cJSON_AddNumberToObject(h, "duration_s", rec->duration_s);
  cJSON_AddNumberToObject(h, "speed_Bps", rec->speed_Bps);
  cJSON_AddNumberToObject(h, "fetched", (double)rec->fetched);
  cJSON_AddNumberToObject(h, "resumed", (double)rec->resumed);
  cJSON *peers = cJSON_AddArrayToObject(h, "peers");
  for (size_t i = 0; i < rec->npeers; i++) {
    char addr[LS_NET_ENDPOINT_MAX];
    ls_net_endpoint_format(rec->peers[i].addr, rec->peers[i].port, addr, sizeof addr);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "tag", rec->peers[i].tag);
    cJSON_AddStringToObject(p, "address", addr);
    cJSON_AddNumberToObject(p, "bytes", (double)rec->peers[i].bytes);
    cJSON_AddItemToArray(peers, p);
  }
  free(rec);
  return h;
}

cJSON *model_history(const char *client_log_path) {
  cJSON *arr = cJSON_CreateArray();
  int fd = open(client_log_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return arr;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) goto out;
  off_t from = st.st_size > (off_t)MODEL_HISTORY_TAIL ? st.st_size - (off_t)MODEL_HISTORY_TAIL : 0;
  size_t want = (size_t)(st.st_size - from);
  buf = malloc(want + 1);
  if (buf == NULL) goto out;
  ssize_t got = pread(fd, buf, want, from);
  if (got <= 0) goto out;
  size_t len = (size_t)got;
  /* Lines from the end; the first one is skipped when the read began mid-file. */
  size_t end = len, shown = 0;
  while (end > 0 && shown < MODEL_HISTORY_MAX) {
    size_t start = end;
    if (buf[start - 1] == '\n') start--;
    size_t line_end = start;
    while (start > 0 && buf[start - 1] != '\n') start--;
    if (start == 0 && from > 0) break;
    if (line_end > start) {
      cJSON *h = history_item(buf + start, line_end - start);
      if (h) {
        cJSON_AddItemToArray(arr, h);
        shown++;
      }
    }
    end = start;
  }
out:
  free(buf);
  close(fd);
  return arr;
}

/* ---------- server.log ---------- */

int model_serverlog_init(model_serverlog_t *s) {
  memset(s, 0, sizeof *s);
  return ls_map_init(&s->roots);
}

void model_serverlog_close(model_serverlog_t *s) {
  ls_map_close(&s->roots);
}

static void serverlog_reset(model_serverlog_t *s) {
  ls_map_close(&s->roots);
  uint64_t ino = s->ino;
  model_serverlog_init(s);
  s->ino = ino;
}

void model_serverlog_line(model_serverlog_t *s, const char *line, size_t len) {
  ls_serverlog_t rec;
  if (ls_serverlog_decode(line, len, &rec) != 0) return;
  s->connections++;
  s->bytes += rec.bytes;
  s->chunks += rec.chunks;
  s->errors += rec.errors;
  for (size_t i = 0; i < rec.nroots; i++) {
    uintptr_t c = (uintptr_t)ls_map_get(&s->roots, rec.roots[i]);
    if (c == 0 && s->roots.count >= MODEL_TOP_ROOTS) continue;
    ls_map_put(&s->roots, rec.roots[i], (void *)(c + 1));
  }
}

int model_serverlog_update(model_serverlog_t *s, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  int any = 0;
  if (fstat(fd, &st) != 0) goto out;
  if ((uint64_t)st.st_ino != s->ino || (uint64_t)st.st_size < s->offset) {
    s->ino = (uint64_t)st.st_ino;
    serverlog_reset(s);
    any = 1;
  }
  char buf[65536];
  /* A long log is read a few MiB per call, so the loop is never held long. */
  for (size_t budget = MODEL_SERVERLOG_STEP; budget > 0; budget -= budget < sizeof buf ? budget : sizeof buf) {
    ssize_t got = pread(fd, buf, sizeof buf, (off_t)s->offset);
    if (got <= 0) break;
    any = 1;
    s->offset += (uint64_t)got;
    for (ssize_t i = 0; i < got; i++) {
      if (buf[i] == '\n') {
        if (s->partial_len < sizeof s->partial) model_serverlog_line(s, s->partial, s->partial_len);
        s->partial_len = 0;
      } else if (s->partial_len < sizeof s->partial) {
        s->partial[s->partial_len++] = buf[i];
      } /* an overlong line is skipped whole */
    }
  }
out:
  close(fd);
  return any;
}

typedef struct {
  const char *prefix;
  uintptr_t count;
} top_t;

static int top_cmp(const void *a, const void *b) {
  const top_t *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->prefix, y->prefix);
}

static const char *name_for(const ls_map_t *names, const char *prefix) {
  return names ? ls_map_get(names, prefix) : NULL;
}

static void add_roots_named(cJSON *dst, const ls_srvstatus_conn_t *c, const ls_map_t *names) {
  for (size_t i = 0; i < c->nroots; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "root", c->roots[i]);
    const char *nm = name_for(names, c->roots[i]);
    if (nm) cJSON_AddStringToObject(e, "name", nm);
    else cJSON_AddNullToObject(e, "name");
    cJSON_AddItemToArray(dst, e);
  }
}

cJSON *model_server(const model_serverlog_t *log, const char *status_json, const ls_map_t *names) {
  cJSON *o = cJSON_CreateObject();
  ls_srvstatus_t st;
  if (status_json == NULL || ls_srvstatus_decode(status_json, strlen(status_json), &st) != 0)
    memset(&st, 0, sizeof st);
  int running = st.running && st.pid > 0 && (kill((pid_t)st.pid, 0) == 0 || errno == EPERM);
  cJSON_AddBoolToObject(o, "running", running);
  cJSON_AddNumberToObject(o, "port", running ? st.port : 0);
  cJSON *now = cJSON_AddArrayToObject(o, "connections_now");
  for (size_t i = 0; running && i < st.nconns; i++) {
    const ls_srvstatus_conn_t *c = &st.conns[i];
    char peer[LS_NET_ENDPOINT_MAX];
    ls_net_endpoint_format(c->addr, c->port, peer, sizeof peer);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "peer", peer);
    cJSON_AddNumberToObject(e, "bytes", (double)c->bytes);
    cJSON_AddNumberToObject(e, "duration_ms", (double)c->duration_ms);
    add_roots_named(cJSON_AddArrayToObject(e, "files"), c, names);
    cJSON_AddItemToArray(now, e);
  }
  ls_srvstatus_free(&st);
  cJSON *t = cJSON_AddObjectToObject(o, "totals");
  cJSON_AddNumberToObject(t, "connections", (double)log->connections);
  cJSON_AddNumberToObject(t, "bytes", (double)log->bytes);
  cJSON_AddNumberToObject(t, "chunks", (double)log->chunks);
  cJSON_AddNumberToObject(t, "errors", (double)log->errors);
  cJSON *top = cJSON_AddArrayToObject(o, "top");
  size_t n = log->roots.count, k = 0;
  top_t *all = n ? malloc(n * sizeof *all) : NULL;
  if (all) {
    for (ls_map_node_t *it = ls_map_first(&log->roots); it && k < n; it = ls_map_next(&log->roots, it))
      all[k++] = (top_t){it->key, (uintptr_t)it->value};
    qsort(all, k, sizeof *all, top_cmp);
    for (size_t i = 0; i < k && i < MODEL_TOP_SHOWN; i++) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddStringToObject(e, "root", all[i].prefix);
      const char *nm = name_for(names, all[i].prefix);
      if (nm) cJSON_AddStringToObject(e, "name", nm);
      else cJSON_AddNullToObject(e, "name");
      cJSON_AddNumberToObject(e, "connections", (double)all[i].count);
      cJSON_AddItemToArray(top, e);
    }
    free(all);
  }
  return o;
}
