#include "answer_limit.h"

#include <stdio.h>
#include <string.h>

void answer_limit_init(answer_limit_t *al) {
  memset(al, 0, sizeof *al);
}

/* Whether addr was answered in the last ANSWER_LIMIT_PER_SOURCE_MS: the ring
 * is in time order, so the walk from the newest stops at the first older one. */
static int answered_lately(const answer_limit_t *al, const char *addr, uint64_t now_ms) {
  for (size_t k = 0; k < al->count; k++) {
    const answer_source_t *s = &al->ring[(al->next + ANSWER_LIMIT_SOURCES - 1 - k) % ANSWER_LIMIT_SOURCES];
    if (now_ms - s->at_ms >= ANSWER_LIMIT_PER_SOURCE_MS) return 0;
    if (strcmp(s->addr, addr) == 0) return 1;
  }
  return 0;
}

int answer_limit_allow(answer_limit_t *al, const char *addr, uint64_t now_ms) {
  if (now_ms - al->second_start_ms >= 1000 || al->second_start_ms > now_ms) {
    al->second_start_ms = now_ms;
    al->in_second = 0;
  }
  if (al->in_second >= ANSWER_LIMIT_PER_SECOND || answered_lately(al, addr, now_ms)) {
    al->refused++;
    return 0;
  }
  al->in_second++;
  answer_source_t *s = &al->ring[al->next];
  snprintf(s->addr, sizeof s->addr, "%s", addr);
  s->at_ms = now_ms;
  al->next = (al->next + 1) % ANSWER_LIMIT_SOURCES;
  if (al->count < ANSWER_LIMIT_SOURCES) al->count++;
  return 1;
}
