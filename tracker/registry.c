#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

int registry_init(registry_t *r) {
  memset(r, 0, sizeof *r);
  if (ls_map_init(&r->hosts) != 0 || ls_map_init(&r->by_name) != 0) return -ENOMEM;
  return 0;
}

static void holders_del(registry_t *r, const char *name, reg_host_t *h) {
  reg_holders_t *hs = ls_map_get(&r->by_name, name);
  if (hs == NULL) return;
  for (size_t i = 0; i < hs->n; i++) {
    if (hs->v[i] == h) {
      hs->v[i] = hs->v[--hs->n];
      break;
    }
  }
  if (hs->n == 0) {
    ls_map_del(&r->by_name, name);
    free(hs->v);
    free(hs);
  }
}

static int holders_add(registry_t *r, const char *name, reg_host_t *h) {
  reg_holders_t *hs = ls_map_get(&r->by_name, name);
  if (hs == NULL) {
    hs = calloc(1, sizeof *hs);
    if (hs == NULL || ls_map_put(&r->by_name, name, hs) != 0) {
      free(hs);
      return -ENOMEM;
    }
  }
  if (hs->n == hs->cap) {
    size_t cap = hs->cap ? hs->cap * 2 : 2;
    reg_host_t **v = realloc(hs->v, cap * sizeof *v);
    if (v == NULL) return -ENOMEM;
    hs->v = v;
    hs->cap = cap;
  }
  hs->v[hs->n++] = h;
  return 0;
}

static void file_drop(registry_t *r, reg_host_t *h, const char *name) {
  ls_announce_file_t *f = ls_map_get(&h->files, name);
  if (f == NULL) return;
  holders_del(r, name, h);
  ls_map_del(&h->files, name);
  free(f->name);
  free(f);
  r->total_files--;
}

static void drop_all(registry_t *r, reg_host_t *h) {
  /* Collect names first: the map may not change under its iterator. */
  size_t n = h->files.count, k = 0;
  char **names = malloc((n + 1) * sizeof *names);
  if (names == NULL) return;
  for (ls_map_node_t *it = ls_map_first(&h->files); it; it = ls_map_next(&h->files, it))
    names[k++] = ((ls_announce_file_t *)it->value)->name;
  for (size_t i = 0; i < k; i++) file_drop(r, h, names[i]);
  free(names);
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
  if (ls_map_init(&h->files) != 0 || ls_map_put(&r->hosts, name, h) != 0) {
    ls_map_close(&h->files);
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
  ls_map_close(&h->files);
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
  ls_map_close(&r->by_name);
}

int registry_publish(registry_t *r, reg_host_t *h, const ls_announce_file_t *files, size_t n, int replace) {
  int rc = 0;
  if (replace) drop_all(r, h);
  for (size_t i = 0; i < n; i++) {
    ls_announce_file_t *f = ls_map_get(&h->files, files[i].name);
    if (f != NULL) {
      char *name = f->name;
      *f = files[i];
      f->name = name;
      continue;
    }
    if (h->files.count >= REGISTRY_MAX_FILES_PER_HOST || r->total_files >= REGISTRY_MAX_FILES) {
      rc = -ENOSPC;
      continue;
    }
    f = malloc(sizeof *f);
    if (f == NULL) return -ENOMEM;
    *f = files[i];
    f->name = strdup(files[i].name);
    if (f->name == NULL || ls_map_put(&h->files, f->name, f) != 0) {
      free(f->name);
      free(f);
      return -ENOMEM;
    }
    if (holders_add(r, f->name, h) != 0) {
      ls_map_del(&h->files, f->name);
      free(f->name);
      free(f);
      return -ENOMEM;
    }
    r->total_files++;
  }
  return rc;
}

void registry_unpublish(registry_t *r, reg_host_t *h, char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) file_drop(r, h, names[i]);
}

const reg_holders_t *registry_holders(const registry_t *r, const char *name) {
  return ls_map_get(&r->by_name, name);
}

size_t registry_host_count(const registry_t *r) {
  return r->hosts.count;
}

static void fill_row(ls_tentry_t *e, const reg_host_t *h, const ls_announce_file_t *f) {
  memcpy(e->host, h->name, sizeof e->host);
  memcpy(e->addr, h->addr, sizeof e->addr);
  e->port = h->port;
  e->file = *f; /* the name points into the registry */
}

size_t registry_rows(const registry_t *r, size_t offset, size_t max, ls_tentry_t *out) {
  size_t k = 0, skipped = 0;
  for (const reg_host_t *h = r->first; h && k < max; h = h->next) {
    if (skipped + h->files.count <= offset) {
      skipped += h->files.count;
      continue;
    }
    for (ls_map_node_t *it = ls_map_first(&h->files); it && k < max; it = ls_map_next(&h->files, it)) {
      if (skipped++ < offset) continue;
      fill_row(&out[k++], h, it->value);
    }
  }
  return k;
}

size_t registry_rows_by_root(const registry_t *r, const uint8_t *root, size_t max, ls_tentry_t *out) {
  size_t k = 0;
  for (const reg_host_t *h = r->first; h && k < max; h = h->next)
    for (ls_map_node_t *it = ls_map_first(&h->files); it && k < max; it = ls_map_next(&h->files, it)) {
      const ls_announce_file_t *f = it->value;
      if (memcmp(f->root, root, LS_HASH_LEN) == 0) fill_row(&out[k++], h, f);
    }
  return k;
}
