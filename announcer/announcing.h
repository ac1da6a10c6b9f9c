/* announcing: the announcer's engine. Sends the catalog (ls_catalog)
 * as paged JSON datagrams (ls_announce): once the first scan is done, every
 * interval, soon after the share changes, and a goodbye at close. Datagrams
 * are paced so a long list does not overrun the listeners' socket buffers.
 * Each round goes to every target: the broadcast addresses, the multicast
 * groups (IPv4, and IPv6 per interface) and the peers by hand (unicast).
 * With `tracker` configured it also keeps each tracker's copy of the list
 * current (one ls_publisher per tracker, up to LS_MAX_TRACKERS). */
#ifndef ANNOUNCING_H
#define ANNOUNCING_H

#include <uv.h>

#include "ls_auth.h"
#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_handpeers.h"
#include "ls_ifwatch.h"
#include "ls_net.h"
#include "ls_publisher.h"

typedef struct {
  char *data;
  size_t len;
} datagram_t;

typedef struct {
  const ls_config_t *cfg;
  const ls_key_t *key;        /* NULL without `key_file` */
  uv_loop_t *loop;
  ls_net_sender_t sender;     /* IPv4 and, where the host has it, IPv6 */
  uv_timer_t interval_timer;
  uv_timer_t pace_timer;
  ls_catalog_t *catalog;
  ls_net_targets_t fixed;     /* broadcast and multicast */
  ls_net_targets_t targets;   /* fixed, then the peers by hand as resolved */
  ls_handpeers_t handpeers;
  ls_ifwatch_t ifwatch;       /* interfaces changed: targets again, a round at once */
  uint32_t seq;
  datagram_t *queue;   /* the current round's pages */
  size_t queue_len;
  size_t queue_cap;
  size_t next_page;    /* next page to send */
  size_t next_target;
  int stopping;
  ls_publisher_t publishers[LS_MAX_TRACKERS]; /* one per configured tracker */
  size_t npublishers;
} announcing_t;

#define ANNOUNCING_BAD_TRACKER 1 /* announcing_init: `tracker` is not a list of ADDRESS:PORT */

/* The broadcast targets, the UDP socket, the catalog and the tracker's
 * address from cfg (kept, as key is, until announcing_free). Returns 0; or
 * a negative error code or ANNOUNCING_BAD_TRACKER, with err filled. */
int announcing_init(announcing_t *an, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, char *err,
                    size_t errlen);
void announcing_start(announcing_t *an);
/* Says goodbye and closes the handles; the loop then ends. */
void announcing_close(announcing_t *an);
/* After the loop has ended. */
void announcing_free(announcing_t *an);

#endif
