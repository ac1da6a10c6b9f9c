/* answer_limit: how often the listener may answer a query, so that a forged
 * query cannot make it a reflection amplifier. Pure data, no I/O.
 *
 * At most one answer per source address per ANSWER_LIMIT_PER_SOURCE_MS, and
 * at most ANSWER_LIMIT_PER_SECOND answers per second in all. The sources
 * answered lately are kept in a ring of ANSWER_LIMIT_SOURCES entries, oldest
 * overwritten: since at most ANSWER_LIMIT_PER_SECOND answers go out per
 * second, the ring always holds every source answered in the window. */
#ifndef ANSWER_LIMIT_H
#define ANSWER_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define ANSWER_LIMIT_SOURCES 1024
#define ANSWER_LIMIT_PER_SOURCE_MS 2000
#define ANSWER_LIMIT_PER_SECOND 50
#define ANSWER_LIMIT_ADDR_MAX 46 /* an IPv6 address in text, and NUL */

typedef struct {
  char addr[ANSWER_LIMIT_ADDR_MAX];
  uint64_t at_ms;
} answer_source_t;

typedef struct {
  answer_source_t ring[ANSWER_LIMIT_SOURCES];
  size_t next;              /* where the next source goes */
  size_t count;             /* entries in use, at most ANSWER_LIMIT_SOURCES */
  uint64_t second_start_ms; /* the current one-second window */
  unsigned in_second;
  unsigned long refused;
} answer_limit_t;

void answer_limit_init(answer_limit_t *al);
/* 1 (and counts it) if an answer to addr may go out at monotonic now_ms;
 * else 0. */
int answer_limit_allow(answer_limit_t *al, const char *addr, uint64_t now_ms);

#endif
