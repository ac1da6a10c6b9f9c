/* registry: what the tracker knows: registered hosts and the files each
 * published, with an index from file name to holders. Pure data, no I/O. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ls_announce.h"
#include "ls_map.h"
#include "ls_tmsg.h"

#define REGISTRY_MAX_FILES_PER_HOST 50000
#define REGISTRY_MAX_FILES 5000000

typedef struct reg_host_s {
  char name[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  int64_t since;              /* Unix seconds */
  ls_map_t files;             /* name -> ls_announce_file_t* */
  void *owner;                /* the tracker's connection */
  struct reg_host_s *prev, *next;
} reg_host_t;

typedef struct {
  reg_host_t **v;
  size_t n, cap;
} reg_holders_t;

typedef struct {
  ls_map_t hosts;             /* name -> reg_host_t* */
  ls_map_t by_name;           /* file name -> reg_holders_t* */
  reg_host_t *first, *last;   /* registration order */
  size_t total_files;
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
/* Holders of a name (the caller must not keep the array). */
const reg_holders_t *registry_holders(const registry_t *r, const char *name);
size_t registry_host_count(const registry_t *r);
/* Rows from offset, at most max, in registration order; returns how many. */
size_t registry_rows(const registry_t *r, size_t offset, size_t max, ls_tentry_t *out);
/* Rows holding a root (scans every host: admin use). */
size_t registry_rows_by_root(const registry_t *r, const uint8_t *root, size_t max, ls_tentry_t *out);

#endif
