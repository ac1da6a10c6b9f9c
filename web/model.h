/* model: what the dashboard shows, built as JSON from the files the other
 * daemons write: tags.txt (peers, files on the LAN), client.log (finished
 * downloads), server.log and server.status (what the chunk server served and
 * is serving), and the catalog (this peer's share). Pure functions over
 * parsed data, so the unit tests need no daemon; refresh.c decides when to call
 * them. The JSON shapes are documented in docs/WEB.md. */
#ifndef MODEL_H
#define MODEL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ls_catalog.h"
#include "ls_map.h"
#include "ls_peers.h"
#include "ls_tags.h"

#define MODEL_HISTORY_MAX 100          /* client.log lines shown, newest first */
#define MODEL_HISTORY_TAIL (256u << 10) /* bytes read from the end of client.log */
#define MODEL_TOP_ROOTS 1024           /* distinct roots counted from server.log */
#define MODEL_TOP_SHOWN 10
#define MODEL_FILES_MAX 20000         /* contents listed; "more" counts the rest */
#define MODEL_LOG_LINE_MAX 4096         /* longest server.log line counted */
#define MODEL_SERVERLOG_STEP (4u << 20) /* server.log bytes read per update at most */

/* {"peers":[{tag, address, files, bytes, last_seen, age_s, state, self, how}]},
 * one per (tag, address:port): peers.txt's peers (pe, those sharing nothing
 * too) in its order (by tag), then tags.txt's (e) that it lacks (how "").
 * state: "live" when heard within 2 intervals, else "quiet" (the listener
 * drops it after 3). how: peers.txt's, e.g. "broadcast,tracker". */
cJSON *model_peers(const ls_peer_entry_t *pe, size_t npe, const ls_tag_entry_t *e, size_t n, int64_t now,
                   unsigned interval, const char *self_tag);

/* {"files":[{root, name, names, size, holders:[{tag,address,complete}],
 * complete_holders, mine}]}, one per content (root hash), other peers only;
 * mine is "share", "downloads", "partial" or null (from this peer's catalog,
 * which may be NULL). At most MODEL_FILES_MAX, by root; "more" counts the rest. */
cJSON *model_files(const ls_tag_entry_t *e, size_t n, const ls_catalog_snapshot_t *mine, const char *self_tag);

/* {"files":[{name, root, size, source, chunks, chunks_have}]}: this peer's catalog. */
cJSON *model_share(const ls_catalog_snapshot_t *snap);

/* The last MODEL_HISTORY_MAX downloads of client.log, newest first:
 * [{time, name, root, size, result, duration_s, speed_Bps, peers:[...], message}].
 * A missing file gives an empty array. */
cJSON *model_history(const char *client_log_path);

/* server.log, read incrementally: totals since the log began. */
typedef struct {
  uint64_t offset;   /* bytes of server.log consumed */
  uint64_t ino;
  uint64_t connections, bytes, chunks, errors;
  ls_map_t roots;    /* 16-hex root prefix -> connections that asked for it (uintptr_t) */
  char partial[MODEL_LOG_LINE_MAX]; /* an unfinished last line */
  size_t partial_len;
} model_serverlog_t;

int model_serverlog_init(model_serverlog_t *s);
void model_serverlog_close(model_serverlog_t *s);
/* Feeds one complete line. */
void model_serverlog_line(model_serverlog_t *s, const char *line, size_t len);
/* Reads what was appended to path since the last call, at most
 * MODEL_SERVERLOG_STEP bytes (starting over if the file was replaced or
 * truncated). Returns 1 if anything was read. */
int model_serverlog_update(model_serverlog_t *s, const char *path);

/* {"running", "connections_now":[...], "totals":{...}, "top":[{root, name, connections}]}
 * status_json: the text of server.status or NULL; names: 16-hex prefix ->
 * name of this peer's files (may be NULL). */
cJSON *model_server(const model_serverlog_t *log, const char *status_json, const ls_map_t *names);

/* Fills names (16-hex root prefix -> name, pointing into snap) from a catalog. */
void model_names_fill(ls_map_t *names, const ls_catalog_snapshot_t *snap);

#endif
