/* ls_round: DIR/run/round, the announcer's current round as it went out.
 *
 * The announcer replaces the file (atomically) at every round with exactly
 * the datagrams it sends (sealed with a network key); the listener answers a
 * `query` with them. The file is a sequence of records, each a 2-byte
 * big-endian length (1..LS_ANNOUNCE_MAX_PAYLOAD) and that many bytes; at
 * least one record, at most LS_ROUND_MAX_DATAGRAMS, nothing after the last.
 * See docs/PROTOCOL.md section 3. */
#ifndef LS_ROUND_H
#define LS_ROUND_H

#include <stddef.h>
#include <stdint.h>

#include "ls_announce.h"

#define LS_ROUND_MAX_DATAGRAMS 4 /* BEAT_PAGES: an answer is at most this many datagrams */
#define LS_ROUND_MAX_BYTES (LS_ROUND_MAX_DATAGRAMS * (2 + LS_ANNOUNCE_MAX_PAYLOAD))

typedef struct {
  size_t n;
  size_t len[LS_ROUND_MAX_DATAGRAMS];
  char data[LS_ROUND_MAX_DATAGRAMS][LS_ANNOUNCE_MAX_PAYLOAD];
} ls_round_t;

/* Appends one datagram. 0, -EMSGSIZE (empty or longer than a datagram) or
 * -ENOSPC (the round is full). */
int ls_round_add(ls_round_t *r, const void *datagram, size_t len);
/* The file's bytes into buf (LS_ROUND_MAX_BYTES is enough). Returns the
 * length, or -EINVAL for a round without datagrams, -ENOSPC if cap is short. */
int ls_round_render(const ls_round_t *r, uint8_t *buf, size_t cap);
/* Parses the file's bytes, strictly. 0 or -EINVAL. */
int ls_round_parse(const uint8_t *buf, size_t len, ls_round_t *r);

#endif
