#include "ls_util.h"

#include <uv.h>

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ls_read_file(const char *path, size_t max, uint8_t **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return -EINVAL;
  }
  if ((uint64_t)st.st_size > max) {
    close(fd);
    return -EFBIG;
  }
  size_t cap = (size_t)st.st_size;
  uint8_t *buf = malloc(cap + 1);
  if (buf == NULL) {
    close(fd);
    return -ENOMEM;
  }
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return -e;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

void ls_fsync_parent(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int ls_write_file_atomic(const char *path, const void *data, size_t len, int durable) {
  return ls_write_file_atomic_mode(path, data, len, durable, 0644);
}

int ls_write_file_atomic_mode(const char *path, const void *data, size_t len, int durable, unsigned mode) {
  struct iovec part = {(void *)data, len};
  return ls_write_file_atomic_parts(path, &part, 1, durable, mode);
}

int ls_write_file_atomic_parts(const char *path, const struct iovec *parts, unsigned n, int durable, unsigned mode) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) return -ENAMETOOLONG;
  unlink(tmp); /* a leftover of a killed run would keep its old mode */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return -errno;
  for (unsigned i = 0; i < n; i++) {
    const char *p = parts[i].iov_base;
    size_t left = parts[i].iov_len;
    while (left > 0) {
      ssize_t w = write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return -e;
      }
      p += w;
      left -= (size_t)w;
    }
  }
  if (durable && fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return -e;
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  if (durable) ls_fsync_parent(path);
  return 0;
}

int ls_mkdir_p(const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -errno;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -errno;
  struct stat st;
  if (stat(buf, &st) != 0) return -errno;
  return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int64_t ls_unix_now(void) {
  return (int64_t)time(NULL);
}

int ls_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  if (s == NULL || *s < '0' || *s > '9') return -EINVAL;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return -EINVAL;
  *out = v;
  return 0;
}

int ls_parse_size(const char *s, uint64_t *out) {
  if (s == NULL || *s < '0' || *s > '9') return -EINVAL;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0) return -EINVAL;
  uint64_t mult = 1;
  switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1ULL << 10; end++; break;
    case 'm': case 'M': mult = 1ULL << 20; end++; break;
    case 'g': case 'G': mult = 1ULL << 30; end++; break;
    default: return -EINVAL;
  }
  if (*end == 'i') end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end != '\0') return -EINVAL;
  if (v > UINT64_MAX / mult) return -EINVAL;
  *out = v * mult;
  return 0;
}

void ls_format_bytes(double bytes, char *buf, size_t len) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    u++;
  }
  if (u == 0) snprintf(buf, len, "%.0f B", bytes);
  else snprintf(buf, len, "%.1f %s", bytes, units[u]);
}

int ls_program_dir(char *out, size_t len) {
  char exe[PATH_MAX];
  size_t n = sizeof exe;
  if (uv_exepath(exe, &n) != 0) snprintf(exe, sizeof exe, "/usr/bin/lanswarm");
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  return snprintf(out, len, "%s", slash ? exe : "/usr/bin") < (int)len ? 0 : -ENAMETOOLONG;
}

void ls_heap_for_chunks(void) {
  mallopt(M_MMAP_THRESHOLD, 8 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
}
