/* lanswarm-web: the peer's dashboard in a browser (optional fifth daemon).
 *
 * main.c is the options and the wiring: the token, the hub, the HTTP server
 * (http.c), the sections kept current (refresh.c: tags.txt, client.log,
 * server.log, server.status and the catalog, through model.c), the commands
 * the HTTP threads queue (commands.c) and the downloads they start (jobs.c:
 * lanswarm-downloader --events), and the stop on a signal. The API is
 * documented in docs/WEB.md. */
#include <arpa/inet.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "commands.h"
#include "http.h"
#include "hub.h"
#include "jobs.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"
#include "refresh.h"

#define STOP_GRACE_MS 10000  /* downloads get this long to stop on SIGINT */

enum { OPT_DOWNLOADER = 1000 };

typedef struct {
  ls_config_t cfg;
  uv_loop_t *loop;
  hub_t hub;
  http_t *http;
  jobs_t jobs;
  refresh_t refresh;
  commands_t commands;
  ls_signals_t signals;
  uv_timer_t stop_timer;
  char downloader[PATH_MAX];
  char **pass_args;           /* options handed on to the downloader */
  char token[LS_WEB_TOKEN_MAX + 1];
  char url_path[PATH_MAX + 16];  /* DIR/web.url */
  int stopping;
  int exit_code;
} web_t;

static void exec_cb(hub_t *hub, hub_cmd_t *cmd) {
  web_t *w = hub->data;
  commands_exec(&w->commands, cmd);
}

static void jobs_changed(jobs_t *j, void *ud) {
  web_t *w = ud;
  (void)j;
  refresh_publish_transfers(&w->refresh);
}

/* ---------- start and stop ---------- */

static void finish_stop(web_t *w) {
  uv_close((uv_handle_t *)&w->stop_timer, NULL);
  refresh_close(&w->refresh);
  hub_close(&w->hub);
}

/* A download that did not stop within the grace period is killed (its
 * partial state stays valid: every chunk is verified before it counts). */
static void stop_timer_cb(uv_timer_t *t) {
  web_t *w = t->data;
  if (jobs_idle(&w->jobs)) finish_stop(w);
  else jobs_kill(&w->jobs);
}

static void jobs_changed_stopping(jobs_t *j, void *ud) {
  web_t *w = ud;
  if (jobs_idle(j) && !uv_is_closing((uv_handle_t *)&w->stop_timer)) {
    uv_timer_stop(&w->stop_timer);
    finish_stop(w);
  }
}

static void on_signal(ls_signals_t *s, int signum) {
  web_t *w = s->data;
  if (w->stopping) return;
  w->stopping = 1;
  ls_log(LS_LOG_INFO, "stopping (signal %d)", signum);
  commands_close(&w->commands);
  hub_stop(&w->hub);
  http_stop(w->http); /* every HTTP thread has returned after this */
  w->http = NULL;
  refresh_stop(&w->refresh);
  ls_signals_close(&w->signals);
  w->jobs.cb = jobs_changed_stopping;
  if (jobs_close(&w->jobs)) {
    finish_stop(w);
  } else {
    /* Downloads stop on SIGINT, keeping their partial state; wait for them. */
    uv_timer_start(&w->stop_timer, stop_timer_cb, STOP_GRACE_MS, 0);
  }
}

/* The options given to lanswarm-web, less its own, for the downloader. */
static char **pass_through(int argc, char **argv) {
  char **out = calloc((size_t)argc + 1, sizeof *out);
  if (out == NULL) return NULL;
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--downloader") == 0) {
      i++;
      continue;
    }
    if (strncmp(argv[i], "--downloader=", 13) == 0) continue;
    out[n++] = argv[i];
  }
  return out;
}

static int own_option(void *ud, int code, const char *arg) {
  web_t *w = ud;
  if (code != OPT_DOWNLOADER) return -1;
  if (strlen(arg) >= sizeof w->downloader) {
    fprintf(stderr, "lanswarm-web: --downloader: path too long\n");
    return -1;
  }
  snprintf(w->downloader, sizeof w->downloader, "%s", arg);
  return 0;
}

static const struct option own_options[] = {
    {"downloader", required_argument, NULL, OPT_DOWNLOADER},
    {NULL, 0, NULL, 0},
};

static const ls_config_program_t program = {
    .program = "lanswarm-web",
    .synopsis = "[OPTIONS]",
    .description =
        "The peer's dashboard: peers, files on the LAN (search, download), transfers\n"
        "(progress, cancel, history), this peer's share (add, remove) and its chunk\n"
        "server, live in a browser at http://WEB_ADDR:WEB_PORT/. It reads the files the\n"
        "other daemons write and runs lanswarm-downloader for downloads.\n\n"
        "Listens on 127.0.0.1 by default; elsewhere only with web_token set. Without\n"
        "web_token a token is made at start. The page's address with the token is\n"
        "written to DIR/web.url (mode 0600). API: docs/WEB.md.",
    .own_options_help = "  --downloader PATH    the lanswarm-downloader to run (default: next to this program)\n",
    .own_options = own_options,
    .own_cb = own_option,
    .reads = LS_PROG_WEB,
    .start = LS_START_MAKE_DIRS,
};

/* web_token, or 40 random hex characters; off loopback a token must be set.
 * Returns 0 or an exit status, said. */
static int make_token(web_t *w) {
  struct in_addr a;
  inet_pton(AF_INET, w->cfg.web_addr, &a);
  int loopback = (ntohl(a.s_addr) >> 24) == 127;
  if (!loopback && w->cfg.web_token[0] == '\0') {
    fprintf(stderr, "lanswarm-web: listening on %s (not loopback) needs web_token in the config\n", w->cfg.web_addr);
    return 2;
  }
  if (w->cfg.web_token[0]) {
    snprintf(w->token, sizeof w->token, "%s", w->cfg.web_token);
    return 0;
  }
  uint8_t raw[20];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    fprintf(stderr, "lanswarm-web: no randomness for a token\n");
    return 1;
  }
  for (size_t i = 0; i < sizeof raw; i++) snprintf(w->token + 2 * i, 3, "%02x", raw[i]);
  return 0;
}

/* --downloader, or the lanswarm-downloader next to this program. Returns 0
 * or an exit status, said. */
static int find_downloader(web_t *w) {
  if (w->downloader[0] != '\0') return 0;
  char dir[PATH_MAX];
  ls_program_dir(dir, sizeof dir);
  if (snprintf(w->downloader, sizeof w->downloader, "%s/lanswarm-downloader", dir) >= (int)sizeof w->downloader) {
    fprintf(stderr, "lanswarm-web: the path of lanswarm-downloader is too long (use --downloader)\n");
    return 1;
  }
  return 0;
}

/* The hub, the jobs, the sections and the commands, wired on the loop. */
static int wire(web_t *w, int argc, char **argv) {
  w->pass_args = pass_through(argc, argv);
  if (hub_init(&w->hub, w->loop, exec_cb) != 0 || w->pass_args == NULL) return -1;
  w->hub.data = w;
  jobs_init(&w->jobs, w->loop, w->downloader, w->pass_args, jobs_changed, w);
  uv_timer_init(w->loop, &w->stop_timer);
  w->stop_timer.data = w;
  snprintf(w->url_path, sizeof w->url_path, "%s/web.url", w->cfg.dir);
  unlink(w->url_path); /* an old run's address (and token) must not be taken for this one's */
  /* Every section has its real shape before the first request can come. */
  if (refresh_init(&w->refresh, w->loop, &w->cfg, &w->hub, &w->jobs) != 0) return -1;
  commands_init(&w->commands, w->loop, &w->cfg, &w->hub, &w->jobs, &w->refresh);
  return 0;
}

/* The HTTP server, the status section and the share watched. Returns 0 or
 * an exit status, said. */
static int start(web_t *w) {
  /* Before the port opens: whoever sees it open may stop us at once. */
  ls_signals_init(w->loop, &w->signals, on_signal, w);
  char err[256];
  if (http_start(&w->hub, w->cfg.web_addr, w->cfg.web_port, w->token, &w->http, err, sizeof err) != 0) {
    fprintf(stderr, "lanswarm-web: %s\n", err);
    return 1;
  }
  refresh_publish_status(&w->refresh, http_port(w->http));
  if (refresh_start(&w->refresh) != 0) {
    fprintf(stderr, "lanswarm-web: cannot watch the share\n");
    return 1;
  }
  return 0;
}

/* web.url last: whoever waits for it finds the dashboard answering. */
static void write_url(web_t *w) {
  char url[512];
  snprintf(url, sizeof url, "http://%s:%d/#token=%s\n", w->cfg.web_addr, http_port(w->http), w->token);
  int rc = ls_write_file_atomic_mode(w->url_path, url, strlen(url), 0, 0600);
  if (rc != 0) ls_log(LS_LOG_WARN, "cannot write %s: %s", w->url_path, strerror(-rc));
  ls_log(LS_LOG_INFO, "dashboard on http://%s:%d/ (open the address in %s: it carries the token)", w->cfg.web_addr,
         http_port(w->http), w->url_path);
}

/* After the loop has ended. */
static void web_free(web_t *w) {
  uv_loop_close(w->loop);
  jobs_free(&w->jobs);
  hub_free(&w->hub);
  refresh_free(&w->refresh);
  free(w->pass_args);
  ls_log(LS_LOG_INFO, "stopped");
  ls_log_close();
}

int main(int argc, char **argv) {
  static web_t w; /* large; lives for the whole program */
  ls_config_program_t prog = program;
  prog.ud = &w;
  ls_daemon_t d = {.cfg = &w.cfg}; /* no key: the downloads it runs load it */
  int rc = ls_daemon_start(&d, &prog, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  if ((rc = make_token(&w)) != 0 || (rc = find_downloader(&w)) != 0) return rc;
  w.loop = d.loop;
  w.exit_code = 0;
  if (wire(&w, argc, argv) != 0) {
    fprintf(stderr, "lanswarm-web: out of memory\n");
    return 1;
  }
  if ((rc = start(&w)) != 0) return rc;
  write_url(&w);
  uv_run(w.loop, UV_RUN_DEFAULT);
  web_free(&w);
  return w.exit_code;
}
