#include "ls_announce.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_json.h"
#include "ls_manifest.h"

#define MAX_SAFE_INT 9007199254740991.0 /* 2^53 - 1: exact in a JSON number */

static int get_uint(const cJSON *obj, const char *key, double max, uint64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (!isfinite(d) || d < 0 || d > max || floor(d) != d) return -1;
  *out = (uint64_t)d;
  return 0;
}

static const char *get_string(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

int ls_announce_file_from_json(const void *json, ls_announce_file_t *f, const char **why) {
  const cJSON *o = json;
  uint64_t size, chunk;
  if (!cJSON_IsObject(o)) return *why = "file entry is not an object", -EINVAL;
  const char *name = get_string(o, "name");
  const char *root = get_string(o, "root");
  const cJSON *complete = cJSON_GetObjectItemCaseSensitive(o, "complete");
  if (name == NULL || !ls_name_valid(name, strlen(name))) return *why = "bad file name", -EINVAL;
  if (get_uint(o, "size", MAX_SAFE_INT, &size) != 0) return *why = "bad file size", -EINVAL;
  if (get_uint(o, "chunk", LS_CHUNK_MAX, &chunk) != 0 || !ls_chunk_size_valid((uint32_t)chunk))
    return *why = "bad chunk size", -EINVAL;
  int ok;
  ls_manifest_count(size, (uint32_t)chunk, &ok);
  if (!ok) return *why = "file too large for its chunk size", -EINVAL;
  if (root == NULL || ls_hash_from_hex(root, strlen(root), f->root) != 0) return *why = "bad root hash", -EINVAL;
  if (!cJSON_IsBool(complete)) return *why = "bad complete flag", -EINVAL;
  f->name = strdup(name);
  if (f->name == NULL) return *why = "out of memory", -ENOMEM;
  f->size = size;
  f->chunk_size = (uint32_t)chunk;
  f->complete = cJSON_IsTrue(complete);
  return 0;
}

int ls_announce_digest_valid(const char *s, size_t len) {
  if (len != LS_ANNOUNCE_DIGEST_HEX) return 0;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

/* "digest": absent (required 0) or 32 lowercase hex. 0 or -1. */
static int get_digest(const cJSON *obj, int required, char *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "digest");
  if (v == NULL) return required ? -1 : 0;
  if (!cJSON_IsString(v) || !ls_announce_digest_valid(v->valuestring, strlen(v->valuestring))) return -1;
  memcpy(out, v->valuestring, LS_ANNOUNCE_DIGEST_HEX + 1);
  return 0;
}

/* interval and seq, shared by pages and beats. */
static int get_round(const cJSON *root, ls_announce_t *a, const char **why) {
  uint64_t interval, seq;
  if (get_uint(root, "interval", 3600, &interval) != 0 || interval < 1) return *why = "bad interval", -EINVAL;
  if (get_uint(root, "seq", 4294967295.0, &seq) != 0) return *why = "bad seq", -EINVAL;
  a->interval = (uint32_t)interval;
  a->seq = (uint32_t)seq;
  return 0;
}

static int decode_beat(const cJSON *root, ls_announce_t *a, const char **why) {
  uint64_t nfiles;
  a->type = LS_ANNOUNCE_BEAT;
  if (get_round(root, a, why) != 0) return -EINVAL;
  if (get_digest(root, 1, a->digest) != 0) return *why = "bad digest", -EINVAL;
  if (get_uint(root, "files", 4294967295.0, &nfiles) != 0) return *why = "bad files count", -EINVAL;
  a->beat_files = (uint32_t)nfiles;
  a->pages = 1;
  return 0;
}

static int decode_pages(const cJSON *root, ls_announce_t *a, const char **why) {
  uint64_t page, pages;
  a->type = LS_ANNOUNCE_FILES;
  if (get_round(root, a, why) != 0) return -EINVAL;
  if (get_uint(root, "pages", LS_ANNOUNCE_MAX_PAGES, &pages) != 0 || pages < 1) return *why = "bad pages", -EINVAL;
  if (get_uint(root, "page", LS_ANNOUNCE_MAX_PAGES, &page) != 0 || page >= pages) return *why = "bad page", -EINVAL;
  if (get_digest(root, 0, a->digest) != 0) return *why = "bad digest", -EINVAL;
  a->page = (uint32_t)page;
  a->pages = (uint32_t)pages;
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
  if (!cJSON_IsArray(files)) return *why = "missing files", -EINVAL;
  int n = cJSON_GetArraySize(files);
  if (n > LS_ANNOUNCE_MAX_FILES_PER_PAGE) return *why = "too many files in one datagram", -EINVAL;
  if (n > 0 && (a->files = calloc((size_t)n, sizeof *a->files)) == NULL) return *why = "out of memory", -ENOMEM;
  const cJSON *f;
  cJSON_ArrayForEach(f, files) {
    int rc = ls_announce_file_from_json(f, &a->files[a->nfiles], why);
    if (rc != 0) return rc;
    a->nfiles++;
  }
  return 0;
}

int ls_announce_decode(ls_announce_t *a, const char *buf, size_t len, const char **why) {
  memset(a, 0, sizeof *a);
  *why = "";
  if (len == 0 || len > LS_ANNOUNCE_MAX_PAYLOAD) return *why = "bad datagram length", -EINVAL;
  if (memchr(buf, '\0', len) != NULL) return *why = "NUL byte in datagram", -EINVAL;
  if (ls_json_has_nul_escape(buf, len)) return *why = "NUL escape in a string", -EINVAL;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
  if (root == NULL) return *why = "not JSON", -EINVAL;
  int rc = -EINVAL;
  uint64_t v, port;
  const char *type, *tag;
  /* Nothing but whitespace may follow the object. */
  while (end != NULL && end < buf + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) end++;
  if (end != buf + len) { *why = "trailing bytes"; goto out; }
  if (!cJSON_IsObject(root)) { *why = "not an object"; goto out; }
  if (get_uint(root, "v", 1e9, &v) != 0 || v != LS_ANNOUNCE_VERSION) { *why = "unsupported version"; goto out; }
  type = get_string(root, "type");
  tag = get_string(root, "tag");
  if (type == NULL) { *why = "missing type"; goto out; }
  if (tag == NULL || !ls_tag_valid(tag, strlen(tag))) { *why = "bad tag"; goto out; }
  snprintf(a->tag, sizeof a->tag, "%s", tag);
  if (strcmp(type, "query") == 0) {
    a->type = LS_ANNOUNCE_QUERY;
    rc = 0;
    goto out;
  }
  if (get_uint(root, "port", 65535, &port) != 0 || port == 0) { *why = "bad port"; goto out; }
  a->port = (uint16_t)port;
  if (strcmp(type, "bye") == 0) {
    a->type = LS_ANNOUNCE_BYE;
    rc = 0;
    goto out;
  }
  if (strcmp(type, "beat") == 0) rc = decode_beat(root, a, why);
  else if (strcmp(type, "announce") == 0) rc = decode_pages(root, a, why);
  else *why = "unknown type";
out:
  cJSON_Delete(root);
  if (rc != 0) ls_announce_free(a);
  return rc;
}

void ls_announce_free(ls_announce_t *a) {
  for (size_t i = 0; i < a->nfiles; i++) free(a->files[i].name);
  free(a->files);
  a->files = NULL;
  a->nfiles = 0;
}

/* port 0: none (a query). */
static cJSON *header(const char *type, const char *tag, uint16_t port) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  cJSON_AddNumberToObject(o, "v", LS_ANNOUNCE_VERSION);
  cJSON_AddStringToObject(o, "type", type);
  cJSON_AddStringToObject(o, "tag", tag);
  if (port != 0) cJSON_AddNumberToObject(o, "port", port);
  return o;
}

/* Prints o into buf; returns the length, or -EMSGSIZE if it does not fit. */
static int print_into(cJSON *o, char *buf, size_t cap) {
  if (!cJSON_PrintPreallocated(o, buf, (int)cap, 0)) return -EMSGSIZE;
  size_t n = strlen(buf);
  return n > LS_ANNOUNCE_MAX_PAYLOAD ? -EMSGSIZE : (int)n;
}

static int fits(int n, size_t reserve) {
  return n < 0 ? n : ((size_t)n + reserve > LS_ANNOUNCE_MAX_PAYLOAD ? -EMSGSIZE : n);
}

int ls_announce_encode_bye(const char *tag, uint16_t port, char *buf, size_t cap) {
  cJSON *o = header("bye", tag, port);
  if (o == NULL) return -ENOMEM;
  int n = print_into(o, buf, cap);
  cJSON_Delete(o);
  return n;
}

int ls_announce_encode_query(const char *tag, char *buf, size_t cap) {
  cJSON *o = header("query", tag, 0);
  if (o == NULL) return -ENOMEM;
  int n = print_into(o, buf, cap);
  cJSON_Delete(o);
  return n;
}

void *ls_announce_file_to_json(const ls_announce_file_t *f) {
  char hex[LS_HASH_HEX_LEN + 1];
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  ls_hash_to_hex(f->root, hex);
  ls_json_add_str(o, "name", f->name);
  ls_json_add_uint(o, "size", f->size);
  ls_json_add_uint(o, "chunk", f->chunk_size);
  ls_json_add_str(o, "root", hex);
  cJSON_AddItemToObjectCS(o, "complete", cJSON_CreateBool(f->complete));
  return o;
}

static cJSON *page_object(const char *tag, uint16_t port, uint32_t interval, uint32_t seq, size_t page,
                          size_t pages, const char *digest) {
  cJSON *o = header("announce", tag, port);
  if (o == NULL) return NULL;
  cJSON_AddNumberToObject(o, "interval", interval);
  cJSON_AddNumberToObject(o, "seq", seq);
  cJSON_AddNumberToObject(o, "page", (double)page);
  cJSON_AddNumberToObject(o, "pages", (double)pages);
  if (digest != NULL) cJSON_AddStringToObject(o, "digest", digest);
  cJSON_AddArrayToObject(o, "files");
  return o;
}

int ls_announce_encode_beat(const char *tag, uint16_t port, uint32_t interval, uint32_t seq, const char *digest,
                            uint32_t nfiles, char *buf, size_t cap) {
  if (!ls_announce_digest_valid(digest, strlen(digest))) return -EINVAL;
  cJSON *o = header("beat", tag, port);
  if (o == NULL) return -ENOMEM;
  cJSON_AddNumberToObject(o, "interval", interval);
  cJSON_AddNumberToObject(o, "seq", seq);
  cJSON_AddStringToObject(o, "digest", digest);
  cJSON_AddNumberToObject(o, "files", nfiles);
  int n = print_into(o, buf, cap);
  cJSON_Delete(o);
  return n;
}

static int cmp_file_name(const void *a, const void *b) {
  const ls_announce_file_t *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

int ls_announce_digest(const ls_announce_file_t *files, size_t n, char *out_hex) {
  const ls_announce_file_t **sorted = malloc((n + 1) * sizeof *sorted);
  ls_sha256_t *ctx = ls_sha256_new();
  if (sorted == NULL || ctx == NULL) {
    free(sorted);
    if (ctx != NULL) ls_sha256_free(ctx);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) sorted[i] = &files[i];
  qsort(sorted, n, sizeof *sorted, cmp_file_name);
  for (size_t i = 0; i < n; i++) {
    char hex[LS_HASH_HEX_LEN + 1], tail[64];
    const ls_announce_file_t *f = sorted[i];
    ls_hash_to_hex(f->root, hex);
    int len = snprintf(tail, sizeof tail, "\t%llu\t%u\t%d\n", (unsigned long long)f->size, f->chunk_size,
                       f->complete ? 1 : 0);
    ls_sha256_update(ctx, f->name, strlen(f->name));
    ls_sha256_update(ctx, "\t", 1);
    ls_sha256_update(ctx, hex, LS_HASH_HEX_LEN);
    ls_sha256_update(ctx, tail, (size_t)len);
  }
  uint8_t sum[LS_HASH_LEN];
  ls_sha256_final(ctx, sum);
  ls_sha256_free(ctx);
  free(sorted);
  char full[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(sum, full);
  memcpy(out_hex, full, LS_ANNOUNCE_DIGEST_HEX);
  out_hex[LS_ANNOUNCE_DIGEST_HEX] = '\0';
  return 0;
}

int ls_announce_encode_pages(const char *tag, uint16_t port, uint32_t interval, uint32_t seq,
                             const ls_announce_file_t *files, size_t nfiles, ls_announce_emit_cb emit, void *ud,
                             size_t *skipped) {
  return ls_announce_encode_pages_r(tag, port, interval, seq, files, nfiles, 0, emit, ud, skipped);
}

int ls_announce_encode_pages_r(const char *tag, uint16_t port, uint32_t interval, uint32_t seq,
                               const ls_announce_file_t *files, size_t nfiles, size_t reserve, ls_announce_emit_cb emit,
                               void *ud, size_t *skipped) {
  return ls_announce_encode_pages_d(tag, port, interval, seq, files, nfiles, reserve, NULL, emit, ud, skipped);
}

int ls_announce_encode_pages_d(const char *tag, uint16_t port, uint32_t interval, uint32_t seq,
                               const ls_announce_file_t *files, size_t nfiles, size_t reserve, const char *digest,
                               ls_announce_emit_cb emit, void *ud, size_t *skipped) {
  char buf[LS_ANNOUNCE_MAX_PAYLOAD * 4];
  *skipped = 0;
  /* Pass 1: the printed size of every file entry, and the page each goes on.
   * The header is measured with the largest page numbers it could carry. */
  cJSON *probe = page_object(tag, port, interval, seq, LS_ANNOUNCE_MAX_PAGES - 1, LS_ANNOUNCE_MAX_PAGES, digest);
  if (probe == NULL) return -ENOMEM;
  int head = print_into(probe, buf, sizeof buf);
  cJSON_Delete(probe);
  if (head < 0) return head;
  if ((size_t)head + reserve >= LS_ANNOUNCE_MAX_PAYLOAD) return -EMSGSIZE;
  size_t budget = LS_ANNOUNCE_MAX_PAYLOAD - reserve - (size_t)head;
  uint32_t *page_of = malloc((nfiles + 1) * sizeof *page_of);
  if (page_of == NULL) return -ENOMEM;
  size_t pages = 0, used = 0, in_page = 0;
  for (size_t i = 0; i < nfiles; i++) {
    cJSON *fo = ls_announce_file_to_json(&files[i]);
    int flen = fo ? print_into(fo, buf, sizeof buf) : -ENOMEM;
    cJSON_Delete(fo);
    if (flen < 0 || (size_t)flen + 1 > budget) {
      page_of[i] = UINT32_MAX;
      (*skipped)++;
      continue;
    }
    if (pages == 0 || used + (size_t)flen + 1 > budget || in_page == LS_ANNOUNCE_MAX_FILES_PER_PAGE) {
      pages++;
      used = 0;
      in_page = 0;
    }
    used += (size_t)flen + 1;
    in_page++;
    page_of[i] = (uint32_t)(pages - 1);
  }
  if (pages == 0) pages = 1; /* an empty share still announces itself */
  if (pages > LS_ANNOUNCE_MAX_PAGES) {
    free(page_of);
    return -E2BIG;
  }
  /* Pass 2: print each page. */
  int rc = 0;
  size_t next = 0;
  for (size_t p = 0; p < pages && rc == 0; p++) {
    cJSON *o = page_object(tag, port, interval, seq, p, pages, digest);
    if (o == NULL) {
      rc = -ENOMEM;
      break;
    }
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "files");
    for (; next < nfiles && (page_of[next] == UINT32_MAX || page_of[next] == p); next++) {
      if (page_of[next] == UINT32_MAX) continue;
      cJSON *fo = ls_announce_file_to_json(&files[next]);
      if (fo == NULL || !cJSON_AddItemToArray(arr, fo)) {
        cJSON_Delete(fo);
        rc = -ENOMEM;
        break;
      }
    }
    int n = rc == 0 ? fits(print_into(o, buf, sizeof buf), reserve) : rc;
    cJSON_Delete(o);
    if (n < 0) rc = n;
    else rc = emit(ud, buf, (size_t)n);
  }
  free(page_of);
  return rc < 0 ? rc : (int)pages;
}
