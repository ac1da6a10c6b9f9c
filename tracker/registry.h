/* registry: what the tracker knows: registered hosts and the files each
 * published, with an index from file name to holders. Pure data, no I/O.
 *
 * A file is kept once however many hosts hold it: hosts that publish the same
 * name with the same size, chunk size, root and state share one record (a
 * host's table points at it, the record lists its holders); another version
 * under the same name is a second record chained to the first. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ls_announce.h"
#include "ls_map.h"
#include "ls_ptab.h"
#include "ls_tmsg.h"

#define REGISTRY_MAX_FILES_PER_HOST 50000
#define REGISTRY_MAX_FILES 16000000          /* (host, file) pairs: a file held by 5 hosts counts 5 */
#define REGISTRY_MAX_NAME_BYTES (1u << 30)   /* of the distinct names (and versions) kept */

typedef struct reg_host_s reg_host_t;

typedef struct reg_file_s {
  size_t hash;                /* of the name */
  struct reg_file_s *next;    /* another version of the same name, or NULL */
  reg_host_t **holders;
  uint32_t nholders, cap;
  uint64_t size;
  uint32_t chunk_size;
  uint8_t complete;
  uint8_t root[LS_HASH_LEN];
  char name[];
} reg_file_t;

struct reg_host_s {
  char name[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  int64_t since;              /* Unix seconds */
  ls_ptab_t files;            /* its reg_file_t*, by name */
  void *owner;                /* the tracker's connection */
  struct reg_host_s *prev, *next;
};

typedef struct {
  ls_map_t hosts;             /* name -> reg_host_t* */
  ls_ptab_t names;            /* the first reg_file_t of every name */
  reg_host_t *first, *last;   /* registration order */
  size_t total_files;         /* (host, file) pairs */
  size_t name_bytes;          /* kept for the records' names */
  /* The limits, REGISTRY_MAX_* unless a test lowers them. */
  size_t max_files, max_files_per_host, max_name_bytes;
} registry_t;

int registry_init(registry_t *r);
void registry_close(registry_t *r);
/* -EEXIST if the name is taken. */
int registry_add(registry_t *r, const char *name, const char *addr, uint16_t port, void *owner, reg_host_t **out);
reg_host_t *registry_find(const registry_t *r, const char *name);
void registry_remove(registry_t *r, reg_host_t *h);
/* Adds or updates files; replace drops the host's other files first.
 * Returns 0, or -ENOSPC if a limit refused some. */
int registry_publish(registry_t *r, reg_host_t *h, const ls_announce_file_t *files, size_t n, int replace);
void registry_unpublish(registry_t *r, reg_host_t *h, char *const *names, size_t n);
/* How many hosts hold a name. */
size_t registry_holder_count(const registry_t *r, const char *name);
/* Rows of the holders of a name, at most max; returns how many. */
size_t registry_lookup(const registry_t *r, const char *name, size_t max, ls_tentry_t *out);
/* The first record of a name (the others follow through next), or NULL. */
const reg_file_t *registry_file(const registry_t *r, const char *name);
size_t registry_host_count(const registry_t *r);
/* Rows from offset, at most max, in registration order; returns how many.
 * The rows' names point into the registry. */
size_t registry_rows(const registry_t *r, size_t offset, size_t max, ls_tentry_t *out);
/* Rows holding a root (scans every host: admin use). */
size_t registry_rows_by_root(const registry_t *r, const uint8_t *root, size_t max, ls_tentry_t *out);

#endif
