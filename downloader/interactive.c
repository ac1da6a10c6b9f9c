#include "interactive.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "ls_shell.h"
#include "ls_tags.h"
#include "ls_util.h"
#include "report.h"

static int cmd_list(ls_shell_t *sh, int argc, char **argv) {
  const download_opts_t *o = sh->data;
  (void)argc;
  (void)argv;
  ls_tag_entry_t *e;
  size_t n;
  int rc = ls_tags_read(o->cfg.tags_path, &e, &n, NULL);
  if (rc != 0) {
    printf("cannot read %s: %s\n", o->cfg.tags_path, ls_tags_read_error(rc));
    return LS_SHELL_DONE;
  }
  if (n == 0) printf("no files known yet (is the listener running?)\n");
  for (size_t i = 0; i < n; i++) {
    char sz[32];
    ls_format_bytes((double)e[i].size, sz, sizeof sz);
    printf("%-40s %10s  %s (%s:%u)%s\n", e[i].name, sz, e[i].tag, e[i].addr, e[i].port,
           e[i].complete ? "" : " partial");
  }
  ls_tags_free(e, n);
  return LS_SHELL_DONE;
}

/* The download runs its own loop (fetch.c); this one waits meanwhile. */
static int cmd_fetch(ls_shell_t *sh, int argc, char **argv) {
  (void)argc;
  fflush(stdout);
  int code = download_run(sh->data, argv[0]);
  if (code != 0) printf("fetch failed (exit status %d)\n", code);
  return LS_SHELL_DONE;
}

static int cmd_quit(ls_shell_t *sh, int argc, char **argv) {
  (void)argc;
  (void)argv;
  ls_shell_close(sh);
  return LS_SHELL_DONE;
}

static const ls_shell_cmd_t commands[] = {
    {"fetch", "NAME", "download NAME from the peers that have it", 1, 1, 1, cmd_fetch},
    {"list", "", "the files tags.txt knows", 0, 0, 0, cmd_list},
    {"quit", "", "leave", 0, 0, 0, cmd_quit},
    {"exit", "", NULL, 0, 0, 0, cmd_quit},
};

int interactive_run(const download_opts_t *o) {
  uv_loop_t loop;
  ls_shell_t sh;
  memset(&sh, 0, sizeof sh);
  sh.data = (void *)o;
  if (uv_loop_init(&loop) != 0) return EXIT_ERROR;
  if (ls_shell_start(&loop, &sh, commands, sizeof commands / sizeof commands[0], "lanswarm> ", NULL) != 0) {
    fprintf(stderr, "lanswarm-downloader: standard input must be a terminal\n");
    uv_loop_close(&loop);
    return EXIT_USAGE;
  }
  ls_shell_greet(&sh, "lanswarm downloader");
  ls_shell_prompt(&sh);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}
