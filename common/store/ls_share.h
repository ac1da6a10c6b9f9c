/* ls_share: putting a local file into this peer's share under a name (the
 * origin documents' "publish"), for the client shell and the dashboard, and
 * taking one out (`lanswarm unshare`, the dashboard's Remove).
 *
 * The name passes the share's own check (ls_name_valid) and may not hold
 * ".tmp." (the catalog skips such temporary files); the source must be a
 * regular file; nothing in the share is ever replaced. The file is
 * hard-linked when it can be; otherwise it is copied on the thread pool under
 * a temporary name next to its place and linked in whole, so the catalog
 * never sees half a file. */
#ifndef LS_SHARE_H
#define LS_SHARE_H

#include <limits.h>
#include <uv.h>

typedef struct ls_share_add_s ls_share_add_t;
/* status: 0 or a negative errno; req->why says what went wrong in a line. */
typedef void (*ls_share_add_cb)(ls_share_add_t *req, int status);

typedef enum {
  LS_SHARE_LENIENT = 0, /* a terminal's user: relative paths, symlinks to files */
  LS_SHARE_STRICT = 1,  /* from the network: an absolute path to a regular file, never a symlink */
} ls_share_mode_t;

struct ls_share_add_s {
  uv_fs_t fs;
  ls_share_add_cb cb;
  void *data;
  int busy;                /* a copy is running */
  char dest[PATH_MAX];
  char tmp[PATH_MAX + 32];
  char why[320];
};

/* Starts adding src to share_dir as name. Returns 1 when done at once (hard
 * link), 0 when a copy was started (cb follows on the loop), or a negative
 * errno with req->why set: -EINVAL (a bad name or path), -EEXIST (the name is
 * taken in the share), -EBUSY (this request is still copying), other errors
 * of the file system. cb is called only after 0. */
int ls_share_add(uv_loop_t *loop, ls_share_add_t *req, const char *share_dir, const char *src, const char *name,
                 ls_share_mode_t mode, ls_share_add_cb cb);

/* Takes folder/NAME (share/ or downloads/: a file or a symlink) out of what
 * the peer serves without deleting it: it moves to aside_dir/NAME, or
 * NAME.1, NAME.2... if taken (moved_to: where it went), by link and unlink,
 * never replacing. Blocking (a few system calls). 0, -EINVAL (a bad name),
 * -ENOENT (no such file in folder), -ENAMETOOLONG or another negative errno. */
int ls_share_remove(const char *folder, const char *aside_dir, const char *name, char *moved_to, size_t len);

#endif
