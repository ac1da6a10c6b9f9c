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
#define LS_SEAL_PREFIX "LSK2"
#define LS_SEAL_OLD_PREFIX "LSK1" /* before the time went in: refused (no replay protection) */
#define LS_SEAL_TIME_HEX 16
#define LS_SEAL_OVERHEAD (4 + LS_SEAL_TIME_HEX + 2 * LS_MAC_LEN) /* "LSK2", hex time, hex MAC, then the JSON */
#define LS_SEAL_OLD_OVERHEAD (4 + 2 * LS_MAC_LEN)
/* A sealed datagram is taken within this much of the receiver's clock: a
 * captured one is useless after it (keyed peers' clocks must agree within
 * it: NTP). Listeners also refuse one sealed before the newest they took
 * from the same peer (peer_table). */
#define LS_SEAL_WINDOW_MS 60000

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

/* Announcement datagrams: out = "LSK2" + T + hex(HMAC(key, "announce2" NUL T json))
 * + json, T the sealing time (ms since the Unix epoch) as 16 lowercase hex
 * digits. json may be within out. Returns the length, or -EMSGSIZE if out
 * (cap bytes) is too small. ls_auth_seal seals at the wall clock's now. */
int ls_auth_seal(const ls_key_t *key, const char *json, size_t len, char *out, size_t cap);
int ls_auth_seal_at(const ls_key_t *key, uint64_t unix_ms, const char *json, size_t len, char *out, size_t cap);
/* Checks a sealed datagram; on success points *json at the JSON inside and
 * gives its sealing time (ms since the epoch; not checked here: see
 * ls_auth_fresh). 0, -EACCES (not sealed with this key) or -EPROTO (sealed
 * the old way, "LSK1", without a time). */
int ls_auth_open(const ls_key_t *key, const char *buf, size_t len, const char **json, size_t *json_len,
                 uint64_t *sealed_ms);
/* Whether a seal of sealed_ms is within LS_SEAL_WINDOW_MS of now_ms (both
 * ms since the epoch): 1 or 0. */
int ls_auth_fresh(uint64_t sealed_ms, uint64_t now_ms);
/* How many bytes of seal come before the JSON of buf (unchecked: for
 * telling a sealed datagram from a plain one): LS_SEAL_OVERHEAD,
 * LS_SEAL_OLD_OVERHEAD, or 0 when it is not sealed. */
size_t ls_auth_seal_len(const char *buf, size_t len);
/* The wall clock, ms since the Unix epoch. */
uint64_t ls_auth_now_ms(void);

#endif
