#include "ls_name.h"

#include <stdint.h>

/* Returns the length of the UTF-8 sequence at s (1..4), or 0 if invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  uint32_t cp;
  size_t n;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (avail < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

int ls_name_valid(const char *name, size_t len) {
  const unsigned char *s = (const unsigned char *)name;
  if (len == 0 || len > LS_NAME_MAX) return 0;
  if (s[0] == '/') return 0;
  size_t comp_start = 0;
  for (size_t i = 0; i <= len;) {
    if (i == len || s[i] == '/') {
      size_t clen = i - comp_start;
      if (clen == 0 || clen > LS_NAME_COMPONENT_MAX) return 0;
      if (clen == 1 && s[comp_start] == '.') return 0;
      if (clen == 2 && s[comp_start] == '.' && s[comp_start + 1] == '.') return 0;
      if (i == len) break;
      i++;
      comp_start = i;
      continue;
    }
    if (s[i] < 0x20 || s[i] == 0x7F || s[i] == '\\') return 0;
    size_t n = utf8_seq(s + i, len - i);
    if (n == 0) return 0;
    i += n;
  }
  return 1;
}

int ls_tag_valid(const char *tag, size_t len) {
  if (len == 0 || len > LS_TAG_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = tag[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    if (!ok) return 0;
  }
  return 1;
}
