#include "fetching.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"

#define LIST_ID 1
#define CONN_TIMEOUT_MS 3000 /* connect, handshake, and silence between frames */

static void begin(fetch_t *s);

static void files_clear(fetch_t *s) {
  for (size_t i = 0; i < s->nfiles; i++) free(s->files[i].name);
  free(s->files);
  s->files = NULL;
  s->nfiles = s->cap = 0;
  s->pages = s->got = 0;
}

static void launch(fetch_t *s, const fetch_want_t *w) {
  s->in_use = 1;
  s->tries = 0;
  s->retry = 0;
  s->w = *w;
  begin(s);
}

/* The slot is free: the oldest waiting beat takes it. */
static void slot_done(fetch_t *s) {
  fetching_t *o = s->owner;
  files_clear(s);
  s->in_use = 0;
  if (o->stopping || o->npending == 0) return;
  fetch_want_t w = o->pending[0];
  memmove(o->pending, o->pending + 1, --o->npending * sizeof *o->pending);
  launch(s, &w);
}

static int same_peer(const fetch_want_t *a, const fetch_want_t *b) {
  return strcmp(a->tag, b->tag) == 0 && strcmp(a->addr, b->addr) == 0 && a->port == b->port;
}

/* One entry per peer, with its latest beat. */
static int enqueue(fetching_t *f, const fetch_want_t *w) {
  for (size_t i = 0; i < f->npending; i++)
    if (same_peer(&f->pending[i], w)) return f->pending[i] = *w, 0;
  if (f->npending == FETCH_PENDING_MAX) return UV_EBUSY;
  f->pending[f->npending++] = *w;
  return 0;
}

/* One page, in order, of that peer, within the bounds: its files are kept. */
static int take_page(fetch_t *s, const ls_frame_t *f) {
  ls_announce_t a;
  const char *why;
  if (ls_announce_decode(&a, (const char *)f->payload, f->len, &why) != 0) return -1;
  int rc = -1;
  if (a.type != LS_ANNOUNCE_FILES || strcmp(a.tag, s->w.tag) != 0 || a.port != s->w.port || a.page != s->got ||
      (s->got > 0 && a.pages != s->pages) || s->nfiles + a.nfiles > PEER_TABLE_MAX_FILES_PER_PEER)
    goto out;
  if (s->nfiles + a.nfiles > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    while (cap < s->nfiles + a.nfiles) cap *= 2;
    ls_announce_file_t *v = realloc(s->files, cap * sizeof *v);
    if (v == NULL) goto out;
    s->files = v;
    s->cap = cap;
  }
  for (size_t i = 0; i < a.nfiles; i++) {
    s->files[s->nfiles++] = a.files[i];
    a.files[i].name = NULL; /* now the slot's */
  }
  s->pages = a.pages;
  s->got++;
  rc = 0;
out:
  ls_announce_free(&a);
  return rc;
}

/* The end frame: every page came and the files hash to its digest. Then the
 * list is applied as a whole round. */
static int take_end(fetch_t *s, const ls_frame_t *f) {
  char digest[LS_ANNOUNCE_DIGEST_HEX + 1];
  if (s->got == 0 || s->got != s->pages || !ls_announce_digest_valid((const char *)f->payload, f->len)) return -1;
  if (ls_announce_digest(s->files, s->nfiles, digest) != 0) return -1;
  if (memcmp(digest, f->payload, LS_ANNOUNCE_DIGEST_HEX) != 0) return -1;
  fetching_t *o = s->owner;
  ls_announce_t list = {.type = LS_ANNOUNCE_FILES, .port = s->w.port, .interval = s->w.interval};
  snprintf(list.tag, sizeof list.tag, "%s", s->w.tag);
  memcpy(list.digest, digest, sizeof list.digest);
  list.files = s->files;
  list.nfiles = s->nfiles;
  int rc = peer_table_apply_list(o->table, &list, s->w.addr, s->w.how, uv_now(o->loop), ls_unix_now());
  ls_info("list of tag=%s addr=%s:%u fetched: %zu file(s), digest %s", s->w.tag, s->w.addr, s->w.port, s->nfiles, digest);
  if (rc != 0 && o->changed) o->changed(o->ud, rc != PT_SEEN);
  o->fetched++;
  s->ok = 1;
  /* Older than the beat: the server has not seen the change yet. */
  if (strcmp(digest, s->w.want) != 0 && ++s->tries < FETCH_RETRIES) s->retry = 1;
  return 0;
}

static int on_frame(ls_conn_t *c, ls_frame_t *f) {
  fetch_t *s = c->data;
  int rc = -1;
  if (f->id == LIST_ID && f->type == LS_MSG_LIST_PAGE) rc = take_page(s, f);
  else if (f->id == LIST_ID && f->type == LS_MSG_LIST_END && take_end(s, f) == 0) rc = 1;
  if (rc != 0) ls_conn_close(c, rc > 0 ? LS_CONN_END_LOCAL : LS_CONN_END_PROTOCOL);
  return rc != 0;
}

static void on_ready(ls_conn_t *c) {
  ls_conn_watch(c); /* the stall clock, from the request on */
  if (ls_conn_send(c, LS_MSG_LIST_REQ, LIST_ID, NULL, 0) != 0) ls_conn_close(c, LS_CONN_END_WRITE);
}

static void on_end(ls_conn_t *c, ls_conn_end_t why) {
  fetch_t *s = c->data;
  fetching_t *o = s->owner;
  unsigned long dropped;
  uv_timer_stop(&s->timer);
  if (s->ok) return;
  o->failed++;
  if (!o->stopping && ls_ratelimit_allow(&o->rl, &dropped))
    ls_warn("list of tag=%s from %s:%u not fetched: %s (retried at its next beat)", s->w.tag, s->w.addr, s->w.port,
            why == LS_CONN_END_LOCAL ? "timeout" : ls_conn_end_name(why));
}

static void retry_cb(uv_timer_t *t) {
  begin(t->data);
}

static void on_closed(ls_conn_t *c) {
  fetch_t *s = c->data;
  s->conn_open = 0;
  if (s->retry && !s->owner->stopping) {
    s->retry = 0;
    uv_timer_start(&s->timer, retry_cb, FETCH_RETRY_MS, 0);
    return;
  }
  slot_done(s);
}

static int awaiting(const ls_conn_t *c) {
  (void)c;
  return 1; /* from the request on, a reply is always awaited */
}

static void deadline_cb(uv_timer_t *t) {
  fetch_t *s = t->data;
  if (s->conn_open) ls_conn_close(&s->conn, LS_CONN_END_LOCAL);
}

static void begin(fetch_t *s) {
  fetching_t *o = s->owner;
  if (o->key != NULL && o->tls == NULL && ls_tls_ctx_new(o->key, LS_TLS_CHUNK, LS_TLS_CLIENT, &o->tls) != 0) {
    slot_done(s);
    return;
  }
  ls_conn_opts_t opts = {.role = LS_CONN_CLIENT,
                         .tls = o->tls,
                         .max_payload = LS_PROTO_MAX_LIST_PAGE,
                         .timeout_ms = CONN_TIMEOUT_MS,
                         .on_frame = on_frame,
                         .on_ready = on_ready,
                         .on_end = on_end,
                         .on_closed = on_closed,
                         .busy = awaiting};
  struct sockaddr_storage sa; /* IPv4, or IPv6 with its scope, as the downloader connects */
  files_clear(s);
  s->ok = 0;
  if (ls_net_addr_parse(s->w.addr, s->w.port, &sa) != 0 || ls_conn_init(o->loop, &s->conn, &opts) != 0) {
    slot_done(s);
    return;
  }
  s->conn.data = s;
  s->conn_open = 1;
  uv_timer_start(&s->timer, deadline_cb, FETCH_TIMEOUT_MS, 0);
  if (ls_conn_connect(&s->conn, (const struct sockaddr *)&sa) != 0) ls_conn_close(&s->conn, LS_CONN_END_CONNECT);
}

void fetching_init(fetching_t *f, uv_loop_t *loop, const ls_key_t *key, peer_table_t *table,
                   fetching_changed_cb changed, void *ud) {
  memset(f, 0, sizeof *f);
  f->loop = loop;
  f->key = key;
  f->table = table;
  f->changed = changed;
  f->ud = ud;
  ls_ratelimit_init(&f->rl, 5, 10000);
  for (size_t i = 0; i < FETCH_MAX; i++) {
    f->slots[i].owner = f;
    uv_timer_init(loop, &f->slots[i].timer);
    f->slots[i].timer.data = &f->slots[i];
  }
}

int fetching_start(fetching_t *f, const ls_announce_t *beat, const char *addr, unsigned how) {
  fetch_t *free_slot = NULL;
  if (f->stopping) return UV_ECANCELED;
  fetch_want_t w = {.port = beat->port, .how = how, .interval = beat->interval};
  snprintf(w.tag, sizeof w.tag, "%s", beat->tag);
  snprintf(w.addr, sizeof w.addr, "%s", addr);
  memcpy(w.want, beat->digest, sizeof w.want);
  for (size_t i = 0; i < FETCH_MAX; i++) {
    fetch_t *s = &f->slots[i];
    if (!s->in_use) {
      if (free_slot == NULL) free_slot = s;
    } else if (same_peer(&s->w, &w)) {
      return UV_EALREADY;
    }
  }
  if (free_slot == NULL) return enqueue(f, &w);
  launch(free_slot, &w);
  return 0;
}

void fetching_close(fetching_t *f) {
  if (f->stopping) return;
  f->stopping = 1;
  f->npending = 0;
  for (size_t i = 0; i < FETCH_MAX; i++) {
    fetch_t *s = &f->slots[i];
    if (s->conn_open) ls_conn_close(&s->conn, LS_CONN_END_SHUTDOWN);
    else if (s->in_use) slot_done(s);
    uv_close((uv_handle_t *)&s->timer, NULL);
  }
}

void fetching_free(fetching_t *f) {
  for (size_t i = 0; i < FETCH_MAX; i++) files_clear(&f->slots[i]);
  ls_tls_ctx_free(f->tls);
  f->tls = NULL;
}
