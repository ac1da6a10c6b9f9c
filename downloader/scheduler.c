#include "scheduler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sched_init(sched_t *s, uint32_t nchunks, const uint8_t *done) {
  memset(s, 0, sizeof *s);
  s->nchunks = nchunks;
  s->done = calloc(nchunks + 1, 1);
  s->inflight = calloc(nchunks + 1, 1);
  s->checking = calloc(nchunks + 1, 1);
  s->avail = calloc(nchunks + 1, sizeof *s->avail);
  if (s->done == NULL || s->inflight == NULL || s->checking == NULL || s->avail == NULL) {
    sched_close(s);
    return -ENOMEM;
  }
  for (uint32_t i = 0; i < nchunks; i++) {
    s->done[i] = done != NULL && done[i];
    s->ndone += s->done[i];
  }
  while (s->cursor < nchunks && s->done[s->cursor]) s->cursor++;
  return 0;
}

void sched_close(sched_t *s) {
  free(s->done);
  free(s->inflight);
  free(s->checking);
  free(s->avail);
  memset(s, 0, sizeof *s);
}

void sched_peer_add(sched_t *s, const uint8_t *have) {
  if (have == NULL) {
    s->full_peers++;
    return;
  }
  s->partial_peers++;
  for (uint32_t i = 0; i < s->nchunks; i++)
    if (have[i] && s->avail[i] < UINT16_MAX) s->avail[i]++;
}

void sched_peer_remove(sched_t *s, const uint8_t *have) {
  if (have == NULL) {
    if (s->full_peers > 0) s->full_peers--;
    return;
  }
  if (s->partial_peers > 0) s->partial_peers--;
  for (uint32_t i = 0; i < s->nchunks; i++)
    if (have[i] && s->avail[i] > 0) s->avail[i]--;
}

void sched_peer_lost(sched_t *s, uint8_t *have, uint32_t index) {
  if (have == NULL || index >= s->nchunks || !have[index]) return;
  have[index] = 0;
  if (s->avail[index] > 0) s->avail[index]--;
}

static int is_mine(uint32_t index, const uint32_t *mine, size_t nmine) {
  for (size_t i = 0; i < nmine; i++)
    if (mine[i] == index) return 1;
  return 0;
}

int64_t sched_pick(const sched_t *s, const uint8_t *have, const uint32_t *mine, size_t nmine) {
  int64_t best = -1;
  unsigned best_avail = UINT32_MAX;
  int only_full = s->partial_peers == 0; /* every chunk is equally rare */
  for (uint32_t i = s->cursor; i < s->nchunks; i++) {
    if (s->done[i] || s->inflight[i] || (have != NULL && !have[i])) continue;
    if (only_full) return i;
    unsigned a = s->avail[i] + s->full_peers;
    if (a < best_avail) {
      best = i;
      best_avail = a;
      if (a <= 1) break;
    }
  }
  if (best >= 0 || nmine > 0) return best;
  /* Endgame: race a chunk in flight elsewhere, the least raced first. */
  unsigned best_dup = SCHED_ENDGAME_DUP;
  for (uint32_t i = s->cursor; i < s->nchunks; i++) {
    if (s->done[i] || s->checking[i] || s->inflight[i] >= best_dup || (have != NULL && !have[i]) ||
        is_mine(i, mine, nmine))
      continue;
    best = i;
    best_dup = s->inflight[i];
    if (best_dup <= 1) break;
  }
  return best;
}

void sched_start(sched_t *s, uint32_t index) {
  if (index < s->nchunks && s->inflight[index] < UINT8_MAX) s->inflight[index]++;
}

void sched_release(sched_t *s, uint32_t index) {
  if (index < s->nchunks && s->inflight[index] > 0) s->inflight[index]--;
}

void sched_checking(sched_t *s, uint32_t index) {
  if (index < s->nchunks && s->checking[index] < UINT8_MAX) s->checking[index]++;
}

static void checked(sched_t *s, uint32_t index) {
  if (s->checking[index] > 0) s->checking[index]--;
  sched_release(s, index);
}

void sched_rejected(sched_t *s, uint32_t index) {
  if (index < s->nchunks) checked(s, index);
}

int sched_complete(sched_t *s, uint32_t index) {
  if (index >= s->nchunks) return 0;
  checked(s, index);
  if (s->done[index]) return 0;
  s->done[index] = 1;
  s->ndone++;
  while (s->cursor < s->nchunks && s->done[s->cursor]) s->cursor++;
  return 1;
}

int sched_finished(const sched_t *s) {
  return s->ndone == s->nchunks;
}

int64_t sched_unavailable(const sched_t *s) {
  if (s->full_peers > 0) return -1;
  for (uint32_t i = s->cursor; i < s->nchunks; i++)
    if (!s->done[i] && s->avail[i] == 0) return i;
  return -1;
}
