#include "ls_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ls_ptab.h"

int ls_map_init(ls_map_t *m) {
  m->nbuckets = 16;
  m->count = 0;
  m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
  return m->buckets == NULL ? -ENOMEM : 0;
}

void ls_map_close(ls_map_t *m) {
  for (size_t i = 0; i < m->nbuckets; i++) {
    ls_map_node_t *n = m->buckets[i];
    while (n != NULL) {
      ls_map_node_t *next = n->next;
      free(n);
      n = next;
    }
  }
  free(m->buckets);
  m->buckets = NULL;
  m->nbuckets = m->count = 0;
}

void *ls_map_get(const ls_map_t *m, const char *key) {
  size_t h = ls_ptab_hash_str(key);
  for (ls_map_node_t *n = m->buckets[h & (m->nbuckets - 1)]; n != NULL; n = n->next)
    if (n->hash == h && strcmp(n->key, key) == 0) return n->value;
  return NULL;
}

static void grow(ls_map_t *m) {
  size_t nb = m->nbuckets * 2;
  ls_map_node_t **b = calloc(nb, sizeof *b);
  if (b == NULL) return; /* stay slower, still correct */
  for (size_t i = 0; i < m->nbuckets; i++) {
    ls_map_node_t *n = m->buckets[i];
    while (n != NULL) {
      ls_map_node_t *next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
      n = next;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
}

int ls_map_put(ls_map_t *m, const char *key, void *value) {
  size_t h = ls_ptab_hash_str(key);
  for (ls_map_node_t *n = m->buckets[h & (m->nbuckets - 1)]; n != NULL; n = n->next) {
    if (n->hash == h && strcmp(n->key, key) == 0) {
      n->value = value;
      return 0;
    }
  }
  size_t klen = strlen(key);
  ls_map_node_t *n = malloc(sizeof *n + klen + 1);
  if (n == NULL) return -ENOMEM;
  memcpy(n->key, key, klen + 1);
  n->hash = h;
  n->value = value;
  n->next = m->buckets[h & (m->nbuckets - 1)];
  m->buckets[h & (m->nbuckets - 1)] = n;
  if (++m->count > m->nbuckets) grow(m);
  return 0;
}

void *ls_map_del(ls_map_t *m, const char *key) {
  size_t h = ls_ptab_hash_str(key);
  ls_map_node_t **pp = &m->buckets[h & (m->nbuckets - 1)];
  for (; *pp != NULL; pp = &(*pp)->next) {
    ls_map_node_t *n = *pp;
    if (n->hash == h && strcmp(n->key, key) == 0) {
      void *v = n->value;
      *pp = n->next;
      free(n);
      m->count--;
      return v;
    }
  }
  return NULL;
}

ls_map_node_t *ls_map_first(const ls_map_t *m) {
  for (size_t i = 0; i < m->nbuckets; i++)
    if (m->buckets[i] != NULL) return m->buckets[i];
  return NULL;
}

ls_map_node_t *ls_map_next(const ls_map_t *m, const ls_map_node_t *node) {
  if (node->next != NULL) return node->next;
  for (size_t i = (node->hash & (m->nbuckets - 1)) + 1; i < m->nbuckets; i++)
    if (m->buckets[i] != NULL) return m->buckets[i];
  return NULL;
}
