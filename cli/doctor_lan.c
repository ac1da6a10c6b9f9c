/* The checks of `lanswarm doctor` that look at the LAN (doctor.h): a query to
 * the broadcast targets that this peer's own listener must hear, a TCP
 * connection to each known peer, and what peers.txt, tags.txt and the
 * listener's counters (DIR/run/listener.status) tell. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doctor.h"
#include "ls_announce.h"
#include "ls_net.h"
#include "ls_util.h"

#define MAX_TARGETS 8       /* broadcast targets probed (the listener keeps 8 query tags) */
#define PROBE_WAIT_MS 5000  /* for the listener to report the query (it writes once a second) */
#define CONNECT_WAIT_MS 2000
#define MAX_CONNECTS 64
#define CLOCK_AHEAD_S 120
#define LIST_TEXT 300

/* Appends "item" to a "; "-separated list that stays under cap. */
static void list_add(char *list, size_t cap, const char *item) {
  size_t used = strlen(list);
  if (used + strlen(item) + 8 >= cap) {
    if (used + 5 < cap && strcmp(list + (used > 3 ? used - 3 : 0), "...") != 0) strcat(list, ", ...");
    return;
  }
  snprintf(list + used, cap - used, "%s%s", used ? ", " : "", item);
}

/* ---------- (c) the firewall: UDP ---------- */

static int sent_query(const doctor_t *d, int fd, const struct sockaddr_in *to, const char *tag) {
  char buf[LS_ANNOUNCE_MAX_PAYLOAD];
  int n = ls_announce_encode_query(tag, buf, sizeof buf - LS_SEAL_OVERHEAD);
  if (n > 0 && d->key.set) n = ls_auth_seal(&d->key, buf, (size_t)n, buf, sizeof buf);
  return n > 0 && sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof *to) == n;
}

/* Whether the listener reported a query of tag. */
static int listener_heard(const doctor_t *d, const char *tag) {
  char path[PATH_MAX + 32];
  ls_lstatus_t st;
  ls_lstatus_path(d->c->cfg.dir, path, sizeof path);
  if (ls_lstatus_read(path, &st) != 0) return 0;
  for (size_t i = 0; i < st.nquery_tags; i++)
    if (strcmp(st.query_tags[i], tag) == 0) return 1;
  return 0;
}

/* Sends a query with its own tag to each target; waits for the listener
 * to report each. The targets not heard, in missed. */
static size_t probe_targets(doctor_t *d, const struct sockaddr_in *t, size_t n, char *missed, size_t cap) {
  char tags[MAX_TARGETS][LS_TAG_MAX + 1];
  int heard[MAX_TARGETS] = {0};
  unsigned seed = (unsigned)getpid() ^ (unsigned)ls_unix_now();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  for (size_t i = 0; i < n; i++) {
    snprintf(tags[i], sizeof tags[i], "doctor-%08x-%zu", rand_r(&seed), i);
    heard[i] = fd < 0 || !sent_query(d, fd, &t[i], tags[i]) ? -1 : 0;
  }
  size_t left = n;
  for (int waited = 0; left > 0 && waited < PROBE_WAIT_MS; waited += 100) {
    usleep(100 * 1000);
    left = 0;
    for (size_t i = 0; i < n; i++) {
      if (heard[i] == 0 && listener_heard(d, tags[i])) heard[i] = 1;
      left += heard[i] == 0;
    }
  }
  if (fd >= 0) close(fd);
  size_t missing = 0;
  for (size_t i = 0; i < n; i++) {
    if (heard[i] == 1) continue;
    char addr[32];
    ls_net_addr_str((const struct sockaddr *)&t[i], addr, sizeof addr, NULL);
    list_add(missed, cap, addr);
    missing++;
  }
  return missing;
}

void doctor_check_udp_path(doctor_t *d) {
  const ls_config_t *cfg = &d->c->cfg;
  if (!d->listener_pid) {
    doctor_add(d, "udp_path", DOCTOR_SKIP, "start the daemons (lanswarm up), then run lanswarm doctor again",
               "this peer's listener is not running: cannot tell whether broadcasts arrive");
    return;
  }
  struct sockaddr_in t[MAX_TARGETS];
  size_t n = 0;
  char missed[LIST_TEXT] = "", remedy[DOCTOR_TEXT];
  if (ls_net_broadcast_targets(cfg->broadcast, cfg->udp_port, t, MAX_TARGETS, &n) != 0 || n == 0) {
    doctor_add(d, "udp_path", DOCTOR_SKIP, "see the interface check", "no broadcast target to send to");
    return;
  }
  if (probe_targets(d, t, n, missed, sizeof missed) == 0) {
    doctor_add(d, "udp_path", DOCTOR_OK, NULL, "a query to %s (UDP port %d) reached this peer's listener",
               cfg->broadcast, cfg->udp_port);
    return;
  }
  snprintf(remedy, sizeof remedy, "allow UDP port %d in: nft add rule inet filter input udp dport %d accept "
           "(or: ufw allow %d/udp)", cfg->udp_port, cfg->udp_port, cfg->udp_port);
  doctor_add(d, "udp_path", DOCTOR_FAIL, remedy,
             "a query to %s did not reach this peer's own listener: a firewall drops UDP port %d", missed,
             cfg->udp_port);
}

/* ---------- (c) the firewall: TCP to each known peer ---------- */

/* A non-blocking connect to address ("a.b.c.d:port"); the fd, or -1 with
 * *err set (connected at once: *err 0 and the fd). */
static int start_connect(const char *address, int *err) {
  struct sockaddr_in sa;
  *err = EINVAL;
  if (ls_net_parse_hostport(address, &sa) != 0) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  *err = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
  if (*err == 0 || *err == EINPROGRESS) return fd;
  close(fd);
  return -1;
}

/* Waits for the connections in fds (-1: failed to start) to end; errs[i]
 * is 0 for a peer that accepted. */
static void wait_connects(struct pollfd *fds, int *errs, size_t n) {
  for (int waited = 0; waited < CONNECT_WAIT_MS; waited += 100) {
    int pending = 0;
    for (size_t i = 0; i < n; i++) pending += fds[i].fd >= 0 && errs[i] == EINPROGRESS;
    if (!pending || poll(fds, n, 100) < 0) break;
    for (size_t i = 0; i < n; i++) {
      if (fds[i].fd < 0 || errs[i] != EINPROGRESS || !fds[i].revents) continue;
      socklen_t len = sizeof errs[i];
      getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &errs[i], &len);
      fds[i].fd = -fds[i].fd - 2; /* poll ignores it now; restored to close */
    }
  }
  for (size_t i = 0; i < n; i++) {
    int fd = fds[i].fd >= 0 ? fds[i].fd : fds[i].fd < -1 ? -fds[i].fd - 2 : -1;
    if (errs[i] == EINPROGRESS) errs[i] = ETIMEDOUT;
    if (fd >= 0) close(fd);
  }
}

void doctor_check_tcp_peers(doctor_t *d) {
  struct pollfd fds[MAX_CONNECTS];
  int errs[MAX_CONNECTS];
  const ls_tagsq_known_t *who[MAX_CONNECTS];
  size_t n = 0;
  for (size_t i = 0; i < d->npeers && n < MAX_CONNECTS; i++) {
    if (strcmp(d->peers[i].tag, d->c->cfg.tag) == 0) continue; /* this peer */
    who[n] = &d->peers[i];
    fds[n].fd = start_connect(d->peers[i].address, &errs[n]);
    fds[n++].events = POLLOUT;
  }
  if (n == 0) {
    doctor_add(d, "tcp_peers", DOCTOR_WARN,
               "if other peers run on this LAN, the checks above say why they are not heard; across a router, "
               "set peers = HOST or a tracker", "no other peer heard yet");
    return;
  }
  wait_connects(fds, errs, n);
  char failed[LIST_TEXT] = "", item[160], remedy[DOCTOR_TEXT];
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (errs[i] == 0) continue;
    snprintf(item, sizeof item, "%s (%s): %s", who[i]->tag, who[i]->address, strerror(errs[i]));
    list_add(failed, sizeof failed, item);
    bad++;
  }
  if (bad == 0) {
    doctor_add(d, "tcp_peers", DOCTOR_OK, NULL, "%zu known peer server(s) accept a TCP connection", n);
    return;
  }
  snprintf(remedy, sizeof remedy, "on each: is its server up (lanswarm status)? its firewall must allow its TCP "
           "port in (nft add rule inet filter input tcp dport PORT accept)");
  doctor_add(d, "tcp_peers", DOCTOR_FAIL, remedy, "%zu of %zu peer server(s) unreachable over TCP: %s", bad, n,
             failed);
}

/* ---------- (d) peers heard only through a tracker or by hand ---------- */

void doctor_check_isolation(doctor_t *d) {
  char only[LIST_TEXT] = "", item[160];
  int64_t now = ls_unix_now();
  size_t k = 0;
  for (size_t i = 0; i < d->npeers; i++) {
    const ls_tagsq_known_t *p = &d->peers[i];
    if (!(p->how & (LS_HOW_TRACKER | LS_HOW_UNICAST)) || (p->how & (LS_HOW_BROADCAST | LS_HOW_MULTICAST))) continue;
    if (now - p->first_seen <= 2 * (int64_t)p->interval) continue; /* its broadcast may be on its way */
    snprintf(item, sizeof item, "%s (%s)", p->tag, p->address);
    list_add(only, sizeof only, item);
    k++;
  }
  if (k == 0) {
    doctor_add(d, "isolation", DOCTOR_OK, NULL, "no peer is heard only through a tracker or by hand");
    return;
  }
  doctor_add(d, "isolation", DOCTOR_WARN,
             "client isolation or a router between you and them: set peers = or a tracker (or turn the access "
             "point's client isolation off)",
             "%zu peer(s) heard only through a tracker or by hand, never by broadcast: %s", k, only);
}

/* ---------- (e) the network key ---------- */

void doctor_check_key(doctor_t *d) {
  const ls_lstatus_t *st = &d->listener;
  if (!d->listener_pid) {
    doctor_add(d, "key", DOCTOR_SKIP, "start the daemons (lanswarm up), then run lanswarm doctor again",
               "this peer's listener is not running: no datagram counted");
    return;
  }
  if (st->rejected_key == 0) {
    doctor_add(d, "key", DOCTOR_OK, NULL, "no datagram failed the network key (%s; %llu datagrams heard)",
               d->key.set ? "key_file set" : "no key", (unsigned long long)st->datagrams);
    return;
  }
  char from[LIST_TEXT] = "", item[160];
  for (size_t i = 0; i < st->nkey_failures; i++) {
    const ls_lstatus_source_t *s = &st->key_failures[i];
    snprintf(item, sizeof item, "%s%s%s%s", s->addr, s->tag[0] ? " (says tag " : "", s->tag, s->tag[0] ? ")" : "");
    list_add(from, sizeof from, item);
  }
  doctor_add(d, "key", DOCTOR_FAIL, "give every peer the same key_file in lanswarm.conf (or none on all of them)",
             "%llu datagram(s) failed the network key (%s) from: %s", (unsigned long long)st->rejected_key,
             d->key.set ? "this peer has key_file" : "this peer has no key", from);
}

/* ---------- (f) clocks ---------- */

void doctor_check_clock(doctor_t *d) {
  int64_t now = ls_unix_now();
  char ahead[LIST_TEXT] = "", item[160];
  size_t k = 0;
  for (size_t i = 0; i < d->npeers; i++) {
    const ls_tagsq_known_t *p = &d->peers[i];
    if (p->last_seen <= now + CLOCK_AHEAD_S) continue;
    snprintf(item, sizeof item, "%s (%lld s ahead)", p->tag, (long long)(p->last_seen - now));
    list_add(ahead, sizeof ahead, item);
    k++;
  }
  if (k == 0) doctor_add(d, "clock", DOCTOR_OK, NULL, "no peer was last seen in the future: the clocks agree");
  else
    doctor_add(d, "clock", DOCTOR_FAIL,
               "set the clocks right (timedatectl set-ntp true), then restart the listener (lanswarm up)",
               "%zu peer(s) last seen in the future, clocks far apart: %s", k, ahead);
}
