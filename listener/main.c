/* lanswarm-listener: keeps tags.txt from the announcements it hears.
 *
 * main.c is the command line and the wiring; the engine is listening.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "listening.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"

typedef struct {
  ls_config_t cfg;
  uv_loop_t *loop;
  ls_signals_t signals;
  ls_key_t key;                 /* with `key_file`: only sealed announcements count */
  listening_t engine;
} listener_t;

static void on_signal(ls_signals_t *s, int signum) {
  listener_t *l = s->data;
  if (l->engine.stopping) return;
  ls_info("signal %d: stopping (datagrams=%lu rejected=%lu broadcast=%lu multicast=%lu unicast=%lu queries_sent=%lu "
          "answers_sent=%lu answer_datagrams=%lu)",
          signum, l->engine.datagrams, l->engine.rejected, l->engine.via[LS_VIA_BROADCAST],
          l->engine.via[LS_VIA_MULTICAST], l->engine.via[LS_VIA_UNICAST], l->engine.asking.queries,
          l->engine.answering.answers, l->engine.answering.datagrams);
  listening_close(&l->engine);
  ls_signals_close(&l->signals);
}

static const ls_config_program_t program = {
    .program = "lanswarm-listener",
    .synopsis = "[OPTIONS]",
    .description = "Receives announcements on the UDP port and keeps DIR/tags.txt: one line per\n"
                   "(peer, file). Peers silent for 3 of their intervals, and peers that say\n"
                   "goodbye, are dropped. With --tracker ADDR:PORT[,ADDR:PORT...] (up to 8) it\n"
                   "also subscribes to each tracker's tables (pushed within 100 ms of a change,\n"
                   "and listed every interval) into the same tags.txt (hybrid model).\n"
                   "See docs/PROTOCOL.md for the file format.",
    .reads = LS_PROG_LISTENER,
    .start = LS_START_MAKE_DIR,
};

static int listener_main(listener_t *l, int argc, char **argv) {
  ls_daemon_t d = {.cfg = &l->cfg, .key = &l->key};
  int rc = ls_daemon_start(&d, &program, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  l->loop = d.loop;
  char err[PATH_MAX + 128];
  if ((rc = listening_init(&l->engine, l->loop, &l->cfg, l->key.set ? &l->key : NULL, err, sizeof err)) != 0) {
    fprintf(stderr, "lanswarm-listener: %s\n", err);
    return 1;
  }
  ls_signals_init(l->loop, &l->signals, on_signal, l);
  listening_start(&l->engine);
  uv_run(l->loop, UV_RUN_DEFAULT);
  listening_free(&l->engine);
  uv_loop_close(l->loop);
  return 0;
}

int main(int argc, char **argv) {
  listener_t *l = calloc(1, sizeof *l); /* holds a 64 KiB receive buffer */
  if (l == NULL) return 1;
  int rc = listener_main(l, argc, argv);
  free(l);
  return rc;
}
