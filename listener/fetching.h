/* fetching: a big share's list over TCP (docs/PROTOCOL.md sections 3 and 5).
 *
 * A peer whose round would need more than LS_ANNOUNCE_BEAT_PAGES pages sends
 * one `beat` carrying its catalog's digest instead. When the peer table lacks
 * that version, the listener asks the peer's chunk server for the list with
 * LIST (ls_conn in the client role, with the network key's handshake when
 * one is set), checks it (every page that peer's, in order; the pages' files
 * hash to the digest of the end frame) and applies it as a complete round.
 *
 * Bounds: FETCH_MAX fetches in flight in all, one per peer; each ends within
 * FETCH_TIMEOUT_MS; at most PEER_TABLE_MAX_FILES_PER_PEER files. A list
 * older than the beat (the server had not rescanned yet) is asked again
 * FETCH_RETRY_MS later, FETCH_RETRIES times; a failed fetch waits for the
 * next beat. Beats heard while FETCH_MAX fetches run wait in a queue of
 * FETCH_PENDING_MAX (one entry per peer, the latest digest), so a newcomer
 * among many big shares fetches every list in turn, not one interval later. */
#ifndef FETCHING_H
#define FETCHING_H

#include <uv.h>

#include "ls_announce.h"
#include "ls_auth.h"
#include "ls_conn.h"
#include "ls_log.h"
#include "peer_table.h"

#define FETCH_MAX 4
#define FETCH_TIMEOUT_MS 5000
#define FETCH_RETRIES 3
#define FETCH_RETRY_MS 300
#define FETCH_PENDING_MAX 64 /* beats waiting for a free fetch */

typedef struct fetching_s fetching_t;

/* Whose list, and which version the beat named. */
typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  unsigned how;
  uint32_t interval;
  char want[LS_ANNOUNCE_DIGEST_HEX + 1];
} fetch_want_t;

typedef struct {
  fetching_t *owner;
  ls_conn_t conn;
  uv_timer_t timer;        /* the fetch's deadline; the pause before a retry */
  int in_use;
  int conn_open;           /* conn's handles are open */
  int ok;                  /* the list came whole and was applied */
  int retry;               /* ask again once conn is closed */
  unsigned tries;
  fetch_want_t w;
  ls_announce_file_t *files;             /* collected from the pages */
  size_t nfiles, cap;
  uint32_t pages, got;                   /* the list's page count; pages received */
} fetch_t;

/* Called when a fetched list changed the table (urgent: who holds what). */
typedef void (*fetching_changed_cb)(void *ud, int urgent);

struct fetching_s {
  uv_loop_t *loop;
  const ls_key_t *key;
  ls_tls_ctx_t *tls;                     /* with a key: made at the first fetch */
  peer_table_t *table;
  fetching_changed_cb changed;
  void *ud;
  fetch_t slots[FETCH_MAX];
  fetch_want_t pending[FETCH_PENDING_MAX]; /* oldest first */
  size_t npending;
  int stopping;
  unsigned long fetched, failed; /* lists applied; fetches that failed */
  ls_ratelimit_t rl;
};

void fetching_init(fetching_t *f, uv_loop_t *loop, const ls_key_t *key, peer_table_t *table,
                   fetching_changed_cb changed, void *ud);
/* Fetches the list of the peer that sent `beat` from addr (its chunk server
 * at beat->port), now or when a fetch ends. 0, UV_EALREADY (that peer's
 * fetch is in flight), UV_EBUSY (FETCH_MAX in flight and the queue full) or
 * another UV_E* code. */
int fetching_start(fetching_t *f, const ls_announce_t *beat, const char *addr, unsigned how);
/* Ends every fetch and closes the handles (run the loop after it). */
void fetching_close(fetching_t *f);
/* Files held by fetches in flight: freed with fetching_close's callbacks,
 * or here when the loop did not run them. */
void fetching_free(fetching_t *f);

#endif
