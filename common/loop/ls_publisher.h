/* ls_publisher: a peer's presence at a tracker (hybrid model). Registers the
 * peer's tag, publishes its catalog and keeps it current, answers pings, and
 * registers again after the tracker comes back (ls_tclient's backoff).
 * Used by the announcer (with `tracker` configured) and the client shell. */
#ifndef LS_PUBLISHER_H
#define LS_PUBLISHER_H

#include <uv.h>

#include "ls_catalog.h"
#include "ls_tlink.h"

typedef struct ls_publisher_s ls_publisher_t;
/* Called when registration is refused because the name is taken. */
typedef void (*ls_publisher_taken_cb)(ls_publisher_t *p, const char *reason);
/* Called with every message the publisher does not handle itself. */
typedef void (*ls_publisher_msg_cb)(ls_publisher_t *p, ls_tmsg_t *m);
/* Called once registered (after each reconnect). */
typedef void (*ls_publisher_up_cb)(ls_publisher_t *p);

struct ls_publisher_s {
  ls_tclient_t client;
  ls_catalog_t *catalog;
  char host[LS_TAG_MAX + 1];
  uint16_t port;
  int registered;
  uint32_t next_id;
  uint32_t register_id;
  ls_publisher_taken_cb on_taken;
  ls_publisher_msg_cb on_msg;
  ls_publisher_up_cb on_up;
  void *data;
};

int ls_publisher_init(uv_loop_t *loop, ls_publisher_t *p, const char *tracker_addr, const char *host, uint16_t port,
                      ls_catalog_t *catalog);
void ls_publisher_start(ls_publisher_t *p);
/* Publishes the whole catalog again (call after a catalog change). */
void ls_publisher_sync(ls_publisher_t *p);
/* Registers under another name (after on_taken). */
void ls_publisher_rename(ls_publisher_t *p, const char *host);
/* Sends a request; returns its id (0 if not connected). */
uint32_t ls_publisher_request(ls_publisher_t *p, ls_tmsg_t *m);
/* Says goodbye and closes. */
void ls_publisher_close(ls_publisher_t *p);

#endif
