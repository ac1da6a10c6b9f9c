/* tracker: the hybrid model's tracker engine. Peers connect (ls_tlink),
 * register a unique host name, publish their files; anyone may look up
 * holders or list every file. The tracker pings every registered peer and
 * drops one that disconnects or stops answering, with all its files. It
 * never sees file data. */
#ifndef TRACKER_H
#define TRACKER_H

#include <stdio.h>
#include <uv.h>

#include "ls_auth.h"
#include "ls_config.h"
#include "registry.h"

typedef struct tracker_s tracker_t;

typedef struct {
  unsigned ping_interval;   /* seconds; a peer silent for 3 is dropped */
  int exit_when_empty;      /* stop when the last host leaves */
  unsigned max_conns;
  void (*on_stopped)(void *ud); /* after tracker_stop (or --exit-when-empty) closed everything */
  const ls_key_t *key;          /* the network key, or NULL */
  void *ud;
} tracker_opts_t;

int tracker_new(uv_loop_t *loop, const ls_config_t *cfg, const tracker_opts_t *opts, tracker_t **out);
int tracker_start(tracker_t *t);
int tracker_port(tracker_t *t);
registry_t *tracker_registry(tracker_t *t);
/* Admin ping: sends a ping to host; cb(ud, rtt_ms or -1 on timeout) later.
 * Returns -ENOENT if no such host. */
typedef void (*tracker_ping_cb)(void *ud, const char *host, double rtt_ms);
int tracker_ping(tracker_t *t, const char *host, tracker_ping_cb cb, void *ud);
/* Tells every peer, closes everything; opts.on_stopped runs when all is closed. */
void tracker_stop(tracker_t *t);
/* After the loop has run out. */
void tracker_free(tracker_t *t);

#endif
