#include "ls_lstatus.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_json.h"
#include "ls_util.h"

void ls_lstatus_path(const char *dir, char *buf, size_t len) {
  snprintf(buf, len, "%s/run/listener.status", dir);
}

static void add_sources(cJSON *o, const ls_lstatus_t *st) {
  cJSON *tags = cJSON_AddArrayToObject(o, "query_tags");
  for (size_t i = 0; i < st->nquery_tags && i < LS_LSTATUS_RECENT; i++)
    cJSON_AddItemToArray(tags, cJSON_CreateString(st->query_tags[i]));
  cJSON *key = cJSON_AddArrayToObject(o, "key_failures");
  for (size_t i = 0; i < st->nkey_failures && i < LS_LSTATUS_RECENT; i++) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "addr", st->key_failures[i].addr);
    cJSON_AddStringToObject(s, "tag", st->key_failures[i].tag);
    cJSON_AddItemToArray(key, s);
  }
}

int ls_lstatus_encode(const ls_lstatus_t *st, char **out, size_t *len) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "updated", (double)st->updated);
  cJSON_AddNumberToObject(o, "pid", (double)st->pid);
  cJSON_AddNumberToObject(o, "udp_port", st->udp_port);
  cJSON_AddNumberToObject(o, "datagrams", (double)st->datagrams);
  cJSON_AddNumberToObject(o, "rejected", (double)st->rejected);
  cJSON_AddNumberToObject(o, "rejected_key", (double)st->rejected_key);
  cJSON_AddNumberToObject(o, "queries", (double)st->queries);
  cJSON_AddNumberToObject(o, "answers", (double)st->answers);
  add_sources(o, st);
  return ls_json_print_line(o, out, len);
}

static int get_uint(const cJSON *o, const char *key, double max, uint64_t *out) {
  *out = 0;
  return cJSON_GetObjectItemCaseSensitive(o, key) == NULL ? 0 : ls_json_uint(o, key, max, out);
}

static void decode_sources(const cJSON *o, ls_lstatus_t *st) {
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "query_tags")) {
    const char *t = cJSON_GetStringValue(it);
    if (t == NULL || st->nquery_tags == LS_LSTATUS_RECENT || !ls_tag_valid(t, strlen(t))) continue;
    snprintf(st->query_tags[st->nquery_tags++], LS_TAG_MAX + 1, "%s", t);
  }
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "key_failures")) {
    const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "addr"));
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "tag"));
    if (a == NULL || t == NULL || strlen(a) >= LS_LSTATUS_ADDR_MAX || st->nkey_failures == LS_LSTATUS_RECENT) continue;
    if (t[0] != '\0' && !ls_tag_valid(t, strlen(t))) t = "";
    ls_lstatus_source_t *s = &st->key_failures[st->nkey_failures++];
    snprintf(s->addr, sizeof s->addr, "%s", a);
    snprintf(s->tag, sizeof s->tag, "%s", t);
  }
}

int ls_lstatus_decode(const char *text, size_t len, ls_lstatus_t *st) {
  memset(st, 0, sizeof *st);
  cJSON *o = ls_json_parse_object(text, len, LS_LSTATUS_MAX_BYTES);
  if (o == NULL) return -EINVAL;
  uint64_t updated, pid, port;
  const double big = 9007199254740991.0; /* 2^53 - 1 */
  int rc = get_uint(o, "updated", big, &updated) | get_uint(o, "pid", 4194304, &pid) |
           get_uint(o, "udp_port", 65535, &port) | get_uint(o, "datagrams", big, &st->datagrams) |
           get_uint(o, "rejected", big, &st->rejected) | get_uint(o, "rejected_key", big, &st->rejected_key) |
           get_uint(o, "queries", big, &st->queries) | get_uint(o, "answers", big, &st->answers);
  st->updated = (int64_t)updated;
  st->pid = (int64_t)pid;
  st->udp_port = (uint16_t)port;
  if (rc == 0) decode_sources(o, st);
  cJSON_Delete(o);
  return rc == 0 ? 0 : -EINVAL;
}

int ls_lstatus_read(const char *path, ls_lstatus_t *st) {
  uint8_t *data;
  size_t len;
  if (ls_read_file(path, LS_LSTATUS_MAX_BYTES, &data, &len) != 0) return -ENOENT;
  int rc = ls_lstatus_decode((const char *)data, len, st);
  free(data);
  return rc;
}
