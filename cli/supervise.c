#include "supervise.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "ls_log.h"
#include "ls_net.h"
#include "ls_spawn.h"
#include "ls_util.h"

#define NDAEMONS 4 /* the last, lanswarm-web, only with `up --web` */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define STABLE_MS 60000    /* up this long: the next death starts the backoff again */
#define STOP_GRACE_MS 10000
#define FAST_FAIL_MS 5000  /* a daemon that exits with an error this soon after its start failed to start */
#define FAIL_LIMIT 3       /* failed starts in a row: up gives up, with the daemon's reason */

static const char *daemon_names[NDAEMONS] = {"listener", "server", "announcer", "web"};

typedef struct sup_s sup_t;

typedef struct {
  sup_t *sup;
  const char *name;
  uv_process_t proc;
  uv_timer_t restart;
  int running;
  int pid;
  int64_t started;       /* Unix seconds */
  uint64_t started_ms;
  unsigned restarts;
  unsigned backoff_ms;
  int last_status;
  unsigned failed_starts; /* in a row: exited with an error within FAST_FAIL_MS */
  char reason[256];       /* the last line of its log when it died, e.g. "server: cannot listen ..." */
} child_t;

struct sup_s {
  uv_loop_t *loop;
  char dir[PATH_MAX];
  char config[PATH_MAX];
  char bin_dir[PATH_MAX];
  child_t kids[NDAEMONS];
  int ndaemons;
  ls_signals_t signals;
  uv_timer_t grace;
  int stopping;
  int64_t started;
  int exit_status; /* up's: 1 once a daemon could not be started */
  int quiet;       /* detached: no sentences on the terminal */
};

static void write_state(sup_t *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "pid", getpid());
  cJSON_AddNumberToObject(o, "started", (double)s->started);
  cJSON_AddStringToObject(o, "dir", s->dir);
  cJSON *arr = cJSON_AddArrayToObject(o, "daemons");
  for (int i = 0; i < s->ndaemons; i++) {
    child_t *k = &s->kids[i];
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "name", k->name);
    cJSON_AddBoolToObject(d, "running", k->running);
    cJSON_AddNumberToObject(d, "pid", k->running ? k->pid : 0);
    cJSON_AddNumberToObject(d, "started", (double)k->started);
    cJSON_AddNumberToObject(d, "restarts", k->restarts);
    cJSON_AddItemToArray(arr, d);
  }
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  if (text == NULL) return;
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/run/state.json", s->dir);
  ls_write_file_atomic(path, text, strlen(text), 0);
  free(text);
}

static void start_child(child_t *k);

static void restart_cb(uv_timer_t *t) {
  start_child(t->data);
}

/* A sentence for the person at the terminal (none when detached). */
static void say(const sup_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const sup_t *s, const char *fmt, ...) {
  if (s->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void maybe_done(sup_t *s) {
  if (!s->stopping) return;
  for (int i = 0; i < s->ndaemons; i++)
    if (s->kids[i].running) return;
  write_state(s);
  ls_info("all daemons stopped");
  if (s->exit_status == 0) say(s, "lanswarm up: all daemons stopped.");
  uv_close((uv_handle_t *)&s->grace, NULL);
  ls_signals_close(&s->signals);
  for (int i = 0; i < s->ndaemons; i++) uv_close((uv_handle_t *)&s->kids[i].restart, NULL);
}

/* The daemon's own word on why it stopped: the last line of its log (a
 * daemon that cannot start says why on one line, "lanswarm-server: cannot
 * listen on TCP 0.0.0.0:41771: address already in use"), without the
 * "lanswarm-" of its program name. Empty when there is none. */
static void read_reason(const sup_t *s, child_t *k) {
  char path[PATH_MAX + 32], tail[1024];
  snprintf(path, sizeof path, "%s/logs/%s.log", s->dir, k->name);
  k->reason[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (f == NULL) return;
  long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
  long from = end > (long)sizeof tail - 1 ? end - (long)sizeof tail + 1 : 0;
  size_t n = fseek(f, from, SEEK_SET) == 0 ? fread(tail, 1, sizeof tail - 1, f) : 0;
  fclose(f);
  while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r')) n--;
  tail[n] = '\0';
  char *line = strrchr(tail, '\n');
  line = line ? line + 1 : tail;
  /* Only the program's own one-line error is a reason to show; a log line
   * (time stamp first) stays in the log. */
  if (strncmp(line, "lanswarm-", 9) == 0) snprintf(k->reason, sizeof k->reason, "%.255s", line + 9);
}

static void stop_all(sup_t *s);

/* A daemon that fails to start FAIL_LIMIT times in a row (a port taken, a bad
 * configuration) will not start by waiting: up says why and stops. 1 if so. */
static int gave_up(sup_t *s, child_t *k, int64_t status, int sig, uint64_t up_ms) {
  if (sig == 0 && status != 0 && up_ms < FAST_FAIL_MS) k->failed_starts++;
  else k->failed_starts = 0;
  if (k->failed_starts < FAIL_LIMIT) return 0;
  ls_error("%s failed to start %u times in a row (%s): giving up", k->name, k->failed_starts,
           k->reason[0] ? k->reason : "no reason in its log");
  fprintf(stderr, "lanswarm up: %s failed to start %u times in a row; stopping.\n%s\n", k->name, k->failed_starts,
          k->reason[0] ? k->reason : "(nothing in its log)");
  s->exit_status = 1;
  stop_all(s);
  return 1;
}

static void exit_cb(uv_process_t *p, int64_t status, int sig) {
  child_t *k = p->data;
  sup_t *s = k->sup;
  k->running = 0;
  k->last_status = (int)status;
  uv_close((uv_handle_t *)p, NULL);
  if (s->stopping) {
    ls_info("%s stopped (status %lld%s%s)", k->name, (long long)status, sig ? ", signal " : "",
            sig ? strsignal(sig) : "");
    maybe_done(s);
    return;
  }
  uint64_t up_ms = uv_now(s->loop) - k->started_ms;
  read_reason(s, k);
  if (gave_up(s, k, status, sig, up_ms)) return;
  if (up_ms >= STABLE_MS) k->backoff_ms = 0;
  k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : BACKOFF_MIN_MS;
  if (k->backoff_ms > BACKOFF_MAX_MS) k->backoff_ms = BACKOFF_MAX_MS;
  ls_warn("%s %s (status %lld%s%s) after %.1f s; restarting in %.1f s", k->name,
          status == 0 && sig == 0 ? "exited" : "died", (long long)status,
          sig ? ", signal " : "", sig ? strsignal(sig) : "", (double)up_ms / 1000.0, k->backoff_ms / 1000.0);
  if (sig == 0 && k->reason[0]) say(s, "lanswarm up: %s (restarting it in %.1f s)", k->reason, k->backoff_ms / 1000.0);
  else
    say(s, "lanswarm up: the %s stopped unexpectedly (%s %d); restarting it in %.1f s (its log: %s/logs/%s.log)",
        k->name, sig ? "signal" : "status", sig ? sig : (int)status, k->backoff_ms / 1000.0, s->dir, k->name);
  write_state(s);
  uv_timer_start(&k->restart, restart_cb, k->backoff_ms, 0);
}

static void start_child(child_t *k) {
  sup_t *s = k->sup;
  if (s->stopping) return;
  char prog[PATH_MAX + 32], logpath[PATH_MAX + 32];
  snprintf(logpath, sizeof logpath, "%s/logs/%s.log", s->dir, k->name);
  int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  char *args[] = {"--dir", s->dir, s->config[0] ? "--config" : NULL, s->config, NULL};
  ls_spawn_opts_t so = {.program = k->name, .dir = s->bin_dir, .args = args, .out_fd = fd, .err_fd = fd,
                        .on_exit = exit_cb};
  k->proc.data = k;
  int rc = ls_spawn(s->loop, &k->proc, &so, prog, sizeof prog);
  if (fd >= 0) close(fd);
  if (rc != 0) {
    ls_error("cannot start %s: %s; retrying", prog, uv_strerror(rc));
    k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (k->backoff_ms > BACKOFF_MAX_MS) k->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&k->restart, restart_cb, k->backoff_ms, 0);
    return;
  }
  if (k->started != 0) k->restarts++;
  k->running = 1;
  k->pid = k->proc.pid;
  k->started = ls_unix_now();
  k->started_ms = uv_now(s->loop);
  ls_info("%s started (pid %d, log %s)%s", k->name, k->pid, logpath, k->restarts ? " after a restart" : "");
  write_state(s);
}

static void grace_cb(uv_timer_t *t) {
  sup_t *s = t->data;
  for (int i = 0; i < s->ndaemons; i++)
    if (s->kids[i].running) {
      ls_warn("%s did not stop in %d s: killing it", s->kids[i].name, STOP_GRACE_MS / 1000);
      uv_process_kill(&s->kids[i].proc, SIGKILL);
    }
}

static void on_signal(ls_signals_t *sig, int signum) {
  sup_t *s = sig->data;
  if (s->stopping) return;
  ls_info("signal %d: stopping the daemons", signum);
  say(s, "lanswarm up: stopping the daemons...");
  stop_all(s);
}

static void stop_all(sup_t *s) {
  s->stopping = 1;
  for (int i = 0; i < s->ndaemons; i++) {
    uv_timer_stop(&s->kids[i].restart);
    if (s->kids[i].running) uv_process_kill(&s->kids[i].proc, SIGTERM); /* the announcer says goodbye */
  }
  uv_timer_start(&s->grace, grace_cb, STOP_GRACE_MS, 0);
  maybe_done(s);
}

int supervise_run(const char *dir, const char *config, const char *bin_dir, int quiet, int web) {
  sup_t *s = calloc(1, sizeof *s);
  if (s == NULL) return 1;
  s->ndaemons = web ? NDAEMONS : NDAEMONS - 1;
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  snprintf(s->config, sizeof s->config, "%s", config ? config : "");
  snprintf(s->bin_dir, sizeof s->bin_dir, "%s", bin_dir);
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/logs", dir);
  ls_mkdir_p(path);
  snprintf(path, sizeof path, "%s/run", dir);
  ls_mkdir_p(path);
  snprintf(path, sizeof path, "%s/logs/up.log", dir);
  /* The terminal gets sentences (say()); the log lines go to up.log only. */
  if (ls_log_open_file(path, 1) != 0 && !quiet)
    fprintf(stderr, "lanswarm up: cannot write %s; its lines go here\n", path);
  s->quiet = quiet;
  s->loop = uv_default_loop();
  s->started = ls_unix_now();
  uv_timer_init(s->loop, &s->grace);
  s->grace.data = s;
  ls_signals_init(s->loop, &s->signals, on_signal, s);
  /* Every child named before the first start: each start writes state.json
   * with all of them, which `lanswarm status` may read at once. */
  for (int i = 0; i < s->ndaemons; i++) {
    child_t *k = &s->kids[i];
    k->sup = s;
    k->name = daemon_names[i];
    uv_timer_init(s->loop, &k->restart);
    k->restart.data = k;
  }
  for (int i = 0; i < s->ndaemons; i++) start_child(&s->kids[i]);
  ls_info("supervising the daemons of %s (logs in %s/logs)", dir, dir);
  say(s, "lanswarm up: %s running for %s; their logs are in %s/logs. Ctrl-C stops them.", web ? "listener, server, announcer and dashboard" : "listener, server and announcer", dir, dir);
  uv_run(s->loop, UV_RUN_DEFAULT);
  uv_loop_close(s->loop);
  int rc = s->exit_status;
  free(s);
  return rc;
}
