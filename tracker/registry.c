#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

static size_t file_hash(const void *item) {
  return ((const reg_file_t *)item)->hash;
}

static int file_match(const void *item, const void *name) {
  return strcmp(((const reg_file_t *)item)->name, name) == 0;
}

/* Both the name index and each host's table hold records by name. */
static const ls_ptab_ops_t by_name = {file_hash, file_match};

int registry_init(registry_t *r) {
  memset(r, 0, sizeof *r);
  if (ls_map_init(&r->hosts) != 0) return -ENOMEM;
  ls_ptab_init(&r->names, &by_name);
  r->max_files = REGISTRY_MAX_FILES;
  r->max_files_per_host = REGISTRY_MAX_FILES_PER_HOST;
  r->max_name_bytes = REGISTRY_MAX_NAME_BYTES;
  return 0;
}

static int same_version(const reg_file_t *f, const ls_announce_file_t *a) {
  return f->size == a->size && f->chunk_size == a->chunk_size && f->complete == (a->complete != 0) &&
         memcmp(f->root, a->root, LS_HASH_LEN) == 0;
}

static int holders_add(reg_file_t *f, reg_host_t *h) {
  if (f->nholders == f->cap) {
    uint32_t cap = f->cap ? f->cap * 2 : 1;
    reg_host_t **v = realloc(f->holders, cap * sizeof *v);
    if (v == NULL) return -ENOMEM;
    f->holders = v;
    f->cap = cap;
  }
  f->holders[f->nholders++] = h;
  return 0;
}

static void holders_del(reg_file_t *f, const reg_host_t *h) {
  for (uint32_t i = 0; i < f->nholders; i++) {
    if (f->holders[i] == h) {
      f->holders[i] = f->holders[--f->nholders];
      break;
    }
  }
  if (f->nholders > 0 && f->nholders * 4 <= f->cap) { /* memory follows the holders */
    reg_host_t **v = realloc(f->holders, f->cap / 2 * sizeof *v);
    if (v != NULL) {
      f->holders = v;
      f->cap /= 2;
    }
  }
}

/* Unlinks a record nobody holds any more from its name's chain and frees it. */
static void file_free(registry_t *r, reg_file_t *f) {
  void **slot = ls_ptab_slot(&r->names, f->hash, f->name);
  if (slot != NULL && *slot == f) {
    if (f->next != NULL) *slot = f->next;
    else ls_ptab_del(&r->names, f->hash, f->name);
  } else if (slot != NULL) {
    reg_file_t *p = *slot;
    while (p->next != f) p = p->next;
    p->next = f->next;
  }
  r->name_bytes -= strlen(f->name) + 1;
  free(f->holders);
  free(f);
}

/* h no longer holds f. */
static void file_release(registry_t *r, reg_file_t *f, const reg_host_t *h) {
  holders_del(f, h);
  if (f->nholders == 0) file_free(r, f);
}

/* A new record of a, held by h, chained after head (or the head of its name). */
static int file_new(registry_t *r, const ls_announce_file_t *a, size_t hash, reg_file_t *head, reg_host_t *h,
                    reg_file_t **out) {
  size_t len = strlen(a->name);
  if (r->name_bytes + len + 1 > r->max_name_bytes) return -ENOSPC;
  reg_file_t *f = calloc(1, sizeof *f + len + 1);
  if (f == NULL || holders_add(f, h) != 0) {
    free(f);
    return -ENOMEM;
  }
  f->hash = hash;
  f->size = a->size;
  f->chunk_size = a->chunk_size;
  f->complete = a->complete != 0;
  memcpy(f->root, a->root, LS_HASH_LEN);
  memcpy(f->name, a->name, len + 1);
  if (head != NULL) {
    f->next = head->next;
    head->next = f;
  } else if (ls_ptab_put(&r->names, f) != 0) {
    free(f->holders);
    free(f);
    return -ENOMEM;
  }
  r->name_bytes += len + 1;
  *out = f;
  return 0;
}

/* The record of a (an existing one when another host published the same),
 * now held by h too. 0, -ENOSPC (the name bytes' limit) or -ENOMEM. */
static int file_acquire(registry_t *r, const ls_announce_file_t *a, size_t hash, reg_host_t *h, reg_file_t **out) {
  reg_file_t *head = ls_ptab_get(&r->names, hash, a->name);
  for (reg_file_t *f = head; f != NULL; f = f->next) {
    if (same_version(f, a)) {
      *out = f;
      return holders_add(f, h);
    }
  }
  return file_new(r, a, hash, head, h, out);
}

static void file_drop(registry_t *r, reg_host_t *h, const char *name) {
  reg_file_t *f = ls_ptab_del(&h->files, ls_ptab_hash_str(name), name);
  if (f == NULL) return;
  file_release(r, f, h);
  r->total_files--;
}

static void drop_all(registry_t *r, reg_host_t *h) {
  for (size_t i = 0; i < h->files.nslots; i++)
    if (h->files.slots[i] != NULL) file_release(r, h->files.slots[i], h);
  r->total_files -= h->files.count;
  ls_ptab_close(&h->files);
}

int registry_add(registry_t *r, const char *name, const char *addr, uint16_t port, void *owner, reg_host_t **out) {
  if (ls_map_get(&r->hosts, name) != NULL) return -EEXIST;
  reg_host_t *h = calloc(1, sizeof *h);
  if (h == NULL) return -ENOMEM;
  snprintf(h->name, sizeof h->name, "%s", name);
  snprintf(h->addr, sizeof h->addr, "%s", addr);
  h->port = port;
  h->since = ls_unix_now();
  h->owner = owner;
  ls_ptab_init(&h->files, &by_name);
  if (ls_map_put(&r->hosts, name, h) != 0) {
    free(h);
    return -ENOMEM;
  }
  h->prev = r->last;
  if (r->last) r->last->next = h;
  else r->first = h;
  r->last = h;
  *out = h;
  return 0;
}

reg_host_t *registry_find(const registry_t *r, const char *name) {
  return ls_map_get(&r->hosts, name);
}

void registry_remove(registry_t *r, reg_host_t *h) {
  drop_all(r, h);
  ls_map_del(&r->hosts, h->name);
  if (h->prev) h->prev->next = h->next;
  else r->first = h->next;
  if (h->next) h->next->prev = h->prev;
  else r->last = h->prev;
  free(h);
}

void registry_close(registry_t *r) {
  while (r->first) registry_remove(r, r->first);
  ls_map_close(&r->hosts);
  ls_ptab_close(&r->names);
}

/* One file of a publish: added, or its version changed. 0, -ENOSPC, -ENOMEM. */
static int publish_one(registry_t *r, reg_host_t *h, const ls_announce_file_t *a) {
  size_t hash = ls_ptab_hash_str(a->name);
  void **slot = ls_ptab_slot(&h->files, hash, a->name);
  reg_file_t *f;
  if (slot != NULL) {
    reg_file_t *old = *slot;
    if (same_version(old, a)) return 0;
    int rc = file_acquire(r, a, hash, h, &f);
    if (rc != 0) return rc; /* the old version stays */
    *slot = f;
    file_release(r, old, h);
    return 0;
  }
  if (h->files.count >= r->max_files_per_host || r->total_files >= r->max_files) return -ENOSPC;
  int rc = file_acquire(r, a, hash, h, &f);
  if (rc != 0) return rc;
  if (ls_ptab_put(&h->files, f) != 0) {
    file_release(r, f, h);
    return -ENOMEM;
  }
  r->total_files++;
  return 0;
}

int registry_publish(registry_t *r, reg_host_t *h, const ls_announce_file_t *files, size_t n, int replace) {
  int rc = 0;
  if (replace) drop_all(r, h);
  for (size_t i = 0; i < n; i++) {
    int one = publish_one(r, h, &files[i]);
    if (one == -ENOMEM) return one;
    if (one != 0) rc = one;
  }
  return rc;
}

void registry_unpublish(registry_t *r, reg_host_t *h, char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) file_drop(r, h, names[i]);
}

const reg_file_t *registry_file(const registry_t *r, const char *name) {
  return ls_ptab_get(&r->names, ls_ptab_hash_str(name), name);
}

size_t registry_holder_count(const registry_t *r, const char *name) {
  size_t n = 0;
  for (const reg_file_t *f = registry_file(r, name); f != NULL; f = f->next) n += f->nholders;
  return n;
}

size_t registry_host_count(const registry_t *r) {
  return r->hosts.count;
}

static void fill_row(ls_tentry_t *e, const reg_host_t *h, const reg_file_t *f) {
  memcpy(e->host, h->name, sizeof e->host);
  memcpy(e->addr, h->addr, sizeof e->addr);
  e->port = h->port;
  e->file.name = (char *)f->name; /* points into the registry */
  e->file.size = f->size;
  e->file.chunk_size = f->chunk_size;
  memcpy(e->file.root, f->root, LS_HASH_LEN);
  e->file.complete = f->complete;
}

size_t registry_lookup(const registry_t *r, const char *name, size_t max, ls_tentry_t *out) {
  size_t k = 0;
  for (const reg_file_t *f = registry_file(r, name); f != NULL; f = f->next)
    for (uint32_t i = 0; i < f->nholders && k < max; i++) fill_row(&out[k++], f->holders[i], f);
  return k;
}

size_t registry_rows(const registry_t *r, size_t offset, size_t max, ls_tentry_t *out) {
  size_t k = 0, skipped = 0;
  for (const reg_host_t *h = r->first; h && k < max; h = h->next) {
    if (skipped + h->files.count <= offset) {
      skipped += h->files.count;
      continue;
    }
    for (size_t i = 0; i < h->files.nslots && k < max; i++) {
      if (h->files.slots[i] == NULL || skipped++ < offset) continue;
      fill_row(&out[k++], h, h->files.slots[i]);
    }
  }
  return k;
}

size_t registry_rows_by_root(const registry_t *r, const uint8_t *root, size_t max, ls_tentry_t *out) {
  size_t k = 0;
  for (const reg_host_t *h = r->first; h && k < max; h = h->next)
    for (size_t i = 0; i < h->files.nslots && k < max; i++) {
      const reg_file_t *f = h->files.slots[i];
      if (f != NULL && memcmp(f->root, root, LS_HASH_LEN) == 0) fill_row(&out[k++], h, f);
    }
  return k;
}
