/* ls_auth: the optional network key (docs/SECURITY.md).
 *
 * With a key file configured, only peers holding the same key take part:
 * announcements carry an HMAC-SHA256 and are ignored without a valid one
 * (here); the chunk protocol and the tracker link run inside TLS 1.3 with a
 * PSK derived from the key (ls_tls, in common/loop), which authenticates
 * both ends and encrypts every byte. */
#ifndef LS_AUTH_H
#define LS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define LS_KEY_MIN 16
#define LS_KEY_MAX 4096
#define LS_NONCE_LEN 32
#define LS_MAC_LEN 32
#define LS_SEAL_PREFIX "LSK1"
#define LS_SEAL_OVERHEAD (4 + 2 * LS_MAC_LEN) /* "LSK1" + hex MAC before the JSON */

typedef struct {
  uint8_t bytes[LS_KEY_MAX];
  size_t len;
  int set;
} ls_key_t;

/* Reads a key file (trailing whitespace ignored). 0, -EINVAL (shorter than
 * LS_KEY_MIN bytes), -EFBIG, or -errno. */
int ls_key_load(const char *path, ls_key_t *key);

/* HMAC-SHA256(key, label || a || b). */
void ls_auth_mac(const ls_key_t *key, const char *label, const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen, uint8_t out[LS_MAC_LEN]);
/* Constant-time comparison of two MACs: 1 if equal. */
int ls_auth_equal(const uint8_t *x, const uint8_t *y);
void ls_auth_nonce(uint8_t out[LS_NONCE_LEN]);

/* Announcement datagrams: out = "LSK1" + hex(HMAC(key, "announce" || json)) + json.
 * Returns the length, or -EMSGSIZE if out (cap bytes) is too small. */
int ls_auth_seal(const ls_key_t *key, const char *json, size_t len, char *out, size_t cap);
/* Checks a sealed datagram; on success points *json at the JSON inside.
 * 0 or -EACCES. */
int ls_auth_open(const ls_key_t *key, const char *buf, size_t len, const char **json, size_t *json_len);

#endif
