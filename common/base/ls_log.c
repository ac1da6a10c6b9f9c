#include "ls_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *log_component = "lanswarm";
static ls_log_level_t log_level = LS_LOG_INFO;
static FILE *log_file;
static int log_quiet_stderr;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void ls_log_init(const char *component, ls_log_level_t level) {
  log_component = component;
  log_level = level;
}

int ls_log_open_file(const char *path, int quiet_stderr) {
  FILE *f = fopen(path, "a");
  if (f == NULL) return -errno;
  setvbuf(f, NULL, _IOLBF, 0);
  ls_log_close();
  log_file = f;
  log_quiet_stderr = quiet_stderr;
  return 0;
}

void ls_log_close(void) {
  if (log_file != NULL) fclose(log_file);
  log_file = NULL;
  log_quiet_stderr = 0;
}

int ls_log_level_parse(const char *s, ls_log_level_t *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (ls_log_level_t)i;
      return 0;
    }
  }
  return -EINVAL;
}

void ls_log_timestamp(char *buf, unsigned long len) {
  struct timeval tv;
  struct tm tm;
  gettimeofday(&tv, NULL);
  gmtime_r(&tv.tv_sec, &tm);
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

void ls_log(ls_log_level_t level, const char *fmt, ...) {
  if (level < log_level) return;
  char ts[40];
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ls_log_timestamp(ts, sizeof ts);
  if (!log_quiet_stderr) fprintf(stderr, "%s %-5s %s: %s\n", ts, level_names[level], log_component, msg);
  if (log_file != NULL) fprintf(log_file, "%s %-5s %s: %s\n", ts, level_names[level], log_component, msg);
}

static unsigned long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

void ls_ratelimit_init(ls_ratelimit_t *rl, unsigned burst, unsigned period_ms) {
  memset(rl, 0, sizeof *rl);
  rl->burst = burst;
  rl->period_ms = period_ms;
}

int ls_ratelimit_allow(ls_ratelimit_t *rl, unsigned long *suppressed) {
  unsigned long long now = now_ms();
  if (now - rl->window_start >= rl->period_ms) {
    rl->window_start = now;
    rl->in_window = 0;
  }
  if (rl->in_window < rl->burst) {
    rl->in_window++;
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    return 1;
  }
  rl->suppressed++;
  return 0;
}

int ls_log_path(const char *dir, const char *name, char *out, size_t size) {
  return snprintf(out, size, "%s/logs/lanswarm-%s.log", dir, name);
}
