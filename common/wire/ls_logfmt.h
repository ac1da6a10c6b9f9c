/* ls_logfmt: the line syntax shared by client.log and server.log
 * (docs/PROTOCOL.md, section 6): a timestamp, then ` key=value` pairs; a
 * quoted value is "..." with `"` and `\` escaped by a backslash. The record
 * codecs (ls_clientlog, ls_serverlog) are built on it; nothing else reads or
 * writes these lines. */
#ifndef LS_LOGFMT_H
#define LS_LOGFMT_H

#include <stddef.h>
#include <stdint.h>

#include "ls_net.h"

#define LS_LOGFMT_LINE_MAX 16384/* bytes in a line, without its newline */
#define LS_LOGFMT_KEY_MAX 32    /* bytes in a key, with its NUL */
#define LS_LOGFMT_TIME_MAX 40   /* bytes in the timestamp, with its NUL */

/* ---------- reading ---------- */

typedef struct {
  const char *p, *end;
} ls_logfmt_reader_t;

/* Starts reading one line (a trailing "\n" or "\r\n" is ignored): copies the
 * timestamp into time. 0, or -EINVAL for a line that is empty, overlong, holds
 * a control byte or has no pair after the timestamp. */
int ls_logfmt_begin(ls_logfmt_reader_t *r, const char *line, size_t len, char time[LS_LOGFMT_TIME_MAX]);
/* The next pair: the key (1 to LS_LOGFMT_KEY_MAX - 1 of a-z A-Z 0-9 _) and the
 * unescaped value (at most cap - 1 bytes). 1 for a bare value, 2 for a quoted
 * one, 0 at the end of the line, -EINVAL if malformed or a value does not fit. */
int ls_logfmt_next(ls_logfmt_reader_t *r, char key[LS_LOGFMT_KEY_MAX], char *value, size_t cap);

/* The keys of a record's line: names (at most 32); as bits (1 << index),
 * which of them have quoted values (the others bare ones) and which must be
 * there. */
typedef struct {
  const char *const *names;
  int count;
  unsigned quoted;
  unsigned required;
} ls_logfmt_keys_t;

/* A whole line for a record codec: each pair whose key is in keys goes to
 * field(rec, index, value), which returns 0 or -EINVAL; a key seen twice or
 * quoted the wrong way or a required one missing fails; unknown keys are
 * skipped (a later version's fields). 0, -EINVAL or -ENOMEM. */
typedef int (*ls_logfmt_field_cb)(void *rec, int index, char *value);
int ls_logfmt_decode(const char *line, size_t len, char time[LS_LOGFMT_TIME_MAX], const ls_logfmt_keys_t *keys,
                     ls_logfmt_field_cb field, void *rec);

/* Strict numbers: decimal digits only (no sign, no spaces), at most max. */
int ls_logfmt_u64(const char *s, uint64_t max, uint64_t *out);
/* digits[.digits], at most 30 digits before the point. */
int ls_logfmt_decimal(const char *s, double *out);

/* A list value: "-" (none) or items joined by ',' (none empty). Splits s in
 * place into items (at most max). 0, or -EINVAL if more or an empty one. */
int ls_logfmt_list(char *s, char **items, size_t max, size_t *n);

/* "a.b.c.d:port": a dotted IPv4 address (into addr, 16 bytes) and a port. */
int ls_logfmt_hostport(const char *s, char addr[16], uint16_t *port);
/* "a.b.c.d:port" or "[v6addr%ifname]:port" (ls_net_endpoint_parse): the
 * address into addr (LS_NET_ADDR_MAX bytes) and the port. */
int ls_logfmt_endpoint(const char *s, char addr[LS_NET_ADDR_MAX], uint16_t *port);

/* ---------- writing ---------- */

typedef struct {
  char *buf;
  size_t cap, len;
  int overflow;
} ls_logfmt_writer_t;

/* Starts a line in buf (cap bytes) with the timestamp. */
void ls_logfmt_start(ls_logfmt_writer_t *w, char *buf, size_t cap, const char *time);
/* Appends ` key=` (no key if NULL) and printf-formatted text, as is (no quoting). */
void ls_logfmt_add(ls_logfmt_writer_t *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends ` key="value"`, escaping `"` and `\`; a control byte is written as '?'. */
void ls_logfmt_add_quoted(ls_logfmt_writer_t *w, const char *key, const char *value);
/* Ends the line with "\n". Returns its length, or -ENOSPC if it did not fit. */
int ls_logfmt_end(ls_logfmt_writer_t *w);

#endif
