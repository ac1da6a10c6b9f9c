/* ls_tagsq: questions asked of tags.txt's entries (ls_tags parses the file):
 * who holds a name (or one content of it), and the peers, one row each.
 * For the downloader, lanswarm-web and the lanswarm command. Pure functions. */
#ifndef LS_TAGSQ_H
#define LS_TAGSQ_H

#include <stddef.h>
#include <stdint.h>

#include "ls_peers.h"
#include "ls_tags.h"

#define LS_TAGSQ_CONTENTS_MAX 16 /* distinct contents told apart under one name */
#define LS_TAGSQ_HOLDERS_MAX 64  /* holders returned for one content */
#define LS_TAGSQ_SIMILAR_MAX 8   /* names ls_tagsq_similar returns at most */

typedef struct {
  uint8_t root[LS_HASH_LEN];
  uint64_t size;
  size_t holders;
} ls_tagsq_content_t;

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  int complete;
} ls_tagsq_holder_t;

typedef struct {
  ls_tagsq_content_t contents[LS_TAGSQ_CONTENTS_MAX]; /* distinct contents announced under the name */
  size_t ncontents;
  size_t chosen; /* index into contents */
  ls_tagsq_holder_t holders[LS_TAGSQ_HOLDERS_MAX]; /* of the chosen content, complete ones first */
  size_t nholders;
} ls_tagsq_lookup_t;

/* Who holds NAME. With want_root (not NULL) only that content counts; else the
 * content with most holders. Entries of self_tag (may be NULL) at self_port
 * are left out. 0, or -ENOENT (no such name, or root). */
int ls_tagsq_lookup(const ls_tag_entry_t *entries, size_t n, const char *name, const uint8_t *want_root,
                    const char *self_tag, uint16_t self_port, ls_tagsq_lookup_t *out);

/* The names of entries closest to name, for "did you mean": names equal to it
 * but for case first, then those a few edits away (Levenshtein distance, at
 * most a quarter of name's length, 1 to 3), nearest first, ties by name. Up to
 * max distinct names into out, pointing into entries; returns how many. */
size_t ls_tagsq_similar(const ls_tag_entry_t *entries, size_t n, const char *name, const char **out, size_t max);

/* One peer: a (tag, address:port) and what it announces. */
typedef struct {
  const ls_tag_entry_t *first; /* its first entry (tag, addr, port) */
  char address[LS_NET_ENDPOINT_MAX]; /* "addr:port" or "[v6addr]:port" */
  size_t files;
  uint64_t bytes;
  int64_t last_seen; /* the latest of its entries */
} ls_tagsq_peer_t;

/* The peers of entries, sorted by tag, address, port: a malloc'ed array into
 * *out (free() it), pointing into entries. 0 or -ENOMEM. */
int ls_tagsq_peers(const ls_tag_entry_t *entries, size_t n, ls_tagsq_peer_t **out, size_t *count);

/* A peer as `lanswarm peers`, `status --json` and the dashboard show it:
 * every peer of peers.txt (those that share nothing too), with the size of
 * its files from tags.txt; then the peers of tags.txt that peers.txt lacks
 * (written by an older listener), with how 0. */
typedef struct {
  char tag[LS_TAG_MAX + 1];
  char address[LS_ADDR_MAX + 6]; /* "addr:port" */
  unsigned how;                  /* LS_HOW_* bits; 0: not in peers.txt */
  size_t files;                  /* peers.txt's count, else tags.txt's rows */
  uint64_t bytes;
  int64_t first_seen;            /* 0: not in peers.txt */
  uint32_t interval;             /* its announcement interval; 0: not in peers.txt */
  int64_t last_seen;
} ls_tagsq_known_t;

/* The rows above, peers.txt's order first: a malloc'ed array into *out
 * (free() it). 0 or -ENOMEM. */
int ls_tagsq_known(const ls_peer_entry_t *peers, size_t npeers, const ls_tag_entry_t *entries, size_t n,
                   ls_tagsq_known_t **out, size_t *count);

#endif
