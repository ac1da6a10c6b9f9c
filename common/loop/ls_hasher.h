/* ls_hasher: a deferred scan's files hashed on libuv's thread pool.
 *
 * Chunks are independent, so a file is cut into jobs of about
 * LS_HASHER_JOB_BYTES (whole chunks) and the jobs of one file, or of many,
 * run on every thread at once: one big file uses every core, as many small
 * ones do. At most max_jobs jobs are queued or running (ls_pool_bulk_jobs),
 * each reading through its own LS_HASHER_READ_LEN buffer, so memory stays
 * bounded whatever the file sizes, and the pool keeps a thread for others.
 * A file's last job (or a job of its own) seals it: the file checked
 * unchanged, the root set, the cache written (ls_scan_seal). The loop thread
 * only counts and queues. */
#ifndef LS_HASHER_H
#define LS_HASHER_H

#include <uv.h>

#include "ls_scan.h"

#define LS_HASHER_JOB_BYTES (4u << 20)
#define LS_HASHER_READ_LEN (128u << 10)
#define LS_HASHER_MAX_BATCH 64 /* whole small files one job hashes after its own */

typedef struct ls_hasher_s ls_hasher_t;
/* Called on the loop thread once every pending entry of snap is sealed or
 * failed (its `pending` then holds the negative errno), or after
 * ls_hasher_cancel once the running jobs are back. The hasher is freed after
 * the callback returns. */
typedef void (*ls_hasher_cb)(ls_hasher_t *h, void *ud);

/* Hashes the pending entries of snap (a deferred ls_scan_run), which the
 * caller keeps (with dirs) until the callback. 0 with *out set (the callback
 * follows), 0 with *out NULL (nothing to hash: no callback), or UV_ENOMEM /
 * the error uv_queue_work gave (no callback). */
int ls_hasher_start(uv_loop_t *loop, const ls_scan_dirs_t *dirs, ls_scan_snapshot_t *snap, unsigned max_jobs,
                    ls_hasher_cb cb, void *ud, ls_hasher_t **out);
/* Queues nothing more and cancels what has not started; the callback follows. */
void ls_hasher_cancel(ls_hasher_t *h);
/* Files sealed so far. */
unsigned ls_hasher_sealed(const ls_hasher_t *h);

#endif
