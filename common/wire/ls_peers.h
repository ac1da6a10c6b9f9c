/* ls_peers: DIR/peers.txt, the peers a listener hears, whether or not they
 * share anything.
 *
 * One line per peer (tag, address:port), fields separated by one TAB:
 *   tag  address:port  how  first_seen  last_seen  interval  files  digest
 * how: a comma-joined set of broadcast, multicast, unicast, tracker (the ways
 * the peer was heard); first_seen, last_seen: Unix seconds; interval: the
 * peer's announcement interval; files: how many it shares; digest: 32
 * lowercase hex of its catalog, or "-". Lines starting with '#' are
 * comments. The listener replaces the file whole and atomically, beside
 * tags.txt. See docs/PROTOCOL.md section 4a. */
#ifndef LS_PEERS_H
#define LS_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "ls_name.h"
#include "ls_tags.h"

#define LS_PEERS_HEADER \
  "# lanswarm peers v1: tag\taddress:port\thow\tfirst_seen\tlast_seen\tinterval\tfiles\tdigest\n"
#define LS_PEERS_MAX 4096                /* lines read; the listener's PEER_TABLE_MAX_PEERS */
#define LS_PEERS_MAX_BYTES (4u << 20)    /* a file read */
#define LS_PEERS_LINE_MAX 256            /* a line is shorter than this */
#define LS_DIGEST_HEX_LEN 32

/* How a peer was heard, as bits. */
enum {
  LS_HOW_BROADCAST = 1u << 0,
  LS_HOW_MULTICAST = 1u << 1,
  LS_HOW_UNICAST = 1u << 2,
  LS_HOW_TRACKER = 1u << 3,
};
#define LS_HOW_ALL 0xfu

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  unsigned how;             /* LS_HOW_* bits, at least one */
  int64_t first_seen;
  int64_t last_seen;
  uint32_t interval;        /* 1..3600 */
  uint32_t files;
  char digest[LS_DIGEST_HEX_LEN + 1]; /* empty: none */
} ls_peer_entry_t;

/* "broadcast,unicast" from bits (in the order of the enum). Returns the
 * length, or -EINVAL for no bit or an unknown one, -ENOSPC. */
int ls_how_format(unsigned how, char *buf, size_t cap);
/* The reverse; each name at most once. 0 or -EINVAL. */
int ls_how_parse(const char *text, size_t len, unsigned *how);

/* One line, without its newline. 0 or -EINVAL. */
int ls_peers_parse_line(const char *line, size_t len, ls_peer_entry_t *e);
/* The line with its newline into buf; returns its length or -EINVAL/-ENOSPC. */
int ls_peers_format_line(const ls_peer_entry_t *e, char *buf, size_t cap);
/* The whole file (header, then the entries as given) into a malloc'ed buffer. */
int ls_peers_render(const ls_peer_entry_t *entries, size_t n, char **out, size_t *len);
/* A whole file's text: comments and blank lines skipped, invalid lines
 * counted in *bad (may be NULL), at most LS_PEERS_MAX entries (the rest
 * counted as bad). The caller frees *out. */
int ls_peers_parse(const char *text, size_t len, ls_peer_entry_t **out, size_t *n, size_t *bad);
/* Reads and parses path (at most LS_PEERS_MAX_BYTES); a missing file gives
 * no entries. */
int ls_peers_read(const char *path, ls_peer_entry_t **out, size_t *n, size_t *bad);

#endif
