/* logs: the dashboard's log panel: the last lines of the daemons' logs
 * (DIR/logs/NAME.log, as `lanswarm up` writes them), merged by time. Looked
 * at with the other files (a stat each every 250 ms, the tails read again
 * only when one changed). Runs on the loop thread. */
#ifndef WEB_LOGS_H
#define WEB_LOGS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#define LOGS_NFILES 6        /* announcer, listener, server, up, downloader, web */
#define LOGS_TAIL (16u << 10) /* bytes read from the end of each */
#define LOGS_LINES 100       /* lines shown, newest last */

typedef struct {
  int64_t mtime_ns[LOGS_NFILES], size[LOGS_NFILES];
} logs_t;

/* {"lines": [{"daemon", "line"}]} if a log changed since the last call (or
 * at the first), else NULL. Every byte outside printable ASCII in a line
 * becomes '?': the page gets plain text. */
cJSON *logs_look(logs_t *l, const char *dir);

#endif
