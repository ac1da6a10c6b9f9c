/* ls_log: timestamped, levelled log lines to stderr and/or a file.
 *
 * Line format (one event per line, easy for people and for awk):
 *   2026-11-25T11:04:41.123Z info  listener: peer joined tag=alpha addr=127.0.0.1:41771
 * The component name is set once per process with ls_log_init().
 */
#ifndef LS_LOG_H
#define LS_LOG_H

#include <stdarg.h>
#include <stddef.h>

typedef enum { LS_LOG_DEBUG = 0, LS_LOG_INFO, LS_LOG_WARN, LS_LOG_ERROR } ls_log_level_t;

/* component: short program name put on every line. */
void ls_log_init(const char *component, ls_log_level_t level);
/* Also append to path (in addition to stderr unless quiet). Returns 0 or -errno. */
int ls_log_open_file(const char *path, int quiet_stderr);
/* Where a program's diagnostics go under `lanswarm up` and the downloader's
 * by default: DIR/logs/lanswarm-NAME.log (NAME: "server", "up"...; named
 * apart from the connection log DIR/server.log). The length snprintf gives. */
int ls_log_path(const char *dir, const char *name, char *out, size_t size);
void ls_log_close(void);
int ls_log_level_parse(const char *s, ls_log_level_t *out);

void ls_log(ls_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ls_debug(...) ls_log(LS_LOG_DEBUG, __VA_ARGS__)
#define ls_info(...) ls_log(LS_LOG_INFO, __VA_ARGS__)
#define ls_warn(...) ls_log(LS_LOG_WARN, __VA_ARGS__)
#define ls_error(...) ls_log(LS_LOG_ERROR, __VA_ARGS__)

/* A limiter for log lines caused by the network: at most `burst` lines per
 * `period_ms`; the number suppressed is reported on the next line let through. */
typedef struct {
  unsigned burst;
  unsigned period_ms;
  unsigned long long window_start;
  unsigned in_window;
  unsigned long suppressed;
} ls_ratelimit_t;

void ls_ratelimit_init(ls_ratelimit_t *rl, unsigned burst, unsigned period_ms);
/* Returns 1 if a line may be logged now; *suppressed gets the count dropped since. */
int ls_ratelimit_allow(ls_ratelimit_t *rl, unsigned long *suppressed);

/* Formats the current UTC time as 2026-11-25T11:04:41.123Z into buf (>= 32 bytes). */
void ls_log_timestamp(char *buf, unsigned long len);

#endif
