/* ls_serverlog: server.log, a line per connection when it ends
 * (docs/PROTOCOL.md, section 6):
 *   TIME peer=addr:port start=TIME duration_ms=N bytes=N manifests=N chunks=N
 *   haves=N errors=N roots=HEX16,...|- end=WORD
 * Written by the server, read by lanswarm-web (and people, scripts). */
#ifndef LS_SERVERLOG_H
#define LS_SERVERLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"
#include "ls_logfmt.h"

/* Roots are logged by their first 16 hex digits (server.log, server.status). */
#define LS_SERVERLOG_ROOT_PREFIX_LEN 16
#define LS_SERVERLOG_ROOTS_MAX 4 /* roots logged per connection */
#define LS_SERVERLOG_WORD_MAX 32 /* end */

typedef char ls_root_prefix_t[LS_SERVERLOG_ROOT_PREFIX_LEN + 1];

typedef struct {
  char time[LS_LOGFMT_TIME_MAX];
  char addr[LS_NET_ADDR_MAX];
  uint16_t port;
  char start[LS_LOGFMT_TIME_MAX];
  uint64_t duration_ms, bytes;
  uint32_t manifests, chunks, haves, errors;
  ls_root_prefix_t roots[LS_SERVERLOG_ROOTS_MAX];
  size_t nroots;
  char end[LS_SERVERLOG_WORD_MAX]; /* eof, idle, reset, protocol-error, ... */
} ls_serverlog_t;

/* The first LS_SERVERLOG_ROOT_PREFIX_LEN hex digits of root. */
void ls_serverlog_root_prefix(const uint8_t root[LS_HASH_LEN], ls_root_prefix_t out);
/* 1 if s is such a prefix (lowercase hex). */
int ls_serverlog_is_root_prefix(const char *s);

/* The line, with its newline, into buf. Its length, or -ENOSPC. */
int ls_serverlog_encode(const ls_serverlog_t *rec, char *buf, size_t cap);
/* One line (its newline optional). peer is required; the other fields, when
 * there, are checked, and default to 0, "" or none; unknown keys are skipped.
 * 0 or -EINVAL. */
int ls_serverlog_decode(const char *line, size_t len, ls_serverlog_t *rec);

#endif
