/* ls_srvstatus: server.status, what the chunk server serves now
 * (docs/PROTOCOL.md, section 6), one JSON object and a newline:
 *   {"updated":UNIX,"pid":N,"port":N,"running":true,"connections":[{"peer":
 *    "addr:port","start":TIME,"duration_ms":N,"bytes":N,"chunks":N,"roots":[HEX16,...]}]}
 * Rewritten atomically by the server, read by lanswarm-web. */
#ifndef LS_SRVSTATUS_H
#define LS_SRVSTATUS_H

#include <stddef.h>
#include <stdint.h>

#include "ls_serverlog.h"

#define LS_SRVSTATUS_MAX_BYTES (4u << 20)
#define LS_SRVSTATUS_CONNS_MAX 4096

typedef struct {
  char addr[LS_NET_ADDR_MAX];
  uint16_t port;
  char start[LS_LOGFMT_TIME_MAX];
  uint64_t duration_ms, bytes;
  uint32_t chunks;
  ls_root_prefix_t roots[LS_SERVERLOG_ROOTS_MAX];
  size_t nroots;
} ls_srvstatus_conn_t;

typedef struct {
  int64_t updated; /* Unix seconds */
  int64_t pid;
  uint16_t port;   /* 0 once stopped */
  int running;
  ls_srvstatus_conn_t *conns; /* malloc'ed by decode; the caller's for encode */
  size_t nconns;
} ls_srvstatus_t;

/* The file's text (JSON and "\n"), malloc'ed into *out. 0 or -ENOMEM. */
int ls_srvstatus_encode(const ls_srvstatus_t *st, char **out, size_t *len);
/* The file's text. An object whose fields, when there, have their types and
 * ranges (missing ones give 0, false, none); a connection without a valid peer
 * and a root that is not a 16-hex prefix are skipped. 0, -EINVAL or -ENOMEM;
 * free with ls_srvstatus_free. */
int ls_srvstatus_decode(const char *text, size_t len, ls_srvstatus_t *st);
void ls_srvstatus_free(ls_srvstatus_t *st);

#endif
