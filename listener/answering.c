#include "answering.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ls_log.h"
#include "ls_net.h"
#include "ls_round.h"
#include "ls_util.h"

static void timer_cb(uv_timer_t *t);

void answering_init(answering_t *an, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, int fd4,
                    int fd6) {
  memset(an, 0, sizeof *an);
  an->cfg = cfg;
  an->key = key;
  an->loop = loop;
  an->fd4 = fd4;
  an->fd6 = fd6;
  an->seed = (unsigned)uv_hrtime() ^ (unsigned)uv_os_getpid();
  answer_limit_init(&an->limit);
  uv_timer_init(loop, &an->timer);
  an->timer.data = an;
}

/* With a key, the round's datagrams sealed again now: as written they may be
 * older than the window (LS_SEAL_WINDOW_MS) a listener takes. 0 or -1 (not
 * sealed with our key: not sent). */
static int reseal(answering_t *an, ls_round_t *r) {
  for (size_t i = 0; an->key != NULL && i < r->n; i++) {
    const char *json;
    size_t len;
    uint64_t sealed;
    char buf[LS_ANNOUNCE_MAX_PAYLOAD];
    if (ls_auth_open(an->key, r->data[i], r->len[i], &json, &len, &sealed) != 0) return -1;
    memcpy(buf, json, len);
    int n = ls_auth_seal(an->key, buf, len, r->data[i], sizeof r->data[i]);
    if (n < 0) return -1;
    r->len[i] = (size_t)n;
  }
  return 0;
}

/* The round file, if an announcer wrote it within its last 3 intervals. */
static int read_round(answering_t *an, ls_round_t *r) {
  struct stat st;
  if (stat(an->cfg->round_path, &st) != 0) return -1;
  int64_t age = ls_unix_now() - (int64_t)st.st_mtime;
  if (age > 3 * (int64_t)an->cfg->interval + 5) return -1; /* its announcer died without a goodbye */
  uint8_t *data;
  size_t len;
  if (ls_read_file(an->cfg->round_path, LS_ROUND_MAX_BYTES, &data, &len) != 0) return -1;
  int rc = ls_round_parse(data, len, r);
  free(data);
  return rc == 0 ? reseal(an, r) : rc;
}

static void send_answer(answering_t *an, ls_round_t *r, const struct sockaddr *to) {
  int six = to->sa_family == AF_INET6;
  int fd = six ? an->fd6 : an->fd4;
  socklen_t len = six ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (fd < 0) return;
  for (size_t i = 0; i < r->n; i++) /* non-blocking: a full buffer drops it, as a lost datagram */
    if (sendto(fd, r->data[i], r->len[i], MSG_DONTWAIT, to, len) >= 0) an->datagrams++;
  an->answers++;
}

/* Sends the answers that are due; the timer waits for the next one. */
static void flush(answering_t *an) {
  uint64_t now = uv_now(an->loop), next = UINT64_MAX;
  ls_round_t *r = NULL;
  int have_round = 0;
  for (size_t i = 0; i < ANSWER_PENDING_MAX; i++) {
    answer_pending_t *p = &an->pending[i];
    if (!p->used) continue;
    if (p->due_ms > now) {
      if (p->due_ms < next) next = p->due_ms;
      continue;
    }
    p->used = 0;
    if (r == NULL && (r = malloc(sizeof *r)) != NULL) have_round = read_round(an, r) == 0;
    if (have_round) send_answer(an, r, (const struct sockaddr *)&p->to);
  }
  free(r);
  if (next != UINT64_MAX) uv_timer_start(&an->timer, timer_cb, next - now, 0);
}

static void timer_cb(uv_timer_t *t) {
  flush(t->data);
}

/* Queues an answer to `to` after the jitter, within the limits. */
static void schedule(answering_t *an, const struct sockaddr *to, const char *why) {
  char addr[64];
  ls_net_addr_str(to, addr, sizeof addr, NULL);
  uint64_t now = uv_now(an->loop);
  if (!answer_limit_allow(&an->limit, addr, now)) return;
  size_t slot = 0;
  while (slot < ANSWER_PENDING_MAX && an->pending[slot].used) slot++;
  if (slot == ANSWER_PENDING_MAX) return; /* cannot happen within the limit; drop rather than grow */
  answer_pending_t *p = &an->pending[slot];
  memset(&p->to, 0, sizeof p->to);
  memcpy(&p->to, to, to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
  p->due_ms = now + (uint64_t)(rand_r(&an->seed) % (ANSWER_JITTER_MS + 1));
  p->used = 1;
  ls_debug("%s from addr=%s: answering in %llu ms", why, addr, (unsigned long long)(p->due_ms - now));
  if (!uv_is_active((uv_handle_t *)&an->timer) || uv_timer_get_due_in(&an->timer) > p->due_ms - now)
    uv_timer_start(&an->timer, timer_cb, p->due_ms - now, 0);
}

void answering_query(answering_t *an, const ls_announce_t *q, const struct sockaddr *from) {
  if (strcmp(q->tag, an->cfg->tag) == 0) return; /* our own query */
  schedule(an, from, "query");
}

void answering_unicast(answering_t *an, const struct sockaddr *from) {
  struct sockaddr_storage to;
  memset(&to, 0, sizeof to);
  if (from->sa_family == AF_INET6) {
    memcpy(&to, from, sizeof(struct sockaddr_in6));
    ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)an->cfg->udp_port);
  } else {
    memcpy(&to, from, sizeof(struct sockaddr_in));
    ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)an->cfg->udp_port);
  }
  schedule(an, (const struct sockaddr *)&to, "unicast announcement");
}

void answering_close(answering_t *an) {
  uv_close((uv_handle_t *)&an->timer, NULL);
}
