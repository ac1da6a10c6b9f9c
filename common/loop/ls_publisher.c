#include "ls_publisher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"

uint32_t ls_publisher_request(ls_publisher_t *p, ls_tmsg_t *m) {
  m->id = ++p->next_id;
  if (p->next_id >= 0x7FFFFFFF) p->next_id = 0;
  return ls_tclient_send(&p->client, m) == 0 ? m->id : 0;
}

static void send_register(ls_publisher_t *p) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_REGISTER;
  snprintf(m.host, sizeof m.host, "%s", p->host);
  m.port = p->port;
  p->register_id = ls_publisher_request(p, &m);
}

void ls_publisher_sync(ls_publisher_t *p) {
  if (!p->registered) return;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(p->catalog);
  if (snap == NULL) return;
  /* The whole catalog, LS_TMSG_MAX_FILES at a time; the first replaces. */
  size_t i = 0;
  do {
    ls_tmsg_t m;
    memset(&m, 0, sizeof m);
    m.type = LS_TMSG_PUBLISH;
    m.replace = i == 0;
    size_t n = snap->count - i < LS_TMSG_MAX_FILES ? snap->count - i : LS_TMSG_MAX_FILES;
    m.files = calloc(n + 1, sizeof *m.files);
    if (m.files == NULL) return;
    for (size_t k = 0; k < n; k++) {
      const ls_catalog_entry_t *e = &snap->entries[i + k];
      m.files[k].name = e->name;
      m.files[k].size = e->manifest.size;
      m.files[k].chunk_size = e->manifest.chunk_size;
      memcpy(m.files[k].root, e->manifest.root, LS_HASH_LEN);
      m.files[k].complete = e->nhave == e->manifest.nchunks;
    }
    m.nfiles = n;
    ls_publisher_request(p, &m);
    free(m.files);
    i += n;
  } while (i < snap->count);
  ls_debug("published %zu file(s) to the tracker", snap->count);
}

static void on_up(ls_tclient_t *c) {
  ls_publisher_t *p = c->data;
  p->registered = 0;
  send_register(p);
}

static void on_down(ls_tclient_t *c) {
  ls_publisher_t *p = c->data;
  p->registered = 0;
}

static void on_msg(ls_tclient_t *c, ls_tmsg_t *m) {
  ls_publisher_t *p = c->data;
  if (ls_tclient_answer_ping(c, m)) return;
  if (m->id != 0 && m->id == p->register_id) {
    if (m->type == LS_TMSG_OK) {
      p->registered = 1;
      ls_info("tracker %s: registered as %s", c->addr_text, p->host);
      ls_publisher_sync(p);
      if (p->on_up) p->on_up(p);
      return;
    }
    if (m->type == LS_TMSG_ERROR) {
      if (m->code == LS_TERR_NAME_TAKEN && p->on_taken) {
        ls_info("tracker %s: registration as %s refused: %s", c->addr_text, p->host, m->reason);
        p->on_taken(p, m->reason); /* the caller tells its user */
      } else {
        ls_error("tracker %s: registration as %s refused: %s", c->addr_text, p->host, m->reason);
        ls_tclient_drop(c, "registration refused"); /* try again later, with backoff */
      }
      return;
    }
  }
  if (m->type == LS_TMSG_SHUTDOWN) {
    ls_warn("tracker %s is shutting down; will register again when it is back", c->addr_text);
    p->registered = 0;
    return;
  }
  if (m->type == LS_TMSG_ERROR && m->code == LS_TERR_LIMIT) ls_warn("tracker %s: %s", c->addr_text, m->reason);
  if (p->on_msg) p->on_msg(p, m);
}

int ls_publisher_init(uv_loop_t *loop, ls_publisher_t *p, const char *tracker_addr, const char *host, uint16_t port,
                      ls_catalog_t *catalog) {
  memset(p, 0, sizeof *p);
  int rc = ls_tclient_init(loop, &p->client, tracker_addr, on_up, on_msg, on_down);
  if (rc != 0) return rc;
  p->client.data = p;
  p->catalog = catalog;
  snprintf(p->host, sizeof p->host, "%s", host);
  p->port = port;
  return 0;
}

void ls_publisher_start(ls_publisher_t *p) {
  ls_tclient_start(&p->client);
}

void ls_publisher_rename(ls_publisher_t *p, const char *host) {
  snprintf(p->host, sizeof p->host, "%s", host);
  send_register(p);
}

void ls_publisher_close(ls_publisher_t *p) {
  if (p->client.connected && p->client.link != NULL) {
    ls_tmsg_t m;
    memset(&m, 0, sizeof m);
    m.type = LS_TMSG_BYE;
    ls_tlink_try_send(p->client.link, &m);
  }
  ls_tclient_close(&p->client);
}
