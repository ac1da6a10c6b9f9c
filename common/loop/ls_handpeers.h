/* ls_handpeers: the peers named by hand (`peers = HOST[:PORT], ...`),
 * resolved off the loop thread (uv_getaddrinfo) at start and every 5
 * minutes, so a name that moves to a new address is followed. The announcer
 * sends its rounds to them unicast; the listener (will) answer them. */
#ifndef LS_HANDPEERS_H
#define LS_HANDPEERS_H

#include <uv.h>

#include "ls_net.h"

#define LS_HANDPEERS_REFRESH_MS (5 * 60 * 1000)
#define LS_HANDPEERS_ADDRS 4 /* addresses kept per name */

typedef struct ls_handpeers_s ls_handpeers_t;
/* The resolved addresses changed (a name resolved, or to other addresses). */
typedef void (*ls_handpeers_cb)(ls_handpeers_t *h, void *data);

typedef struct {
  char host[256];
  int port;
  uv_getaddrinfo_t req;
  int busy;
  struct sockaddr_storage addr[LS_HANDPEERS_ADDRS];
  size_t naddr;
  ls_handpeers_t *owner;
} ls_handpeer_t;

struct ls_handpeers_s {
  uv_loop_t *loop;
  uv_timer_t timer;
  ls_handpeer_t peers[LS_NET_PEERS_MAX];
  size_t n;
  ls_handpeers_cb cb;
  void *data;
  int closing;
};

/* Parses spec (the `peers` value; PORT defaults to defport). 0 or UV_EINVAL,
 * with err filled. Nothing is resolved before ls_handpeers_start. */
int ls_handpeers_init(uv_loop_t *loop, ls_handpeers_t *h, const char *spec, int defport, ls_handpeers_cb cb,
                      void *data, char *err, size_t errlen);
void ls_handpeers_start(ls_handpeers_t *h);
/* Appends every resolved address to out as a unicast target. */
void ls_handpeers_targets(const ls_handpeers_t *h, ls_net_targets_t *out);
/* Whether sa's address (not port) is one of theirs. */
int ls_handpeers_has(const ls_handpeers_t *h, const struct sockaddr *sa);
/* Closes the timer; resolutions in flight end unreported. */
void ls_handpeers_close(ls_handpeers_t *h);

#endif
