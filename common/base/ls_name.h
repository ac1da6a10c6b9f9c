/* ls_name: the one place that decides what a file name or a peer tag may be.
 * Every name that arrives from the network, from tags.txt or from a scan of the
 * share goes through these checks before it is used. */
#ifndef LS_NAME_H
#define LS_NAME_H

#include <stddef.h>

#define LS_NAME_MAX 1024    /* bytes in a relative file name */
#define LS_NAME_COMPONENT_MAX 255
#define LS_TAG_MAX 64

/* A relative path name inside a share: valid UTF-8, components separated by
 * '/', none empty, "." or "..", no leading '/', no control characters
 * (including tab, newline, DEL), no backslash, at most LS_NAME_MAX bytes.
 * Returns 1 if valid. */
int ls_name_valid(const char *name, size_t len);

/* A peer tag: 1..64 bytes of [A-Za-z0-9._-]. Returns 1 if valid. */
int ls_tag_valid(const char *tag, size_t len);

#endif
