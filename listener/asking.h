/* asking: the listener's `query` (docs/PROTOCOL.md section 3), so that a
 * peer that starts, or whose machine gains a network, has every peer's files
 * within a second instead of waiting for their next rounds.
 *
 * Sockets of its own on an ephemeral port (IPv4 on listen_addr, and IPv6
 * where the listener has it) send the query to every discovery target the
 * announcer sends its rounds to (broadcast addresses, the IPv4 groups, the
 * IPv6 group) at start, and again when the machine's interfaces change
 * (ls_ifwatch: within LS_IFWATCH_MS, e.g. a cable back in). The peers'
 * answers come back to those sockets, over the family the query went by,
 * and are handed to on_datagram, which puts them through the same checks as
 * every datagram. */
#ifndef ASKING_H
#define ASKING_H

#include <uv.h>

#include "ls_auth.h"
#include "ls_config.h"
#include "ls_ifwatch.h"
#include "ls_net.h"

#define ASKING_RCVBUF_BYTES (4 << 20)

typedef void (*asking_datagram_cb)(void *ud, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                                   unsigned flags);

typedef struct {
  const ls_config_t *cfg;
  const ls_key_t *key;          /* with `key_file`: the query is sealed */
  uv_loop_t *loop;
  ls_net_sender_t sender;       /* the query goes out, and answers come back, here */
  ls_ifwatch_t ifwatch;         /* a change: the query again */
  ls_net_targets_t targets;
  asking_datagram_cb on_datagram;
  void *ud;
  unsigned long queries;        /* query datagrams sent */
  char recv_buf[2048];          /* more than a datagram: a longer one comes flagged partial */
} asking_t;

/* The targets and the sockets (bound to listen_addr, port 0). 0, or a
 * negative error code with err filled. */
int asking_init(asking_t *ak, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, asking_datagram_cb cb,
                void *ud, char *err, size_t errlen);
/* Sends the first query and starts watching the interfaces. */
void asking_start(asking_t *ak);
/* Sends a query to every target now. */
void asking_query(asking_t *ak, const char *why);
void asking_close(asking_t *ak);

#endif
