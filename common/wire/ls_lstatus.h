/* ls_lstatus: DIR/run/listener.status, what the listener has heard since it
 * started (docs/PROTOCOL.md section 4b), one JSON object and a newline:
 *   {"updated":UNIX,"pid":N,"udp_port":N,"datagrams":N,"rejected":N,
 *    "rejected_key":N,"queries":N,"answers":N,"query_tags":[T,...],
 *    "key_failures":[{"addr":A,"tag":T},...]}
 * rejected counts every datagram dropped, rejected_key those failing the
 * network key (or sealed while this peer has none); query_tags are the tags
 * of the last queries heard, key_failures the last sources failing the key
 * (tag: what the datagram claims, unchecked, or ""). Rewritten atomically by
 * the listener at most once a second; read by `lanswarm doctor`. */
#ifndef LS_LSTATUS_H
#define LS_LSTATUS_H

#include <stddef.h>
#include <stdint.h>

#include "ls_name.h"

#define LS_LSTATUS_MAX_BYTES (64u << 10)
#define LS_LSTATUS_RECENT 8 /* query tags and key failures kept */
#define LS_LSTATUS_ADDR_MAX 64

typedef struct {
  char addr[LS_LSTATUS_ADDR_MAX];
  char tag[LS_TAG_MAX + 1];
} ls_lstatus_source_t;

typedef struct {
  int64_t updated; /* Unix seconds */
  int64_t pid;
  uint16_t udp_port;
  uint64_t datagrams, rejected, rejected_key, queries, answers;
  char query_tags[LS_LSTATUS_RECENT][LS_TAG_MAX + 1];
  size_t nquery_tags;
  ls_lstatus_source_t key_failures[LS_LSTATUS_RECENT];
  size_t nkey_failures;
} ls_lstatus_t;

/* DIR/run/listener.status into buf. */
void ls_lstatus_path(const char *dir, char *buf, size_t len);
/* The file's text (JSON and "\n"), malloc'ed into *out. 0 or -ENOMEM. */
int ls_lstatus_encode(const ls_lstatus_t *st, char **out, size_t *len);
/* The file's text: an object whose fields, when there, have their types and
 * ranges (missing ones give 0 or none); invalid tags and sources are skipped.
 * 0 or -EINVAL. */
int ls_lstatus_decode(const char *text, size_t len, ls_lstatus_t *st);
/* Reads and decodes path. 0, -ENOENT or -EINVAL. */
int ls_lstatus_read(const char *path, ls_lstatus_t *st);

#endif
