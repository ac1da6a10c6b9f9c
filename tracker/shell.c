#include "shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ls_lines.h"
#include "ls_util.h"


struct shell_s {
  uv_loop_t *loop;
  tracker_t *t;
  ls_lines_t in;
  void (*on_quit)(void *ud);
  void *ud;
};

static void prompt(shell_t *s) {
  if (s->in.is_tty) printf("tracker> ");
  fflush(stdout);
}

static void cmd_list(shell_t *s) {
  registry_t *r = tracker_registry(s->t);
  if (r->first == NULL) printf("no hosts registered\n");
  for (reg_host_t *h = r->first; h; h = h->next) {
    char since[32];
    time_t t = (time_t)h->since;
    struct tm tm;
    strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
    printf("%-24s %s:%-5u %6zu file(s)  connected since %s\n", h->name, h->addr, h->port, h->files.count, since);
  }
}

static void cmd_discover(shell_t *s, const char *host) {
  reg_host_t *h = registry_find(tracker_registry(s->t), host);
  if (h == NULL) {
    printf("no such host: %s\n", host);
    return;
  }
  printf("%s (%s:%u): %zu file(s)\n", h->name, h->addr, h->port, h->files.count);
  for (ls_map_node_t *it = ls_map_first(&h->files); it; it = ls_map_next(&h->files, it)) {
    const ls_announce_file_t *f = it->value;
    char hex[LS_HASH_HEX_LEN + 1], size[32];
    ls_hash_to_hex(f->root, hex);
    ls_format_bytes((double)f->size, size, sizeof size);
    printf("  %-40s %10s  %.16s  %s\n", f->name, size, hex, f->complete ? "complete" : "partial");
  }
}

static void cmd_files(shell_t *s) {
  registry_t *r = tracker_registry(s->t);
  if (r->by_name.count == 0) printf("no files published\n");
  for (ls_map_node_t *it = ls_map_first(&r->by_name); it; it = ls_map_next(&r->by_name, it)) {
    const reg_holders_t *hs = it->value;
    const ls_announce_file_t *f = ls_map_get(&hs->v[0]->files, it->key);
    char size[32];
    ls_format_bytes((double)f->size, size, sizeof size);
    printf("%-40s %10s  held by", it->key, size);
    for (size_t i = 0; i < hs->n; i++) printf(" %s", hs->v[i]->name);
    printf("\n");
  }
}

static void ping_done(void *ud, const char *host, double rtt_ms) {
  shell_t *s = ud;
  if (rtt_ms < 0) printf("%s: no answer within 3 s\n", host);
  else printf("%s: alive, round trip %.3f ms\n", host, rtt_ms);
  if (s->in.open) prompt(s);
}

static void run(shell_t *s, char *line) {
  char *save = NULL;
  char *cmd = strtok_r(line, " \t\r", &save);
  char *arg = strtok_r(NULL, " \t\r", &save);
  char *extra = strtok_r(NULL, " \t\r", &save);
  if (cmd == NULL) return;
  if (strcmp(cmd, "list") == 0 && arg == NULL) cmd_list(s);
  else if (strcmp(cmd, "files") == 0 && arg == NULL) cmd_files(s);
  else if (strcmp(cmd, "discover") == 0 && arg != NULL && extra == NULL) cmd_discover(s, arg);
  else if (strcmp(cmd, "ping") == 0 && arg != NULL && extra == NULL) {
    if (tracker_ping(s->t, arg, ping_done, s) != 0) printf("no such host: %s\n", arg);
    else return; /* the answer comes later */
  } else if ((strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) && arg == NULL) {
    printf("shutting down\n");
    fflush(stdout);
    s->on_quit(s->ud);
    return;
  } else {
    printf("usage: discover <host> | ping <host> | list | files | quit\n");
  }
}

static void on_line(ls_lines_t *in, char *line) {
  shell_t *s = in->data;
  if (line == NULL) return; /* end of input: the tracker goes on without a shell */
  run(s, line);
  if (s->in.open) prompt(s);
}

int shell_start(uv_loop_t *loop, tracker_t *t, void (*on_quit)(void *ud), void *ud, shell_t **out) {
  shell_t *s = calloc(1, sizeof *s);
  if (s == NULL) return UV_ENOMEM;
  s->loop = loop;
  s->t = t;
  s->on_quit = on_quit;
  s->ud = ud;
  s->in.data = s;
  int rc = ls_lines_start(loop, &s->in, on_line);
  if (rc != 0) {
    free(s);
    return rc;
  }
  if (s->in.is_tty) printf("lanswarm tracker: discover <host>, ping <host>, list, files, quit\n");
  prompt(s);
  *out = s;
  return 0;
}

void shell_close(shell_t *s) {
  if (s != NULL) ls_lines_close(&s->in);
}

void shell_free(shell_t *s) {
  free(s);
}
