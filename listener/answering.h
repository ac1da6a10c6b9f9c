/* answering: the listener's answers to `query` datagrams (docs/PROTOCOL.md
 * section 3). An answer is the round file (DIR/run/round) that this peer's
 * announcer last wrote, unicast to the query's source address and port after
 * a random 0-ANSWER_JITTER_MS delay, within the bounds of answer_limit. No
 * announcer running (no round file, or one older than 3 intervals), no
 * answer. Queries carrying this peer's own tag are ignored. A peer by hand
 * that announces itself to us by unicast is answered the same way, so one
 * side's `peers =` line is enough. */
#ifndef ANSWERING_H
#define ANSWERING_H

#include <uv.h>

#include "answer_limit.h"
#include "ls_announce.h"
#include "ls_auth.h"
#include "ls_config.h"

#define ANSWER_JITTER_MS 300
#define ANSWER_PENDING_MAX 64 /* answers waiting for their delay: > 50/s x 0.3 s */

typedef struct {
  struct sockaddr_storage to;
  uint64_t due_ms;
  int used;
} answer_pending_t;

typedef struct {
  const ls_config_t *cfg;
  const ls_key_t *key; /* with a key: the round's datagrams sealed again at sending */
  uv_loop_t *loop;
  int fd4, fd6;                 /* the listener's sockets answers go out of (-1: none) */
  uv_timer_t timer;
  answer_limit_t limit;
  answer_pending_t pending[ANSWER_PENDING_MAX];
  unsigned seed;
  unsigned long answers;        /* answers sent */
  unsigned long datagrams;      /* datagrams they held */
} answering_t;

void answering_init(answering_t *an, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, int fd4,
                    int fd6);
/* A validated query q from `from` (its address and port). */
void answering_query(answering_t *an, const ls_announce_t *q, const struct sockaddr *from);
/* A peer new to this listener heard by unicast (a peer by hand, whose
 * announcer sends to us): it gets our round at its address on our
 * announcement port, within the same bounds. */
void answering_unicast(answering_t *an, const struct sockaddr *from);
void answering_close(answering_t *an);

#endif
