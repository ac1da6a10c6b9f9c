/* tracker_feed: the listener's view of its trackers (hybrid model).
 *
 * One feed per configured tracker (up to LS_MAX_TRACKERS). Each feed
 * subscribes after connecting (the tracker then pushes its whole listing
 * within 100 ms of every change) and also lists the tables once per interval,
 * as a fallback and for trackers that do not know SUBSCRIBE. The feeds' last
 * complete listings are merged into the peer_table as if each host had
 * announced its files, so tags.txt looks the same whichever way a peer was
 * found and the downloader needs no change.
 *
 * Merging: a host's files are the union of what the connected trackers list.
 * A host no tracker lists any more (including the last listing of a tracker
 * that is down) is dropped at once; one listed only by a tracker that went
 * down is kept and expires like any silent peer (3 intervals). */
#ifndef TRACKER_FEED_H
#define TRACKER_FEED_H

#include <uv.h>

#include "ls_config.h"
#include "ls_tlink.h"
#include "peer_table.h"

typedef void (*tracker_feed_cb)(void *ud, int changed);

typedef struct {
  ls_tentry_t *v;            /* names owned */
  size_t n, cap;
} tracker_rows_t;

struct tracker_feeds_s;

typedef struct {
  ls_tclient_t client;
  struct tracker_feeds_s *set;
  uv_timer_t poll;
  tracker_rows_t list_acc;   /* a LIST answer being collected, page by page */
  tracker_rows_t push_acc;   /* a pushed listing being collected */
  tracker_rows_t listing;    /* the last complete listing, kept while the tracker is down */
  int has_listing;
  int listing_in_flight;
  int sub_confirmed;         /* a push came on this connection */
  uint64_t no_sub_until_ms;  /* the tracker closed on SUBSCRIBE (older): lists only until then */
  uint32_t next_id, list_id, sub_id;
} tracker_feed_t;

typedef struct tracker_feeds_s {
  tracker_feed_t feeds[LS_MAX_TRACKERS];
  size_t n;
  peer_table_t *table;
  unsigned interval;
  uint32_t seq;
  ls_tentry_t *known;        /* hosts of the last merge, sorted */
  size_t nknown;
  tracker_feed_cb on_change;
  void *ud;
} tracker_feeds_t;

/* addrs: n "a.b.c.d:port" (ls_config_tracker_list); key: the network key or
 * NULL. Returns 0 or UV_EINVAL. */
int tracker_feeds_init(uv_loop_t *loop, tracker_feeds_t *s, char addrs[][LS_TRACKER_ADDR_LEN], size_t n,
                       const ls_key_t *key, peer_table_t *table, unsigned interval, tracker_feed_cb cb, void *ud);
void tracker_feeds_start(tracker_feeds_t *s);
void tracker_feeds_close(tracker_feeds_t *s);

#endif
