/* ls_tags: the tags.txt store: which peer has which file.
 *
 * One line per (peer, file), fields separated by one TAB, the name last:
 *   tag  address:port  root  size  chunk_size  complete|partial  last_seen  name
 * address:port is a.b.c.d:port, or [v6addr%ifname]:port for IPv6 (the scope
 * only when link-local); e->addr holds the address without brackets.
 * last_seen is Unix seconds (UTC). Lines starting with '#' are comments.
 * The file is always replaced whole and atomically (ls_write_file_atomic).
 * See docs/PROTOCOL.md. */
#ifndef LS_TAGS_H
#define LS_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"
#include "ls_name.h"
#include "ls_net.h"

#define LS_TAGS_HEADER "# lanswarm tags v1: tag\taddress:port\troot\tsize\tchunk_size\tstate\tlast_seen\tname\n"
#define LS_TAGS_MAX_BYTES (256u << 20)
#define LS_ADDR_MAX LS_NET_ADDR_MAX /* dotted IPv4, or IPv6 with "%ifname" when link-local */

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  uint8_t root[LS_HASH_LEN];
  uint64_t size;
  uint32_t chunk_size;
  int complete;
  int64_t last_seen;
  char *name;
} ls_tag_entry_t;

/* Parses "a.b.c.d:port" (port 1-65535) of len bytes: the address column of
 * tags.txt and peers.txt. 0 or -EINVAL. */
int ls_tags_parse_endpoint(const char *text, size_t len, char addr[LS_ADDR_MAX], uint16_t *port);
/* Parses one line (without its newline). 0 or -EINVAL; e->name is malloc'ed. */
int ls_tags_parse_line(const char *line, size_t len, ls_tag_entry_t *e);
/* Appends the line (with newline) to buf; returns its length or -ENOSPC. */
int ls_tags_format_line(const ls_tag_entry_t *e, char *buf, size_t cap);

/* Reads the whole file; invalid lines are skipped and counted in *bad (may be
 * NULL). A missing file gives zero entries. */
int ls_tags_read(const char *path, ls_tag_entry_t **out, size_t *n, size_t *bad);
/* What a failed ls_tags_read (its negative rc) means, as the end of the
 * sentence "cannot read PATH: ...", for every reader to say alike. */
const char *ls_tags_read_error(int rc);
/* Replaces the file atomically with the header and these entries. */
int ls_tags_write(const char *path, const ls_tag_entry_t *entries, size_t n);
/* Formats the whole file into a malloc'ed buffer (what ls_tags_write writes). */
int ls_tags_render(const ls_tag_entry_t *entries, size_t n, char **out, size_t *len);
void ls_tags_free(ls_tag_entry_t *entries, size_t n);

#endif
