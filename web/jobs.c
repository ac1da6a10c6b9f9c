#include "jobs.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ls_events.h"
#include "ls_log.h"
#include "ls_spawn.h"
#include "ls_util.h"

typedef enum { J_RUNNING, J_DONE, J_FAILED, J_CANCELLED } job_state_t;

struct job_s {
  jobs_t *jobs;
  job_t *next;
  unsigned id;
  job_state_t state;
  char name[LS_NAME_MAX + 1];
  char root[LS_HASH_HEX_LEN + 1];
  uint64_t done, total;
  double rate;
  double eta;           /* seconds, < 0 unknown */
  cJSON *peers;         /* from the last progress event */
  cJSON *sources;       /* the holders' tags, from the start event */
  int64_t started, ended;
  double seconds;
  char result[32];
  char message[LS_EVENTS_TEXT_MAX];
  char err_line[256];   /* last line the downloader wrote on stderr */
  int cancel_asked;
  int exited, exit_status, term_signal;
  int open_handles;     /* process + 2 pipes */
  uv_process_t proc;
  uv_pipe_t out, err;
  char *line;           /* stdout line being assembled */
  size_t line_len;
  int overlong;
  char err_buf[256];
  size_t err_len;
};

static const char *state_word(job_state_t s) {
  switch (s) {
    case J_RUNNING: return "running";
    case J_DONE: return "done";
    case J_FAILED: return "failed";
    case J_CANCELLED: return "cancelled";
  }
  return "failed";
}

void jobs_init(jobs_t *j, uv_loop_t *loop, const char *downloader, char **args, jobs_cb cb, void *ud) {
  memset(j, 0, sizeof *j);
  j->loop = loop;
  j->downloader = downloader;
  j->args = args;
  j->cb = cb;
  j->ud = ud;
  j->next_id = 1;
}

static void job_free(job_t *job) {
  cJSON_Delete(job->peers);
  cJSON_Delete(job->sources);
  free(job->line);
  free(job);
}

/* Forgets the oldest finished jobs beyond JOBS_MAX_KEPT. */
static void trim(jobs_t *j) {
  unsigned kept = 0;
  for (job_t **pp = &j->list; *pp;) {
    job_t *job = *pp;
    if (job->state != J_RUNNING && job->open_handles == 0 && ++kept > JOBS_MAX_KEPT) {
      *pp = job->next;
      job_free(job);
      continue;
    }
    pp = &job->next;
  }
}

static void changed(jobs_t *j) {
  if (j->cb) j->cb(j, j->ud);
}

/* The peers of a progress event as the API shows them: [{tag, bytes}]. */
static cJSON *progress_peers(const ls_event_t *ev) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < ev->npeers && i < JOBS_MAX_PEERS_SHOWN; i++) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "tag", ev->peers[i].tag);
    cJSON_AddNumberToObject(p, "bytes", (double)ev->peers[i].bytes);
    cJSON_AddItemToArray(arr, p);
  }
  return arr;
}

/* One event line from the downloader. */
static void on_event(job_t *job, const char *line) {
  ls_event_t *ev = malloc(sizeof *ev);
  if (ev == NULL || ls_events_decode(line, strlen(line), ev) != 0) {
    free(ev);
    return;
  }
  if (ev->kind == LS_EVENT_START) {
    snprintf(job->root, sizeof job->root, "%s", ev->root);
    job->total = ev->size;
    cJSON_Delete(job->sources);
    job->sources = cJSON_CreateArray();
    for (size_t i = 0; i < ev->nholders; i++) cJSON_AddItemToArray(job->sources, cJSON_CreateString(ev->holders[i]));
  } else if (ev->kind == LS_EVENT_PROGRESS) {
    job->done = ev->done;
    job->total = ev->total;
    job->rate = (double)ev->rate_Bps;
    job->eta = (double)ev->eta_s;
    cJSON_Delete(job->peers);
    job->peers = progress_peers(ev);
  } else {
    snprintf(job->result, sizeof job->result, "%s", ev->result);
    snprintf(job->message, sizeof job->message, "%s", ev->message);
    if (ev->started) snprintf(job->root, sizeof job->root, "%s", ev->root);
    job->seconds = ev->seconds;
    if (strcmp(job->result, "ok") == 0) job->done = job->total = ev->started ? ev->size : job->total;
  }
  free(ev);
  changed(job->jobs);
}

static void finish(job_t *job) {
  jobs_t *j = job->jobs;
  job->ended = ls_unix_now();
  if (job->exit_status == 0 && job->term_signal == 0 && strcmp(job->result, "ok") == 0) {
    job->state = J_DONE;
  } else if (job->cancel_asked && (job->exit_status == 130 || job->term_signal != 0)) {
    job->state = J_CANCELLED;
    snprintf(job->result, sizeof job->result, "cancelled");
    snprintf(job->message, sizeof job->message, "cancelled; the partial download is kept in temp/ and resumes");
  } else {
    job->state = J_FAILED;
    if (job->result[0] == '\0') snprintf(job->result, sizeof job->result, "error");
    if (job->message[0] == '\0') {
      if (job->err_line[0]) snprintf(job->message, sizeof job->message, "%s", job->err_line);
      else if (job->term_signal) snprintf(job->message, sizeof job->message, "downloader killed by signal %d", job->term_signal);
      else snprintf(job->message, sizeof job->message, "downloader exited with status %d", job->exit_status);
    }
  }
  ls_log(job->state == J_DONE ? LS_LOG_INFO : LS_LOG_WARN, "job %u %s: %s %s", job->id, job->name,
         state_word(job->state), job->message);
  j->active--;
  trim(j);
  changed(j);
}

static void handle_closed(uv_handle_t *h) {
  job_t *job = h->data;
  if (--job->open_handles == 0) finish(job);
}

static void exit_cb(uv_process_t *p, int64_t status, int sig) {
  job_t *job = p->data;
  job->exited = 1;
  job->exit_status = (int)status;
  job->term_signal = sig;
  uv_close((uv_handle_t *)p, handle_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  static char slab[16384]; /* loop thread only; consumed before the next read */
  buf->base = slab;
  buf->len = sizeof slab;
}

static void out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  job_t *job = s->data;
  if (n < 0) {
    uv_close((uv_handle_t *)s, handle_closed);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    char ch = buf->base[i];
    if (ch == '\n') {
      if (!job->overlong) {
        job->line[job->line_len] = '\0';
        on_event(job, job->line);
      }
      job->line_len = 0;
      job->overlong = 0;
    } else if (job->line_len + 1 < JOBS_LINE_MAX) {
      job->line[job->line_len++] = ch;
    } else {
      job->overlong = 1;
    }
  }
}

static void err_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  job_t *job = s->data;
  if (n < 0) {
    uv_close((uv_handle_t *)s, handle_closed);
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    char ch = buf->base[i];
    if (ch == '\n') {
      if (job->err_len > 0) {
        job->err_buf[job->err_len] = '\0';
        snprintf(job->err_line, sizeof job->err_line, "%s", job->err_buf);
      }
      job->err_len = 0;
    } else if (ch != '\r' && job->err_len + 1 < sizeof job->err_buf) {
      job->err_buf[job->err_len++] = ch;
    }
  }
}

/* lanswarm-downloader --events, with stdout and stderr on the job's pipes. */
static int spawn_downloader(jobs_t *j, job_t *job, const char *root_hex) {
  size_t nargs = 0;
  while (j->args && j->args[nargs]) nargs++;
  char **args = calloc(nargs + 6, sizeof *args);
  if (args == NULL) return UV_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < nargs; i++) args[k++] = j->args[i];
  args[k++] = "--events";
  if (root_hex) {
    args[k++] = "--root";
    args[k++] = (char *)root_hex;
  }
  args[k++] = "--";
  args[k++] = job->name;
  args[k] = NULL;
  job->out.data = job->err.data = job->proc.data = job;
  ls_spawn_opts_t so = {.path = j->downloader, .args = args, .out_pipe = &job->out, .err_pipe = &job->err,
                        .on_exit = exit_cb, .on_close = handle_closed};
  int rc = ls_spawn(j->loop, &job->proc, &so, NULL, 0);
  free(args);
  return rc;
}

/* Whether one more download may start: not shutting down, fewer than
 * JOBS_MAX_ACTIVE running, none of the same name. */
static jobs_err_t may_start(const jobs_t *j, const char *name, char *err, size_t errlen) {
  if (j->closing) {
    snprintf(err, errlen, "shutting down");
    return JOBS_BUSY;
  }
  if (j->active >= JOBS_MAX_ACTIVE) {
    snprintf(err, errlen, "%d downloads are running already; wait for one to end", JOBS_MAX_ACTIVE);
    return JOBS_BUSY;
  }
  for (const job_t *o = j->list; o; o = o->next)
    if (o->state == J_RUNNING && strcmp(o->name, name) == 0) {
      snprintf(err, errlen, "'%s' is being downloaded already (job %u)", name, o->id);
      return JOBS_DUPLICATE;
    }
  return JOBS_OK;
}

/* A job not yet spawned nor listed, or NULL when out of memory. */
static job_t *job_new(jobs_t *j, const char *name, const char *root_hex) {
  job_t *job = calloc(1, sizeof *job);
  char *line = malloc(JOBS_LINE_MAX);
  if (job == NULL || line == NULL) {
    free(job);
    free(line);
    return NULL;
  }
  job->line = line;
  job->jobs = j;
  job->eta = -1;
  snprintf(job->name, sizeof job->name, "%s", name);
  if (root_hex) snprintf(job->root, sizeof job->root, "%s", root_hex);
  return job;
}

/* Numbers the job and puts it first in the list, its three handles open
 * (they are closed and counted down whether it runs or not). */
static void enlist(jobs_t *j, job_t *job, job_state_t state) {
  job->state = state;
  job->open_handles = 3;
  job->id = j->next_id++;
  job->started = ls_unix_now();
  job->next = j->list;
  j->list = job;
  j->active++;
}

/* ls_spawn failed after opening handles: it closes the pipes and the
 * process, and the job, listed as failed, is freed with them. */
static void enlist_failed(jobs_t *j, job_t *job, const char *err) {
  enlist(j, job, J_FAILED);
  snprintf(job->result, sizeof job->result, "error");
  snprintf(job->message, sizeof job->message, "%s", err);
  job->exit_status = -1;
}

jobs_err_t jobs_start(jobs_t *j, const char *name, const char *root_hex, unsigned *id, char *err, size_t errlen) {
  jobs_err_t e = may_start(j, name, err, errlen);
  if (e != JOBS_OK) return e;
  job_t *job = job_new(j, name, root_hex);
  if (job == NULL) {
    snprintf(err, errlen, "out of memory");
    return JOBS_SPAWN;
  }
  int rc = spawn_downloader(j, job, root_hex);
  if (rc != 0) {
    snprintf(err, errlen, "cannot run %s: %s", j->downloader, uv_strerror(rc));
    if (uv_is_closing((uv_handle_t *)&job->proc)) enlist_failed(j, job, err);
    else job_free(job); /* no handle was opened */
    return JOBS_SPAWN;
  }
  enlist(j, job, J_RUNNING);
  uv_read_start((uv_stream_t *)&job->out, alloc_cb, out_read);
  uv_read_start((uv_stream_t *)&job->err, alloc_cb, err_read);
  ls_log(LS_LOG_INFO, "job %u: downloading %s (pid %d)", job->id, job->name, job->proc.pid);
  *id = job->id;
  changed(j);
  return JOBS_OK;
}

jobs_err_t jobs_cancel(jobs_t *j, unsigned id) {
  for (job_t *job = j->list; job; job = job->next) {
    if (job->id != id) continue;
    if (job->state != J_RUNNING || job->exited) return JOBS_DONE;
    job->cancel_asked = 1;
    uv_process_kill(&job->proc, SIGINT);
    ls_log(LS_LOG_INFO, "job %u %s: cancel asked", job->id, job->name);
    return JOBS_OK;
  }
  return JOBS_UNKNOWN;
}

static cJSON *job_json(const job_t *job) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", job->id);
  cJSON_AddStringToObject(o, "name", job->name);
  cJSON_AddStringToObject(o, "root", job->root);
  cJSON_AddStringToObject(o, "state", state_word(job->state));
  cJSON_AddNumberToObject(o, "done", (double)job->done);
  cJSON_AddNumberToObject(o, "total", (double)job->total);
  cJSON_AddNumberToObject(o, "rate_Bps", job->rate);
  if (job->eta >= 0 && job->state == J_RUNNING) cJSON_AddNumberToObject(o, "eta_s", job->eta);
  else cJSON_AddNullToObject(o, "eta_s");
  cJSON_AddItemToObject(o, "peers", job->peers ? cJSON_Duplicate(job->peers, 1) : cJSON_CreateArray());
  cJSON_AddItemToObject(o, "sources", job->sources ? cJSON_Duplicate(job->sources, 1) : cJSON_CreateArray());
  cJSON_AddNumberToObject(o, "started", (double)job->started);
  cJSON_AddBoolToObject(o, "cancelling", job->cancel_asked && job->state == J_RUNNING);
  if (job->state != J_RUNNING) {
    cJSON_AddNumberToObject(o, "ended", (double)job->ended);
    cJSON_AddStringToObject(o, "result", job->result);
    cJSON_AddStringToObject(o, "message", job->message);
    cJSON_AddNumberToObject(o, "seconds", job->seconds);
  }
  return o;
}

cJSON *jobs_json(const jobs_t *j) {
  cJSON *o = cJSON_CreateObject();
  cJSON *active = cJSON_AddArrayToObject(o, "active");
  cJSON *recent = cJSON_AddArrayToObject(o, "recent");
  for (const job_t *job = j->list; job; job = job->next)
    cJSON_AddItemToArray(job->state == J_RUNNING ? active : recent, job_json(job));
  return o;
}

int jobs_idle(const jobs_t *j) {
  return j->active == 0;
}

int jobs_close(jobs_t *j) {
  j->closing = 1;
  for (job_t *job = j->list; job; job = job->next)
    if (job->state == J_RUNNING && !job->exited && !job->cancel_asked) {
      job->cancel_asked = 1;
      uv_process_kill(&job->proc, SIGINT);
    }
  return j->active == 0;
}

void jobs_free(jobs_t *j) {
  while (j->list) {
    job_t *job = j->list;
    j->list = job->next;
    job_free(job);
  }
}

void jobs_kill(jobs_t *j) {
  for (job_t *job = j->list; job; job = job->next)
    if (job->state == J_RUNNING && !job->exited) uv_process_kill(&job->proc, SIGKILL);
}
