#include "ls_share.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_name.h"
#include "ls_util.h"

static int fail(ls_share_add_t *req, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ls_share_add_t *req, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(req->why, sizeof req->why, fmt, ap);
  va_end(ap);
  return rc;
}

static void copied(uv_fs_t *fs) {
  ls_share_add_t *req = fs->data;
  int rc = (int)fs->result;
  uv_fs_req_cleanup(fs);
  req->busy = 0;
  if (rc == 0) {
    rc = link(req->tmp, req->dest) == 0 ? 0 : -errno;
    if (rc == -EEXIST) fail(req, rc, "%s appeared in the share meanwhile; not replacing it", req->dest);
    else if (rc != 0) fail(req, rc, "cannot link %s: %s", req->dest, strerror(-rc));
  } else {
    fail(req, rc, "cannot copy into the share: %s", uv_strerror(rc));
  }
  unlink(req->tmp);
  req->cb(req, rc);
}

int ls_share_add(uv_loop_t *loop, ls_share_add_t *req, const char *share_dir, const char *src, const char *name,
                 ls_share_mode_t mode, ls_share_add_cb cb) {
  if (req->busy) return fail(req, -EBUSY, "still copying the last file");
  req->why[0] = '\0';
  if (name == NULL || !ls_name_valid(name, strlen(name)))
    return fail(req, -EINVAL, "'%.200s' is not a valid name (relative, no '..', no control characters)",
                name ? name : "");
  if (strstr(name, ".tmp.") != NULL) return fail(req, -EINVAL, "names with '.tmp.' are lanswarm's temporary files");
  if (src == NULL || src[0] == '\0' || strlen(src) >= PATH_MAX) return fail(req, -EINVAL, "no file given");
  if (mode == LS_SHARE_STRICT && src[0] != '/') return fail(req, -EINVAL, "%.200s: give an absolute path", src);
  struct stat st;
  int rc = mode == LS_SHARE_STRICT ? lstat(src, &st) : stat(src, &st);
  if (rc != 0) return fail(req, -errno, "%.200s: %s", src, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail(req, -EINVAL, "%.200s: not a regular file%s", src,
                mode == LS_SHARE_STRICT ? " (folders, links and devices are refused)" : "");
  int fd = open(src, O_RDONLY | O_CLOEXEC | (mode == LS_SHARE_STRICT ? O_NOFOLLOW : 0));
  if (fd < 0) return fail(req, -errno, "%.200s: %s", src, strerror(errno));
  close(fd);
  if (snprintf(req->dest, sizeof req->dest, "%s/%s", share_dir, name) >= (int)sizeof req->dest)
    return fail(req, -ENAMETOOLONG, "the name is too long for this share");
  if (lstat(req->dest, &st) == 0) return fail(req, -EEXIST, "%s is already in the share; not replacing it", name);
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", req->dest);
  *strrchr(parent, '/') = '\0';
  if ((rc = ls_mkdir_p(parent)) != 0) return fail(req, rc, "cannot create %s: %s", parent, strerror(-rc));
  if (link(src, req->dest) == 0) return 1;
  rc = -errno;
  if (rc == -EEXIST) return fail(req, rc, "%s is already in the share; not replacing it", name);
  if (rc != -EXDEV && rc != -EPERM) return fail(req, rc, "cannot add %s: %s", name, strerror(-rc));
  /* Another file system, or no hard links there: a copy that appears whole. */
  static unsigned seq;
  snprintf(req->tmp, sizeof req->tmp, "%s.tmp.add%ld.%u", req->dest, (long)getpid(), ++seq);
  req->cb = cb;
  req->fs.data = req;
  rc = uv_fs_copyfile(loop, &req->fs, src, req->tmp, UV_FS_COPYFILE_EXCL, copied);
  if (rc != 0) return fail(req, rc, "cannot copy %s: %s", src, uv_strerror(rc));
  req->busy = 1;
  return 0;
}

/* Moves src to base, or base.1, base.2... if taken (dest: where it went).
 * Returns 0 or a negative errno. */
static int move_aside(const char *src, const char *base, char *dest, size_t len) {
  snprintf(dest, len, "%s", base);
  int rc = -EEXIST;
  for (unsigned n = 1; n < 1000 && rc == -EEXIST; n++) {
    /* renameat2(RENAME_NOREPLACE) is not on every file system: link + unlink. */
    if (link(src, dest) == 0) rc = 0;
    else if (errno == EEXIST) {
      if (snprintf(dest, len, "%s.%u", base, n) >= (int)len) return -ENAMETOOLONG;
    } else {
      rc = -errno;
    }
  }
  if (rc == 0) rc = unlink(src) == 0 ? 0 : -errno;
  return rc;
}

int ls_share_remove(const char *folder, const char *aside_dir, const char *name, char *moved_to, size_t len) {
  if (!ls_name_valid(name, strlen(name))) return -EINVAL;
  char src[PATH_MAX], base[PATH_MAX], parent[PATH_MAX];
  struct stat st;
  if (snprintf(src, sizeof src, "%s/%s", folder, name) >= (int)sizeof src ||
      snprintf(base, sizeof base, "%s/%s", aside_dir, name) >= (int)sizeof base)
    return -ENAMETOOLONG;
  if (lstat(src, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) return -ENOENT;
  snprintf(parent, sizeof parent, "%s", base);
  *strrchr(parent, '/') = '\0';
  int rc = ls_mkdir_p(parent);
  return rc != 0 ? rc : move_aside(src, base, moved_to, len);
}
