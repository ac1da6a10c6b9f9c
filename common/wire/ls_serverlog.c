#include "ls_serverlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ls_serverlog_root_prefix(const uint8_t root[LS_HASH_LEN], ls_root_prefix_t out) {
  char hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(root, hex);
  memcpy(out, hex, LS_SERVERLOG_ROOT_PREFIX_LEN);
  out[LS_SERVERLOG_ROOT_PREFIX_LEN] = '\0';
}

int ls_serverlog_is_root_prefix(const char *s) {
  return strlen(s) == LS_SERVERLOG_ROOT_PREFIX_LEN && strspn(s, "0123456789abcdef") == LS_SERVERLOG_ROOT_PREFIX_LEN;
}

int ls_serverlog_encode(const ls_serverlog_t *rec, char *buf, size_t cap) {
  ls_logfmt_writer_t w;
  ls_logfmt_start(&w, buf, cap, rec->time);
  char peer[LS_NET_ENDPOINT_MAX];
  ls_net_endpoint_format(rec->addr, rec->port, peer, sizeof peer);
  ls_logfmt_add(&w, "peer", "%s", peer);
  ls_logfmt_add(&w, "start", "%s", rec->start);
  ls_logfmt_add(&w, "duration_ms", "%llu", (unsigned long long)rec->duration_ms);
  ls_logfmt_add(&w, "bytes", "%llu", (unsigned long long)rec->bytes);
  ls_logfmt_add(&w, "manifests", "%u", rec->manifests);
  ls_logfmt_add(&w, "chunks", "%u", rec->chunks);
  ls_logfmt_add(&w, "haves", "%u", rec->haves);
  ls_logfmt_add(&w, "errors", "%u", rec->errors);
  if (rec->nroots == 0) ls_logfmt_add(&w, "roots", "-");
  for (size_t i = 0; i < rec->nroots && i < LS_SERVERLOG_ROOTS_MAX; i++)
    ls_logfmt_add(&w, i == 0 ? "roots" : NULL, "%s%s", i == 0 ? "" : ",", rec->roots[i]);
  ls_logfmt_add(&w, "end", "%s", rec->end);
  return ls_logfmt_end(&w);
}

static int decode_roots(char *s, ls_serverlog_t *rec) {
  char *items[LS_SERVERLOG_ROOTS_MAX];
  if (ls_logfmt_list(s, items, LS_SERVERLOG_ROOTS_MAX, &rec->nroots) != 0) return -EINVAL;
  for (size_t i = 0; i < rec->nroots; i++) {
    if (!ls_serverlog_is_root_prefix(items[i])) return -EINVAL;
    memcpy(rec->roots[i], items[i], LS_SERVERLOG_ROOT_PREFIX_LEN + 1);
  }
  return 0;
}

static int copy_token(char *dst, size_t cap, const char *v, const char *allowed) {
  size_t n = strlen(v);
  if (n >= cap || strspn(v, allowed) != n) return -EINVAL;
  memcpy(dst, v, n + 1);
  return 0;
}

static int decode_u32(const char *v, uint32_t *out) {
  uint64_t x;
  if (ls_logfmt_u64(v, UINT32_MAX, &x) != 0) return -EINVAL;
  *out = (uint32_t)x;
  return 0;
}

static const char *const keys[] = {"peer",   "start",  "duration_ms", "bytes", "manifests",
                                   "chunks", "haves",  "errors",      "roots", "end"};
enum { K_PEER, K_START, K_DURATION, K_BYTES, K_MANIFESTS, K_CHUNKS, K_HAVES, K_ERRORS, K_ROOTS, K_END, K_COUNT };
static const ls_logfmt_keys_t line_keys = {keys, K_COUNT, 0, 1u << K_PEER};

#define WORD_CHARS "abcdefghijklmnopqrstuvwxyz-"

static int decode_field(void *r, int k, char *v) {
  ls_serverlog_t *rec = r;
  switch (k) {
    case K_PEER: return ls_logfmt_endpoint(v, rec->addr, &rec->port);
    case K_START: /* as the server wrote it: a bare token */
      if (strlen(v) >= sizeof rec->start) return -EINVAL;
      memcpy(rec->start, v, strlen(v) + 1);
      return 0;
    case K_DURATION: return ls_logfmt_u64(v, UINT64_MAX, &rec->duration_ms);
    case K_BYTES: return ls_logfmt_u64(v, UINT64_MAX, &rec->bytes);
    case K_MANIFESTS: return decode_u32(v, &rec->manifests);
    case K_CHUNKS: return decode_u32(v, &rec->chunks);
    case K_HAVES: return decode_u32(v, &rec->haves);
    case K_ERRORS: return decode_u32(v, &rec->errors);
    case K_ROOTS: return decode_roots(v, rec);
    case K_END: return copy_token(rec->end, sizeof rec->end, v, WORD_CHARS);
  }
  return -EINVAL;
}

int ls_serverlog_decode(const char *line, size_t len, ls_serverlog_t *rec) {
  memset(rec, 0, sizeof *rec);
  int rc = ls_logfmt_decode(line, len, rec->time, &line_keys, decode_field, rec);
  return rc == -ENOMEM ? rc : rc == 0 ? 0 : -EINVAL;
}
