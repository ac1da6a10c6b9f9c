#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_clientlog.h"
#include "ls_events.h"
#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"

static const char *status_word(fetch_status_t st) {
  switch (st) {
    case FETCH_OK: return "ok";
    case FETCH_NO_HOLDER: return "no-holder";
    case FETCH_INTEGRITY: return "integrity";
    case FETCH_EXISTS: return "exists";
    case FETCH_IO: return "io-error";
    case FETCH_INTERRUPTED: return "interrupted";
  }
  return "error";
}

int report_exit_status(fetch_status_t st) {
  switch (st) {
    case FETCH_OK: return EXIT_OK;
    case FETCH_NO_HOLDER: return EXIT_NO_HOLDER;
    case FETCH_INTEGRITY: return EXIT_INTEGRITY;
    case FETCH_EXISTS: return EXIT_EXISTS;
    case FETCH_IO: return EXIT_IO;
    case FETCH_INTERRUPTED: return EXIT_INTERRUPTED;
  }
  return EXIT_ERROR;
}

static double speed(const fetch_result_t *r) {
  return r->seconds > 0 ? (double)r->bytes_fetched / r->seconds : 0;
}

/* One line per download, key=value, the name quoted last-but-one:
 * time name root size result duration_s speed_Bps fetched resumed received peers message */
void report_client_log(const char *client_log, const char *name, const char *root_hex, const fetch_result_t *r) {
  ls_clientlog_t *rec = calloc(1, sizeof *rec);
  if (rec == NULL) return;
  ls_log_timestamp(rec->time, sizeof rec->time);
  snprintf(rec->name, sizeof rec->name, "%s", name);
  snprintf(rec->root, sizeof rec->root, "%s", root_hex);
  rec->size = r->size;
  snprintf(rec->result, sizeof rec->result, "%s", status_word(r->status));
  rec->duration_s = r->seconds;
  rec->speed_Bps = speed(r);
  rec->fetched = r->bytes_fetched;
  rec->resumed = r->bytes_resumed;
  rec->received = r->bytes_received;
  rec->has_received = 1;
  for (size_t i = 0; i < r->npeers && i < LS_CLIENTLOG_PEERS_MAX; i++) {
    ls_clientlog_peer_t *p = &rec->peers[rec->npeers++];
    memcpy(p->tag, r->peers[i].tag, sizeof p->tag);
    memcpy(p->addr, r->peers[i].addr, sizeof p->addr);
    p->port = r->peers[i].port;
    p->bytes = r->peers[i].bytes;
  }
  snprintf(rec->message, sizeof rec->message, "%s", r->message);
  int rc = ls_clientlog_append(client_log, rec);
  if (rc != 0) fprintf(stderr, "lanswarm-downloader: cannot append to %s: %s\n", client_log, strerror(-rc));
  free(rec);
}

/* Writes one event as a line on stdout, flushed (a reader may be following
 * the stream). */
static void emit(const ls_event_t *ev, unsigned flags) {
  char *s = NULL;
  if (ls_events_encode(ev, flags, &s) == 0) printf("%s\n", s);
  fflush(stdout);
  free(s);
}

void report_event_start(const char *name, const char *root_hex, uint64_t size, const ls_tagsq_lookup_t *lk) {
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_START;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->root, sizeof ev->root, "%s", root_hex);
  ev->size = size;
  for (size_t i = 0; i < lk->nholders && i < LS_EVENTS_PEERS_MAX; i++)
    memcpy(ev->holders[ev->nholders++], lk->holders[i].tag, sizeof ev->holders[0]);
  emit(ev, 0);
  free(ev);
}

/* Four times a second (fetch_progress_cb). */
void report_event_progress(void *ud, const fetch_progress_t *p) {
  (void)ud;
  if (p->total_bytes == 0) return; /* no manifest yet */
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_PROGRESS;
  ev->done = p->done_bytes;
  ev->total = p->total_bytes;
  ev->rate_Bps = (uint64_t)p->rate;
  ev->eta_s = p->rate > 1 && p->total_bytes > p->done_bytes
                  ? (int64_t)(uint64_t)((double)(p->total_bytes - p->done_bytes) / p->rate)
                  : -1;
  for (size_t i = 0; i < p->npeers && i < LS_EVENTS_PEERS_MAX; i++, ev->npeers++) {
    snprintf(ev->peers[i].tag, sizeof ev->peers[i].tag, "%s", p->peer_tags[i]);
    ev->peers[i].bytes = p->peer_bytes[i];
  }
  emit(ev, 0);
  free(ev);
}

void report_early_end(int events, const char *name, const char *result, const char *message) {
  if (!events) return;
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_END;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->result, sizeof ev->result, "%s", result);
  snprintf(ev->message, sizeof ev->message, "%s", message);
  emit(ev, 0);
  free(ev);
}

void report_here(int json, int events, int quiet, const char *name, const char *path) {
  if (!json) {
    if (!quiet) fprintf(stderr, "%s is already here: %s\n", name, path);
    return;
  }
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_END;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->result, sizeof ev->result, "here");
  snprintf(ev->message, sizeof ev->message, "already here: %s", path);
  emit(ev, events ? 0 : LS_EVENTS_NO_KIND);
  free(ev);
}

static void print_json(int events, const char *name, const char *root_hex, const fetch_result_t *r, const char *dest) {
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_END;
  ev->started = 1;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->root, sizeof ev->root, "%s", root_hex);
  snprintf(ev->result, sizeof ev->result, "%s", status_word(r->status));
  snprintf(ev->message, sizeof ev->message, "%s", r->message);
  ev->size = r->size;
  ev->fetched = r->bytes_fetched;
  ev->resumed = r->bytes_resumed;
  ev->seconds = r->seconds;
  ev->speed_Bps = speed(r);
  if (r->status == FETCH_OK) snprintf(ev->path, sizeof ev->path, "%s", dest);
  for (size_t i = 0; i < r->npeers && i < LS_EVENTS_PEERS_MAX; i++, ev->npeers++) {
    ls_event_peer_t *p = &ev->peers[i];
    memcpy(p->tag, r->peers[i].tag, sizeof p->tag);
    ls_net_endpoint_format(r->peers[i].addr, r->peers[i].port, p->address, sizeof p->address);
    p->bytes = r->peers[i].bytes;
    snprintf(p->end, sizeof p->end, "%s", r->peers[i].end);
  }
  emit(ev, events ? 0 : LS_EVENTS_NO_KIND);
  free(ev);
}

/* "DEST: SIZE in S s (RATE/s) from TAG... (resumed)". */
static void print_saved(const fetch_result_t *r, const char *dest) {
  char sz[32], sp[32];
  ls_format_bytes((double)r->size, sz, sizeof sz);
  ls_format_bytes(speed(r), sp, sizeof sp);
  fprintf(stderr, "%s: %s in %.2f s (%s/s) from", dest, sz, r->seconds, sp);
  for (size_t i = 0; i < r->npeers; i++)
    if (r->peers[i].bytes > 0) fprintf(stderr, " %s", r->peers[i].tag);
  fprintf(stderr, "%s\n", r->bytes_resumed ? " (resumed)" : "");
}

void report_end(int json, int events, int quiet, const char *name, const char *root_hex, const fetch_result_t *r,
                const char *dest) {
  if (json) print_json(events, name, root_hex, r, dest);
  else if (r->status != FETCH_OK) fprintf(stderr, "lanswarm-downloader: %s: %s\n", name, r->message);
  else if (!quiet) print_saved(r, dest);
}
