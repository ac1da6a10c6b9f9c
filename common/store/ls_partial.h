/* ls_partial: a download in progress, kept in temp/ so it survives a crash.
 *
 * For a content with root R (hex), temp/ holds:
 *   R.manifest  the manifest's canonical bytes (written first, atomically)
 *   R.name      the file name it will get in downloads/ (one line)
 *   R.part      the data, at full size; chunk i at offset i * chunk_size
 *   R.have      one byte per chunk: 1 once that chunk was verified and written
 * A chunk's bytes reach R.part before its byte in R.have is set, so a reader
 * (the chunk server, the next downloader after kill -9) never trusts a chunk
 * that was not written whole. One file + one byte map, not a file per chunk:
 * no directory of thousands of files, one fd to serve from, and the finished
 * file is R.part itself, linked into downloads/ without copying.
 * All functions here block: call them off the loop thread. */
#ifndef LS_PARTIAL_H
#define LS_PARTIAL_H

#include <stdint.h>

#include "ls_manifest.h"
#include "ls_name.h"

typedef enum { LS_PARTIAL_PART, LS_PARTIAL_HAVE, LS_PARTIAL_MANIFEST, LS_PARTIAL_NAME } ls_partial_file_t;

/* The path of one of root_hex's files in temp_dir: "TEMP/ROOT.part" etc. The
 * one place that spells the layout. 0 or -ENAMETOOLONG. */
int ls_partial_path(const char *temp_dir, const char *root_hex, ls_partial_file_t which, char *buf, size_t cap);

typedef struct {
  char *temp_dir;
  char *name;
  char root_hex[LS_HASH_HEX_LEN + 1];
  ls_manifest_t manifest;   /* size, chunk size and count (hashes NULL: the caller has them) */
  int part_fd;
  int have_fd;
  uint8_t *have;   /* nchunks bytes, 0 or 1 */
  uint32_t nhave;  /* chunks marked */
  int flush_rc;    /* the first failed ls_partial_flush (0: none) */
} ls_partial_t;

/* Opens the partial state for manifest m (creating it if absent), takes an
 * exclusive lock (-EBUSY if another downloader holds it) and loads the map.
 * name must be valid (ls_name_valid). Returns 0 or a negative errno. */
int ls_partial_open(ls_partial_t *p, const char *temp_dir, const ls_manifest_t *m, const char *name);
/* Reads the manifest a previous run stored for root (hex). 0, -ENOENT, -EINVAL. */
int ls_partial_load_manifest(const char *temp_dir, const char *root_hex, ls_manifest_t *m);
/* Writes a verified chunk, then marks it. Returns 0 or -errno (e.g. -ENOSPC). */
int ls_partial_write_chunk(ls_partial_t *p, uint32_t index, const void *data, uint32_t len);
/* A chunk verified in parts (a big chunk, hashed as it arrives): len bytes
 * at off within chunk index, written unmarked; ls_partial_mark once every
 * part is written and the whole chunk verified. 0 or -errno. */
int ls_partial_write_part(ls_partial_t *p, uint32_t index, uint32_t off, const void *data, uint32_t len);
int ls_partial_mark(ls_partial_t *p, uint32_t index);
/* Reads chunk index into buf (len bytes). */
int ls_partial_read_chunk(ls_partial_t *p, uint32_t index, void *buf, uint32_t len);
/* Clears a mark (a chunk that failed re-verification). */
int ls_partial_unmark(ls_partial_t *p, uint32_t index);
/* Starts writing chunk index back to disk now, without waiting (a download
 * that ends with fsync: the disk works while the rest arrives, and the final
 * fsync finds little left). 0 or a negative errno. */
int ls_partial_writeback(ls_partial_t *p, uint32_t index);
/* Makes what R.part holds so far durable (fdatasync), so that the final
 * fsync finds little left: sync_file_range only hands the pages to the disk,
 * whose own write cache is emptied by a flush, and a flush takes as long as
 * what it holds. Not concurrently with ls_partial_finish. A failure is kept
 * (the kernel reports a write error to one sync only) and refuses the finish.
 * 0 or a negative errno. */
int ls_partial_flush(ls_partial_t *p);
/* Links the data to dest_path without replacing an existing file (-EEXIST),
 * then removes the temp files. durable: fsync the data and the folder first,
 * so a power cut cannot leave a damaged file under the final name. An earlier
 * ls_partial_flush's failure is returned first (nothing linked). */
int ls_partial_finish(ls_partial_t *p, const char *dest_path, int durable);
void ls_partial_close(ls_partial_t *p);

/* For readers that do not own the download (the chunk server, the catalog):
 * fills have (nchunks bytes) from R.have. Returns the number of chunks held or
 * a negative errno. */
long ls_partial_read_have(const char *temp_dir, const char *root_hex, uint8_t *have, uint32_t nchunks);
/* Reads R.name into buf. 0 or negative errno (-EINVAL if not a valid name). */
int ls_partial_read_name(const char *temp_dir, const char *root_hex, char *buf, size_t len);
/* 1 if R.have marks chunk index as verified and written, else 0. */
int ls_partial_chunk_held(const char *temp_dir, const char *root_hex, uint32_t index);

/* 1 while a downloader holds root_hex's partial open (its lock on R.part),
 * 0 when nothing is fetching it (or it does not exist). */
int ls_partial_busy(const char *temp_dir, const char *root_hex);
/* Discards root_hex's partial download: its four files. -EBUSY (nothing
 * removed) while a downloader holds it; else 0, or the first unlink's
 * negative errno other than -ENOENT. */
int ls_partial_remove(const char *temp_dir, const char *root_hex);

/* A map of nchunks (one byte per chunk) drawn in cells characters (at most
 * nchunks; out holds cells + 1): '#' every chunk of that part held, '+' some,
 * '.' none. For `lanswarm loc` and the dashboard's chunk map. */
void ls_partial_bar(const uint8_t *have, uint32_t nchunks, unsigned cells, char *out);
/* root_hex's R.have drawn so (out holds cells + 1). The number of chunks, or
 * a negative errno (no such partial: -ENOENT). */
long ls_partial_map(const char *temp_dir, const char *root_hex, unsigned cells, char *out);

/* A download in progress, as ls_partial_scan finds it. */
typedef struct {
  char root_hex[LS_HASH_HEX_LEN + 1];
  char name[LS_NAME_MAX + 1];
  ls_manifest_t manifest;   /* size, chunk size and count (hashes NULL: the caller has them) */ /* the callback may take it (and zero it) */
  long held;              /* chunks held, or a negative errno if R.have is unreadable */
} ls_partial_info_t;

/* Returns nonzero to stop the scan. */
typedef int (*ls_partial_scan_cb)(void *ud, ls_partial_info_t *info);
/* Calls cb for each download in temp_dir with a valid manifest and name.
 * 0, or a negative errno if the folder cannot be read. */
int ls_partial_scan(const char *temp_dir, ls_partial_scan_cb cb, void *ud);

#endif
