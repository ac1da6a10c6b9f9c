/* report: what a download says when it ends, and early. The exit status
 * table, the client.log record (ls_clientlog), the --json summary and the
 * --events lines (ls_events, docs/PROTOCOL.md "Downloader events"), and the
 * line a person reads on stderr. */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>

#include "fetch.h"
#include "ls_tagsq.h"

/* lanswarm-downloader's exit statuses (its --help and man page list them). */
enum {
  EXIT_OK = 0,
  EXIT_ERROR = 1,
  EXIT_USAGE = 2,
  EXIT_NOT_FOUND = 3,
  EXIT_NO_HOLDER = 4,
  EXIT_INTEGRITY = 5,
  EXIT_EXISTS = 6,
  EXIT_IO = 7,
  EXIT_INTERRUPTED = 130,
};

/* The exit status for a fetch's outcome. */
int report_exit_status(fetch_status_t st);
/* Appends the download's line to client.log (an error goes to stderr). */
void report_client_log(const char *client_log, const char *name, const char *root_hex, const fetch_result_t *r);
/* --events: {"event":"start"...} once the holders are known. */
void report_event_start(const char *name, const char *root_hex, uint64_t size, const ls_tagsq_lookup_t *lk);
/* --events: {"event":"progress"...}, a fetch_progress_cb (ud unused). */
void report_event_progress(void *ud, const fetch_progress_t *p);
/* --events (when events is set): the end of a download that never started
 * (not found, exists...). */
void report_early_end(int events, const char *name, const char *result, const char *message);
/* The file is already on this peer (share/ or downloads/), at path: nothing
 * to fetch. A sentence on stderr, or the end line (result "here") with json. */
void report_here(int json, int events, int quiet, const char *name, const char *path);
/* The end of a download that ran: the --json summary (with events: the
 * --events end line), or the line on stderr (none for a quiet success). */
void report_end(int json, int events, int quiet, const char *name, const char *root_hex, const fetch_result_t *r,
                const char *dest);

#endif
