/* fetch: the download engine: one file, by root hash, from many holders.
 *
 * Runs its own libuv loop until the file is verified and in downloads/, or
 * the download cannot go on. Chunks are verified (SHA-256 against the
 * manifest) on the thread pool before they count; the partial state lives in
 * temp/ (ls_partial) so an interrupted download resumes. */
#ifndef FETCH_H
#define FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "ls_auth.h"
#include "ls_config.h"
#include "ls_hash.h"
#include "ls_tags.h"
#include "ls_tagsq.h"

#define FETCH_MAX_PEERS 64
#define FETCH_DEFAULT_DEPTH 4
#define FETCH_MAX_DEPTH 32
#define FETCH_MAX_VERIFYING 8

typedef ls_tagsq_holder_t fetch_holder_t; /* from the tags.txt lookup */

typedef enum {
  FETCH_OK = 0,
  FETCH_NO_HOLDER,   /* no live peer holds (part of) it */
  FETCH_INTEGRITY,   /* only bad data was offered */
  FETCH_EXISTS,      /* the destination exists */
  FETCH_IO,          /* a local error: disk full, permissions */
  FETCH_INTERRUPTED, /* SIGINT/SIGTERM: the partial state is kept */
} fetch_status_t;

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  uint64_t bytes;
  char end[160]; /* "ok", "unused", "dropped: ...", "banned: ..." */
} fetch_peer_report_t;

typedef struct {
  fetch_status_t status;
  char message[512];
  uint64_t size;
  uint64_t bytes_fetched;  /* verified bytes received in this run */
  uint64_t bytes_resumed;  /* verified bytes found in temp/ at start */
  uint64_t bytes_received; /* every byte read from the peers, duplicates and frames too */
  double seconds;
  fetch_peer_report_t peers[FETCH_MAX_PEERS];
  size_t npeers;
} fetch_result_t;

typedef struct {
  uint64_t done_bytes;
  uint64_t total_bytes;
  double rate;             /* bytes/s over the last few seconds (FETCH_RATE_WINDOW) */
  double seconds;          /* since the fetch began */
  unsigned peers_active;
  int finished;
  /* The peers in use (data received or requests in flight), valid only
   * during the callback. */
  size_t npeers;
  const char *peer_tags[FETCH_MAX_PEERS];
  uint64_t peer_bytes[FETCH_MAX_PEERS];
} fetch_progress_t;

typedef void (*fetch_progress_cb)(void *ud, const fetch_progress_t *p);

typedef struct {
  const ls_config_t *cfg;
  const char *name;              /* valid name: the file in downloads/ */
  uint8_t root[LS_HASH_LEN];
  const fetch_holder_t *holders;
  size_t nholders;
  unsigned depth;                /* chunk requests in flight per peer */
  fetch_progress_cb progress;
  void *progress_ud;
  const ls_key_t *key;           /* the network key, or NULL */
} fetch_opts_t;

/* Runs the download. Returns the status (also in res->status). */
fetch_status_t fetch_run(const fetch_opts_t *opts, fetch_result_t *res);
/* Where NAME will be stored: <downloads>/<name>. */
void fetch_dest_path(const ls_config_t *cfg, const char *name, char *buf, size_t len);

#endif
