/* lanswarm-tracker: the optional tracker of the hybrid model (engine in
 * tracker.c, admin shell in shell.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"
#include "shell.h"
#include "tracker.h"

enum { OPT_PING = 1000, OPT_EXIT_EMPTY, OPT_NO_SHELL, OPT_PORT };

typedef struct {
  ls_config_t cfg;
  tracker_opts_t topts;
  ls_key_t key;
  int no_shell;
  uv_loop_t *loop;
  tracker_t *tracker;
  shell_t *shell;
  ls_signals_t signals;
  int stopping;
} app_t;

static int own_option(void *ud, int code, const char *arg) {
  app_t *app = ud;
  uint64_t v;
  switch (code) {
    case OPT_PING:
      if (ls_parse_u64(arg, 1, 3600, &v) != 0) {
        fprintf(stderr, "lanswarm-tracker: --ping-interval: 1 to 3600 seconds\n");
        return -1;
      }
      app->topts.ping_interval = (unsigned)v;
      return 0;
    case OPT_EXIT_EMPTY: app->topts.exit_when_empty = 1; return 0;
    case OPT_NO_SHELL: app->no_shell = 1; return 0;
    case OPT_PORT: {
      char err[256];
      if (ls_config_set(&app->cfg, "tracker_port", arg, err, sizeof err) == 0) return 0;
      fprintf(stderr, "lanswarm-tracker: --port: %s\n", err);
      return -1;
    }
    default: return -1;
  }
}

static const struct option own_options[] = {
    {"ping-interval", required_argument, NULL, OPT_PING},
    {"exit-when-empty", no_argument, NULL, OPT_EXIT_EMPTY},
    {"no-shell", no_argument, NULL, OPT_NO_SHELL},
    /* The tracker's port is tracker_port (41772), not the chunk server's. */
    {"port", required_argument, NULL, OPT_PORT},
    {"tcp-port", required_argument, NULL, OPT_PORT},
    {NULL, 0, NULL, 0},
};

static void stopped(void *ud) {
  app_t *app = ud;
  app->stopping = 1;
  ls_signals_close(&app->signals);
  shell_close(app->shell);
}

static void stop(app_t *app, const char *why) {
  if (app->stopping) return;
  app->stopping = 1;
  ls_info("stopping: %s", why);
  tracker_stop(app->tracker);
}

static void on_quit(void *ud) {
  stop(ud, "quit");
}

static void on_signal(ls_signals_t *s, int signum) {
  (void)signum;
  stop(s->data, "signal");
}

static const ls_config_program_t program = {
    .program = "lanswarm-tracker",
    .synopsis = "[OPTIONS]",
    .description =
        "The optional tracker (hybrid model): peers register a unique host name and\n"
        "publish their files; the files themselves travel peer to peer. Listens on\n"
        "TCP port tracker_port (default 41772, not the chunk server's tcp_port: it\n"
        "starts beside a running peer). On a terminal or a pipe, standard input is\n"
        "an admin shell: "
        "discover <host>, ping <host>, list, files, quit.",
    .own_options_help = "  --port N             listen on this TCP port (the key tracker_port, default\n"
                        "                       41772; --tcp-port N is the same)\n"
                        "  --ping-interval SEC  ping peers this often; drop one silent for 3 (default 10)\n"
                        "  --exit-when-empty    stop when the last registered host leaves\n"
                        "  --no-shell           no admin shell even on a terminal\n",
    .own_options = own_options,
    .own_cb = own_option,
    .reads = LS_PROG_TRACKER,
};

int main(int argc, char **argv) {
  app_t app;
  memset(&app, 0, sizeof app);
  app.topts.ping_interval = 10;
  ls_config_program_t prog = program;
  prog.ud = &app;
  ls_daemon_t d = {.cfg = &app.cfg, .key = &app.key};
  int rc = ls_daemon_start(&d, &prog, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  app.topts.key = app.key.set ? &app.key : NULL;
  app.topts.max_conns = app.cfg.max_conns;
  app.topts.on_stopped = stopped;
  app.topts.ud = &app;
  app.loop = d.loop;
  if (tracker_new(app.loop, &app.cfg, &app.topts, &app.tracker) != 0) return 1;
  /* Before the port opens: whoever sees it open may stop us at once. */
  ls_signals_init(app.loop, &app.signals, on_signal, &app);
  rc = tracker_start(app.tracker);
  if (rc != 0) {
    fprintf(stderr, "lanswarm-tracker: cannot listen on TCP %s:%d: %s\n", app.cfg.listen_addr, app.cfg.tracker_port,
            uv_strerror(rc));
    return 1;
  }
  ls_info("listening on TCP %s:%d, pinging every %us%s", app.cfg.listen_addr, tracker_port(app.tracker),
          app.topts.ping_interval, app.topts.exit_when_empty ? ", exits when empty" : "");
  if (!app.no_shell && shell_start(app.loop, app.tracker, on_quit, &app, &app.shell) != 0) app.shell = NULL;
  uv_run(app.loop, UV_RUN_DEFAULT);
  tracker_free(app.tracker);
  shell_free(app.shell);
  uv_loop_close(app.loop);
  ls_info("stopped");
  return 0;
}
