/* lanswarm-server: the TCP chunk server (engine in server.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"
#include "server.h"

typedef struct {
  ls_config_t cfg;
  uv_loop_t *loop;
  ls_catalog_t *catalog;
  server_t *server;
  ls_key_t key;
  ls_signals_t signals;
  int stopping;
} app_t;

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  (void)ud;
  ls_info("serving %zu file(s)", ls_catalog_current(cat)->count);
}

static void on_signal(ls_signals_t *s, int signum) {
  app_t *app = s->data;
  if (app->stopping) return;
  app->stopping = 1;
  ls_info("signal %d: stopping", signum);
  server_close(app->server);
  ls_catalog_close(app->catalog);
  ls_signals_close(&app->signals);
}

static const ls_config_program_t program = {
    .program = "lanswarm-server",
    .synopsis = "[OPTIONS]",
    .description = "Serves manifests and verified chunks of this peer's shared files, finished\n"
                   "downloads and partial downloads over TCP (docs/PROTOCOL.md). Requests name a\n"
                   "root hash, never a path. One line per connection goes to DIR/server.log.",
    .reads = LS_PROG_SERVER,
    .start = LS_START_MAKE_DIRS,
};

int main(int argc, char **argv) {
  app_t app;
  memset(&app, 0, sizeof app);
  ls_daemon_t d = {.cfg = &app.cfg, .key = &app.key};
  ls_heap_for_chunks();
  int rc = ls_daemon_start(&d, &program, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  app.loop = d.loop;
  ls_catalog_dirs_t dirs = {app.cfg.share_dir, app.cfg.downloads_dir, app.cfg.temp_dir, app.cfg.cache_dir,
                            app.cfg.chunk_size, app.cfg.max_chunks, 0};
  if (ls_catalog_new(app.loop, &dirs, app.cfg.rescan, catalog_cb, &app, &app.catalog) != 0) return 1;
  if ((rc = server_new(app.loop, &app.cfg, app.catalog, &app.server)) != 0) {
    fprintf(stderr, "lanswarm-server: cannot open %s: %s\n", app.cfg.server_log, uv_strerror(rc));
    return 1;
  }
  if ((rc = server_set_key(app.server, &app.key)) != 0) {
    fprintf(stderr, "lanswarm-server: cannot set up TLS for the network key: %s\n", strerror(-rc));
    return 1;
  }
  /* Before the port opens: whoever sees it open may stop us at once. */
  ls_signals_init(app.loop, &app.signals, on_signal, &app);
  if ((rc = server_start(app.server)) != 0) {
    fprintf(stderr, "lanswarm-server: cannot listen on TCP %s:%d: %s\n", app.cfg.listen_addr, app.cfg.tcp_port,
            uv_strerror(rc));
    return 1;
  }
  ls_catalog_start(app.catalog);
  char rate[32] = "unlimited";
  if (app.cfg.rate_limit > 0) {
    ls_format_bytes((double)app.cfg.rate_limit, rate, sizeof rate);
    strcat(rate, "/s");
  }
  ls_info("listening on TCP %s:%d, upload %s, log %s%s", app.cfg.listen_addr, server_port(app.server), rate,
          app.cfg.server_log, app.key.set ? ", network key required" : "");
  uv_run(app.loop, UV_RUN_DEFAULT);
  uv_loop_close(app.loop);
  ls_info("stopped");
  return 0;
}
