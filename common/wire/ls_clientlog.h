/* ls_clientlog: client.log, a line per download (docs/PROTOCOL.md, section 6):
 *   TIME name="..." root=HEX size=N result=WORD duration_s=S.SSS speed_Bps=N
 *   fetched=N resumed=N [received=N] peers=tag@addr:port=BYTES,...|- message="..."
 * Written by the downloader, read by lanswarm-web (and people, scripts). */
#ifndef LS_CLIENTLOG_H
#define LS_CLIENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"
#include "ls_logfmt.h"
#include "ls_name.h"

#define LS_CLIENTLOG_PEERS_MAX 64   /* as many as a download uses */
#define LS_CLIENTLOG_WORD_MAX 32    /* result */
#define LS_CLIENTLOG_MESSAGE_MAX 512

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_NET_ADDR_MAX];
  uint16_t port;
  uint64_t bytes;
} ls_clientlog_peer_t;

typedef struct {
  char time[LS_LOGFMT_TIME_MAX];
  char name[LS_NAME_MAX + 1];
  char root[LS_HASH_HEX_LEN + 1];
  uint64_t size;
  char result[LS_CLIENTLOG_WORD_MAX]; /* ok, no-holder, integrity, exists, io-error, interrupted */
  double duration_s;                  /* written with 3 decimals */
  double speed_Bps;                   /* written with none */
  uint64_t fetched, resumed;
  uint64_t received;                  /* every byte read from the peers; duplicates too */
  int has_received;                   /* lines before 0.x have no received= */
  ls_clientlog_peer_t peers[LS_CLIENTLOG_PEERS_MAX];
  size_t npeers;
  char message[LS_CLIENTLOG_MESSAGE_MAX];
} ls_clientlog_t;

/* The line, with its newline, into buf. Its length, or -ENOSPC. */
int ls_clientlog_encode(const ls_clientlog_t *rec, char *buf, size_t cap);
/* One line (its newline optional). Every field above must be there once
 * (received may be missing: older lines), each checked (name, tags, addresses,
 * hex, numbers); unknown keys are skipped.
 * 0 or -EINVAL. */
int ls_clientlog_decode(const char *line, size_t len, ls_clientlog_t *rec);
/* Appends the record's line to the file at path. 0 or a negative errno. */
int ls_clientlog_append(const char *path, const ls_clientlog_t *rec);

#endif
