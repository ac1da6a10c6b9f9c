/* lanswarm up and down: the commands around supervise.c, the supervisor.
 * `up` keeps the pid file DIR/run/lanswarm.pid while it runs (in front, or
 * in the background with --detach); `down` signals the pid it names. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ls_log.h"
#include "ls_util.h"
#include "supervise.h"

/* The parent of a --detach fork: waits (up to 5 s) for the background
 * supervisor's pid file, then tells where things are. */
static int wait_for_background(const cli_ctx_t *c, int web) {
  for (int i = 0; i < 100 && !cli_supervisor_pid(c); i++) usleep(50000);
  long p = cli_supervisor_pid(c);
  if (!p) {
    fprintf(stderr, "lanswarm: the background supervisor did not start; see %s/logs/lanswarm-up.log\n", c->cfg.dir);
    return 1;
  }
  printf("lanswarm up in the background (pid %ld); logs in %s/logs; stop with: lanswarm --dir %s down\n", p,
         c->cfg.dir, c->cfg.dir);
  if (web) printf("dashboard: open the address in %s/web.url (it carries the token)\n", c->cfg.dir);
  return 0;
}

/* The child of a --detach fork: its own session, no terminal. */
static void become_background(void) {
  setsid();
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
}

static int make_folders(const cli_ctx_t *c) {
  char run_dir[PATH_MAX + 32];
  snprintf(run_dir, sizeof run_dir, "%s/run", c->cfg.dir);
  if (ls_config_make_dirs(&c->cfg) != 0 || ls_mkdir_p(run_dir) != 0) {
    fprintf(stderr, "lanswarm: cannot create folders under %s\n", c->cfg.dir);
    return -1;
  }
  return 0;
}

/* The supervisor, in this process: the pid file while it runs. */
static int supervise(const cli_ctx_t *c, int detach, int web) {
  char path[PATH_MAX + 32], pidtext[32];
  cli_pid_path(c, path, sizeof path);
  int n = snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
  ls_write_file_atomic(path, pidtext, (size_t)n, 0);
  ls_log_init("up", LS_LOG_INFO);
  int rc = supervise_run(c->cfg.dir, c->config_path[0] ? c->config_path : NULL, c->bin_dir, detach, web);
  unlink(path);
  return rc;
}

static int run_up(cli_ctx_t *c, int argc, char **argv) {
  int detach = 0, web = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--detach") == 0) detach = 1;
    else if (strcmp(argv[i], "--web") == 0) web = 1;
    else {
      fprintf(stderr, "lanswarm up: unexpected argument '%s' (try lanswarm up --help)\n", argv[i]);
      return 2;
    }
  }
  long running = cli_supervisor_pid(c);
  if (running) {
    fprintf(stderr, "lanswarm: already up in %s (pid %ld)\n", c->cfg.dir, running);
    return 1;
  }
  if (make_folders(c) != 0) return 1;
  if (detach) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) return wait_for_background(c, web);
    become_background();
  }
  return supervise(c, detach, web);
}

static int run_down(cli_ctx_t *c, int argc, char **argv) {
  (void)argc;
  (void)argv;
  long pid = cli_supervisor_pid(c);
  if (!pid) {
    fprintf(stderr, "lanswarm: not up in %s (no running supervisor)\n", c->cfg.dir);
    return 1;
  }
  kill((pid_t)pid, SIGTERM);
  for (int i = 0; i < 300; i++) {
    if (kill((pid_t)pid, 0) != 0) {
      printf("stopped (pid %ld)\n", pid);
      return 0;
    }
    usleep(50000);
  }
  fprintf(stderr, "lanswarm: pid %ld did not stop within 15 s\n", pid);
  return 1;
}

const cli_command_t cli_cmd_up = {
    "up",
    "up [--detach] [--web]",
    "run this peer's daemons (listener, server, announcer;\n"
    "                    with --web the dashboard too), supervised",
    "Usage: lanswarm up [--detach] [--web]\n\nRuns this peer's listener, server and announcer, each logging to\n"
    "DIR/logs/lanswarm-NAME.log, and restarts one that dies (backoff from 1 s to 60 s,\n"
    "logged in DIR/logs/lanswarm-up.log). Ctrl-C or SIGTERM stops them all (the announcer's\n"
    "goodbye goes out) and exits 0. A daemon that fails to start 3 times in a row\n"
    "(a port already taken...) stops them all, with its reason, and exit status 1.\n"
    "--detach runs in the background with a pid file\n"
    "(DIR/run/lanswarm.pid); `lanswarm down` stops it. --web runs the dashboard\n"
    "(lanswarm-web) too: its address, with the token, is in DIR/web.url.\n"
    "Downloads run on demand: `lanswarm get NAME`, or from the dashboard.\n",
    run_up,
    0,
};

const cli_command_t cli_cmd_down = {
    "down",
    "down",
    "stop a detached `up`",
    "Usage: lanswarm down\n\nStops a detached `lanswarm up` and waits for its daemons to stop.\n",
    run_down,
    0,
};
