#include "ls_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_json.h"

static const char *const kind_words[] = {"start", "progress", "end"};

static void add_start(cJSON *o, const ls_event_t *ev) {
  cJSON_AddStringToObject(o, "name", ev->name);
  cJSON_AddStringToObject(o, "root", ev->root);
  cJSON_AddNumberToObject(o, "size", (double)ev->size);
  cJSON *h = cJSON_AddArrayToObject(o, "holders");
  for (size_t i = 0; i < ev->nholders && i < LS_EVENTS_PEERS_MAX; i++)
    cJSON_AddItemToArray(h, cJSON_CreateString(ev->holders[i]));
}

static void add_progress(cJSON *o, const ls_event_t *ev) {
  cJSON_AddNumberToObject(o, "done", (double)ev->done);
  cJSON_AddNumberToObject(o, "total", (double)ev->total);
  cJSON_AddNumberToObject(o, "rate_Bps", (double)ev->rate_Bps);
  if (ev->eta_s >= 0) cJSON_AddNumberToObject(o, "eta_s", (double)ev->eta_s);
  else cJSON_AddNullToObject(o, "eta_s");
  cJSON *peers = cJSON_AddArrayToObject(o, "peers");
  for (size_t i = 0; i < ev->npeers && i < LS_EVENTS_PEERS_MAX; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "tag", ev->peers[i].tag);
    cJSON_AddNumberToObject(e, "bytes", (double)ev->peers[i].bytes);
    cJSON_AddItemToArray(peers, e);
  }
}

static void add_end(cJSON *o, const ls_event_t *ev) {
  cJSON_AddStringToObject(o, "name", ev->name);
  if (ev->started) cJSON_AddStringToObject(o, "root", ev->root);
  cJSON_AddStringToObject(o, "result", ev->result);
  cJSON_AddStringToObject(o, "message", ev->message);
  if (!ev->started) return;
  cJSON_AddNumberToObject(o, "size", (double)ev->size);
  cJSON_AddNumberToObject(o, "fetched", (double)ev->fetched);
  cJSON_AddNumberToObject(o, "resumed", (double)ev->resumed);
  cJSON_AddNumberToObject(o, "seconds", ev->seconds);
  cJSON_AddNumberToObject(o, "speed_Bps", ev->speed_Bps);
  if (ev->path[0]) cJSON_AddStringToObject(o, "path", ev->path);
  cJSON *peers = cJSON_AddArrayToObject(o, "peers");
  for (size_t i = 0; i < ev->npeers && i < LS_EVENTS_PEERS_MAX; i++) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "tag", ev->peers[i].tag);
    cJSON_AddStringToObject(p, "address", ev->peers[i].address);
    cJSON_AddNumberToObject(p, "bytes", (double)ev->peers[i].bytes);
    cJSON_AddStringToObject(p, "end", ev->peers[i].end);
    cJSON_AddItemToArray(peers, p);
  }
}

int ls_events_encode(const ls_event_t *ev, unsigned flags, char **out) {
  if ((unsigned)ev->kind > LS_EVENT_END) return -EINVAL;
  cJSON *o = cJSON_CreateObject();
  if (!(flags & LS_EVENTS_NO_KIND)) cJSON_AddStringToObject(o, "event", kind_words[ev->kind]);
  if (ev->kind == LS_EVENT_START) add_start(o, ev);
  else if (ev->kind == LS_EVENT_PROGRESS) add_progress(o, ev);
  else add_end(o, ev);
  *out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return *out ? 0 : -ENOMEM;
}

/* ---------- decoding ---------- */

static int get_string(const cJSON *o, const char *key, char *dst, size_t cap) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsString(it) || strlen(it->valuestring) >= cap) return -EINVAL;
  memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
  return 0;
}

static int get_uint(const cJSON *o, const char *key, uint64_t *out) {
  return ls_json_uint(o, key, LS_JSON_INT_MAX, out);
}

static int get_real(const cJSON *o, const char *key, double *out) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 1e300)) return -EINVAL;
  *out = it->valuedouble;
  return 0;
}

static int get_root(const cJSON *o, ls_event_t *ev) {
  if (get_string(o, "root", ev->root, sizeof ev->root) != 0 || strlen(ev->root) != LS_HASH_HEX_LEN ||
      strspn(ev->root, "0123456789abcdef") != LS_HASH_HEX_LEN)
    return -EINVAL;
  return 0;
}

static int get_tag(const cJSON *it, char *dst) {
  if (!cJSON_IsString(it) || !ls_tag_valid(it->valuestring, strlen(it->valuestring))) return -EINVAL;
  memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
  return 0;
}

static int decode_start(const cJSON *o, ls_event_t *ev) {
  const cJSON *holders = cJSON_GetObjectItemCaseSensitive(o, "holders");
  if (get_string(o, "name", ev->name, sizeof ev->name) != 0 || get_root(o, ev) != 0 ||
      get_uint(o, "size", &ev->size) != 0 || !cJSON_IsArray(holders) ||
      cJSON_GetArraySize(holders) > LS_EVENTS_PEERS_MAX)
    return -EINVAL;
  const cJSON *h;
  cJSON_ArrayForEach(h, holders) {
    if (get_tag(h, ev->holders[ev->nholders++]) != 0) return -EINVAL;
  }
  return 0;
}

/* progress peers: {tag, bytes}; end peers: also address and end. */
static int decode_peers(const cJSON *o, ls_event_t *ev, int full) {
  const cJSON *peers = cJSON_GetObjectItemCaseSensitive(o, "peers"), *p;
  if (!cJSON_IsArray(peers) || cJSON_GetArraySize(peers) > LS_EVENTS_PEERS_MAX) return -EINVAL;
  cJSON_ArrayForEach(p, peers) {
    ls_event_peer_t *e = &ev->peers[ev->npeers++];
    if (!cJSON_IsObject(p) || get_tag(cJSON_GetObjectItemCaseSensitive(p, "tag"), e->tag) != 0 ||
        get_uint(p, "bytes", &e->bytes) != 0)
      return -EINVAL;
    if (full && (get_string(p, "address", e->address, sizeof e->address) != 0 ||
                 get_string(p, "end", e->end, sizeof e->end) != 0))
      return -EINVAL;
  }
  return 0;
}

static int decode_progress(const cJSON *o, ls_event_t *ev) {
  const cJSON *eta = cJSON_GetObjectItemCaseSensitive(o, "eta_s");
  uint64_t eta_s = 0;
  if (get_uint(o, "done", &ev->done) != 0 || get_uint(o, "total", &ev->total) != 0 ||
      get_uint(o, "rate_Bps", &ev->rate_Bps) != 0 || (!cJSON_IsNull(eta) && get_uint(o, "eta_s", &eta_s) != 0))
    return -EINVAL;
  ev->eta_s = cJSON_IsNull(eta) ? -1 : (int64_t)eta_s;
  return decode_peers(o, ev, 0);
}

static int decode_end(const cJSON *o, ls_event_t *ev) {
  if (get_string(o, "name", ev->name, sizeof ev->name) != 0 ||
      get_string(o, "result", ev->result, sizeof ev->result) != 0 ||
      get_string(o, "message", ev->message, sizeof ev->message) != 0)
    return -EINVAL;
  ev->started = cJSON_GetObjectItemCaseSensitive(o, "root") != NULL;
  if (!ev->started) return 0;
  const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
  if (get_root(o, ev) != 0 || get_uint(o, "size", &ev->size) != 0 || get_uint(o, "fetched", &ev->fetched) != 0 ||
      get_uint(o, "resumed", &ev->resumed) != 0 || get_real(o, "seconds", &ev->seconds) != 0 ||
      get_real(o, "speed_Bps", &ev->speed_Bps) != 0 ||
      (path != NULL && (get_string(o, "path", ev->path, sizeof ev->path) != 0 || ev->path[0] == '\0')))
    return -EINVAL;
  return decode_peers(o, ev, 1);
}

static int decode_object(const cJSON *o, ls_event_t *ev) {
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "event");
  if (!cJSON_IsString(kind)) return -EINVAL;
  if (strcmp(kind->valuestring, "start") == 0) {
    ev->kind = LS_EVENT_START;
    return decode_start(o, ev);
  }
  if (strcmp(kind->valuestring, "progress") == 0) {
    ev->kind = LS_EVENT_PROGRESS;
    return decode_progress(o, ev);
  }
  if (strcmp(kind->valuestring, "end") == 0) {
    ev->kind = LS_EVENT_END;
    return decode_end(o, ev);
  }
  return -EINVAL;
}

int ls_events_decode(const char *line, size_t len, ls_event_t *ev) {
  memset(ev, 0, sizeof *ev);
  if (len > 0 && line[len - 1] == '\n') len--;
  cJSON *o = ls_json_parse_object(line, len, LS_EVENTS_LINE_MAX);
  int rc = o ? decode_object(o, ev) : -EINVAL;
  cJSON_Delete(o);
  return rc;
}
