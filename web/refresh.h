/* refresh: the dashboard's sections, kept current. Every REFRESH_MS (250 ms)
 * it looks at tags.txt, client.log, server.log and server.status (a stat
 * each; a file is read again only when it changed) and watches the share
 * through an ls_catalog; what changed is rebuilt by model.c and published in
 * the hub (peers.txt too, for the peers). The transfers section is the jobs (jobs.c) and client.log's
 * history. Runs on the loop thread. */
#ifndef REFRESH_H
#define REFRESH_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdint.h>
#include <uv.h>

#include "hub.h"
#include "jobs.h"
#include "logs.h"
#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_map.h"
#include "ls_peers.h"
#include "ls_tags.h"
#include "model.h"

#define REFRESH_MS 250 /* how often the files are looked at (a stat each) */

/* A file as stat saw it last: a change in any field means read it again. */
typedef struct {
  int64_t mtime_ns;
  int64_t size;
  uint64_t ino;
} refresh_stamp_t;

typedef struct {
  const ls_config_t *cfg;
  hub_t *hub;
  jobs_t *jobs;
  uv_loop_t *loop;
  uv_timer_t timer;
  ls_catalog_t *catalog;         /* this peer's files; NULL once closed */
  refresh_stamp_t tags_st, client_st, status_st, peers_st;
  char tags_problem[PATH_MAX + 256]; /* why tags.txt could not be read ("" when it could) */
  ls_tag_entry_t *tags;          /* tags.txt as last read */
  size_t ntags;
  ls_peer_entry_t *peers;        /* peers.txt as last read */
  size_t npeers;
  model_serverlog_t serverlog;
  char *status_text;             /* server.status, NULL if unreadable */
  ls_map_t names;                /* root prefix -> name, this peer's files */
  cJSON *history;                /* client.log */
  int64_t last_peers_second;
  int64_t server_checked;        /* when the server section was last rebuilt */
  logs_t logs;                   /* the daemons' logs as last looked at */
} refresh_t;

/* Reads the files once and publishes every section but status, so that each
 * has its real shape before the first request can come. cfg, hub and jobs
 * are kept until refresh_free. Returns 0, or -1 when out of memory. */
int refresh_init(refresh_t *r, uv_loop_t *loop, const ls_config_t *cfg, hub_t *hub, jobs_t *jobs);
/* Starts watching the share and the timer. Returns 0, or -1 if the share
 * cannot be watched. */
int refresh_start(refresh_t *r);
/* The status section: this peer's settings and the dashboard's port. */
void refresh_publish_status(refresh_t *r, int web_port);
/* The transfers section again (a job changed). */
void refresh_publish_transfers(refresh_t *r);
/* Has the share scanned again soon (a file was added or removed). */
void refresh_poke(refresh_t *r);
/* Stops and closes the timer. */
void refresh_stop(refresh_t *r);
/* Closes the catalog (after refresh_stop; the share is no longer watched). */
void refresh_close(refresh_t *r);
/* After the loop has ended. */
void refresh_free(refresh_t *r);

#endif
