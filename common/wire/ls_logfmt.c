#include "ls_logfmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

int ls_logfmt_begin(ls_logfmt_reader_t *r, const char *line, size_t len, char time[LS_LOGFMT_TIME_MAX]) {
  if (len > 0 && line[len - 1] == '\n') len--;
  if (len > 0 && line[len - 1] == '\r') len--;
  if (len == 0 || len > LS_LOGFMT_LINE_MAX) return -EINVAL;
  for (size_t i = 0; i < len; i++)
    if (is_control((unsigned char)line[i])) return -EINVAL;
  const char *sp = memchr(line, ' ', len);
  if (sp == NULL || sp == line || (size_t)(sp - line) >= LS_LOGFMT_TIME_MAX) return -EINVAL;
  memcpy(time, line, (size_t)(sp - line));
  time[sp - line] = '\0';
  r->p = sp;
  r->end = line + len;
  return 0;
}

/* A quoted value from just after its opening quote; r->p ends after the close. */
static int read_quoted(ls_logfmt_reader_t *r, const char *v, char *value, size_t cap) {
  size_t n = 0;
  while (v < r->end && *v != '"') {
    if (*v == '\\') {
      if (++v == r->end) return -EINVAL;
    }
    if (n + 1 >= cap) return -EINVAL;
    value[n++] = *v++;
  }
  if (v == r->end) return -EINVAL; /* unterminated */
  value[n] = '\0';
  r->p = v + 1;
  return 2;
}

int ls_logfmt_next(ls_logfmt_reader_t *r, char key[LS_LOGFMT_KEY_MAX], char *value, size_t cap) {
  const char *p = r->p;
  while (p < r->end && *p == ' ') p++;
  if (p == r->end) {
    r->p = p;
    return 0;
  }
  const char *eq = p;
  while (eq < r->end && is_key_char(*eq)) eq++;
  if (eq == p || eq == r->end || *eq != '=' || (size_t)(eq - p) >= LS_LOGFMT_KEY_MAX || cap == 0) return -EINVAL;
  memcpy(key, p, (size_t)(eq - p));
  key[eq - p] = '\0';
  const char *v = eq + 1;
  if (v < r->end && *v == '"') {
    int rc = read_quoted(r, v + 1, value, cap);
    if (rc < 0 || (r->p < r->end && *r->p != ' ')) return -EINVAL;
    return rc;
  }
  size_t n = 0;
  while (v < r->end && *v != ' ') {
    if (*v == '"' || n + 1 >= cap) return -EINVAL;
    value[n++] = *v++;
  }
  value[n] = '\0';
  r->p = v;
  return 1;
}

int ls_logfmt_decode(const char *line, size_t len, char time[LS_LOGFMT_TIME_MAX], const ls_logfmt_keys_t *keys,
                     ls_logfmt_field_cb field, void *rec) {
  ls_logfmt_reader_t r;
  unsigned seen = 0;
  if (keys->count > 32 || ls_logfmt_begin(&r, line, len, time) != 0) return -EINVAL;
  char *value = malloc(LS_LOGFMT_LINE_MAX + 1);
  if (value == NULL) return -ENOMEM;
  char key[LS_LOGFMT_KEY_MAX];
  int rc;
  while ((rc = ls_logfmt_next(&r, key, value, LS_LOGFMT_LINE_MAX + 1)) > 0) {
    int k = 0;
    while (k < keys->count && strcmp(key, keys->names[k]) != 0) k++;
    if (k == keys->count) continue;
    int quoted = (keys->quoted >> k) & 1u;
    if ((seen & (1u << k)) || quoted != (rc == 2) || field(rec, k, value) != 0) {
      rc = -EINVAL;
      break;
    }
    seen |= 1u << k;
  }
  free(value);
  return rc == 0 && (seen & keys->required) != keys->required ? -EINVAL : rc;
}

int ls_logfmt_u64(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (*s == '\0') return -EINVAL;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -EINVAL;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10) return -ERANGE;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int ls_logfmt_decimal(const char *s, double *out) {
  size_t before = strspn(s, "0123456789");
  if (before == 0 || before > 30) return -EINVAL;
  const char *rest = s + before;
  if (*rest == '.') {
    size_t after = strspn(rest + 1, "0123456789");
    if (after == 0 || after > 30) return -EINVAL;
    rest += 1 + after;
  }
  if (*rest != '\0') return -EINVAL;
  *out = strtod(s, NULL);
  return 0;
}

int ls_logfmt_list(char *s, char **items, size_t max, size_t *n) {
  *n = 0;
  if (strcmp(s, "-") == 0) return 0;
  for (char *tok = s; tok != NULL;) {
    char *comma = strchr(tok, ',');
    if (comma) *comma = '\0';
    if (*n == max || *tok == '\0') return -EINVAL;
    items[(*n)++] = tok;
    tok = comma ? comma + 1 : NULL;
  }
  return 0;
}

int ls_logfmt_hostport(const char *s, char addr[16], uint16_t *port) {
  const char *colon = strrchr(s, ':');
  uint64_t v;
  struct in_addr in;
  if (colon == NULL || colon == s || (size_t)(colon - s) >= 16) return -EINVAL;
  memcpy(addr, s, (size_t)(colon - s));
  addr[colon - s] = '\0';
  if (inet_pton(AF_INET, addr, &in) != 1 || ls_logfmt_u64(colon + 1, 65535, &v) != 0) return -EINVAL;
  *port = (uint16_t)v;
  return 0;
}

int ls_logfmt_endpoint(const char *s, char addr[LS_NET_ADDR_MAX], uint16_t *port) {
  return ls_net_endpoint_parse(s, strlen(s), addr, LS_NET_ADDR_MAX, port) == 0 ? 0 : -EINVAL;
}

static void put(ls_logfmt_writer_t *w, const char *s, size_t n) {
  if (w->overflow || w->len + n >= w->cap) {
    w->overflow = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

void ls_logfmt_start(ls_logfmt_writer_t *w, char *buf, size_t cap, const char *time) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->overflow = cap == 0;
  if (cap) buf[0] = '\0';
  put(w, time, strlen(time));
}

static void put_key(ls_logfmt_writer_t *w, const char *key) {
  put(w, " ", 1);
  put(w, key, strlen(key));
  put(w, "=", 1);
}

void ls_logfmt_add(ls_logfmt_writer_t *w, const char *key, const char *fmt, ...) {
  char text[LS_LOGFMT_LINE_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof text) {
    w->overflow = 1;
    return;
  }
  if (key != NULL) put_key(w, key);
  put(w, text, (size_t)n);
}

void ls_logfmt_add_quoted(ls_logfmt_writer_t *w, const char *key, const char *value) {
  put_key(w, key);
  put(w, "\"", 1);
  for (const char *s = value; *s; s++) {
    if (*s == '"' || *s == '\\') put(w, "\\", 1);
    put(w, is_control((unsigned char)*s) ? "?" : s, 1);
  }
  put(w, "\"", 1);
}

int ls_logfmt_end(ls_logfmt_writer_t *w) {
  put(w, "\n", 1);
  return w->overflow ? -ENOSPC : (int)w->len;
}
