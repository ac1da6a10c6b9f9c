#include "ls_mcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ls_hash.h"

#define PACK_MAGIC "LSPACK1\n"
#define PACK_HEAD 8
#define REC_MAGIC "LSR1"
#define REC_HEAD 36 /* magic, record_len, size, mtime_ns, ino, path_len */
#define REC_MAX \
  ((size_t)REC_HEAD + PATH_MAX + LS_MANIFEST_HEADER_LEN + (size_t)LS_MANIFEST_MAX_CHUNKS * LS_HASH_LEN + LS_HASH_LEN)
#define COMPACT_SLACK (1u << 20) /* dead bytes tolerated before a rewrite */
#define PACK_NAME "manifests.pack"
#define LOCK_NAME "manifests.lock"
#define CLAIMS_NAME "manifests.claims"

/* Where the latest record of a path is, and the key it was written for. */
typedef struct {
  uint64_t off;
  uint32_t len;
  ls_mcache_key_t key;
} rec_t;

static void put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static int key_equal(const ls_mcache_key_t *a, const ls_mcache_key_t *b) {
  return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ino == b->ino;
}

ls_mcache_key_t ls_mcache_key_of(const struct stat *st) {
  ls_mcache_key_t key = {(uint64_t)st->st_size, (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
                         (uint64_t)st->st_ino};
  return key;
}

int ls_mcache_init(ls_mcache_t *mc, const char *dir) {
  memset(mc, 0, sizeof *mc);
  mc->fd = mc->lock_fd = mc->claims_fd = -1;
  mc->dir = strdup(dir);
  if (mc->dir == NULL) return -ENOMEM;
  if (ls_map_init(&mc->index) != 0) {
    free(mc->dir);
    mc->dir = NULL;
    return -ENOMEM;
  }
  pthread_mutex_init(&mc->mu, NULL);
  return 0;
}

/* Forgets the index (a pack replaced, cut back or unreadable). */
static void index_reset(ls_mcache_t *mc) {
  for (ls_map_node_t *n = ls_map_first(&mc->index); n != NULL; n = ls_map_next(&mc->index, n)) free(n->value);
  ls_map_close(&mc->index);
  if (ls_map_init(&mc->index) != 0) ls_map_close(&mc->index); /* buckets NULL: no index until the next reset */
  mc->scanned = PACK_HEAD;
  mc->live = 0;
}

static void pack_forget(ls_mcache_t *mc) {
  if (mc->fd >= 0) close(mc->fd);
  mc->fd = -1;
  index_reset(mc);
}

void ls_mcache_close(ls_mcache_t *mc) {
  if (mc->dir == NULL) return;
  pack_forget(mc);
  ls_map_close(&mc->index);
  if (mc->lock_fd >= 0) close(mc->lock_fd);
  if (mc->claims_fd >= 0) close(mc->claims_fd);
  pthread_mutex_destroy(&mc->mu);
  free(mc->dir);
  mc->dir = NULL;
}

static void path_in(const ls_mcache_t *mc, const char *name, char *out, size_t len) {
  snprintf(out, len, "%s/%s", mc->dir, name);
}

/* Takes the lock file's flock (LOCK_SH or LOCK_EX); creates the lock file
 * only for a writer. 0 or a negative errno. */
static int lock_take(ls_mcache_t *mc, int how) {
  if (mc->lock_fd < 0) {
    char p[PATH_MAX];
    path_in(mc, LOCK_NAME, p, sizeof p);
    mc->lock_fd = open(p, O_RDWR | O_CLOEXEC | (how == LOCK_EX ? O_CREAT : 0), 0644);
    if (mc->lock_fd < 0 && errno == EACCES) mc->lock_fd = open(p, O_RDONLY | O_CLOEXEC);
    if (mc->lock_fd < 0) return -errno;
  }
  while (flock(mc->lock_fd, how) != 0)
    if (errno != EINTR) return -errno;
  return 0;
}

static void lock_drop(ls_mcache_t *mc) {
  flock(mc->lock_fd, LOCK_UN);
}

/* Removes the one-file-per-manifest entries of the cache before the pack
 * (cache/HASH.mf), once, when the pack is made. */
static void drop_old_entries(const ls_mcache_t *mc) {
  DIR *d = opendir(mc->dir);
  if (d == NULL) return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n == LS_HASH_HEX_LEN + 3 && strcmp(de->d_name + LS_HASH_HEX_LEN, ".mf") == 0) unlinkat(dirfd(d), de->d_name, 0);
  }
  closedir(d);
}

/* Creates the pack (a writer, under the exclusive lock). */
static int pack_create(ls_mcache_t *mc, const char *p) {
  int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno == EEXIST ? 0 : -errno;
  if (pwrite(fd, PACK_MAGIC, PACK_HEAD, 0) != PACK_HEAD) {
    int rc = -errno;
    close(fd);
    unlink(p);
    return rc ? rc : -EIO;
  }
  close(fd);
  drop_old_entries(mc);
  return 0;
}

/* Opens the pack named p if it is not the one held: 0, or -ENOENT when there
 * is none (a writer creates it), or another negative errno. */
static int pack_open(ls_mcache_t *mc, const char *p, int writer) {
  struct stat st;
  int rc = stat(p, &st) == 0 ? 0 : -errno;
  if (rc == -ENOENT && writer) {
    rc = pack_create(mc, p);
    if (rc == 0 && stat(p, &st) != 0) rc = -errno;
  }
  if (rc != 0) {
    pack_forget(mc);
    return rc;
  }
  if (mc->fd >= 0 && st.st_dev == mc->dev && st.st_ino == mc->ino) return 0;
  pack_forget(mc);
  int fd = open(p, O_RDWR | O_CLOEXEC); /* a reader may write later */
  if (fd < 0 && (errno == EACCES || errno == EROFS)) fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  uint8_t head[PACK_HEAD];
  if (pread(fd, head, PACK_HEAD, 0) != PACK_HEAD || memcmp(head, PACK_MAGIC, PACK_HEAD) != 0) {
    /* Not a pack (or cut before its head): a writer starts it again. */
    if (!writer || ftruncate(fd, 0) != 0 || pwrite(fd, PACK_MAGIC, PACK_HEAD, 0) != PACK_HEAD) {
      close(fd);
      return -EBADMSG;
    }
  }
  mc->fd = fd;
  mc->dev = st.st_dev;
  mc->ino = st.st_ino;
  return 0;
}

/* Reads the head and path of the record at off into head/path. Its length,
 * or 0 where no whole record starts (the end, or a record cut short). */
static uint32_t rec_read_head(int fd, uint64_t off, uint64_t end, uint8_t *head, char *path) {
  if (end - off < REC_HEAD || pread(fd, head, REC_HEAD, (off_t)off) != REC_HEAD) return 0;
  uint64_t len = get_be(head + 4, 4), plen = get_be(head + 32, 4);
  if (memcmp(head, REC_MAGIC, 4) != 0 || plen == 0 || plen >= PATH_MAX ||
      len < REC_HEAD + plen + LS_MANIFEST_HEADER_LEN + LS_HASH_LEN || len > REC_MAX || len > end - off)
    return 0;
  if (pread(fd, path, plen, (off_t)(off + REC_HEAD)) != (ssize_t)plen) return 0;
  path[plen] = '\0';
  return strlen(path) == plen ? (uint32_t)len : 0;
}

/* Indexes one record; the latest record of a path wins. */
static int index_put(ls_mcache_t *mc, const char *path, uint64_t off, uint32_t len, const ls_mcache_key_t *key) {
  if (mc->index.buckets == NULL) return -ENOMEM;
  rec_t *r = ls_map_get(&mc->index, path);
  if (r == NULL) {
    r = malloc(sizeof *r);
    if (r == NULL || ls_map_put(&mc->index, path, r) != 0) {
      free(r);
      return -ENOMEM;
    }
  } else {
    mc->live -= r->len;
  }
  *r = (rec_t){off, len, *key};
  mc->live += len;
  return 0;
}

/* Brings the index up to the pack as it is now (under the lock). A writer
 * cuts a record left short by a crash away, so that its append follows the
 * last whole record. 0 or a negative errno. */
static int pack_sync(ls_mcache_t *mc, int writer) {
  char p[PATH_MAX];
  path_in(mc, PACK_NAME, p, sizeof p);
  int rc = pack_open(mc, p, writer);
  if (rc != 0) return rc;
  struct stat st;
  if (fstat(mc->fd, &st) != 0) return -errno;
  uint64_t end = (uint64_t)st.st_size;
  if (end < mc->scanned) index_reset(mc); /* cut back by another writer */
  uint8_t head[REC_HEAD];
  char path[PATH_MAX];
  uint32_t len;
  while ((len = rec_read_head(mc->fd, mc->scanned, end, head, path)) != 0) {
    ls_mcache_key_t key = {get_be(head + 8, 8), (int64_t)get_be(head + 16, 8), get_be(head + 24, 8)};
    if (index_put(mc, path, mc->scanned, len, &key) != 0) return -ENOMEM;
    mc->scanned += len;
  }
  if (writer && mc->scanned < end && ftruncate(mc->fd, (off_t)mc->scanned) != 0) return -errno;
  return 0;
}

/* A record of path, key and m, without a copy of m's hashes (up to 4 MiB):
 * head + path + the manifest's header in head_buf (malloc'ed), then the
 * hashes where they are, then the checksum in sum. */
typedef struct {
  uint8_t *head_buf;
  size_t head_len;
  const uint8_t *hashes;
  size_t hashes_len;
  uint8_t sum[LS_HASH_LEN];
  size_t len; /* of the whole record */
} rec_out_t;

static int rec_encode(rec_out_t *r, const char *path, const ls_mcache_key_t *key, const ls_manifest_t *m) {
  size_t plen = strlen(path);
  r->hashes = m->hashes;
  r->hashes_len = (size_t)m->nchunks * LS_HASH_LEN;
  r->head_len = REC_HEAD + plen + LS_MANIFEST_HEADER_LEN;
  r->len = r->head_len + r->hashes_len + LS_HASH_LEN;
  if (plen == 0 || plen >= PATH_MAX || r->len > REC_MAX) return -EINVAL;
  ls_sha256_t *ctx = ls_sha256_new();
  uint8_t *buf = r->head_buf = malloc(r->head_len);
  if (ctx == NULL || buf == NULL) {
    ls_sha256_free(ctx);
    free(buf);
    return -ENOMEM;
  }
  memcpy(buf, REC_MAGIC, 4);
  put_be(buf + 4, r->len, 4);
  put_be(buf + 8, key->size, 8);
  put_be(buf + 16, (uint64_t)key->mtime_ns, 8);
  put_be(buf + 24, key->ino, 8);
  put_be(buf + 32, plen, 4);
  memcpy(buf + REC_HEAD, path, plen);
  ls_manifest_encode_header(m, buf + REC_HEAD + plen);
  ls_sha256_update(ctx, buf, r->head_len);
  ls_sha256_update(ctx, r->hashes, r->hashes_len);
  ls_sha256_final(ctx, r->sum);
  ls_sha256_free(ctx);
  return 0;
}

/* Reads and checks the whole record r into a malloc'ed buffer. */
static uint8_t *rec_read(int fd, const rec_t *r) {
  uint8_t *buf = malloc(r->len);
  uint8_t sum[LS_HASH_LEN];
  if (buf == NULL) return NULL;
  if (pread(fd, buf, r->len, (off_t)r->off) == (ssize_t)r->len) {
    ls_sha256(buf, r->len - LS_HASH_LEN, sum);
    if (memcmp(sum, buf + r->len - LS_HASH_LEN, LS_HASH_LEN) == 0) return buf;
  }
  free(buf);
  return NULL;
}

/* Whether the record r is the record out (nothing to append): the same
 * length and the same checksum, read from the pack. */
static int rec_same(int fd, const rec_t *r, const rec_out_t *out) {
  uint8_t sum[LS_HASH_LEN];
  return r->len == out->len &&
         pread(fd, sum, LS_HASH_LEN, (off_t)(r->off + r->len - LS_HASH_LEN)) == LS_HASH_LEN &&
         memcmp(sum, out->sum, LS_HASH_LEN) == 0;
}

/* Rewrites the pack with the live records whose file is still the one they
 * were written for, and renames it over the old one (under the exclusive
 * lock). On failure the old pack stays as it was. */
static void pack_compact(ls_mcache_t *mc) {
  char p[PATH_MAX], tmp[PATH_MAX + 8];
  path_in(mc, PACK_NAME, p, sizeof p);
  snprintf(tmp, sizeof tmp, "%s.new", p);
  int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  uint64_t off = PACK_HEAD;
  int ok = pwrite(fd, PACK_MAGIC, PACK_HEAD, 0) == PACK_HEAD;
  for (ls_map_node_t *n = ls_map_first(&mc->index); ok && n != NULL; n = ls_map_next(&mc->index, n)) {
    rec_t *r = n->value;
    struct stat st;
    if (stat(n->key, &st) != 0) continue;
    ls_mcache_key_t now = ls_mcache_key_of(&st);
    if (!key_equal(&now, &r->key)) continue;
    uint8_t *buf = rec_read(mc->fd, r);
    if (buf == NULL) continue;
    ok = pwrite(fd, buf, r->len, (off_t)off) == (ssize_t)r->len;
    off += r->len;
    free(buf);
  }
  close(fd);
  if (!ok || rename(tmp, p) != 0) {
    unlink(tmp);
    return;
  }
  pack_forget(mc);
  pack_sync(mc, 1);
}

/* Appends rec unless the pack holds it already (mutex and exclusive lock held). */
static int pack_append(ls_mcache_t *mc, const char *path, const ls_mcache_key_t *key, rec_out_t *out) {
  int rc = pack_sync(mc, 1);
  if (rc != 0) return rc;
  rec_t *r = mc->index.buckets != NULL ? ls_map_get(&mc->index, path) : NULL;
  if (r != NULL && key_equal(&r->key, key) && rec_same(mc->fd, r, out)) return 0;
  size_t len = out->len;
  struct iovec iov[3] = {{out->head_buf, out->head_len}, {(void *)out->hashes, out->hashes_len},
                         {out->sum, LS_HASH_LEN}};
  ssize_t w = pwritev(mc->fd, iov, 3, (off_t)mc->scanned);
  if (w != (ssize_t)len) {
    rc = w < 0 ? -errno : -ENOSPC;
    if (ftruncate(mc->fd, (off_t)mc->scanned) != 0) pack_forget(mc);
    return rc;
  }
  rc = index_put(mc, path, mc->scanned, (uint32_t)len, key);
  mc->scanned += len;
  if (mc->scanned - PACK_HEAD > 2 * mc->live + COMPACT_SLACK) pack_compact(mc);
  return rc;
}

int ls_mcache_store(ls_mcache_t *mc, const char *path, const ls_mcache_key_t *key, const ls_manifest_t *m) {
  if (mc == NULL || mc->dir == NULL) return -EINVAL;
  rec_out_t out;
  int rc = rec_encode(&out, path, key, m);
  if (rc != 0) return rc;
  pthread_mutex_lock(&mc->mu);
  rc = lock_take(mc, LOCK_EX);
  if (rc == 0) {
    rc = pack_append(mc, path, key, &out);
    lock_drop(mc);
  }
  pthread_mutex_unlock(&mc->mu);
  free(out.head_buf);
  return rc;
}

/* Decodes a checked record of path and key into m, which takes buf (its
 * hashes stay there: a 4 MiB manifest is not held twice); buf is freed on
 * error. */
static int rec_decode(uint8_t *buf, size_t len, const char *path, const ls_mcache_key_t *key, ls_manifest_t *m) {
  size_t plen = strlen(path);
  if (get_be(buf + 8, 8) != key->size || get_be(buf + 32, 4) != plen || memcmp(buf + REC_HEAD, path, plen) != 0) {
    free(buf);
    return -EBADMSG;
  }
  int rc = ls_manifest_decode_take(m, buf, REC_HEAD + plen, len - REC_HEAD - plen - LS_HASH_LEN);
  if (rc == 0 && m->size != key->size) {
    ls_manifest_free(m);
    rc = -ESTALE;
  }
  return rc;
}

int ls_mcache_load(ls_mcache_t *mc, const char *path, const ls_mcache_key_t *key, ls_manifest_t *m) {
  if (mc == NULL || mc->dir == NULL) return -ENOENT;
  pthread_mutex_lock(&mc->mu);
  uint8_t *buf = NULL;
  rec_t r = {0};
  int rc = lock_take(mc, LOCK_SH);
  if (rc == 0) {
    rc = pack_sync(mc, 0);
    lock_drop(mc);
  }
  if (rc == 0) {
    rec_t *found = mc->index.buckets != NULL ? ls_map_get(&mc->index, path) : NULL;
    rc = found == NULL ? -ENOENT : !key_equal(&found->key, key) ? -ESTALE : 0;
    if (rc == 0) {
      r = *found;
      buf = rec_read(mc->fd, &r); /* the fd stays this pack's until the mutex is let go */
      if (buf == NULL) rc = -EBADMSG;
    }
  }
  pthread_mutex_unlock(&mc->mu);
  if (rc == 0) return rec_decode(buf, r.len, path, key, m);
  free(buf);
  return rc;
}

/* The byte of manifests.claims that stands for path. */
static off_t claim_offset(const char *path) {
  uint8_t h[LS_HASH_LEN];
  ls_sha256(path, strlen(path), h);
  return (off_t)(get_be(h, 8) >> 2); /* < 2^62: l_start + 1 cannot overflow */
}

static int claim_lock(ls_mcache_t *mc, const char *path, short type) {
  pthread_mutex_lock(&mc->mu);
  if (mc->claims_fd < 0) {
    char p[PATH_MAX];
    path_in(mc, CLAIMS_NAME, p, sizeof p);
    mc->claims_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  }
  int fd = mc->claims_fd;
  pthread_mutex_unlock(&mc->mu);
  if (fd < 0) return -errno;
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = claim_offset(path), .l_len = 1};
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
  return errno == EACCES ? -EAGAIN : -errno;
}

int ls_mcache_claim(ls_mcache_t *mc, const char *path) {
  if (mc == NULL || mc->dir == NULL) return -EINVAL;
  return claim_lock(mc, path, F_WRLCK);
}

void ls_mcache_unclaim(ls_mcache_t *mc, const char *path) {
  if (mc != NULL && mc->dir != NULL) claim_lock(mc, path, F_UNLCK);
}

size_t ls_mcache_count(ls_mcache_t *mc) {
  pthread_mutex_lock(&mc->mu);
  if (lock_take(mc, LOCK_SH) == 0) {
    pack_sync(mc, 0);
    lock_drop(mc);
  }
  size_t n = mc->index.buckets != NULL ? mc->index.count : 0;
  pthread_mutex_unlock(&mc->mu);
  return n;
}
