#include "tracker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_net.h"
#include "ls_tlink.h"
#include "ls_util.h"

#define ADMIN_PING_TIMEOUT_MS 3000
#define ADMIN_PING_ID_BASE 0x80000000u
#define PUSH_GAP_MS 100               /* at most one push per subscriber this often */
#define SUB_QUEUE_LOW (256u << 10)    /* push pages only while less than this waits to be written */
#define SUB_STALL_MS 5000             /* a subscriber that reads nothing this long is dropped */

typedef struct conn_s {
  ls_tlink_t link;
  tracker_t *t;
  reg_host_t *host;          /* NULL until registered */
  uint64_t last_heard_ms;
  int subscribed;            /* sent SUBSCRIBE: listings are pushed to it */
  struct conn_s *sub_prev, *sub_next; /* the subscribers' list */
  uint32_t sub_id;           /* the SUBSCRIBE's id, on every pushed ENTRIES */
  int sub_dirty;             /* the tables changed since the push in progress began */
  int sub_pushing;           /* a push is under way, from sub_offset */
  uint32_t sub_offset;
  uint64_t sub_stalled_ms;   /* since when its queue kept a push waiting; 0: it does not */
  struct conn_s *prev, *next;
} conn_t;

typedef struct admin_ping_s {
  uint32_t id;
  char host[LS_TAG_MAX + 1];
  uint64_t sent_ns;
  uv_timer_t timer;
  tracker_t *t;
  tracker_ping_cb cb;
  void *ud;
  int done;
  struct admin_ping_s *next;
} admin_ping_t;

struct tracker_s {
  uv_loop_t *loop;
  const ls_config_t *cfg;
  tracker_opts_t opts;
  uv_tcp_t listener;
  uv_timer_t ping_timer;
  uv_timer_t push_timer;     /* pushes to subscribers, coalesced */
  uint64_t last_push_ms;
  registry_t reg;
  ls_tls_ctx_t *tls;         /* with a network key: every connection's TLS */
  ls_tentry_t *rows;         /* scratch for an answer's rows (LS_TMSG_MAX_FILES) */
  conn_t *conns;
  conn_t *subs;              /* the subscribed among conns: a change walks only these */
  unsigned nconns;
  unsigned ever_registered;
  uint32_t next_admin_id;
  admin_ping_t *pings;
  int stopping;
  int stopped;
  int open_handles;
};

static void admin_ping_closed(uv_handle_t *h);

static void maybe_stopped(tracker_t *t) {
  if (t->stopping && !t->stopped && t->open_handles == 0 && t->conns == NULL) {
    t->stopped = 1;
    if (t->opts.on_stopped) t->opts.on_stopped(t->opts.ud);
  }
}

static void send_error(conn_t *c, uint32_t id, int code, const char *reason) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_ERROR;
  m.id = id;
  m.code = code;
  snprintf(m.reason, sizeof m.reason, "%s", reason);
  ls_tlink_send(&c->link, &m);
}

static void send_simple(conn_t *c, ls_tmsg_type_t type, uint32_t id) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.id = id;
  ls_tlink_send(&c->link, &m);
}

static void send_entries(conn_t *c, uint32_t id, ls_tentry_t *rows, size_t n, uint32_t offset, uint32_t total) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_ENTRIES;
  m.id = id;
  m.entries = rows;
  m.nentries = n;
  m.offset = offset;
  m.total = total;
  ls_tlink_send(&c->link, &m);
}

/* ---------- subscriptions: the listing pushed on every change ---------- */

static void push_cb(uv_timer_t *timer);

static void push_schedule(tracker_t *t) {
  if (t->stopping || uv_is_active((uv_handle_t *)&t->push_timer)) return;
  uint64_t now = uv_now(t->loop), due = t->last_push_ms + PUSH_GAP_MS;
  uv_timer_start(&t->push_timer, push_cb, due > now ? due - now : 0, 0);
}

/* Every change of the tables (register, publish, unpublish, a host gone)
 * marks the subscribers; one timer pushes to them within PUSH_GAP_MS. */
static void tables_changed(tracker_t *t) {
  int any = 0;
  for (conn_t *c = t->subs; c; c = c->sub_next) any = c->sub_dirty = 1;
  if (any) push_schedule(t);
}

static size_t queued_bytes(conn_t *c) {
  return uv_stream_get_write_queue_size((uv_stream_t *)&c->link.tcp);
}

/* Sends c the listing's pages from sub_offset while its write queue stays
 * short (a slow reader holds the push back, not the tracker's memory).
 * Returns 1 when the last page went, 0 when more must wait. */
static int push_pages(conn_t *c, ls_tentry_t *rows) {
  tracker_t *t = c->t;
  uint32_t total = (uint32_t)t->reg.total_files;
  while (queued_bytes(c) < SUB_QUEUE_LOW && !c->link.closing) {
    size_t n = registry_rows(&t->reg, c->sub_offset, LS_TMSG_MAX_FILES, rows);
    send_entries(c, c->sub_id, rows, n, c->sub_offset, total);
    c->sub_offset += (uint32_t)n;
    c->sub_stalled_ms = 0;
    if (n == 0 || c->sub_offset >= total) return 1;
  }
  return 0;
}

/* One subscriber at a push tick; returns 1 if it has more to come. */
static int push_one(conn_t *c, ls_tentry_t *rows, uint64_t now) {
  if (!c->sub_pushing && c->sub_dirty) {
    c->sub_pushing = 1;
    c->sub_dirty = 0;
    c->sub_offset = 0;
  }
  if (!c->sub_pushing) return 0;
  if (push_pages(c, rows) == 1) {
    c->sub_pushing = 0;
    return c->sub_dirty;
  }
  if (c->sub_stalled_ms == 0) c->sub_stalled_ms = now;
  if (now - c->sub_stalled_ms >= SUB_STALL_MS) {
    ls_warn("subscriber %s:%u reads nothing (%zu bytes queued for %d s): dropped", c->link.peer, c->link.peer_port,
            queued_bytes(c), SUB_STALL_MS / 1000);
    ls_tlink_close(&c->link, "subscriber does not read");
    return 0;
  }
  return 1;
}

static void push_cb(uv_timer_t *timer) {
  tracker_t *t = timer->data;
  uint64_t now = uv_now(t->loop);
  int more = 0;
  t->last_push_ms = now;
  for (conn_t *c = t->subs, *next; c; c = next) {
    next = c->sub_next;
    if (!c->link.closing) more |= push_one(c, t->rows, now);
  }
  if (more) uv_timer_start(timer, push_cb, PUSH_GAP_MS, 0);
}

static void on_subscribe(conn_t *c, const ls_tmsg_t *m) {
  if (!c->subscribed) {
    c->sub_next = c->t->subs;
    if (c->t->subs) c->t->subs->sub_prev = c;
    c->t->subs = c;
  }
  c->subscribed = 1;
  c->sub_id = m->id;
  c->sub_dirty = 1;
  c->sub_pushing = 0; /* a new subscription starts its listing again */
  ls_info("subscriber %s:%u (id %u)", c->link.peer, c->link.peer_port, m->id);
  push_schedule(c->t);
}

static void host_leaves(tracker_t *t, conn_t *c, const char *why) {
  if (c->host == NULL) return;
  ls_info("host left name=%s addr=%s:%u files=%zu reason=\"%s\"", c->host->name, c->host->addr, c->host->port,
          c->host->files.count, why);
  registry_remove(&t->reg, c->host);
  c->host = NULL;
  tables_changed(t);
  if (t->opts.exit_when_empty && registry_host_count(&t->reg) == 0 && t->ever_registered > 0 && !t->stopping) {
    ls_info("the last host left: stopping (--exit-when-empty)");
    tracker_stop(t);
  }
}

static void on_register(conn_t *c, const ls_tmsg_t *m) {
  tracker_t *t = c->t;
  const char *peer = c->link.peer;
  if (c->host != NULL) {
    send_error(c, m->id, LS_TERR_ALREADY_REGISTERED, "this connection is already registered");
    return;
  }
  reg_host_t *other = registry_find(&t->reg, m->host);
  if (other != NULL) {
    char why[LS_TMSG_MAX_REASON];
    snprintf(why, sizeof why, "the name '%s' is taken (by %.45s); choose another", m->host, other->addr);
    ls_info("register refused name=%s addr=%s: name taken", m->host, peer);
    send_error(c, m->id, LS_TERR_NAME_TAKEN, why);
    return;
  }
  if (registry_add(&t->reg, m->host, peer, m->port, c, &c->host) != 0) {
    send_error(c, m->id, LS_TERR_LIMIT, "out of memory");
    return;
  }
  t->ever_registered++;
  ls_info("host registered name=%s addr=%s:%u", m->host, peer, m->port);
  tables_changed(t);
  send_simple(c, LS_TMSG_OK, m->id);
}

/* PUBLISH and UNPUBLISH: a registered host's files. */
static void on_publish(conn_t *c, const ls_tmsg_t *m) {
  tracker_t *t = c->t;
  if (c->host == NULL) {
    send_error(c, m->id, LS_TERR_NOT_REGISTERED, "register first");
    return;
  }
  if (m->type == LS_TMSG_PUBLISH) {
    int rc = registry_publish(&t->reg, c->host, m->files, m->nfiles, m->replace);
    ls_info("publish name=%s files=%zu%s total=%zu", c->host->name, m->nfiles, m->replace ? " (replace)" : "",
            c->host->files.count);
    tables_changed(t);
    if (rc == -ENOSPC) {
      send_error(c, m->id, LS_TERR_LIMIT, "file limit reached; some files were not published");
      return;
    }
  } else {
    registry_unpublish(&t->reg, c->host, m->names, m->nnames);
    ls_info("unpublish name=%s files=%zu total=%zu", c->host->name, m->nnames, c->host->files.count);
    tables_changed(t);
  }
  send_simple(c, LS_TMSG_OK, m->id);
}

static void on_lookup(conn_t *c, const ls_tmsg_t *m) {
  tracker_t *t = c->t;
  size_t cap = m->has_root ? LS_TMSG_MAX_FILES : registry_holder_count(&t->reg, m->name);
  if (cap > LS_TMSG_MAX_FILES) cap = LS_TMSG_MAX_FILES;
  size_t n;
  if (m->has_root) n = registry_rows_by_root(&t->reg, m->root, cap, t->rows);
  else n = registry_lookup(&t->reg, m->name, cap, t->rows);
  /* The rows' names belong to the registry: do not free them. */
  send_entries(c, m->id, t->rows, n, 0, (uint32_t)n);
}

static void on_list(conn_t *c, const ls_tmsg_t *m) {
  tracker_t *t = c->t;
  size_t limit = m->limit < LS_TMSG_MAX_FILES ? m->limit : LS_TMSG_MAX_FILES;
  size_t n = registry_rows(&t->reg, m->offset, limit, t->rows);
  send_entries(c, m->id, t->rows, n, m->offset, (uint32_t)t->reg.total_files);
}

/* A PONG answers an admin ping (tracker_ping) of this host. */
static void on_pong(conn_t *c, const ls_tmsg_t *m) {
  for (admin_ping_t *p = c->t->pings; p; p = p->next) {
    if (p->id == m->id && !p->done && c->host && strcmp(c->host->name, p->host) == 0) {
      p->done = 1;
      double rtt = (double)(uv_hrtime() - p->sent_ns) / 1e6;
      ls_info("ping name=%s rtt_ms=%.3f", p->host, rtt);
      p->cb(p->ud, p->host, rtt);
      uv_close((uv_handle_t *)&p->timer, admin_ping_closed);
    }
  }
}

static void on_msg(ls_tlink_t *l, ls_tmsg_t *m) {
  conn_t *c = l->data;
  tracker_t *t = c->t;
  c->last_heard_ms = uv_now(t->loop); /* with a key, only after the TLS handshake */
  switch (m->type) {
    case LS_TMSG_REGISTER: on_register(c, m); return;
    case LS_TMSG_PUBLISH:
    case LS_TMSG_UNPUBLISH: on_publish(c, m); return;
    case LS_TMSG_LOOKUP: on_lookup(c, m); return;
    case LS_TMSG_LIST: on_list(c, m); return;
    case LS_TMSG_SUBSCRIBE: on_subscribe(c, m); return;
    case LS_TMSG_PING: send_simple(c, LS_TMSG_PONG, m->id); return;
    case LS_TMSG_PONG: on_pong(c, m); return;
    case LS_TMSG_BYE:
      host_leaves(t, c, "goodbye");
      ls_tlink_close(&c->link, "goodbye");
      return;
    default: send_error(c, m->id, LS_TERR_BAD_REQUEST, "unexpected message type"); return;
  }
}

static void on_end(ls_tlink_t *l, ls_tlink_end_t reason, const char *why) {
  conn_t *c = l->data;
  tracker_t *t = c->t;
  if (reason == LS_TLINK_END_BAD_MESSAGE || reason == LS_TLINK_END_WRITE) {
    static ls_ratelimit_t rl = {10, 10000, 0, 0, 0};
    unsigned long dropped;
    if (ls_ratelimit_allow(&rl, &dropped)) ls_warn("closed connection from %s:%u: %s", l->peer, l->peer_port, why);
  }
  host_leaves(t, c, why);
}

static void on_closed(ls_tlink_t *l) {
  conn_t *c = l->data;
  tracker_t *t = c->t;
  if (c->prev) c->prev->next = c->next;
  else t->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  if (c->subscribed) {
    if (c->sub_prev) c->sub_prev->sub_next = c->sub_next;
    else t->subs = c->sub_next;
    if (c->sub_next) c->sub_next->sub_prev = c->sub_prev;
  }
  t->nconns--;
  free(c);
  maybe_stopped(t);
}

static void refused_closed(ls_tlink_t *l) {
  free(l);
}

static void on_connection(uv_stream_t *s, int status) {
  tracker_t *t = s->data;
  if (status < 0 || t->stopping) return;
  if (t->nconns >= t->opts.max_conns) {
    ls_tlink_t *l = malloc(sizeof *l);
    if (l == NULL) return;
    ls_tlink_init(t->loop, l, NULL, NULL, refused_closed);
    l->tcp.data = l;
    if (uv_accept(s, (uv_stream_t *)&l->tcp) == 0) {
      ls_tmsg_t m;
      memset(&m, 0, sizeof m);
      m.type = LS_TMSG_ERROR;
      m.code = LS_TERR_LIMIT;
      snprintf(m.reason, sizeof m.reason, "too many connections");
      ls_tlink_send(l, &m);
    }
    ls_tlink_close(l, "refused");
    return;
  }
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  c->t = t;
  ls_tlink_init(t->loop, &c->link, on_msg, on_end, on_closed);
  c->link.data = c;
  c->next = t->conns;
  if (t->conns) t->conns->prev = c;
  t->conns = c;
  t->nconns++;
  if (uv_accept(s, (uv_stream_t *)&c->link.tcp) != 0 || (t->tls != NULL && ls_tlink_use_tls(&c->link, t->tls) != 0)) {
    ls_tlink_close(&c->link, "accept failed");
    return;
  }
  c->last_heard_ms = uv_now(t->loop);
  ls_tlink_start(&c->link);
}

/* Pings every registered host; drops those silent for 3 intervals. */
static void ping_cb(uv_timer_t *timer) {
  tracker_t *t = timer->data;
  uint64_t now = uv_now(t->loop);
  uint64_t limit = (uint64_t)t->opts.ping_interval * 1000 * 3;
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_PING;
  for (conn_t *c = t->conns, *next; c; c = next) {
    next = c->next;
    if (c->host == NULL || c->link.closing) continue;
    if (now - c->last_heard_ms > limit) {
      ls_warn("host %s did not answer pings for %llu s: dropped", c->host->name, (unsigned long long)limit / 1000);
      host_leaves(t, c, "no answer to pings");
      ls_tlink_close(&c->link, "no answer to pings");
      continue;
    }
    ls_tlink_send(&c->link, &m);
  }
}

static void handle_closed(uv_handle_t *h) {
  tracker_t *t = h->data;
  t->open_handles--;
  maybe_stopped(t);
}

int tracker_new(uv_loop_t *loop, const ls_config_t *cfg, const tracker_opts_t *opts, tracker_t **out) {
  tracker_t *t = calloc(1, sizeof *t);
  if (t == NULL) return UV_ENOMEM;
  t->loop = loop;
  t->cfg = cfg;
  t->opts = *opts;
  if (t->opts.ping_interval == 0) t->opts.ping_interval = 10;
  t->rows = malloc(LS_TMSG_MAX_FILES * sizeof *t->rows);
  if (t->rows == NULL || registry_init(&t->reg) != 0) {
    free(t->rows);
    free(t);
    return UV_ENOMEM;
  }
  if (opts->key != NULL && opts->key->set && ls_tls_ctx_new(opts->key, LS_TLS_TRACKER, LS_TLS_SERVER, &t->tls) != 0) {
    registry_close(&t->reg);
    free(t);
    return UV_EPROTO;
  }
  uv_timer_init(loop, &t->ping_timer);
  uv_timer_init(loop, &t->push_timer);
  t->ping_timer.data = t->push_timer.data = t;
  t->open_handles = 2;
  *out = t;
  return 0;
}

int tracker_start(tracker_t *t) {
  t->listener.data = t;
  int rc = ls_net_tcp_listen(t->loop, &t->listener, t->cfg->listen_addr, t->cfg->tracker_port, 1024, on_connection);
  t->open_handles++;
  if (rc != 0) return rc;
  uint64_t ms = (uint64_t)t->opts.ping_interval * 1000;
  uv_timer_start(&t->ping_timer, ping_cb, ms, ms);
  return 0;
}

int tracker_port(tracker_t *t) {
  return ls_net_tcp_port(&t->listener);
}

registry_t *tracker_registry(tracker_t *t) {
  return &t->reg;
}

static void admin_ping_closed(uv_handle_t *h) {
  admin_ping_t *p = h->data;
  tracker_t *t = p->t;
  admin_ping_t **pp = &t->pings;
  while (*pp && *pp != p) pp = &(*pp)->next;
  if (*pp) *pp = p->next;
  free(p);
  t->open_handles--;
  maybe_stopped(t);
}

static void admin_ping_timeout(uv_timer_t *timer) {
  admin_ping_t *p = timer->data;
  if (!p->done) {
    p->done = 1;
    ls_info("ping name=%s: no answer in %d ms", p->host, ADMIN_PING_TIMEOUT_MS);
    p->cb(p->ud, p->host, -1);
  }
  uv_close((uv_handle_t *)&p->timer, admin_ping_closed);
}

int tracker_ping(tracker_t *t, const char *host, tracker_ping_cb cb, void *ud) {
  reg_host_t *h = registry_find(&t->reg, host);
  if (h == NULL) return -ENOENT;
  admin_ping_t *p = calloc(1, sizeof *p);
  if (p == NULL) return -ENOMEM;
  p->t = t;
  p->id = ADMIN_PING_ID_BASE | (t->next_admin_id++ & 0x7FFFFFFF);
  snprintf(p->host, sizeof p->host, "%s", host);
  p->cb = cb;
  p->ud = ud;
  p->sent_ns = uv_hrtime();
  uv_timer_init(t->loop, &p->timer);
  p->timer.data = p;
  t->open_handles++;
  p->next = t->pings;
  t->pings = p;
  /* The timer also frees p once an answer came (or did not). */
  uv_timer_start(&p->timer, admin_ping_timeout, ADMIN_PING_TIMEOUT_MS, 0);
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_PING;
  m.id = p->id;
  ls_tlink_send(&((conn_t *)h->owner)->link, &m);
  return 0;
}

void tracker_stop(tracker_t *t) {
  if (t->stopping) return;
  t->stopping = 1;
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_SHUTDOWN;
  for (conn_t *c = t->conns; c; c = c->next) {
    if (c->host) ls_tlink_send(&c->link, &m); /* peers are told */
  }
  for (conn_t *c = t->conns, *next; c; c = next) {
    next = c->next;
    if (c->host) {
      registry_remove(&t->reg, c->host);
      c->host = NULL;
    }
    ls_tlink_close(&c->link, "tracker shutting down");
  }
  for (admin_ping_t *p = t->pings; p; p = p->next)
    if (!uv_is_closing((uv_handle_t *)&p->timer)) uv_close((uv_handle_t *)&p->timer, admin_ping_closed);
  uv_close((uv_handle_t *)&t->listener, handle_closed);
  uv_close((uv_handle_t *)&t->ping_timer, handle_closed);
  uv_close((uv_handle_t *)&t->push_timer, handle_closed);
}

void tracker_free(tracker_t *t) {
  registry_close(&t->reg);
  ls_tls_ctx_free(t->tls);
  free(t->rows);
  free(t);
}
