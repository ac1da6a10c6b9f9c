#include "ls_clientlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ls_clientlog_encode(const ls_clientlog_t *rec, char *buf, size_t cap) {
  ls_logfmt_writer_t w;
  ls_logfmt_start(&w, buf, cap, rec->time);
  ls_logfmt_add_quoted(&w, "name", rec->name);
  ls_logfmt_add(&w, "root", "%s", rec->root);
  ls_logfmt_add(&w, "size", "%llu", (unsigned long long)rec->size);
  ls_logfmt_add(&w, "result", "%s", rec->result);
  ls_logfmt_add(&w, "duration_s", "%.3f", rec->duration_s);
  ls_logfmt_add(&w, "speed_Bps", "%.0f", rec->speed_Bps);
  ls_logfmt_add(&w, "fetched", "%llu", (unsigned long long)rec->fetched);
  ls_logfmt_add(&w, "resumed", "%llu", (unsigned long long)rec->resumed);
  if (rec->has_received) ls_logfmt_add(&w, "received", "%llu", (unsigned long long)rec->received);
  if (rec->npeers == 0) ls_logfmt_add(&w, "peers", "-");
  for (size_t i = 0; i < rec->npeers && i < LS_CLIENTLOG_PEERS_MAX; i++) {
    const ls_clientlog_peer_t *p = &rec->peers[i];
    char endpoint[LS_NET_ENDPOINT_MAX];
    ls_net_endpoint_format(p->addr, p->port, endpoint, sizeof endpoint);
    ls_logfmt_add(&w, i == 0 ? "peers" : NULL, "%s%s@%s=%llu", i == 0 ? "" : ",", p->tag, endpoint,
                  (unsigned long long)p->bytes);
  }
  ls_logfmt_add_quoted(&w, "message", rec->message);
  return ls_logfmt_end(&w);
}

/* "tag@a.b.c.d:port=bytes,..." (or tag@[v6]:port=bytes) or "-". */
static int decode_peers(char *s, ls_clientlog_t *rec) {
  char *items[LS_CLIENTLOG_PEERS_MAX];
  if (ls_logfmt_list(s, items, LS_CLIENTLOG_PEERS_MAX, &rec->npeers) != 0) return -EINVAL;
  for (size_t i = 0; i < rec->npeers; i++) {
    char *tag = items[i], *at = strchr(tag, '@'), *eq = at ? strchr(at, '=') : NULL;
    ls_clientlog_peer_t *p = &rec->peers[i];
    if (at == NULL || eq == NULL) return -EINVAL;
    *at = *eq = '\0';
    if (!ls_tag_valid(tag, strlen(tag)) || ls_logfmt_endpoint(at + 1, p->addr, &p->port) != 0 ||
        ls_logfmt_u64(eq + 1, UINT64_MAX, &p->bytes) != 0)
      return -EINVAL;
    memcpy(p->tag, tag, strlen(tag) + 1);
  }
  return 0;
}

static int is_word(const char *s) {
  if (*s == '\0' || strlen(s) >= LS_CLIENTLOG_WORD_MAX) return 0;
  return strspn(s, "abcdefghijklmnopqrstuvwxyz-") == strlen(s);
}

static const char *const keys[] = {"name",    "root",    "size",  "result",  "duration_s", "speed_Bps",
                                   "fetched", "resumed", "peers", "message", "received"};
enum {
  K_NAME, K_ROOT, K_SIZE, K_RESULT, K_DURATION, K_SPEED, K_FETCHED, K_RESUMED, K_PEERS, K_MESSAGE,
  K_RECEIVED, /* optional: lines written before it was added have none */
  K_COUNT
};
static const ls_logfmt_keys_t line_keys = {keys, K_COUNT, (1u << K_NAME) | (1u << K_MESSAGE),
                                           ((1u << K_COUNT) - 1) & ~(1u << K_RECEIVED)};

static int decode_field(void *r, int k, char *v) {
  ls_clientlog_t *rec = r;
  uint8_t root[LS_HASH_LEN];
  switch (k) {
    case K_NAME:
      if (!ls_name_valid(v, strlen(v))) return -EINVAL;
      memcpy(rec->name, v, strlen(v) + 1);
      return 0;
    case K_ROOT:
      if (strlen(v) != LS_HASH_HEX_LEN || ls_hash_from_hex(v, LS_HASH_HEX_LEN, root) != 0 ||
          strspn(v, "0123456789abcdef") != LS_HASH_HEX_LEN)
        return -EINVAL;
      memcpy(rec->root, v, LS_HASH_HEX_LEN + 1);
      return 0;
    case K_SIZE: return ls_logfmt_u64(v, UINT64_MAX, &rec->size);
    case K_RESULT:
      if (!is_word(v)) return -EINVAL;
      memcpy(rec->result, v, strlen(v) + 1);
      return 0;
    case K_DURATION: return ls_logfmt_decimal(v, &rec->duration_s);
    case K_SPEED: return ls_logfmt_decimal(v, &rec->speed_Bps);
    case K_FETCHED: return ls_logfmt_u64(v, UINT64_MAX, &rec->fetched);
    case K_RESUMED: return ls_logfmt_u64(v, UINT64_MAX, &rec->resumed);
    case K_RECEIVED:
      rec->has_received = 1;
      return ls_logfmt_u64(v, UINT64_MAX, &rec->received);
    case K_PEERS: return decode_peers(v, rec);
    case K_MESSAGE:
      if (strlen(v) >= sizeof rec->message) return -EINVAL;
      memcpy(rec->message, v, strlen(v) + 1);
      return 0;
  }
  return -EINVAL;
}

int ls_clientlog_decode(const char *line, size_t len, ls_clientlog_t *rec) {
  memset(rec, 0, sizeof *rec);
  int rc = ls_logfmt_decode(line, len, rec->time, &line_keys, decode_field, rec);
  return rc == -ENOMEM ? rc : rc == 0 ? 0 : -EINVAL;
}

int ls_clientlog_append(const char *path, const ls_clientlog_t *rec) {
  char *line = malloc(LS_LOGFMT_LINE_MAX + 1);
  if (line == NULL) return -ENOMEM;
  int n = ls_clientlog_encode(rec, line, LS_LOGFMT_LINE_MAX + 1);
  int rc = n < 0 ? n : 0;
  if (rc == 0) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) rc = -errno;
    else {
      if (write(fd, line, (size_t)n) != n) rc = -EIO;
      close(fd);
    }
  }
  free(line);
  return rc;
}
