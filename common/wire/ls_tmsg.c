#include "ls_tmsg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ls_json.h"

static const char *type_names[] = {NULL,    "register", "publish",   "unpublish", "lookup", "list",
                                   "ping",  "pong",     "bye",       "shutdown",  "ok",     "error",
                                   "entries", "challenge", "auth",   "auth_ok",   "subscribe"};
#define NTYPES (sizeof type_names / sizeof type_names[0])

const char *ls_tmsg_type_name(ls_tmsg_type_t t) {
  return (unsigned)t < NTYPES && type_names[t] ? type_names[t] : "?";
}

static int get_u32(const cJSON *o, const char *key, uint32_t max, uint32_t *out, int required) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (v == NULL) return required ? -EINVAL : 0;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > max ||
      floor(v->valuedouble) != v->valuedouble)
    return -EINVAL;
  *out = (uint32_t)v->valuedouble;
  return 0;
}

static const char *get_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

void ls_tmsg_free(ls_tmsg_t *m) {
  for (size_t i = 0; i < m->nfiles; i++) free(m->files[i].name);
  free(m->files);
  for (size_t i = 0; i < m->nnames; i++) free(m->names[i]);
  free(m->names);
  for (size_t i = 0; i < m->nentries; i++) free(m->entries[i].file.name);
  free(m->entries);
  free(m->name);
  memset(m, 0, sizeof *m);
}

static int decode_entry(const cJSON *o, ls_tentry_t *e, const char **why) {
  const char *host = get_str(o, "host"), *addr = get_str(o, "addr");
  uint32_t port = 0;
  unsigned char a4[4];
  if (host == NULL || !ls_tag_valid(host, strlen(host))) return *why = "bad host", -EINVAL;
  if (addr == NULL || strlen(addr) >= LS_ADDR_MAX || uv_inet_pton(AF_INET, addr, a4) != 0)
    return *why = "bad addr", -EINVAL;
  if (get_u32(o, "port", 65535, &port, 1) != 0 || port == 0) return *why = "bad port", -EINVAL;
  snprintf(e->host, sizeof e->host, "%s", host);
  snprintf(e->addr, sizeof e->addr, "%s", addr);
  e->port = (uint16_t)port;
  return ls_announce_file_from_json(o, &e->file, why);
}

/* ---------- decoding: one function per message type ----------
 * Each returns 0, or -EINVAL / -ENOMEM with a static reason in *why; the
 * caller frees what a failed one left in m. */

static int decode_register(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const char *host = get_str(o, "host");
  uint32_t port = 0;
  if (host == NULL || !ls_tag_valid(host, strlen(host))) return *why = "bad host name", -EINVAL;
  if (get_u32(o, "port", 65535, &port, 1) != 0 || port == 0) return *why = "bad port", -EINVAL;
  snprintf(m->host, sizeof m->host, "%s", host);
  m->port = (uint16_t)port;
  return 0;
}

static int decode_publish(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files");
  const cJSON *replace = cJSON_GetObjectItemCaseSensitive(o, "replace");
  if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) > LS_TMSG_MAX_FILES) return *why = "bad files", -EINVAL;
  if (replace != NULL && !cJSON_IsBool(replace)) return *why = "bad replace", -EINVAL;
  m->replace = cJSON_IsTrue(replace);
  m->files = calloc((size_t)cJSON_GetArraySize(files) + 1, sizeof *m->files);
  if (m->files == NULL) return *why = "out of memory", -ENOMEM;
  const cJSON *f;
  cJSON_ArrayForEach(f, files) {
    if (ls_announce_file_from_json(f, &m->files[m->nfiles], why) != 0) return -EINVAL;
    m->nfiles++;
  }
  return 0;
}

static int decode_unpublish(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const cJSON *names = cJSON_GetObjectItemCaseSensitive(o, "names");
  if (!cJSON_IsArray(names) || cJSON_GetArraySize(names) > LS_TMSG_MAX_FILES) return *why = "bad names", -EINVAL;
  m->names = calloc((size_t)cJSON_GetArraySize(names) + 1, sizeof *m->names);
  if (m->names == NULL) return *why = "out of memory", -ENOMEM;
  const cJSON *n;
  cJSON_ArrayForEach(n, names) {
    if (!cJSON_IsString(n) || !ls_name_valid(n->valuestring, strlen(n->valuestring))) return *why = "bad name", -EINVAL;
    if ((m->names[m->nnames] = strdup(n->valuestring)) == NULL) return *why = "out of memory", -ENOMEM;
    m->nnames++;
  }
  return 0;
}

static int decode_lookup(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const char *name = get_str(o, "name"), *root = get_str(o, "root");
  if ((name == NULL) == (root == NULL)) return *why = "lookup needs a name or a root", -EINVAL;
  if (name != NULL) {
    if (!ls_name_valid(name, strlen(name))) return *why = "bad name", -EINVAL;
    if ((m->name = strdup(name)) == NULL) return *why = "out of memory", -ENOMEM;
    return 0;
  }
  if (ls_hash_from_hex(root, strlen(root), m->root) != 0) return *why = "bad root", -EINVAL;
  m->has_root = 1;
  return 0;
}

static int decode_list(const cJSON *o, ls_tmsg_t *m, const char **why) {
  m->limit = LS_TMSG_MAX_FILES;
  if (get_u32(o, "offset", UINT32_MAX, &m->offset, 0) != 0 || get_u32(o, "limit", LS_TMSG_MAX_FILES, &m->limit, 0) != 0)
    return *why = "bad offset or limit", -EINVAL;
  return 0;
}

static int decode_error(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const char *reason = get_str(o, "reason");
  uint32_t code = 0;
  if (get_u32(o, "code", 1000, &code, 1) != 0) return *why = "bad code", -EINVAL;
  m->code = (int)code;
  /* Text from the network is shown to people: printable ASCII only. */
  size_t k = 0;
  for (const char *c = reason ? reason : ""; *c && k + 1 < sizeof m->reason; c++)
    m->reason[k++] = (*c >= 0x20 && *c < 0x7F) ? *c : '?';
  m->reason[k] = '\0';
  return 0;
}

static int decode_entries(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const cJSON *entries = cJSON_GetObjectItemCaseSensitive(o, "entries");
  if (!cJSON_IsArray(entries) || cJSON_GetArraySize(entries) > LS_TMSG_MAX_FILES) return *why = "bad entries", -EINVAL;
  if (get_u32(o, "total", UINT32_MAX, &m->total, 0) != 0 || get_u32(o, "offset", UINT32_MAX, &m->offset, 0) != 0)
    return *why = "bad total or offset", -EINVAL;
  m->entries = calloc((size_t)cJSON_GetArraySize(entries) + 1, sizeof *m->entries);
  if (m->entries == NULL) return *why = "out of memory", -ENOMEM;
  const cJSON *e;
  cJSON_ArrayForEach(e, entries) {
    if (decode_entry(e, &m->entries[m->nentries], why) != 0) return -EINVAL;
    m->nentries++;
  }
  return 0;
}

/* CHALLENGE (nonce), AUTH (nonce, mac), AUTH_OK (mac). */
static int decode_auth(const cJSON *o, ls_tmsg_t *m, const char **why) {
  const char *nonce = get_str(o, "nonce"), *mac = get_str(o, "mac");
  if (m->type != LS_TMSG_AUTH_OK && (nonce == NULL || ls_hash_from_hex(nonce, strlen(nonce), m->nonce) != 0))
    return *why = "bad nonce", -EINVAL;
  if (m->type != LS_TMSG_CHALLENGE && (mac == NULL || ls_hash_from_hex(mac, strlen(mac), m->mac) != 0))
    return *why = "bad mac", -EINVAL;
  return 0;
}

/* The fields every message has: v, id, type. */
static int decode_common(const cJSON *o, ls_tmsg_t *m, const char **why) {
  uint32_t v = 0;
  const char *type = get_str(o, "type");
  if (!cJSON_IsObject(o)) return *why = "not an object", -EINVAL;
  if (get_u32(o, "v", 1000, &v, 1) != 0 || v != LS_TMSG_VERSION) return *why = "unsupported version", -EINVAL;
  if (get_u32(o, "id", UINT32_MAX, &m->id, 0) != 0) return *why = "bad id", -EINVAL;
  m->type = 0;
  for (size_t i = 1; type != NULL && i < NTYPES; i++)
    if (strcmp(type, type_names[i]) == 0) m->type = (ls_tmsg_type_t)i;
  if (m->type == 0) return *why = "unknown type", -EINVAL;
  return 0;
}

static int decode_body(const cJSON *o, ls_tmsg_t *m, const char **why) {
  switch (m->type) {
    case LS_TMSG_REGISTER: return decode_register(o, m, why);
    case LS_TMSG_PUBLISH: return decode_publish(o, m, why);
    case LS_TMSG_UNPUBLISH: return decode_unpublish(o, m, why);
    case LS_TMSG_LOOKUP: return decode_lookup(o, m, why);
    case LS_TMSG_LIST: return decode_list(o, m, why);
    case LS_TMSG_ERROR: return decode_error(o, m, why);
    case LS_TMSG_ENTRIES: return decode_entries(o, m, why);
    case LS_TMSG_CHALLENGE:
    case LS_TMSG_AUTH:
    case LS_TMSG_AUTH_OK: return decode_auth(o, m, why);
    default: return 0; /* PING, PONG, BYE, SHUTDOWN, OK, SUBSCRIBE: nothing more */
  }
}

int ls_tmsg_decode(ls_tmsg_t *m, const char *json, size_t len, const char **why) {
  memset(m, 0, sizeof *m);
  *why = "";
  if (len == 0 || len > LS_TMSG_MAX || memchr(json, '\0', len) != NULL) return *why = "bad length", -EINVAL;
  if (ls_json_has_nul_escape(json, len)) return *why = "NUL escape in a string", -EINVAL;
  cJSON *o = cJSON_ParseWithLength(json, len);
  if (o == NULL) return *why = "not JSON", -EINVAL;
  int rc = decode_common(o, m, why);
  if (rc == 0) rc = decode_body(o, m, why);
  cJSON_Delete(o);
  if (rc != 0) ls_tmsg_free(m);
  return rc;
}

/* ---------- encoding ---------- */

static void encode_files(cJSON *o, const ls_tmsg_t *m) {
  cJSON_AddBoolToObject(o, "replace", m->replace);
  cJSON *arr = cJSON_AddArrayToObject(o, "files");
  for (size_t i = 0; i < m->nfiles; i++) cJSON_AddItemToArray(arr, ls_announce_file_to_json(&m->files[i]));
}

static void encode_names(cJSON *o, const ls_tmsg_t *m) {
  cJSON *arr = cJSON_AddArrayToObject(o, "names");
  for (size_t i = 0; i < m->nnames; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(m->names[i]));
}

static void encode_lookup(cJSON *o, const ls_tmsg_t *m) {
  char hex[LS_HASH_HEX_LEN + 1];
  if (m->has_root) {
    ls_hash_to_hex(m->root, hex);
    cJSON_AddStringToObject(o, "root", hex);
  } else {
    cJSON_AddStringToObject(o, "name", m->name ? m->name : "");
  }
}

static void encode_entries(cJSON *o, const ls_tmsg_t *m) {
  ls_json_add_uint(o, "total", m->total);
  ls_json_add_uint(o, "offset", m->offset);
  cJSON *arr = cJSON_AddArrayToObject(o, "entries");
  for (size_t i = 0; i < m->nentries; i++) {
    cJSON *e = ls_announce_file_to_json(&m->entries[i].file);
    ls_json_add_str(e, "host", m->entries[i].host);
    ls_json_add_str(e, "addr", m->entries[i].addr);
    ls_json_add_uint(e, "port", m->entries[i].port);
    cJSON_AddItemToArray(arr, e);
  }
}

static void encode_auth(cJSON *o, const ls_tmsg_t *m) {
  char hex[LS_HASH_HEX_LEN + 1];
  if (m->type != LS_TMSG_AUTH_OK) {
    ls_hash_to_hex(m->nonce, hex);
    cJSON_AddStringToObject(o, "nonce", hex);
  }
  if (m->type != LS_TMSG_CHALLENGE) {
    ls_hash_to_hex(m->mac, hex);
    cJSON_AddStringToObject(o, "mac", hex);
  }
}

static void encode_body(cJSON *o, const ls_tmsg_t *m) {
  switch (m->type) {
    case LS_TMSG_REGISTER:
      cJSON_AddStringToObject(o, "host", m->host);
      cJSON_AddNumberToObject(o, "port", m->port);
      break;
    case LS_TMSG_PUBLISH: encode_files(o, m); break;
    case LS_TMSG_UNPUBLISH: encode_names(o, m); break;
    case LS_TMSG_LOOKUP: encode_lookup(o, m); break;
    case LS_TMSG_LIST:
      cJSON_AddNumberToObject(o, "offset", m->offset);
      cJSON_AddNumberToObject(o, "limit", m->limit);
      break;
    case LS_TMSG_ERROR:
      cJSON_AddNumberToObject(o, "code", m->code);
      cJSON_AddStringToObject(o, "reason", m->reason);
      break;
    case LS_TMSG_ENTRIES: encode_entries(o, m); break;
    case LS_TMSG_CHALLENGE:
    case LS_TMSG_AUTH:
    case LS_TMSG_AUTH_OK: encode_auth(o, m); break;
    default: break;
  }
}

#define ENCODE_SCRATCH 65536

/* The frame: u32 big-endian length, then the JSON text. */
static int frame_text(char *text, uint8_t **frame, size_t *len) {
  size_t n = strlen(text);
  if (n > LS_TMSG_MAX) return -EMSGSIZE;
  uint8_t *buf = malloc(n + 4);
  if (buf == NULL) return -ENOMEM;
  buf[0] = (uint8_t)(n >> 24); buf[1] = (uint8_t)(n >> 16); buf[2] = (uint8_t)(n >> 8); buf[3] = (uint8_t)n;
  memcpy(buf + 4, text, n);
  *frame = buf;
  *len = n + 4;
  return 0;
}

int ls_tmsg_encode(const ls_tmsg_t *m, uint8_t **frame, size_t *len) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return -ENOMEM;
  ls_json_add_uint(o, "v", LS_TMSG_VERSION);
  ls_json_add_str(o, "type", ls_tmsg_type_name(m->type));
  ls_json_add_uint(o, "id", m->id);
  encode_body(o, m);
  /* Most messages fit the thread's scratch buffer: printed there, copied once
   * into the frame, without the growing and copying of cJSON_Print. */
  static _Thread_local char scratch[ENCODE_SCRATCH];
  if (cJSON_PrintPreallocated(o, scratch, sizeof scratch, 0)) {
    cJSON_Delete(o);
    return frame_text(scratch, frame, len);
  }
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (text == NULL) return -ENOMEM;
  int rc = frame_text(text, frame, len);
  free(text);
  return rc;
}

void ls_tmsg_reader_init(ls_tmsg_reader_t *r) {
  memset(r, 0, sizeof *r);
}

void ls_tmsg_reader_close(ls_tmsg_reader_t *r) {
  free(r->body);
  r->body = NULL;
}

int ls_tmsg_reader_feed(ls_tmsg_reader_t *r, const uint8_t *data, size_t len, ls_tmsg_frame_cb cb, void *ud) {
  while (len > 0) {
    if (r->have_len < 4) {
      size_t take = 4 - r->have_len < len ? 4 - r->have_len : len;
      memcpy(r->len_buf + r->have_len, data, take);
      r->have_len += take;
      data += take;
      len -= take;
      if (r->have_len < 4) return 0;
      r->body_len = (size_t)r->len_buf[0] << 24 | (size_t)r->len_buf[1] << 16 | (size_t)r->len_buf[2] << 8 | r->len_buf[3];
      if (r->body_len == 0 || r->body_len > LS_TMSG_MAX) return -EMSGSIZE;
      r->have_body = 0;
      r->body_cap = 0;
      if (len == 0) return 0;
    }
    size_t take = r->body_len - r->have_body < len ? r->body_len - r->have_body : len;
    /* Memory follows the bytes that arrived, not the length a peer claims. */
    if (r->have_body + take > r->body_cap) {
      size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
      while (cap < r->have_body + take) cap *= 2;
      if (cap > r->body_len) cap = r->body_len;
      char *nb = realloc(r->body, cap);
      if (nb == NULL) return -ENOMEM;
      r->body = nb;
      r->body_cap = cap;
    }
    memcpy(r->body + r->have_body, data, take);
    r->have_body += take;
    data += take;
    len -= take;
    if (r->have_body == r->body_len) {
      int rc = cb(ud, r->body, r->body_len);
      free(r->body);
      r->body = NULL;
      r->have_len = 0;
      if (rc != 0) return rc;
    }
  }
  return 0;
}
