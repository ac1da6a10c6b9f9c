/* lookup: from tags.txt entries to the holders of one file. */
#ifndef LOOKUP_H
#define LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "ls_tags.h"

typedef struct {
  uint8_t root[LS_HASH_LEN];
  uint64_t size;
  size_t holders;
} lookup_content_t;

typedef struct {
  lookup_content_t contents[16]; /* distinct contents announced under the name */
  size_t ncontents;
  size_t chosen;                 /* index into contents */
  fetch_holder_t holders[FETCH_MAX_PEERS];
  size_t nholders;
} lookup_t;

/* Finds NAME. With want_root (not NULL) only that content counts; else the
 * content with most holders. Entries of self_tag at self_port are skipped.
 * Returns 0, -ENOENT (no such name, or root) . */
int lookup_name(const ls_tag_entry_t *entries, size_t n, const char *name, const uint8_t *want_root,
                const char *self_tag, uint16_t self_port, lookup_t *out);

#endif
