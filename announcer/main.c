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
                   "With --tracker ADDR:PORT it also registers with that tracker under its tag\n"
                   "and keeps the tracker's copy of its file list current (hybrid model).",
};

int main(int argc, char **argv) {
  announcer_t an;
  memset(&an, 0, sizeof an);
  int first = ls_config_from_args(&an.cfg, &program, argc, argv);
  if (first < 0) return 2;
  if (first < argc) {
    fprintf(stderr, "lanswarm-announcer: unexpected argument '%s'\n", argv[first]);
    return 2;
  }
  ls_log_init("announcer", an.cfg.log_level);
  if (an.cfg.log_file[0] && ls_log_open_file(an.cfg.log_file, 0) != 0) {
    fprintf(stderr, "lanswarm-announcer: cannot open log file %s\n", an.cfg.log_file);
    return 1;
  }
  if (ls_config_load_key(&an.cfg, "lanswarm-announcer", &an.key) != 0) return 1;
  if (an.cfg.tcp_port == 0) {
    fprintf(stderr, "lanswarm-announcer: --port must name the chunk server's port\n");
    return 2;
  }
  int rc = ls_config_make_dirs(&an.cfg);
  if (rc != 0) {
    fprintf(stderr, "lanswarm-announcer: cannot create folders under %s: %s\n", an.cfg.dir, uv_strerror(rc));
    return 1;
  }
  an.loop = uv_default_loop();
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
