#include "ls_srvstatus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_json.h"

static cJSON *conn_json(const ls_srvstatus_conn_t *c) {
  char peer[LS_NET_ENDPOINT_MAX];
  ls_net_endpoint_format(c->addr, c->port, peer, sizeof peer);
  cJSON *e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "peer", peer);
  cJSON_AddStringToObject(e, "start", c->start);
  cJSON_AddNumberToObject(e, "duration_ms", (double)c->duration_ms);
  cJSON_AddNumberToObject(e, "bytes", (double)c->bytes);
  cJSON_AddNumberToObject(e, "chunks", c->chunks);
  cJSON *roots = cJSON_AddArrayToObject(e, "roots");
  for (size_t i = 0; i < c->nroots && i < LS_SERVERLOG_ROOTS_MAX; i++)
    cJSON_AddItemToArray(roots, cJSON_CreateString(c->roots[i]));
  return e;
}

int ls_srvstatus_encode(const ls_srvstatus_t *st, char **out, size_t *len) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "updated", (double)st->updated);
  cJSON_AddNumberToObject(o, "pid", (double)st->pid);
  cJSON_AddNumberToObject(o, "port", st->port);
  cJSON_AddBoolToObject(o, "running", st->running);
  cJSON *arr = cJSON_AddArrayToObject(o, "connections");
  for (size_t i = 0; i < st->nconns; i++) cJSON_AddItemToArray(arr, conn_json(&st->conns[i]));
  return ls_json_print_line(o, out, len);
}

/* A number field: absent is 0; else an integer in [0, max]. */
static int get_uint(const cJSON *o, const char *key, double max, uint64_t *out) {
  *out = 0;
  return cJSON_GetObjectItemCaseSensitive(o, key) == NULL ? 0 : ls_json_uint(o, key, max, out);
}

static int decode_conn(const cJSON *c, ls_srvstatus_conn_t *out) {
  memset(out, 0, sizeof *out);
  const cJSON *peer = cJSON_GetObjectItemCaseSensitive(c, "peer");
  const cJSON *start = cJSON_GetObjectItemCaseSensitive(c, "start");
  uint64_t chunks;
  if (!cJSON_IsString(peer) || ls_logfmt_endpoint(peer->valuestring, out->addr, &out->port) != 0) return -EINVAL;
  if (cJSON_IsString(start) && strlen(start->valuestring) < sizeof out->start)
    memcpy(out->start, start->valuestring, strlen(start->valuestring) + 1);
  if (get_uint(c, "duration_ms", LS_JSON_INT_MAX, &out->duration_ms) != 0 ||
      get_uint(c, "bytes", LS_JSON_INT_MAX, &out->bytes) != 0 || get_uint(c, "chunks", UINT32_MAX, &chunks) != 0)
    return -EINVAL;
  out->chunks = (uint32_t)chunks;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(c, "roots")) {
    if (out->nroots == LS_SERVERLOG_ROOTS_MAX) break;
    if (cJSON_IsString(r) && ls_serverlog_is_root_prefix(r->valuestring))
      memcpy(out->roots[out->nroots++], r->valuestring, LS_SERVERLOG_ROOT_PREFIX_LEN + 1);
  }
  return 0;
}

static int decode_top(const cJSON *o, ls_srvstatus_t *st) {
  uint64_t updated, pid, port;
  const cJSON *running = cJSON_GetObjectItemCaseSensitive(o, "running");
  if (!cJSON_IsObject(o) || get_uint(o, "updated", LS_JSON_INT_MAX, &updated) != 0 ||
      get_uint(o, "pid", 4194304, &pid) != 0 || get_uint(o, "port", 65535, &port) != 0 ||
      (running != NULL && !cJSON_IsBool(running)))
    return -EINVAL;
  st->updated = (int64_t)updated;
  st->pid = (int64_t)pid;
  st->port = (uint16_t)port;
  st->running = cJSON_IsTrue(running);
  const cJSON *conns = cJSON_GetObjectItemCaseSensitive(o, "connections");
  if (conns != NULL && !cJSON_IsArray(conns)) return -EINVAL;
  int n = cJSON_GetArraySize(conns);
  if (n > LS_SRVSTATUS_CONNS_MAX) return -EINVAL;
  st->conns = calloc((size_t)n + 1, sizeof *st->conns);
  if (st->conns == NULL) return -ENOMEM;
  const cJSON *c;
  cJSON_ArrayForEach(c, conns) {
    if (decode_conn(c, &st->conns[st->nconns]) == 0) st->nconns++;
  }
  return 0;
}

int ls_srvstatus_decode(const char *text, size_t len, ls_srvstatus_t *st) {
  memset(st, 0, sizeof *st);
  cJSON *o = ls_json_parse_object(text, len, LS_SRVSTATUS_MAX_BYTES);
  int rc = o ? decode_top(o, st) : -EINVAL;
  cJSON_Delete(o);
  if (rc != 0) ls_srvstatus_free(st);
  return rc;
}

void ls_srvstatus_free(ls_srvstatus_t *st) {
  free(st->conns);
  st->conns = NULL;
  st->nconns = 0;
}
