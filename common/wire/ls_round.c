#include "ls_round.h"

#include <errno.h>
#include <string.h>

int ls_round_add(ls_round_t *r, const void *datagram, size_t len) {
  if (len == 0 || len > LS_ANNOUNCE_MAX_PAYLOAD) return -EMSGSIZE;
  if (r->n >= LS_ROUND_MAX_DATAGRAMS) return -ENOSPC;
  memcpy(r->data[r->n], datagram, len);
  r->len[r->n++] = len;
  return 0;
}

int ls_round_render(const ls_round_t *r, uint8_t *buf, size_t cap) {
  if (r->n == 0 || r->n > LS_ROUND_MAX_DATAGRAMS) return -EINVAL;
  size_t used = 0;
  for (size_t i = 0; i < r->n; i++) {
    size_t len = r->len[i];
    if (len == 0 || len > LS_ANNOUNCE_MAX_PAYLOAD) return -EINVAL;
    if (cap - used < 2 + len) return -ENOSPC;
    buf[used] = (uint8_t)(len >> 8);
    buf[used + 1] = (uint8_t)len;
    memcpy(buf + used + 2, r->data[i], len);
    used += 2 + len;
  }
  return (int)used;
}

int ls_round_parse(const uint8_t *buf, size_t len, ls_round_t *r) {
  r->n = 0;
  size_t at = 0;
  while (at < len) {
    if (len - at < 2) return -EINVAL;
    size_t dlen = (size_t)buf[at] << 8 | buf[at + 1];
    at += 2;
    if (dlen > len - at || ls_round_add(r, buf + at, dlen) != 0) return -EINVAL;
    at += dlen;
  }
  return r->n > 0 ? 0 : -EINVAL;
}
