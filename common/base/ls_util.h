/* ls_util: small blocking file helpers used by several modules. */
#ifndef LS_UTIL_H
#define LS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Reads a whole file of at most max bytes into a malloc'ed buffer (NUL
 * appended, not counted). -EFBIG if larger. */
int ls_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes path.tmp.<pid> then renames it over path, so readers see the old
 * file or the new one, never half of one. durable: fsync file and folder. */
int ls_write_file_atomic(const char *path, const void *data, size_t len, int durable);
/* The same, creating the file with mode (before the umask), e.g. 0600 for a secret. */
int ls_write_file_atomic_mode(const char *path, const void *data, size_t len, int durable, unsigned mode);
/* The same for the file made of n parts, written one after another (no copy
 * into one buffer). */
int ls_write_file_atomic_parts(const char *path, const struct iovec *parts, unsigned n, int durable, unsigned mode);
void ls_fsync_parent(const char *path);
/* mkdir -p with mode 0755. */
int ls_mkdir_p(const char *path);
/* Wall-clock seconds since the epoch. */
int64_t ls_unix_now(void);
/* For a daemon moving chunk-sized buffers (the server, the downloader):
 * malloc serves buffers up to 8 MiB from its heap and keeps up to 16 MiB
 * free there, so a chunk's buffer reuses pages instead of fresh ones that
 * the kernel maps and zeroes each time (bench/README.md, "TLS cost"). */
void ls_heap_for_chunks(void);
/* The folder this program was started from (for its sibling lanswarm-*
 * programs); "/usr/bin" if the system cannot tell. Returns 0 or -ENAMETOOLONG. */
int ls_program_dir(char *out, size_t len);
/* Parses a decimal unsigned integer (whole string) within [min, max]. */
int ls_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parses sizes such as 1048576, 64K, 1M, 25MB (K/M/G = 1024 powers). */
int ls_parse_size(const char *s, uint64_t *out);
/* Formats bytes as "1.5 MiB". */
void ls_format_bytes(double bytes, char *buf, size_t len);

#endif
