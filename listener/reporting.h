/* reporting: the listener's counters in DIR/run/listener.status (ls_lstatus),
 * rewritten at most once a second when something changed, so that `lanswarm
 * doctor` can tell whether its own query came back through the firewall and
 * which peers' datagrams fail the network key. Pure bookkeeping but for the
 * timer and the small direct write (a few hundred bytes). */
#ifndef REPORTING_H
#define REPORTING_H

#include <uv.h>

#include "ls_config.h"
#include "ls_lstatus.h"

#define REPORTING_MS 1000

typedef struct {
  uv_timer_t timer;
  char path[PATH_MAX + 32];
  ls_lstatus_t st;
  size_t next_query, next_key; /* ring positions */
  const unsigned long *datagrams, *rejected, *answers; /* the engine's counters */
  int dirty;
} reporting_t;

/* cfg: the file's folder and the UDP port; the three counters are read at
 * each write. */
void reporting_init(reporting_t *r, uv_loop_t *loop, const ls_config_t *cfg, const unsigned long *datagrams,
                    const unsigned long *rejected, const unsigned long *answers);
void reporting_start(reporting_t *r);
/* A validated query heard, with the asker's tag. */
void reporting_query(reporting_t *r, const char *tag);
/* A datagram from addr that fails the network key (or is sealed while this
 * peer has none): data is the datagram, for the tag it claims. */
void reporting_key_failure(reporting_t *r, const char *addr, const char *data, size_t len);
/* Something counted changed (a datagram in or an answer out). */
void reporting_touch(reporting_t *r);
void reporting_close(reporting_t *r);

#endif
