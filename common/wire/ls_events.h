/* ls_events: the downloader's --events stream (docs/PROTOCOL.md, section 6a),
 * one JSON object per line: start, progress (4 a second), end (always last).
 * Written by lanswarm-downloader, read by lanswarm-web's jobs. */
#ifndef LS_EVENTS_H
#define LS_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"
#include "ls_name.h"
#include "ls_net.h"

#define LS_EVENTS_LINE_MAX 65536 /* bytes in a line */
#define LS_EVENTS_PEERS_MAX 64   /* holders, peers: as many as a download uses */
#define LS_EVENTS_WORD_MAX 32    /* result */
#define LS_EVENTS_TEXT_MAX 512   /* message, a peer's end */
#define LS_EVENTS_PATH_MAX 4096

typedef enum { LS_EVENT_START, LS_EVENT_PROGRESS, LS_EVENT_END } ls_event_kind_t;

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char address[LS_NET_ENDPOINT_MAX]; /* end: "addr:port" or "[v6addr]:port" */
  uint64_t bytes;
  char end[LS_EVENTS_TEXT_MAX]; /* end: how the peer ended */
} ls_event_peer_t;

typedef struct {
  ls_event_kind_t kind;
  char name[LS_NAME_MAX + 1];       /* start, end */
  char root[LS_HASH_HEX_LEN + 1];   /* start; end when started */
  uint64_t size;                    /* start; end when started */
  char holders[LS_EVENTS_PEERS_MAX][LS_TAG_MAX + 1]; /* start */
  size_t nholders;
  uint64_t done, total, rate_Bps;   /* progress */
  int64_t eta_s;                    /* progress; -1: null (unknown) */
  char result[LS_EVENTS_WORD_MAX];  /* end */
  char message[LS_EVENTS_TEXT_MAX]; /* end */
  int started;                      /* end: the download had started (root ... peers) */
  uint64_t fetched, resumed;        /* end when started */
  double seconds, speed_Bps;        /* end when started */
  char path[LS_EVENTS_PATH_MAX];    /* end when started and ok; "" else */
  ls_event_peer_t peers[LS_EVENTS_PEERS_MAX]; /* progress (tag, bytes); end (all) */
  size_t npeers;
} ls_event_t;

/* Leave out "event" (the downloader's --json summary is an end without it). */
#define LS_EVENTS_NO_KIND 1u

/* The line, without a newline, malloc'ed into *out. 0 or -ENOMEM. */
int ls_events_encode(const ls_event_t *ev, unsigned flags, char **out);
/* One line (a trailing newline is allowed). Strict: known event, every field
 * of that event with its type and bounds. 0, -EINVAL or -ENOMEM. */
int ls_events_decode(const char *line, size_t len, ls_event_t *ev);

#endif
