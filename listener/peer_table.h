/* peer_table: what the listener knows: peers, keyed by (tag, source address,
 * chunk server port), and the files each announced. Pure data, no I/O: the
 * listener feeds it datagrams and the clock, and renders tags.txt from it.
 * Every size is bounded (see the limits below and docs/CONFIG.md, "Limits"). */
#ifndef PEER_TABLE_H
#define PEER_TABLE_H

#include <stdint.h>

#include "ls_announce.h"
#include "ls_map.h"
#include "ls_peers.h"
#include "ls_tags.h"

#define PEER_TABLE_MAX_PEERS 4096
#define PEER_TABLE_MAX_FILES_PER_PEER 50000
#define PEER_TABLE_MAX_FILES 500000
#define PEER_TABLE_EXPIRY_ROUNDS 3
/* What one source address may hold, whatever tags it claims: a host with a
 * few tags fits; a host claiming thousands cannot crowd the others out. */
#define PEER_TABLE_MAX_PEERS_PER_ADDR 64
#define PEER_TABLE_MAX_FILES_PER_ADDR 50000
#define PEER_TABLE_ADDR_SHARE 4 /* one address: at most 1/4 of max_bytes */
/* The longest interval believed: a peer claiming more is dropped after 3 x
 * this much silence, so a flood claiming an hour leaves in 30 minutes. */
#define PEER_TABLE_MAX_INTERVAL 600
/* A peer heard again this long after it was first heard keeps announcing:
 * it is never evicted for a newcomer (peers heard once are, below). */
#define PEER_TABLE_SETTLED_MS 1000
/* tags.txt's size: the default of `tags_max_bytes`; each entry counts as its
 * line's longest length (PEER_TABLE_LINE_FIXED + tag + address + name). */
#define PEER_TABLE_DEFAULT_BYTES (64ull << 20)
#define PEER_TABLE_LINE_FIXED 140

typedef struct peer_table_s {
  ls_map_t peers;      /* key "tag addr:port" -> peer_t */
  ls_map_t addrs;      /* source address -> what it holds (pt_addr_t) */
  size_t total_files;
  uint64_t total_bytes; /* tags.txt's longest length for what is held */
  uint64_t max_bytes;   /* `tags_max_bytes`; PEER_TABLE_DEFAULT_BYTES after init */
  unsigned default_interval;
  unsigned long refused_peers;
  unsigned long refused_files;
  unsigned long evicted_peers;  /* heard-once peers replaced by newcomers */
  const char *refusal;          /* the last limit that refused something (a sentence part) */
} peer_table_t;

/* What an announcement changed in tags.txt: nothing, only last_seen
 * columns, or which files peers hold. */
typedef enum { PT_UNCHANGED = 0, PT_SEEN = 1, PT_CHANGED = 2 } pt_result_t;

int peer_table_init(peer_table_t *t, unsigned default_interval);
void peer_table_close(peer_table_t *t);

/* Applies one validated datagram from src_addr, heard the way `how` says
 * (one LS_HOW_* bit: kept per peer for peers.txt), at monotonic now_ms and
 * wall clock now_unix. A peer that shares nothing is a peer all the same.
 * Queries change nothing. Returns a pt_result_t, or a negative errno when a
 * limit refused (part of) it (t->refusal says which), or -ESTALE when
 * a->sealed_ms is older than the newest seal taken from that peer (a replay).
 * A new peer over PEER_TABLE_MAX_PEERS, or over PEER_TABLE_MAX_PEERS_PER_ADDR
 * of its address, takes the place of a peer heard only once (of its own
 * address when that is full, else of the address holding the most peers);
 * with none, it is refused. */
int peer_table_apply(peer_table_t *t, const ls_announce_t *a, const char *src_addr, unsigned how, uint64_t now_ms,
                     int64_t now_unix);
/* A beat (LS_ANNOUNCE_BEAT) goes through peer_table_apply too: the peer is
 * heard, and all its files with it when the beat's digest is the version of
 * its list the table holds. 1 if the table lacks that version (a LIST fetch
 * is due), else 0. */
int peer_table_wants_list(const peer_table_t *t, const ls_announce_t *beat, const char *src_addr);
/* Applies a whole list fetched with LIST (list->files, all of them; tag,
 * port, interval and digest set) as a complete round: files not in it are
 * dropped; the digest is stored. Returns as peer_table_apply. */
int peer_table_apply_list(peer_table_t *t, const ls_announce_t *list, const char *src_addr, unsigned how,
                          uint64_t now_ms, int64_t now_unix);
/* Drops peers silent for 3 of their intervals, and files not announced for as
 * long. Returns the number of entries removed. */
size_t peer_table_expire(peer_table_t *t, uint64_t now_ms);
/* Loads entries from a previous tags.txt as if last heard at their last_seen. */
void peer_table_load(peer_table_t *t, const ls_tag_entry_t *entries, size_t n, uint64_t now_ms, int64_t now_unix);
/* Loads peers from a previous peers.txt (how, first_seen, interval) as if
 * last heard at their last_seen; with peer_table_load, a restart keeps what
 * the last run knew until it expires. */
void peer_table_load_peers(peer_table_t *t, const ls_peer_entry_t *peers, size_t n, uint64_t now_ms,
                           int64_t now_unix);
/* Entries sorted by tag, address, name; the names point into the table
 * (valid until the next change). Caller frees the array only. */
int peer_table_entries(const peer_table_t *t, ls_tag_entry_t **out, size_t *n);
/* One entry per peer, sharing or not, sorted by tag, address, port (at most
 * PEER_TABLE_MAX_PEERS). Caller frees the array. */
int peer_table_peers(const peer_table_t *t, ls_peer_entry_t **out, size_t *n);
size_t peer_table_peer_count(const peer_table_t *t);

#endif
