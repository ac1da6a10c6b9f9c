/* ls_pool: libuv's thread pool, sized for this machine.
 *
 * libuv reads UV_THREADPOOL_SIZE once, when the pool is first used, and
 * without it runs 4 threads whatever the number of cores: too few to hash on
 * every core of a bigger machine. ls_pool_init, called at a program's start
 * (ls_daemon) before any work is queued, sets it when the user did not: the
 * cores plus two, at least 4. A bulk user (share hashing) keeps at most
 * ls_pool_bulk_jobs() jobs queued or running, one fewer than the threads, so
 * one thread is always free for the short jobs the loop needs at once (the
 * server's reads, a rescan). */
#ifndef LS_POOL_H
#define LS_POOL_H

/* Sets UV_THREADPOOL_SIZE unless it is set; before the pool's first use. */
void ls_pool_init(void);
/* The pool's threads as libuv counts them (UV_THREADPOOL_SIZE clamped to
 * 1..1024, else 4). */
unsigned ls_pool_size(void);
/* Jobs a bulk user may keep in the pool: the cores plus one (to cover the
 * gap between a job's end and the next one's start), at most the threads
 * minus one and LS_POOL_MAX_BULK, at least 1. */
unsigned ls_pool_bulk_jobs(void);

#define LS_POOL_MAX_BULK 64

#endif
