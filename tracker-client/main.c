/* lanswarm-client: the hybrid model's client shell (origins 000 and 001).
 *
 * main.c is the command line and the wiring; session.c registers at the
 * tracker, publishes, fetches and runs the shell's commands. Files travel
 * peer to peer: run lanswarm-server beside it. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "ls_config.h"
#include "ls_log.h"
#include "ls_net.h"
#include "session.h"

typedef struct {
  ls_config_t cfg;
  ls_key_t key;
  uv_loop_t *loop;
  ls_signals_t signals;
  session_t session;
} client_t;

static void on_signal(ls_signals_t *s, int signum) {
  client_t *c = s->data;
  (void)signum;
  session_close(&c->session);
}

static void session_ended(void *ud) {
  client_t *c = ud;
  ls_signals_close(&c->signals);
}

static const ls_config_program_t program = {
    .program = "lanswarm-client",
    .synopsis = "--tracker ADDR:PORT [OPTIONS]",
    .description =
        "The client shell of the hybrid model: registers this peer with a tracker under a\n"
        "unique host name (default: the tag; asks again while a name is taken), publishes\n"
        "the peer's share, and reads commands:\n"
        "  publish <local-path> <name>   add a file to the share under name and publish it\n"
        "  fetch <name>                  show the holders and download it (lanswarm-downloader)\n"
        "  list                          this peer's files\n"
        "  quit (or disconnect)          leave the tracker cleanly\n"
        "Run lanswarm-server beside it: files travel peer to peer.",
};

int main(int argc, char **argv) {
  client_t c;
  memset(&c, 0, sizeof c);
  int first = ls_config_from_args(&c.cfg, &program, argc, argv);
  if (first < 0) return 2;
  if (first < argc) {
    fprintf(stderr, "lanswarm-client: unexpected argument '%s'\n", argv[first]);
    return 2;
  }
  if (c.cfg.tracker[0] == '\0') {
    fprintf(stderr, "lanswarm-client: no tracker configured (--tracker ADDR:PORT or 'tracker =' in the config)\n");
    return 2;
  }
  /* The shell's own lines are the output; diagnostics below warn go to --log-file only. */
  ls_log_init("client", c.cfg.log_level > LS_LOG_WARN ? c.cfg.log_level : LS_LOG_WARN);
  if (c.cfg.log_file[0]) {
    ls_log_init("client", c.cfg.log_level);
    if (ls_log_open_file(c.cfg.log_file, 1) != 0) {
      fprintf(stderr, "lanswarm-client: cannot open log file %s\n", c.cfg.log_file);
      return 1;
    }
  }
  if (ls_config_load_key(&c.cfg, "lanswarm-client", &c.key) != 0) return 1;
  int rc = ls_config_make_dirs(&c.cfg);
  if (rc != 0) {
    fprintf(stderr, "lanswarm-client: cannot create folders under %s: %s\n", c.cfg.dir, uv_strerror(rc));
    return 1;
  }
  c.loop = uv_default_loop();
  rc = session_init(&c.session, c.loop, &c.cfg, c.key.set ? &c.key : NULL, session_ended, &c);
  if (rc == SESSION_NO_SHELL) {
    fprintf(stderr, "lanswarm-client: standard input must be a terminal or a pipe\n");
    return 2;
  }
  if (rc != 0) return 1;
  ls_signals_init(c.loop, &c.signals, on_signal, &c);
  session_start(&c.session);
  uv_run(c.loop, UV_RUN_DEFAULT);
  uv_loop_close(c.loop);
  return 0;
}
