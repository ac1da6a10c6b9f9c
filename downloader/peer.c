/* peer.c: one holder's connection (an ls_conn): what is asked of it, what
 * its replies mean, and how its part ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_impl.h"
#include "ls_log.h"
#include "ls_net.h"

/* The peer's part is over (its end already said); the connection goes. */
void peer_close(peer_t *p) {
  if (p->gone) return;
  p->gone = 1;
  if (p->stream != NULL) disk_stream_abandon(p->stream);
  ls_conn_close(&p->conn, LS_CONN_END_LOCAL);
}

static int send_request(peer_t *p, uint8_t type, uint32_t id, uint32_t index) {
  uint8_t payload[LS_HASH_LEN + 4];
  memcpy(payload, p->f->o->root, LS_HASH_LEN);
  ls_put_u32(payload + LS_HASH_LEN, index);
  return ls_conn_send(&p->conn, type, id, payload, type == LS_MSG_CHUNK_REQ ? LS_HASH_LEN + 4 : LS_HASH_LEN);
}

static int usable(const peer_t *p) {
  return !p->gone && ls_conn_ready(&p->conn);
}

unsigned peer_outstanding(const fetch_t *f) {
  unsigned n = f->verifying;
  for (size_t i = 0; i < f->npeers; i++) n += (unsigned)f->peers[i].nreqs;
  return n;
}

static void fill(peer_t *p) {
  fetch_t *f = p->f;
  if (f->stopped || f->finishing || !usable(p) || !p->in_sched) return;
  unsigned depth = f->o->depth ? f->o->depth : FETCH_DEFAULT_DEPTH;
  if (depth > FETCH_MAX_DEPTH) depth = FETCH_MAX_DEPTH;
  /* Memory stays flat: requested + being verified chunks are bounded. */
  unsigned budget = (unsigned)f->npeers * depth + FETCH_MAX_VERIFYING;
  while (p->nreqs < depth && peer_outstanding(f) < budget) {
    int64_t idx = sched_pick(&f->sched, p->have, p->reqs, p->nreqs);
    if (idx < 0 || !throttle_take(&f->throttle, ls_manifest_chunk_len(&f->manifest, (uint32_t)idx))) break;
    if (send_request(p, LS_MSG_CHUNK_REQ, (uint32_t)idx, (uint32_t)idx) != 0) {
      peer_drop(p, "dropped: write failed", PEER_DROPPED);
      return;
    }
    sched_start(&f->sched, (uint32_t)idx);
    p->reqs[p->nreqs++] = (uint32_t)idx;
  }
  if (p->nreqs > 0) ls_conn_arm(&p->conn);
}

void peer_fill_all(fetch_t *f) {
  for (size_t i = 0; i < f->npeers; i++) fill(&f->peers[i]);
}

/* Replies awaited, or one arriving in parts: the stall clock runs. */
static int peer_busy(const ls_conn_t *c);

/* Memory stays flat whatever the chunk size: past FETCH_MEM_BUDGET of chunk
 * bytes waiting for the disk, a peer that hands one in stops reading (its
 * stall clock stopped too: the wait is ours), until the disk work is down to
 * half the budget (peer_resume_all). */
static void mem_check(peer_t *p) {
  if (p->f->mem <= FETCH_MEM_BUDGET || p->paused || !usable(p)) return;
  p->paused = 1;
  ls_conn_set_reading(&p->conn, 0);
  ls_conn_rest(&p->conn);
}

void peer_resume_all(fetch_t *f) {
  if (f->mem > FETCH_MEM_BUDGET / 2 || f->stopped) return;
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    if (!p->paused || !usable(p)) continue;
    p->paused = 0;
    ls_conn_set_reading(&p->conn, 1);
    if (peer_busy(&p->conn)) ls_conn_watch(&p->conn);
  }
}

static int take_req(peer_t *p, uint32_t index) {
  for (size_t i = 0; i < p->nreqs; i++) {
    if (p->reqs[i] == index) {
      p->reqs[i] = p->reqs[--p->nreqs];
      return 1;
    }
  }
  return 0;
}

void peer_enter_sched(peer_t *p) {
  fetch_t *f = p->f;
  if (p->in_sched || !f->have_manifest || !usable(p)) return;
  if (!p->h.complete && p->have == NULL) {
    if (!p->have_pending) {
      p->have_pending = 1;
      if (send_request(p, LS_MSG_HAVE_REQ, ID_HAVE, 0) != 0) peer_drop(p, "dropped: write failed", PEER_DROPPED);
    }
    return;
  }
  sched_peer_add(&f->sched, p->have);
  p->in_sched = 1;
  fill(p);
}

void peer_ask_manifest(fetch_t *f) {
  if (f->have_manifest || f->stopped) return;
  for (size_t i = 0; i < f->npeers; i++)
    if (f->peers[i].manifest_pending) return;
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    if (!usable(p)) continue;
    p->manifest_pending = 1;
    if (send_request(p, LS_MSG_MANIFEST_REQ, ID_MANIFEST, 0) != 0) {
      p->manifest_pending = 0;
      peer_drop(p, "dropped: write failed", PEER_DROPPED);
      continue;
    }
    return;
  }
}

static void on_manifest(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  p->manifest_pending = 0;
  if (f->have_manifest) return;
  ls_manifest_t m;
  uint8_t *bytes = fr->payload; /* taken: a big manifest (4 MiB) is not held twice */
  fr->payload = NULL;
  if (ls_manifest_decode_take(&m, bytes, 0, fr->len) != 0 || memcmp(m.root, f->o->root, LS_HASH_LEN) != 0) {
    if (m.hashes != NULL) ls_manifest_free(&m);
    ls_warn("peer %s (%s:%u) sent a manifest that does not hash to the root: banned", p->h.tag, p->h.addr, p->h.port);
    peer_drop(p, "banned: manifest does not match the root", PEER_BANNED);
    peer_ask_manifest(f);
    return;
  }
  f->manifest = m;
  if (fetch_start_with_manifest(f, 0) != 0) return;
  for (size_t i = 0; i < f->npeers; i++) ls_conn_set_max_payload(&f->peers[i].conn, peer_max_reply(f));
  disk_maybe_finish(f); /* an empty file, or everything resumed */
  for (size_t i = 0; i < f->npeers; i++) peer_enter_sched(&f->peers[i]);
}

/* Connected and, with a network key, proved both ways: ask. */
static void on_ready(ls_conn_t *c) {
  peer_t *p = c->data;
  fetch_t *f = p->f;
  if (!f->have_manifest) peer_ask_manifest(f);
  else peer_enter_sched(p);
  if (p->manifest_pending) ls_conn_watch(&p->conn);
}

/* Replies: each handler returns 0 to go on reading, 1 once the peer is gone. */

static int on_have(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  p->have_pending = 0;
  p->have = malloc(f->manifest.nchunks + 1);
  if (p->have == NULL || ls_proto_parse_have(fr, f->manifest.nchunks, p->have) != 0) {
    peer_drop(p, "dropped: bad chunk map", PEER_DROPPED);
    return 1;
  }
  peer_enter_sched(p);
  fetch_check_stuck(f);
  return 0;
}

/* A chunk reply in parts (a chunk longer than FETCH_PIECE): its first part
 * is judged as on_chunk judges a whole reply, then every part goes to the
 * chunk's stream as it comes (a losing copy's parts are dropped). */
static int on_chunk_part(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  size_t skip = 0;
  if (fr->off == 0) {
    uint32_t index = ls_get_u32(fr->payload); /* a first part holds the index and FETCH_PIECE bytes */
    if (fr->id != index || !take_req(p, index)) {
      peer_drop(p, "dropped: reply to nothing asked", PEER_DROPPED);
      return 1;
    }
    if (fr->total - 4 != ls_manifest_chunk_len(&f->manifest, index)) {
      sched_release(&f->sched, index);
      peer_drop(p, "banned: chunk of the wrong length", PEER_BANNED);
      return 1;
    }
    if (f->sched.done[index] || f->sched.checking[index] || (p->stream = disk_stream_open(f, p, index)) == NULL) {
      sched_release(&f->sched, index); /* the endgame's losing copy (or no memory for it) */
      p->discard = 1;
    }
    skip = 4;
    fill(p);
  }
  if (p->stream != NULL) {
    if (disk_stream_part(p->stream, fr->payload, fr->len, fr->payload + skip, (uint32_t)(fr->off + skip - 4),
                         (uint32_t)(fr->len - skip)) != 0) {
      peer_drop(p, "dropped: out of memory", PEER_DROPPED);
      return 1;
    }
    fr->payload = NULL;
  }
  if (fr->off + fr->len == fr->total) { /* the last part */
    p->stream = NULL;
    p->discard = 0;
    if (p->nreqs == 0) ls_conn_rest(&p->conn);
    fill(p);
    fetch_check_stuck(f);
  }
  mem_check(p);
  return p->gone ? 1 : 0;
}

static int on_chunk(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  if (fr->len < fr->total) return on_chunk_part(p, fr);
  uint32_t index;
  const uint8_t *data;
  size_t len;
  if (ls_proto_parse_chunk_rep(fr, &index, &data, &len) != 0 || fr->id != index || !take_req(p, index)) {
    peer_drop(p, "dropped: reply to nothing asked", PEER_DROPPED);
    return 1;
  }
  if (len != ls_manifest_chunk_len(&f->manifest, index)) {
    sched_release(&f->sched, index);
    peer_drop(p, "banned: chunk of the wrong length", PEER_BANNED);
    return 1;
  }
  if (f->sched.done[index] || f->sched.checking[index]) {
    sched_release(&f->sched, index); /* the endgame's losing copy */
  } else {
    /* The payload goes to the thread pool as it is, without a copy. */
    (void)data;
    if (disk_verify_queue(f, p, index, fr->payload, (uint32_t)len) == 0) fr->payload = NULL;
    else sched_release(&f->sched, index);
  }
  if (p->nreqs == 0) ls_conn_rest(&p->conn);
  fill(p);
  fetch_check_stuck(f);
  mem_check(p);
  return 0;
}

static int on_error(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  uint16_t code;
  char text[LS_PROTO_MAX_ERROR_TEXT + 1];
  ls_proto_parse_error(fr, &code, text, sizeof text);
  if (fr->id == ID_MANIFEST || fr->id == ID_HAVE || code != LS_ERR_NOT_HELD || p->have == NULL ||
      !take_req(p, fr->id)) {
    if (code == LS_ERR_NOT_HELD || code == LS_ERR_UNKNOWN_ROOT)
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: no longer holds this content (changed or removed)");
    else
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", ls_proto_err_name(code));
    peer_drop(p, p->end_buf, PEER_DROPPED);
    if (fr->id == ID_MANIFEST) peer_ask_manifest(f);
    return 1;
  }
  /* A partial peer lacks a chunk it said it had: forget it had it. */
  sched_release(&f->sched, fr->id);
  sched_peer_lost(&f->sched, p->have, fr->id);
  peer_fill_all(f);
  fetch_check_stuck(f);
  return 0;
}

static int on_frame(ls_conn_t *c, ls_frame_t *fr) {
  peer_t *p = c->data;
  fetch_t *f = p->f;
  if (p->gone || f->stopped) return 1;
  if (fr->type == LS_MSG_MANIFEST_REP && fr->id == ID_MANIFEST && p->manifest_pending) {
    on_manifest(p, fr);
    return p->gone ? 1 : 0;
  }
  if (fr->type == LS_MSG_HAVE_REP && fr->id == ID_HAVE && p->have_pending && f->have_manifest) return on_have(p, fr);
  if (fr->type == LS_MSG_CHUNK_REP && f->have_manifest) return on_chunk(p, fr);
  if (fr->type == LS_MSG_ERROR) return on_error(p, fr);
  peer_drop(p, "dropped: unexpected reply", PEER_DROPPED);
  return 1;
}

/* The connection ended on its own: say why, as client.log shows it. */
static void on_conn_end(ls_conn_t *c, ls_conn_end_t why) {
  peer_t *p = c->data;
  if (p->gone) return; /* our own close */
  const char *text;
  peer_end_t kind = PEER_DROPPED;
  switch (why) {
    case LS_CONN_END_EOF: text = "dropped: closed the connection"; break;
    case LS_CONN_END_RESET: text = "dropped: connection reset"; break;
    case LS_CONN_END_PROTOCOL: text = "banned: malformed or oversized frame", kind = PEER_BANNED; break;
    case LS_CONN_END_NOMEM: text = "dropped: out of memory"; break;
    case LS_CONN_END_WRITE: text = "dropped: write failed"; break;
    case LS_CONN_END_STALL: text = "dropped: stalled"; break;
    case LS_CONN_END_CONNECT_TIMEOUT: text = "dropped: connect timed out"; break;
    case LS_CONN_END_AUTH_TIMEOUT: text = "dropped: the TLS handshake did not end in time"; break;
    case LS_CONN_END_AUTH_FAILED:
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: no TLS with our network key (%.80s)", c->why);
      text = p->end_buf;
      break;
    case LS_CONN_END_TLS:
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: a TLS record failed its check, changed on the way (%.60s)", c->why);
      text = p->end_buf;
      break;
    case LS_CONN_END_KEY_REQUIRED: text = "dropped: the peer requires a network key"; break;
    case LS_CONN_END_CONNECT:
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: connect failed: %s", uv_strerror(c->error));
      text = p->end_buf;
      break;
    default:
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", ls_conn_end_name(why));
      text = p->end_buf;
      break;
  }
  peer_drop(p, text, kind);
}

/* Replies awaited: the stall timer ends a peer that sends none in time. */
static int peer_busy(const ls_conn_t *c) {
  const peer_t *p = c->data;
  return p->nreqs > 0 || p->stream != NULL || p->discard || p->manifest_pending || p->have_pending;
}

/* Only the bytes of chunk replies count as progress. */
static int peer_receiving(const ls_conn_t *c) {
  const peer_t *p = c->data;
  return p->nreqs > 0 || p->stream != NULL || p->discard;
}

/* Ends a peer's part: its requests go back to the scheduler. kind is
 * PEER_BANNED for a peer that sent what failed verification. */
void peer_drop(peer_t *p, const char *why, peer_end_t kind) {
  fetch_t *f = p->f;
  if (p->gone) return;
  if (p->conn.connected || kind == PEER_BANNED) ls_info("peer %s (%s:%u) %s", p->h.tag, p->h.addr, p->h.port, why);
  p->gone = 1;
  p->end_kind = kind;
  if (why != p->end_buf) snprintf(p->end_buf, sizeof p->end_buf, "%s", why); /* why may be on the caller's stack */
  p->end = p->end_buf;
  snprintf(f->last_drop, sizeof f->last_drop, "%s", p->end_buf);
  snprintf(f->last_drop_tag, sizeof f->last_drop_tag, "%s", p->h.tag);
  for (size_t i = 0; i < p->nreqs; i++) sched_release(&f->sched, p->reqs[i]);
  p->nreqs = 0;
  if (p->stream != NULL) disk_stream_abandon(p->stream); /* its chunk is missing again once no job runs */
  p->discard = 0;
  if (p->in_sched) sched_peer_remove(&f->sched, p->have);
  p->in_sched = 0;
  int was_manifest = p->manifest_pending;
  p->manifest_pending = 0;
  ls_conn_close(&p->conn, LS_CONN_END_LOCAL);
  if (was_manifest) peer_ask_manifest(f);
  peer_fill_all(f);
  fetch_check_stuck(f);
}

/* The longest reply a peer may send: the manifest until it is known, then a
 * chunk (with its index) or a chunk map. */
size_t peer_max_reply(const fetch_t *f) {
  if (!f->have_manifest) return MANIFEST_MAX;
  size_t max_payload = f->manifest.chunk_size + 4;
  if (ls_proto_have_payload_len(f->manifest.nchunks) > max_payload)
    max_payload = ls_proto_have_payload_len(f->manifest.nchunks);
  return max_payload;
}

/* Connects to one holder; the connection's timer bounds the connect, the
 * key's handshake and then each wait for a reply. */
void peer_start(fetch_t *f, peer_t *p, const fetch_holder_t *h) {
  p->f = f;
  p->h = *h;
  ls_conn_opts_t co = {.role = LS_CONN_CLIENT,
                       .tls = f->tls,
                       .max_payload = peer_max_reply(f),
                       .slab = RECV_SLAB,
                       .part_type = LS_MSG_CHUNK_REP,
                       .part_head = 4,
                       .part_len = FETCH_PIECE,
                       .timeout_ms = (uint64_t)f->o->cfg->stall_timeout * 1000,
                       .on_frame = on_frame,
                       .on_ready = on_ready,
                       .on_end = on_conn_end,
                       .busy = peer_busy,
                       .receiving = peer_receiving};
  int rc = ls_conn_init(&f->loop, &p->conn, &co);
  if (rc != 0) {
    p->gone = 1; /* no handle open */
    snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", uv_strerror(rc));
    p->end = p->end_buf;
    p->end_kind = PEER_DROPPED;
    return;
  }
  p->conn.data = p;
  struct sockaddr_storage sa; /* IPv4, or IPv6 with its scope ("%ifname") */
  rc = ls_net_addr_parse(p->h.addr, p->h.port, &sa);
  if (rc == 0) rc = ls_conn_connect(&p->conn, (const struct sockaddr *)&sa);
  if (rc != 0) {
    snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", uv_strerror(rc));
    peer_drop(p, p->end_buf, PEER_DROPPED);
  }
}
