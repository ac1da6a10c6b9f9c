/* scheduler (sched_*): which chunk a peer should fetch next. Pure logic, no I/O.
 *
 * Rarest first: among missing chunks nobody is fetching that the peer holds,
 * the one fewest live peers hold (lowest index on ties, which keeps the disk
 * sequential when every peer has everything). Faster peers get more work
 * simply because they come back for more sooner. When nothing is left that no
 * one is fetching, the endgame lets a peer race a chunk already in flight
 * elsewhere (at most SCHED_ENDGAME_DUP copies), so one slow peer cannot hold
 * up the end of a download; never a chunk whose reply is in and being
 * verified (it is not late, and a copy would only double its bytes). */
#ifndef SCHEDULER_H
#define SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_ENDGAME_DUP 2

typedef struct {
  uint32_t nchunks;
  uint32_t ndone;
  uint32_t cursor;       /* every chunk below it is done */
  uint8_t *done;         /* 1 = verified */
  uint8_t *inflight;     /* requests (or verifications) outstanding */
  uint8_t *checking;     /* replies in and being verified */
  uint16_t *avail;       /* partial peers holding it */
  unsigned full_peers;   /* live peers holding everything */
  unsigned partial_peers;
} sched_t;

int sched_init(sched_t *s, uint32_t nchunks, const uint8_t *done /* may be NULL */);
void sched_close(sched_t *s);

/* A live peer's holdings; have == NULL means all chunks. */
void sched_peer_add(sched_t *s, const uint8_t *have);
void sched_peer_remove(sched_t *s, const uint8_t *have);
/* A partial peer said it lacks chunk i after all. */
void sched_peer_lost(sched_t *s, uint8_t *have, uint32_t index);

/* Next chunk for a peer with holdings have (NULL = all) that already has the
 * `nmine` requests in mine[]. Endgame copies are only handed to a peer with
 * nothing else to do (nmine == 0), so a busy peer never duplicates work.
 * Returns the index, or -1 if none. */
int64_t sched_pick(const sched_t *s, const uint8_t *have, const uint32_t *mine, size_t nmine);

void sched_start(sched_t *s, uint32_t index);    /* a request went out */
void sched_release(sched_t *s, uint32_t index);  /* it ended without a chunk */
/* Its reply is in and goes to be verified: no endgame copy of it any more.
 * sched_complete or sched_rejected ends that. */
void sched_checking(sched_t *s, uint32_t index);
/* The reply failed its check (or could not be checked): the request ends and
 * the chunk is missing again. */
void sched_rejected(sched_t *s, uint32_t index);
/* The chunk verified and written; also ends one request. Returns 1 if it was
 * new, 0 if another copy had already finished it. */
int sched_complete(sched_t *s, uint32_t index);
int sched_finished(const sched_t *s);
/* The first missing chunk no live peer holds, or -1. */
int64_t sched_unavailable(const sched_t *s);

#endif
