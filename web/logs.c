#include "logs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const daemons[LOGS_NFILES] = {"announcer", "listener", "server", "up", "downloader", "web"};

typedef struct {
  const char *daemon;
  char *text; /* a line, NUL-terminated, inside a tail's buffer */
} log_line_t;

/* The last LOGS_TAIL bytes of path (NUL-terminated, malloc'ed), from the
 * first whole line; NULL if unreadable. */
static char *tail(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return NULL;
  char *buf = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t from = st.st_size > (off_t)LOGS_TAIL ? st.st_size - (off_t)LOGS_TAIL : 0;
    buf = malloc(LOGS_TAIL + 1);
    ssize_t got = buf ? pread(fd, buf, LOGS_TAIL, from) : -1;
    if (got < 0) got = 0;
    if (buf) buf[got] = '\0';
    char *nl = from > 0 && buf ? strchr(buf, '\n') : NULL;
    if (nl) memmove(buf, nl + 1, strlen(nl + 1) + 1);
  }
  close(fd);
  return buf;
}

/* Splits text into lines (in place), each made plain text, into out. */
static size_t split(char *text, const char *daemon, log_line_t *out, size_t room) {
  size_t n = 0;
  for (char *line = text; *line && n < room;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    for (char *c = line; *c; c++)
      if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
    if (*line) out[n++] = (log_line_t){daemon, line};
    if (!nl) break;
    line = nl + 1;
  }
  return n;
}

/* By time: every line begins with its ISO 8601 UTC stamp; ties by daemon. */
static int by_time(const void *a, const void *b) {
  const log_line_t *x = a, *y = b;
  int c = strncmp(x->text, y->text, 24);
  return c ? c : strcmp(x->daemon, y->daemon);
}

static int changed(logs_t *l, const char *dir) {
  int any = 0;
  for (int i = 0; i < LOGS_NFILES; i++) {
    char path[PATH_MAX + 64];
    struct stat st;
    snprintf(path, sizeof path, "%s/logs/%s.log", dir, daemons[i]);
    int64_t m = -1, s = -1;
    if (stat(path, &st) == 0) {
      m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
      s = (int64_t)st.st_size;
    }
    any |= m != l->mtime_ns[i] || s != l->size[i];
    l->mtime_ns[i] = m;
    l->size[i] = s;
  }
  return any;
}

cJSON *logs_look(logs_t *l, const char *dir) {
  if (!changed(l, dir)) return NULL;
  char *texts[LOGS_NFILES] = {0};
  /* Room for one tail's lines (a line takes 2 bytes at least) beside the
   * LOGS_LINES kept of each before it. */
  size_t room = LOGS_NFILES * LOGS_LINES + LOGS_TAIL / 2 + 1, n = 0;
  log_line_t *lines = malloc(room * sizeof *lines);
  for (int i = 0; i < LOGS_NFILES && lines; i++) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/logs/%s.log", dir, daemons[i]);
    if ((texts[i] = tail(path)) == NULL) continue;
    size_t k = split(texts[i], daemons[i], lines + n, room - n);
    if (k > LOGS_LINES) memmove(lines + n, lines + n + (k - LOGS_LINES), LOGS_LINES * sizeof *lines);
    n += k > LOGS_LINES ? LOGS_LINES : k;
  }
  if (n) qsort(lines, n, sizeof *lines, by_time);
  cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "lines");
  for (size_t i = n > LOGS_LINES ? n - LOGS_LINES : 0; i < n; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "daemon", lines[i].daemon);
    cJSON_AddStringToObject(e, "line", lines[i].text);
    cJSON_AddItemToArray(arr, e);
  }
  for (int i = 0; i < LOGS_NFILES; i++) free(texts[i]);
  free(lines);
  return o;
}
