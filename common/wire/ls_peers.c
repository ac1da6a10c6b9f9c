#include "ls_peers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

#define NFIELDS 8

static const char *const how_names[] = {"broadcast", "multicast", "unicast", "tracker"};
#define NHOW (sizeof how_names / sizeof how_names[0])

int ls_how_format(unsigned how, char *buf, size_t cap) {
  if (how == 0 || (how & ~LS_HOW_ALL) != 0) return -EINVAL;
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < NHOW; i++) {
    if (!(how & (1u << i))) continue;
    int w = snprintf(buf + used, cap - used, "%s%s", used ? "," : "", how_names[i]);
    if (w < 0 || (size_t)w >= cap - used) return -ENOSPC;
    used += (size_t)w;
  }
  return (int)used;
}

int ls_how_parse(const char *text, size_t len, unsigned *how) {
  *how = 0;
  size_t at = 0;
  while (at <= len) {
    const char *comma = memchr(text + at, ',', len - at);
    size_t wlen = comma ? (size_t)(comma - (text + at)) : len - at;
    unsigned bit = 0;
    for (size_t i = 0; i < NHOW && bit == 0; i++)
      if (strlen(how_names[i]) == wlen && memcmp(how_names[i], text + at, wlen) == 0) bit = 1u << i;
    if (bit == 0 || (*how & bit)) return -EINVAL;
    *how |= bit;
    at += wlen + 1;
  }
  return 0;
}

/* A decimal field within [min, max]. */
static int number(const char *f, size_t len, uint64_t min, uint64_t max, uint64_t *out) {
  char tmp[24];
  if (len == 0 || len >= sizeof tmp) return -EINVAL;
  memcpy(tmp, f, len);
  tmp[len] = '\0';
  return ls_parse_u64(tmp, min, max, out);
}

static int digest_field(const char *f, size_t len, char digest[LS_DIGEST_HEX_LEN + 1]) {
  digest[0] = '\0';
  if (len == 1 && f[0] == '-') return 0;
  if (len != LS_DIGEST_HEX_LEN) return -EINVAL;
  for (size_t i = 0; i < len; i++)
    if (!((f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f'))) return -EINVAL;
  memcpy(digest, f, len);
  digest[len] = '\0';
  return 0;
}

int ls_peers_parse_line(const char *line, size_t len, ls_peer_entry_t *e) {
  const char *field[NFIELDS];
  size_t flen[NFIELDS], f = 0, start = 0;
  memset(e, 0, sizeof *e);
  if (len == 0 || len >= LS_PEERS_LINE_MAX || line[0] == '#' || memchr(line, '\0', len) != NULL) return -EINVAL;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && line[i] != '\t') continue;
    if (f == NFIELDS) return -EINVAL;
    field[f] = line + start;
    flen[f++] = i - start;
    start = i + 1;
  }
  if (f != NFIELDS) return -EINVAL;
  uint64_t first, last, interval, files;
  if (!ls_tag_valid(field[0], flen[0])) return -EINVAL;
  memcpy(e->tag, field[0], flen[0]);
  e->tag[flen[0]] = '\0';
  if (ls_tags_parse_endpoint(field[1], flen[1], e->addr, &e->port) != 0) return -EINVAL;
  if (ls_how_parse(field[2], flen[2], &e->how) != 0) return -EINVAL;
  if (number(field[3], flen[3], 0, INT64_MAX, &first) != 0 || number(field[4], flen[4], 0, INT64_MAX, &last) != 0)
    return -EINVAL;
  if (number(field[5], flen[5], 1, 3600, &interval) != 0) return -EINVAL;
  if (number(field[6], flen[6], 0, UINT32_MAX, &files) != 0) return -EINVAL;
  if (digest_field(field[7], flen[7], e->digest) != 0) return -EINVAL;
  e->first_seen = (int64_t)first;
  e->last_seen = (int64_t)last;
  e->interval = (uint32_t)interval;
  e->files = (uint32_t)files;
  return 0;
}

int ls_peers_format_line(const ls_peer_entry_t *e, char *buf, size_t cap) {
  char how[64];
  if (ls_how_format(e->how, how, sizeof how) < 0) return -EINVAL;
  int n = snprintf(buf, cap, "%s\t%s:%u\t%s\t%lld\t%lld\t%u\t%u\t%s\n", e->tag, e->addr, (unsigned)e->port, how,
                   (long long)e->first_seen, (long long)e->last_seen, (unsigned)e->interval, (unsigned)e->files,
                   e->digest[0] ? e->digest : "-");
  if (n < 0 || (size_t)n >= cap) return -ENOSPC;
  return n;
}

int ls_peers_render(const ls_peer_entry_t *entries, size_t n, char **out, size_t *len) {
  size_t cap = strlen(LS_PEERS_HEADER) + n * LS_PEERS_LINE_MAX + 1;
  char *buf = malloc(cap);
  if (buf == NULL) return -ENOMEM;
  size_t used = (size_t)snprintf(buf, cap, "%s", LS_PEERS_HEADER);
  for (size_t i = 0; i < n; i++) {
    int w = ls_peers_format_line(&entries[i], buf + used, cap - used);
    if (w < 0) {
      free(buf);
      return w;
    }
    used += (size_t)w;
  }
  *out = buf;
  *len = used;
  return 0;
}

int ls_peers_parse(const char *text, size_t len, ls_peer_entry_t **out, size_t *n, size_t *bad) {
  size_t cap = 0, nbad = 0;
  ls_peer_entry_t *v = NULL;
  *out = NULL;
  *n = 0;
  for (const char *p = text, *end = text + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t llen = nl ? (size_t)(nl - p) : (size_t)(end - p);
    ls_peer_entry_t e;
    if (llen == 0 || p[0] == '#') {
      /* a comment or a blank line */
    } else if (*n >= LS_PEERS_MAX || ls_peers_parse_line(p, llen, &e) != 0) {
      nbad++;
    } else {
      if (*n == cap) {
        cap = cap ? cap * 2 : 16;
        ls_peer_entry_t *nv = realloc(v, cap * sizeof *nv);
        if (nv == NULL) {
          free(v);
          *n = 0;
          return -ENOMEM;
        }
        v = nv;
      }
      v[(*n)++] = e;
    }
    p += llen + 1;
  }
  if (bad != NULL) *bad = nbad;
  *out = v;
  return 0;
}

int ls_peers_read(const char *path, ls_peer_entry_t **out, size_t *n, size_t *bad) {
  uint8_t *data;
  size_t len;
  *out = NULL;
  *n = 0;
  if (bad != NULL) *bad = 0;
  int rc = ls_read_file(path, LS_PEERS_MAX_BYTES, &data, &len);
  if (rc == -ENOENT) return 0;
  if (rc != 0) return rc;
  rc = ls_peers_parse((const char *)data, len, out, n, bad);
  free(data);
  return rc;
}
