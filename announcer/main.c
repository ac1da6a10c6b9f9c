/* lanswarm-announcer: tells the LAN what this peer shares.
 *
 * main.c is the command line and the wiring; the engine (announcing.c)
 * broadcasts the catalog, paced, and says goodbye on SIGINT/SIGTERM. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "announcing.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_log.h"
#include "ls_net.h"

typedef struct {
  ls_config_t cfg;
  uv_loop_t *loop;
  ls_signals_t signals;
  ls_key_t key;               /* with `key_file` configured */
  announcing_t engine;
} announcer_t;

static void on_signal(ls_signals_t *s, int signum) {
  announcer_t *an = s->data;
  if (an->engine.stopping) return;
  ls_info("signal %d: saying goodbye", signum);
  announcing_close(&an->engine);
  ls_signals_close(&an->signals);
}

static const ls_config_program_t program = {
    .program = "lanswarm-announcer",
    .synopsis = "[OPTIONS]",
    .description = "Broadcasts the list of files this peer shares (share/, downloads/ and partial\n"
                   "downloads in temp/) as JSON datagrams: at start, every --interval seconds,\n"
                   "within about a second of a change, and a goodbye on SIGINT/SIGTERM.\n"
                   "With --tracker ADDR:PORT[,ADDR:PORT...] (up to 8) it also registers with each\n"
                   "tracker under its tag and keeps each tracker's copy of its file list current\n"
                   "(hybrid model).",
    .reads = LS_PROG_ANNOUNCER,
    .start = LS_START_MAKE_DIRS,
};

int main(int argc, char **argv) {
  announcer_t an;
  memset(&an, 0, sizeof an);
  ls_daemon_t d = {.cfg = &an.cfg, .key = &an.key};
  int rc = ls_daemon_start(&d, &program, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  if (an.cfg.tcp_port == 0) {
    fprintf(stderr, "lanswarm-announcer: --tcp-port must name the chunk server's port\n");
    return 2;
  }
  an.loop = d.loop;
  char err[PATH_MAX + 128];
  if ((rc = announcing_init(&an.engine, an.loop, &an.cfg, an.key.set ? &an.key : NULL, err, sizeof err)) != 0) {
    fprintf(stderr, "lanswarm-announcer: %s\n", err);
    return rc == ANNOUNCING_BAD_TRACKER ? 2 : 1;
  }
  ls_signals_init(an.loop, &an.signals, on_signal, &an);
  announcing_start(&an.engine);
  uv_run(an.loop, UV_RUN_DEFAULT);
  announcing_free(&an.engine);
  uv_loop_close(an.loop);
  ls_info("stopped");
  return 0;
}
