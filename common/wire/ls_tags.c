#include "ls_tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ls_manifest.h"
#include "ls_net.h"
#include "ls_util.h"

#define NFIELDS 8

int ls_tags_parse_endpoint(const char *text, size_t len, char addr[LS_ADDR_MAX], uint16_t *port) {
  return ls_net_endpoint_parse(text, len, addr, LS_ADDR_MAX, port);
}

int ls_tags_parse_line(const char *line, size_t len, ls_tag_entry_t *e) {
  const char *field[NFIELDS];
  size_t flen[NFIELDS];
  size_t f = 0, start = 0;
  memset(e, 0, sizeof *e);
  if (len == 0 || line[0] == '#') return -EINVAL;
  /* The first seven fields are TAB-terminated; the name is the rest. */
  for (size_t i = 0; i < len && f < NFIELDS - 1; i++) {
    if (line[i] == '\t') {
      field[f] = line + start;
      flen[f++] = i - start;
      start = i + 1;
    }
  }
  if (f != NFIELDS - 1) return -EINVAL;
  field[f] = line + start;
  flen[f] = len - start;

  char tmp[64];
  uint64_t v;
  if (!ls_tag_valid(field[0], flen[0])) return -EINVAL;
  memcpy(e->tag, field[0], flen[0]);
  e->tag[flen[0]] = '\0';

  if (ls_net_endpoint_parse(field[1], flen[1], e->addr, sizeof e->addr, &e->port) != 0) return -EINVAL;

  if (ls_hash_from_hex(field[2], flen[2], e->root) != 0) return -EINVAL;
  for (int k = 3; k <= 4; k++) {
    if (flen[k] == 0 || flen[k] >= sizeof tmp) return -EINVAL;
    memcpy(tmp, field[k], flen[k]);
    tmp[flen[k]] = '\0';
    if (ls_parse_u64(tmp, 0, k == 3 ? UINT64_MAX : LS_CHUNK_MAX, &v) != 0) return -EINVAL;
    if (k == 3) e->size = v;
    else e->chunk_size = (uint32_t)v;
  }
  int ok;
  ls_manifest_count(e->size, e->chunk_size, &ok);
  if (!ok) return -EINVAL;
  if (flen[5] == 8 && memcmp(field[5], "complete", 8) == 0) e->complete = 1;
  else if (flen[5] == 7 && memcmp(field[5], "partial", 7) == 0) e->complete = 0;
  else return -EINVAL;
  if (flen[6] == 0 || flen[6] >= sizeof tmp) return -EINVAL;
  memcpy(tmp, field[6], flen[6]);
  tmp[flen[6]] = '\0';
  if (ls_parse_u64(tmp, 0, INT64_MAX, &v) != 0) return -EINVAL;
  e->last_seen = (int64_t)v;
  if (!ls_name_valid(field[7], flen[7])) return -EINVAL;
  e->name = malloc(flen[7] + 1);
  if (e->name == NULL) return -ENOMEM;
  memcpy(e->name, field[7], flen[7]);
  e->name[flen[7]] = '\0';
  return 0;
}

int ls_tags_format_line(const ls_tag_entry_t *e, char *buf, size_t cap) {
  char hex[LS_HASH_HEX_LEN + 1], endpoint[LS_NET_ENDPOINT_MAX];
  ls_hash_to_hex(e->root, hex);
  if (ls_net_endpoint_format(e->addr, e->port, endpoint, sizeof endpoint) < 0) return -ENOSPC;
  int n = snprintf(buf, cap, "%s\t%s\t%s\t%llu\t%u\t%s\t%lld\t%s\n", e->tag, endpoint, hex,
                   (unsigned long long)e->size, (unsigned)e->chunk_size, e->complete ? "complete" : "partial",
                   (long long)e->last_seen, e->name);
  if (n < 0 || (size_t)n >= cap) return -ENOSPC;
  return n;
}

const char *ls_tags_read_error(int rc) {
  switch (rc) {
    case -EFBIG: return "it is over 256 MiB, more than a reader takes (a listener keeps it within tags_max_bytes: "
                        "was it written by something else?)";
    case -EACCES: return "this user may not read it (check its owner and mode)";
    case -EISDIR: return "it is a folder, not the listener's file";
    case -ENOMEM: return "not enough memory to read it";
    default: return strerror(-rc);
  }
}

int ls_tags_read(const char *path, ls_tag_entry_t **out, size_t *n, size_t *bad) {
  uint8_t *data;
  size_t len;
  *out = NULL;
  *n = 0;
  if (bad != NULL) *bad = 0;
  int rc = ls_read_file(path, LS_TAGS_MAX_BYTES, &data, &len);
  if (rc == -ENOENT) return 0;
  if (rc != 0) return rc;
  size_t cap = 0;
  ls_tag_entry_t *entries = NULL;
  const char *p = (const char *)data, *end = p + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t llen = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (llen > 0 && p[0] != '#') {
      ls_tag_entry_t e;
      if (ls_tags_parse_line(p, llen, &e) == 0) {
        if (*n == cap) {
          cap = cap ? cap * 2 : 64;
          ls_tag_entry_t *ne = realloc(entries, cap * sizeof *ne);
          if (ne == NULL) {
            free(e.name);
            ls_tags_free(entries, *n);
            free(data);
            *n = 0;
            return -ENOMEM;
          }
          entries = ne;
        }
        entries[(*n)++] = e;
      } else if (bad != NULL) {
        free(e.name);
        (*bad)++;
      } else {
        free(e.name);
      }
    }
    p += llen + 1;
  }
  free(data);
  *out = entries;
  return 0;
}

int ls_tags_render(const ls_tag_entry_t *entries, size_t n, char **out, size_t *len) {
  size_t cap = strlen(LS_TAGS_HEADER) + 1;
  for (size_t i = 0; i < n; i++) cap += 300 + strlen(entries[i].name);
  char *buf = malloc(cap);
  if (buf == NULL) return -ENOMEM;
  size_t used = (size_t)snprintf(buf, cap, "%s", LS_TAGS_HEADER);
  for (size_t i = 0; i < n; i++) {
    int w = ls_tags_format_line(&entries[i], buf + used, cap - used);
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

int ls_tags_write(const char *path, const ls_tag_entry_t *entries, size_t n) {
  char *buf;
  size_t len;
  int rc = ls_tags_render(entries, n, &buf, &len);
  if (rc != 0) return rc;
  rc = ls_write_file_atomic(path, buf, len, 0);
  free(buf);
  return rc;
}

void ls_tags_free(ls_tag_entry_t *entries, size_t n) {
  for (size_t i = 0; i < n; i++) free(entries[i].name);
  free(entries);
}
