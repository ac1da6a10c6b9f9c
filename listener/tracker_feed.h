/* tracker_feed: the listener's view of a tracker (hybrid model). Lists the
 * tracker's tables every interval and applies them to the peer_table as if
 * each host had announced its files, so tags.txt looks the same whichever
 * way a peer was found and the downloader needs no change. A host gone from
 * the tracker is dropped at the next listing. */
#ifndef TRACKER_FEED_H
#define TRACKER_FEED_H

#include <uv.h>

#include "ls_tlink.h"
#include "peer_table.h"

typedef void (*tracker_feed_cb)(void *ud, int changed);

typedef struct {
  ls_tclient_t client;
  peer_table_t *table;
  uv_timer_t poll;
  unsigned interval;
  ls_tentry_t *acc;          /* the listing being collected (names owned) */
  size_t nacc, cap;
  ls_tentry_t *known;        /* hosts of the last complete listing */
  size_t nknown;
  uint32_t list_id;
  uint32_t seq;
  int listing;
  tracker_feed_cb on_change;
  void *ud;
} tracker_feed_t;

int tracker_feed_init(uv_loop_t *loop, tracker_feed_t *tf, const char *addr, peer_table_t *table, unsigned interval,
                      tracker_feed_cb cb, void *ud);
void tracker_feed_start(tracker_feed_t *tf);
void tracker_feed_close(tracker_feed_t *tf);

#endif
