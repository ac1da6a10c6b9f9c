/* jobs: the downloads the dashboard started. Each is a lanswarm-downloader
 * process run with --events; its JSON lines (start, progress, end: see
 * docs/PROTOCOL.md, "Downloader events") become the job's state. A cancel is
 * SIGINT: the downloader keeps its partial state in temp/ and exits 130, so
 * a later download of the same file resumes. Runs on the loop thread. */
#ifndef JOBS_H
#define JOBS_H

#include <cjson/cJSON.h>
#include <uv.h>

#include "ls_hash.h"
#include "ls_name.h"

#define JOBS_MAX_ACTIVE 8    /* downloads at once */
#define JOBS_MAX_KEPT 32     /* finished jobs remembered (client.log has them all) */
#define JOBS_LINE_MAX 65536  /* longest event line read from a downloader */
#define JOBS_MAX_PEERS_SHOWN 16

typedef struct jobs_s jobs_t;
typedef void (*jobs_cb)(jobs_t *j, void *ud); /* a job changed */

typedef struct job_s job_t;

struct jobs_s {
  uv_loop_t *loop;
  const char *downloader;  /* path of lanswarm-downloader */
  char **args;             /* options passed on to it (NULL-terminated) */
  jobs_cb cb;
  void *ud;
  job_t *list;             /* newest first */
  unsigned next_id;
  unsigned active;
  int closing;
};

typedef enum { JOBS_OK = 0, JOBS_BUSY = -1, JOBS_DUPLICATE = -2, JOBS_SPAWN = -3, JOBS_UNKNOWN = -4, JOBS_DONE = -5 } jobs_err_t;

void jobs_init(jobs_t *j, uv_loop_t *loop, const char *downloader, char **args, jobs_cb cb, void *ud);
/* Starts a download of name (valid per ls_name_valid), of the content root_hex
 * if not NULL. On success *id is the new job's. */
jobs_err_t jobs_start(jobs_t *j, const char *name, const char *root_hex, unsigned *id, char *err, size_t errlen);
/* Asks a running job to stop (it keeps its partial state). */
jobs_err_t jobs_cancel(jobs_t *j, unsigned id);
/* {"active":[...], "recent":[...]} (docs/WEB.md). */
cJSON *jobs_json(const jobs_t *j);
/* Interrupts every running download; true once none is left (run the loop
 * until then). */
int jobs_close(jobs_t *j);
int jobs_idle(const jobs_t *j);
/* SIGKILL to every download still running. */
void jobs_kill(jobs_t *j);
void jobs_free(jobs_t *j);

#endif
