/* listening: the listener's engine. Datagrams are validated by
 * ls_announce_decode (and ls_auth with a network key) and applied to the
 * peer_table; tags.txt and peers.txt are rendered from the table and replaced atomically,
 * at most once per WRITE_DELAY_MS (100 ms) however many datagrams arrive,
 * by a write on the thread pool. Silent peers and files expire on a 1 s
 * timer. With `tracker` configured, the trackers' listings (subscribed:
 * pushed on every change) feed the same table (tracker_feed). A query at
 * start (asking) brings every peer's round at once; the peers' queries are
 * answered with this peer's (answering). What it heard is counted in
 * DIR/run/listener.status (reporting), for `lanswarm doctor`.
 * It receives on IPv4 and, where the host has it, IPv6, joins the multicast
 * groups on every interface, and tells by each datagram's destination
 * address how it came: broadcast, multicast or unicast (ls_net_classify). */
#ifndef LISTENING_H
#define LISTENING_H

#include <uv.h>

#include "answering.h"
#include "asking.h"
#include "fetching.h"
#include "ls_auth.h"
#include "ls_config.h"
#include "ls_log.h"
#include "ls_net.h"
#include "peer_table.h"
#include "reporting.h"
#include "tracker_feed.h"

/* "peer joined" and "peer left" lines, at most (the rest counted on the next). */
#define PEER_LOG_BURST 20
#define PEER_LOG_PERIOD_MS 10000

typedef struct listening_s listening_t;

/* One receiving socket, polled (recvmsg reports the destination address). */
typedef struct {
  uv_poll_t poll;
  int fd; /* -1: not open */
  listening_t *owner;
} listen_sock_t;

struct listening_s {
  const ls_config_t *cfg;
  const ls_key_t *key;          /* with `key_file`: only sealed announcements count */
  uv_loop_t *loop;
  listen_sock_t sock[2];        /* IPv4, IPv6 */
  ls_net_bcast_set_t bcast;     /* what counts as broadcast */
  uv_timer_t expire_timer;
  uv_timer_t write_timer;
  uv_work_t write_work;
  peer_table_t table;
  tracker_feeds_t feeds;        /* with `tracker` configured: one feed per tracker */
  asking_t asking;              /* the query at start and when interfaces change; the answers */
  answering_t answering;        /* answers to the peers' queries */
  reporting_t reporting;        /* the counters in DIR/run/listener.status */
  fetching_t fetching;          /* big shares' lists, over TCP, on a beat of a new version */
  int use_tracker;
  ls_ratelimit_t bad_rl;         /* refused datagrams: 10 lines per 10 s */
  ls_ratelimit_t peer_rl;        /* peers joined and left: PEER_LOG_BURST lines per PEER_LOG_PERIOD_MS */
  char why[192];                 /* a refusal's reason, formatted */
  char recv_buf[65536];
  char *pending;        /* rendered tags.txt waiting for the thread pool */
  size_t pending_len;
  char *pending_peers;  /* and peers.txt, written with it */
  size_t pending_peers_len;
  int write_rc;
  int write_peers_rc;
  int writing;
  int dirty;
  int dirty_urgent;
  int stopping;
  unsigned long datagrams;
  unsigned long rejected;
  unsigned long via[4];         /* datagrams by ls_via_t */
};

/* The peer table (with what tags.txt already holds) and the UDP socket, from
 * cfg (kept, as key is, until listening_free; key NULL without a network
 * key). Returns 0, or a negative error code with err filled. */
int listening_init(listening_t *l, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, char *err,
                   size_t errlen);
void listening_start(listening_t *l);
/* Closes the handles; the loop then ends. */
void listening_close(listening_t *l);
/* After the loop has ended. */
void listening_free(listening_t *l);

#endif
