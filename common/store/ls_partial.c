#include "ls_partial.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_name.h"
#include "ls_util.h"

static const char *const exts[] = {"part", "have", "manifest", "name"};

int ls_partial_path(const char *temp_dir, const char *root_hex, ls_partial_file_t which, char *buf, size_t cap) {
  if ((unsigned)which > LS_PARTIAL_NAME) return -EINVAL;
  int n = snprintf(buf, cap, "%s/%s.%s", temp_dir, root_hex, exts[which]);
  return n >= 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

static void state_path(char *out, size_t len, const char *dir, const char *root_hex, ls_partial_file_t which) {
  ls_partial_path(dir, root_hex, which, out, len);
}

int ls_partial_load_manifest(const char *temp_dir, const char *root_hex, ls_manifest_t *m) {
  char path[4096];
  uint8_t *buf;
  size_t len;
  state_path(path, sizeof path, temp_dir, root_hex, LS_PARTIAL_MANIFEST);
  int rc = ls_read_file(path, LS_MANIFEST_HEADER_LEN + (size_t)LS_MANIFEST_MAX_CHUNKS * LS_HASH_LEN, &buf, &len);
  if (rc != 0) return rc;
  rc = ls_manifest_decode(m, buf, len);
  free(buf);
  if (rc != 0) return rc;
  char hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(m->root, hex);
  if (strcmp(hex, root_hex) != 0) {
    ls_manifest_free(m);
    return -EINVAL;
  }
  return 0;
}

int ls_partial_read_name(const char *temp_dir, const char *root_hex, char *buf, size_t len) {
  char path[4096];
  uint8_t *data;
  size_t n;
  state_path(path, sizeof path, temp_dir, root_hex, LS_PARTIAL_NAME);
  int rc = ls_read_file(path, LS_NAME_MAX + 1, &data, &n);
  if (rc != 0) return rc;
  if (n > 0 && data[n - 1] == '\n') n--;
  if (!ls_name_valid((const char *)data, n) || n + 1 > len) {
    free(data);
    return -EINVAL;
  }
  memcpy(buf, data, n);
  buf[n] = '\0';
  free(data);
  return 0;
}

static int write_state_file(const char *temp_dir, const char *root_hex, ls_partial_file_t ext, const void *data,
                            size_t len) {
  char path[4096];
  state_path(path, sizeof path, temp_dir, root_hex, ext);
  return ls_write_file_atomic(path, data, len, 0);
}

int ls_partial_open(ls_partial_t *p, const char *temp_dir, const ls_manifest_t *m, const char *name) {
  char path[4096];
  int rc;
  memset(p, 0, sizeof *p);
  p->part_fd = p->have_fd = -1;
  if (!ls_name_valid(name, strlen(name))) return -EINVAL;
  ls_hash_to_hex(m->root, p->root_hex);
  p->temp_dir = strdup(temp_dir);
  p->name = strdup(name);
  if (p->temp_dir == NULL || p->name == NULL) { rc = -ENOMEM; goto fail; }
  p->manifest = *m; /* its shape only: the hashes stay the owner's (4 MiB for 131072 chunks) */
  p->manifest.hashes = NULL;

  state_path(path, sizeof path, temp_dir, p->root_hex, LS_PARTIAL_PART);
  p->part_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (p->part_fd < 0) { rc = -errno; goto fail; }
  if (flock(p->part_fd, LOCK_EX | LOCK_NB) != 0) { rc = errno == EWOULDBLOCK ? -EBUSY : -errno; goto fail; }

  /* The manifest and the name go in before any data, so whatever finds a
   * .part file can tell what it is. */
  uint8_t mhead[LS_MANIFEST_HEADER_LEN];
  ls_manifest_encode_header(m, mhead);
  struct iovec mparts[2] = {{mhead, sizeof mhead}, {m->hashes, (size_t)m->nchunks * LS_HASH_LEN}};
  state_path(path, sizeof path, temp_dir, p->root_hex, LS_PARTIAL_MANIFEST);
  if ((rc = ls_write_file_atomic_parts(path, mparts, 2, 0, 0644)) != 0) goto fail; /* the hashes not copied */
  char line[LS_NAME_MAX + 2];
  int n = snprintf(line, sizeof line, "%s\n", name);
  if ((rc = write_state_file(temp_dir, p->root_hex, LS_PARTIAL_NAME, line, (size_t)n)) != 0) goto fail;

  struct stat st;
  if (fstat(p->part_fd, &st) != 0) { rc = -errno; goto fail; }
  if ((uint64_t)st.st_size != m->size && ftruncate(p->part_fd, (off_t)m->size) != 0) { rc = -errno; goto fail; }

  state_path(path, sizeof path, temp_dir, p->root_hex, LS_PARTIAL_HAVE);
  p->have_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (p->have_fd < 0) { rc = -errno; goto fail; }
  p->have = calloc(m->nchunks + 1, 1);
  if (p->have == NULL) { rc = -ENOMEM; goto fail; }
  ssize_t got = pread(p->have_fd, p->have, m->nchunks, 0);
  if (got < 0) { rc = -errno; goto fail; }
  if ((uint32_t)got != m->nchunks) {
    /* Short or new map: what is missing counts as not held. */
    memset(p->have + got, 0, m->nchunks - (size_t)got);
    if (ftruncate(p->have_fd, m->nchunks) != 0) { rc = -errno; goto fail; }
  }
  for (uint32_t i = 0; i < m->nchunks; i++) {
    if (p->have[i] != 0 && p->have[i] != 1) p->have[i] = 0;
    p->nhave += p->have[i];
  }
  return 0;
fail:
  ls_partial_close(p);
  return rc;
}

static int pwrite_all(int fd, const void *data, size_t len, off_t off) {
  const char *c = data;
  while (len > 0) {
    ssize_t w = pwrite(fd, c, len, off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    if (w == 0) return -EIO;
    c += w; len -= (size_t)w; off += w;
  }
  return 0;
}

static int pread_all(int fd, void *data, size_t len, off_t off) {
  char *c = data;
  while (len > 0) {
    ssize_t r = pread(fd, c, len, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EIO;
    c += r; len -= (size_t)r; off += r;
  }
  return 0;
}

int ls_partial_write_chunk(ls_partial_t *p, uint32_t index, const void *data, uint32_t len) {
  if (index >= p->manifest.nchunks || len != ls_manifest_chunk_len(&p->manifest, index)) return -EINVAL;
  int rc = ls_partial_write_part(p, index, 0, data, len);
  return rc != 0 ? rc : ls_partial_mark(p, index);
}

int ls_partial_write_part(ls_partial_t *p, uint32_t index, uint32_t off, const void *data, uint32_t len) {
  if (index >= p->manifest.nchunks || (uint64_t)off + len > ls_manifest_chunk_len(&p->manifest, index)) return -EINVAL;
  return pwrite_all(p->part_fd, data, len, (off_t)((uint64_t)index * p->manifest.chunk_size + off));
}

int ls_partial_mark(ls_partial_t *p, uint32_t index) {
  if (index >= p->manifest.nchunks) return -EINVAL;
  uint8_t one = 1;
  int rc;
  if ((rc = pwrite_all(p->have_fd, &one, 1, index)) != 0) return rc;
  if (!p->have[index]) p->nhave++;
  p->have[index] = 1;
  return 0;
}

int ls_partial_writeback(ls_partial_t *p, uint32_t index) {
  if (index >= p->manifest.nchunks) return -EINVAL;
  off_t off = (off_t)((uint64_t)index * p->manifest.chunk_size);
  if (sync_file_range(p->part_fd, off, ls_manifest_chunk_len(&p->manifest, index), SYNC_FILE_RANGE_WRITE) != 0)
    return -errno;
  return 0;
}

int ls_partial_flush(ls_partial_t *p) {
  if (fdatasync(p->part_fd) == 0) return 0;
  int rc = -errno;
  if (p->flush_rc == 0) p->flush_rc = rc;
  return rc;
}

int ls_partial_read_chunk(ls_partial_t *p, uint32_t index, void *buf, uint32_t len) {
  if (index >= p->manifest.nchunks || len != ls_manifest_chunk_len(&p->manifest, index)) return -EINVAL;
  return pread_all(p->part_fd, buf, len, (off_t)((uint64_t)index * p->manifest.chunk_size));
}

int ls_partial_unmark(ls_partial_t *p, uint32_t index) {
  if (index >= p->manifest.nchunks) return -EINVAL;
  uint8_t zero = 0;
  int rc = pwrite_all(p->have_fd, &zero, 1, index);
  if (rc != 0) return rc;
  if (p->have[index]) p->nhave--;
  p->have[index] = 0;
  return 0;
}

int ls_partial_finish(ls_partial_t *p, const char *dest_path, int durable) {
  char path[4096];
  if (p->flush_rc != 0) return p->flush_rc;
  if (durable && fsync(p->part_fd) != 0) return -errno;
  state_path(path, sizeof path, p->temp_dir, p->root_hex, LS_PARTIAL_PART);
  /* link() never replaces an existing file: the atomic no-clobber move. */
  if (link(path, dest_path) != 0) return -errno;
  if (durable) ls_fsync_parent(dest_path);
  static const ls_partial_file_t files[] = {LS_PARTIAL_HAVE, LS_PARTIAL_NAME, LS_PARTIAL_MANIFEST, LS_PARTIAL_PART};
  for (size_t i = 0; i < 4; i++) {
    state_path(path, sizeof path, p->temp_dir, p->root_hex, files[i]);
    unlink(path);
  }
  return 0;
}

void ls_partial_close(ls_partial_t *p) {
  if (p->part_fd >= 0) close(p->part_fd);
  if (p->have_fd >= 0) close(p->have_fd);
  p->part_fd = p->have_fd = -1;
  free(p->have);
  free(p->name);
  free(p->temp_dir);
  p->have = NULL;
  p->name = p->temp_dir = NULL;
  ls_manifest_free(&p->manifest);
}

long ls_partial_read_have(const char *temp_dir, const char *root_hex, uint8_t *have, uint32_t nchunks) {
  char path[4096];
  state_path(path, sizeof path, temp_dir, root_hex, LS_PARTIAL_HAVE);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  memset(have, 0, nchunks);
  ssize_t got = pread(fd, have, nchunks, 0);
  int err = errno;
  close(fd);
  if (got < 0) return -err;
  long count = 0;
  for (uint32_t i = 0; i < nchunks; i++) {
    if (have[i] != 1) have[i] = 0;
    count += have[i];
  }
  return count;
}

int ls_partial_chunk_held(const char *temp_dir, const char *root_hex, uint32_t index) {
  char path[4096];
  uint8_t have = 0;
  if (ls_partial_path(temp_dir, root_hex, LS_PARTIAL_HAVE, path, sizeof path) != 0) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int held = pread(fd, &have, 1, (off_t)index) == 1 && have == 1;
  close(fd);
  return held;
}

/* Takes R.part's lock if nobody holds it; the fd (locked) or -1 with *busy. */
static int lock_part(const char *temp_dir, const char *root_hex, int *busy) {
  char path[4096];
  state_path(path, sizeof path, temp_dir, root_hex, LS_PARTIAL_PART);
  *busy = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    *busy = errno == EWOULDBLOCK;
    close(fd);
    return -1;
  }
  return fd;
}

int ls_partial_busy(const char *temp_dir, const char *root_hex) {
  int busy, fd = lock_part(temp_dir, root_hex, &busy);
  if (fd >= 0) close(fd);
  return busy;
}

int ls_partial_remove(const char *temp_dir, const char *root_hex) {
  int busy, fd = lock_part(temp_dir, root_hex, &busy);
  if (busy) return -EBUSY;
  int rc = 0;
  char path[4096];
  /* The lock is held while the files go: no downloader opens it meanwhile. */
  for (int k = LS_PARTIAL_PART; k <= LS_PARTIAL_NAME; k++) {
    state_path(path, sizeof path, temp_dir, root_hex, (ls_partial_file_t)k);
    if (unlink(path) != 0 && errno != ENOENT && rc == 0) rc = -errno;
  }
  if (fd >= 0) close(fd);
  return rc;
}

void ls_partial_bar(const uint8_t *have, uint32_t nchunks, unsigned cells, char *out) {
  if (cells > nchunks) cells = nchunks;
  for (unsigned k = 0; k < cells; k++) {
    uint32_t from = (uint32_t)((uint64_t)nchunks * k / cells), to = (uint32_t)((uint64_t)nchunks * (k + 1) / cells);
    uint32_t got = 0;
    for (uint32_t i = from; i < to; i++) got += have[i] != 0;
    out[k] = got == to - from ? '#' : got > 0 ? '+' : '.';
  }
  out[cells] = '\0';
}

long ls_partial_map(const char *temp_dir, const char *root_hex, unsigned cells, char *out) {
  char path[4096];
  state_path(path, sizeof path, temp_dir, root_hex, LS_PARTIAL_HAVE);
  uint8_t *have;
  size_t n;
  int rc = ls_read_file(path, LS_MANIFEST_MAX_CHUNKS, &have, &n);
  if (rc != 0) return rc;
  ls_partial_bar(have, (uint32_t)n, cells, out);
  free(have);
  return (long)n;
}

static int is_root_hex(const char *s, size_t len) {
  return len == LS_HASH_HEX_LEN && strspn(s, "0123456789abcdef") >= LS_HASH_HEX_LEN;
}

/* One temp/ROOT.manifest: its info to cb; 1 if cb asked to stop. */
static int scan_one(const char *temp_dir, const char *file, ls_partial_scan_cb cb, void *ud) {
  const char *dot = strrchr(file, '.');
  if (dot == NULL || strcmp(dot, ".manifest") != 0 || !is_root_hex(file, (size_t)(dot - file))) return 0;
  ls_partial_info_t info;
  memset(&info, 0, sizeof info);
  memcpy(info.root_hex, file, LS_HASH_HEX_LEN);
  if (ls_partial_load_manifest(temp_dir, info.root_hex, &info.manifest) != 0) return 0;
  int stop = 0;
  if (ls_partial_read_name(temp_dir, info.root_hex, info.name, sizeof info.name) == 0) {
    uint8_t *have = malloc(info.manifest.nchunks + 1);
    info.held = have ? ls_partial_read_have(temp_dir, info.root_hex, have, info.manifest.nchunks) : -ENOMEM;
    free(have);
    stop = cb(ud, &info);
  }
  ls_manifest_free(&info.manifest);
  return stop;
}

int ls_partial_scan(const char *temp_dir, ls_partial_scan_cb cb, void *ud) {
  DIR *d = opendir(temp_dir);
  if (d == NULL) return -errno;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (scan_one(temp_dir, de->d_name, cb, ud)) break;
  closedir(d);
  return 0;
}
