/* What fetch.c, peer.c and disk.c share: the download's state, a peer's
 * state, and the functions each file offers the others. Not for other
 * modules: fetch.h is the engine's contract. */
#ifndef FETCH_IMPL_H
#define FETCH_IMPL_H

#include <uv.h>

#include "fetch.h"
#include "ls_conn.h"
#include "ls_manifest.h"
#include "ls_partial.h"
#include "ls_proto.h"
#include "scheduler.h"
#include "throttle.h"

#define ID_MANIFEST 0xFFFFFFFFu
#define ID_HAVE 0xFFFFFFFEu
#define RECV_SLAB (64 * 1024)
#define FETCH_FLUSH_BYTES (8u << 20) /* with fsync on: a flush (fdatasync) each time this much more is written */
/* A chunk longer than FETCH_PIECE arrives, is hashed and is written in
 * parts of FETCH_PIECE bytes (disk.c, streams): never whole in memory. */
#define FETCH_PIECE (1u << 20)
/* Chunk bytes received and not yet verified and written: over this, peers'
 * connections stop reading until the disk work is down to half of it. */
#define FETCH_MEM_BUDGET (8u << 20)
#define FETCH_RATE_WINDOW 13 /* progress ticks (250 ms): the rate is over the last 3 s */
#define MANIFEST_MAX (LS_MANIFEST_HEADER_LEN + (size_t)LS_MANIFEST_MAX_CHUNKS * LS_HASH_LEN)

typedef struct fetch_s fetch_t;
typedef struct stream_s stream_t;

/* How a peer's part ended, beside the text in end. */
typedef enum { PEER_UNUSED, PEER_OK, PEER_STOPPED, PEER_DROPPED, PEER_BANNED } peer_end_t;

typedef struct {
  fetch_t *f;
  fetch_holder_t h;
  ls_conn_t conn;            /* framing, the key's TLS, connect and stall timeouts */
  int gone;
  peer_end_t end_kind;
  uint8_t *have;             /* NULL: holds everything */
  int in_sched;
  int have_pending;
  int manifest_pending;
  uint32_t reqs[FETCH_MAX_DEPTH];
  size_t nreqs;
  stream_t *stream;          /* the chunk reply arriving in parts, or NULL */
  int discard;               /* the reply arriving in parts is a losing copy: its parts are dropped */
  int paused;                /* not reading: chunk bytes in memory over FETCH_MEM_BUDGET */
  uint64_t bytes;
  const char *end;
  char end_buf[160];
} peer_t;

struct fetch_s {
  const fetch_opts_t *o;
  fetch_result_t *res;
  uv_loop_t loop;
  ls_tls_ctx_t *tls;         /* with a network key: every peer's TLS context */
  peer_t *peers;
  size_t npeers;
  ls_manifest_t manifest;
  int have_manifest;
  ls_partial_t partial;
  int partial_open;
  sched_t sched;
  uv_timer_t progress_timer;
  throttle_t throttle;       /* download_rate_limit */
  uv_signal_t sigint, sigterm;
  uv_work_t final_work;
  int final_rc;
  int flushing;              /* with fsync on: a chunk's job also flushes (disk.c) */
  uint64_t unflushed;        /* chunk bytes queued to be written since the last flush */
  unsigned verifying;         /* chunks being verified (whole, or streams) */
  size_t mem;                 /* chunk bytes received, waiting for the disk work or in it */
  int stopped;
  int finishing;
  uint64_t start_ms;
  uint64_t done_bytes;
  uint64_t rate_bytes;       /* since the last progress tick */
  double rate;
  /* The rate's sliding window: (time, bytes received so far) at each tick. */
  uint64_t win_ms[FETCH_RATE_WINDOW], win_bytes[FETCH_RATE_WINDOW];
  unsigned win_next, win_count;
  uint64_t received;
  char dest[4096];
  char last_drop[160];      /* why the last peer went, for the final message */
  char last_drop_tag[LS_TAG_MAX + 1];
};

/* fetch.c: the download as a whole. */
/* Ends the download with status and a message; every peer's connection goes. */
void fetch_stop(fetch_t *f, fetch_status_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Ends the download when no live peer can supply what is missing. */
void fetch_check_stuck(fetch_t *f);
/* With the manifest known: the partial state and the scheduler. 0 or a
 * negative errno (the download is then stopped). */
int fetch_start_with_manifest(fetch_t *f, int resuming);
void fetch_report_progress(fetch_t *f, int finished);

/* peer.c: one holder's connection: requests, replies, the end of its part. */
void peer_start(fetch_t *f, peer_t *p, const fetch_holder_t *h);
void peer_enter_sched(peer_t *p);
void peer_fill_all(fetch_t *f);
void peer_ask_manifest(fetch_t *f);
void peer_drop(peer_t *p, const char *why, peer_end_t kind);
void peer_close(peer_t *p);
/* Reading goes on for paused peers once f->mem is down to half the budget. */
void peer_resume_all(fetch_t *f);
/* Chunk requests in flight on every peer, and chunks being verified. */
unsigned peer_outstanding(const fetch_t *f);
size_t peer_max_reply(const fetch_t *f);

/* disk.c: chunks verified and written, the resume check, and the move into
 * downloads/ (durable first), on the thread pool. */
int disk_verify_queue(fetch_t *f, peer_t *p, uint32_t index, uint8_t *base, uint32_t len);
/* A chunk arriving in parts: opened with its first part, one part after
 * another (each buffer taken: base, of size bytes, data at off in the chunk),
 * then ended by its last part or abandoned (its peer went). NULL / -ENOMEM
 * when out of memory. */
stream_t *disk_stream_open(fetch_t *f, peer_t *p, uint32_t index);
int disk_stream_part(stream_t *s, uint8_t *base, size_t size, uint8_t *data, uint32_t off, uint32_t len);
void disk_stream_abandon(stream_t *s);
void disk_maybe_finish(fetch_t *f);
void disk_resume_check(fetch_t *f);

#endif
