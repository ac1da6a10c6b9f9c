#include "shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ls_shell.h"
#include "ls_util.h"

struct shell_s {
  tracker_t *t;
  ls_shell_t sh;
  void (*on_quit)(void *ud);
  void *ud;
};

static int cmd_list(ls_shell_t *sh, int argc, char **argv) {
  shell_t *s = sh->data;
  (void)argc;
  (void)argv;
  registry_t *r = tracker_registry(s->t);
  if (r->first == NULL) printf("no hosts registered\n");
  for (reg_host_t *h = r->first; h; h = h->next) {
    char since[32];
    time_t t = (time_t)h->since;
    struct tm tm;
    strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
    printf("%-24s %s:%-5u %6zu file(s)  connected since %s\n", h->name, h->addr, h->port, h->files.count, since);
  }
  return LS_SHELL_DONE;
}

static int cmd_discover(ls_shell_t *sh, int argc, char **argv) {
  shell_t *s = sh->data;
  (void)argc;
  reg_host_t *h = registry_find(tracker_registry(s->t), argv[0]);
  if (h == NULL) {
    printf("no such host: %s\n", argv[0]);
    return LS_SHELL_DONE;
  }
  printf("%s (%s:%u): %zu file(s)\n", h->name, h->addr, h->port, h->files.count);
  for (size_t i = 0; i < h->files.nslots; i++) {
    const reg_file_t *f = h->files.slots[i];
    if (f == NULL) continue;
    char hex[LS_HASH_HEX_LEN + 1], size[32];
    ls_hash_to_hex(f->root, hex);
    ls_format_bytes((double)f->size, size, sizeof size);
    printf("  %-40s %10s  %.16s  %s\n", f->name, size, hex, f->complete ? "complete" : "partial");
  }
  return LS_SHELL_DONE;
}

static int cmd_files(ls_shell_t *sh, int argc, char **argv) {
  shell_t *s = sh->data;
  (void)argc;
  (void)argv;
  registry_t *r = tracker_registry(s->t);
  if (r->names.count == 0) printf("no files published\n");
  for (size_t i = 0; i < r->names.nslots; i++) {
    const reg_file_t *first = r->names.slots[i];
    if (first == NULL) continue;
    char size[32];
    ls_format_bytes((double)first->size, size, sizeof size);
    printf("%-40s %10s  held by", first->name, size);
    for (const reg_file_t *f = first; f; f = f->next)
      for (uint32_t k = 0; k < f->nholders; k++) printf(" %s", f->holders[k]->name);
    printf("\n");
  }
  return LS_SHELL_DONE;
}

static void ping_done(void *ud, const char *host, double rtt_ms) {
  shell_t *s = ud;
  if (rtt_ms < 0) printf("%s: no answer within 3 s\n", host);
  else printf("%s: alive, round trip %.3f ms\n", host, rtt_ms);
  ls_shell_prompt(&s->sh);
}

static int cmd_ping(ls_shell_t *sh, int argc, char **argv) {
  shell_t *s = sh->data;
  (void)argc;
  if (tracker_ping(s->t, argv[0], ping_done, s) == 0) return LS_SHELL_LATER; /* the answer comes later */
  printf("no such host: %s\n", argv[0]);
  return LS_SHELL_DONE;
}

static int cmd_quit(ls_shell_t *sh, int argc, char **argv) {
  shell_t *s = sh->data;
  (void)argc;
  (void)argv;
  printf("shutting down\n");
  fflush(stdout);
  s->on_quit(s->ud);
  return LS_SHELL_LATER; /* no prompt: the tracker is stopping */
}

static const ls_shell_cmd_t commands[] = {
    {"discover", "<host>", "the files a host publishes", 1, 1, 0, cmd_discover},
    {"ping", "<host>", "ask a host whether it is alive", 1, 1, 0, cmd_ping},
    {"list", "", "the registered hosts", 0, 0, 0, cmd_list},
    {"files", "", "every published file and its holders", 0, 0, 0, cmd_files},
    {"quit", "", "stop the tracker", 0, 0, 0, cmd_quit},
    {"exit", "", NULL, 0, 0, 0, cmd_quit},
};

int shell_start(uv_loop_t *loop, tracker_t *t, void (*on_quit)(void *ud), void *ud, shell_t **out) {
  shell_t *s = calloc(1, sizeof *s);
  if (s == NULL) return UV_ENOMEM;
  s->t = t;
  s->on_quit = on_quit;
  s->ud = ud;
  s->sh.data = s;
  /* At end of input the tracker goes on without a shell. */
  int rc = ls_shell_start(loop, &s->sh, commands, sizeof commands / sizeof commands[0], "tracker> ", NULL);
  if (rc != 0) {
    free(s);
    return rc;
  }
  if (s->sh.in.is_tty) ls_shell_greet(&s->sh, "lanswarm tracker");
  ls_shell_prompt(&s->sh);
  *out = s;
  return 0;
}

void shell_close(shell_t *s) {
  if (s != NULL) ls_shell_close(&s->sh);
}

void shell_free(shell_t *s) {
  free(s);
}
