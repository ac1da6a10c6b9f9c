/* lanswarm-client: the hybrid model's client shell (origins 000 and 001).
 *
 * main.c is the command line and the wiring; session.c registers at the
 * tracker, publishes, fetches and runs the shell's commands. Files travel
 * peer to peer: run lanswarm-server beside it. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "ls_config.h"
#include "ls_daemon.h"
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
        "Run lanswarm-server beside it: files travel peer to peer. With several trackers\n"
        "in `tracker` (a list), the client shell uses the first one only.",
    .reads = LS_PROG_CLIENT,
    /* The shell's own lines are the output; diagnostics below warn go to --log-file only. */
    .start = LS_START_MAKE_DIRS | LS_START_QUIET,
};

int main(int argc, char **argv) {
  client_t c;
  memset(&c, 0, sizeof c);
  ls_daemon_t d = {.cfg = &c.cfg, .key = &c.key};
  int rc = ls_daemon_start(&d, &program, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  if (c.cfg.tracker[0] == '\0') {
    fprintf(stderr, "lanswarm-client: no tracker configured (--tracker ADDR:PORT or 'tracker =' in the config)\n");
    return 2;
  }
  c.loop = d.loop;
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
