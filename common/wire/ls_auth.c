#include "ls_auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ls_hash.h"
#include "ls_util.h"

int ls_key_load(const char *path, ls_key_t *key) {
  uint8_t *data;
  size_t len;
  memset(key, 0, sizeof *key);
  int rc = ls_read_file(path, LS_KEY_MAX, &data, &len);
  if (rc != 0) return rc;
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' || data[len - 1] == '\t'))
    len--;
  if (len < LS_KEY_MIN) {
    OPENSSL_cleanse(data, len);
    free(data);
    return -EINVAL;
  }
  memcpy(key->bytes, data, len);
  key->len = len;
  key->set = 1;
  OPENSSL_cleanse(data, len);
  free(data);
  return 0;
}

void ls_auth_mac(const ls_key_t *key, const char *label, const uint8_t *a, size_t alen, const uint8_t *b,
                 size_t blen, uint8_t out[LS_MAC_LEN]) {
  size_t n = 0;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
  /* On failure: random bytes, so that two failures never compare equal. */
  if (RAND_bytes(out, LS_MAC_LEN) != 1) memset(out, 0xA5, LS_MAC_LEN);
  if (ctx != NULL && EVP_MAC_init(ctx, key->bytes, key->len, params) == 1 &&
      EVP_MAC_update(ctx, (const unsigned char *)label, strlen(label) + 1) == 1 && /* the NUL separates */
      (alen == 0 || EVP_MAC_update(ctx, a, alen) == 1) && (blen == 0 || EVP_MAC_update(ctx, b, blen) == 1)) {
    uint8_t full[EVP_MAX_MD_SIZE];
    if (EVP_MAC_final(ctx, full, &n, sizeof full) == 1 && n == LS_MAC_LEN) memcpy(out, full, LS_MAC_LEN);
  }
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(hmac);
}

int ls_auth_equal(const uint8_t *x, const uint8_t *y) {
  return CRYPTO_memcmp(x, y, LS_MAC_LEN) == 0;
}

void ls_auth_nonce(uint8_t out[LS_NONCE_LEN]) {
  if (RAND_bytes(out, LS_NONCE_LEN) != 1) memset(out, 0, LS_NONCE_LEN);
}

#define SEAL_LABEL "announce2"
#define SEAL_MAC_AT (4 + LS_SEAL_TIME_HEX)

int ls_auth_seal_at(const ls_key_t *key, uint64_t unix_ms, const char *json, size_t len, char *out, size_t cap) {
  if (len + LS_SEAL_OVERHEAD > cap) return -EMSGSIZE;
  uint8_t mac[LS_MAC_LEN];
  char hex[LS_HASH_HEX_LEN + 1], stamp[LS_SEAL_TIME_HEX + 1];
  snprintf(stamp, sizeof stamp, "%016llx", (unsigned long long)unix_ms);
  memmove(out + LS_SEAL_OVERHEAD, json, len);
  /* The time is inside the MAC: moving it breaks the seal. */
  ls_auth_mac(key, SEAL_LABEL, (const uint8_t *)stamp, LS_SEAL_TIME_HEX, (const uint8_t *)out + LS_SEAL_OVERHEAD,
              len, mac);
  ls_hash_to_hex(mac, hex);
  memcpy(out, LS_SEAL_PREFIX, 4);
  memcpy(out + 4, stamp, LS_SEAL_TIME_HEX);
  memcpy(out + SEAL_MAC_AT, hex, LS_HASH_HEX_LEN);
  return (int)(len + LS_SEAL_OVERHEAD);
}

uint64_t ls_auth_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ls_auth_seal(const ls_key_t *key, const char *json, size_t len, char *out, size_t cap) {
  return ls_auth_seal_at(key, ls_auth_now_ms(), json, len, out, cap);
}

/* The 16 lowercase hex digits of a seal's time. 0 or -1. */
static int parse_stamp(const char *s, uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < LS_SEAL_TIME_HEX; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') v = v << 4 | (uint64_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v << 4 | (uint64_t)(c - 'a' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

int ls_auth_open(const ls_key_t *key, const char *buf, size_t len, const char **json, size_t *json_len,
                 uint64_t *sealed_ms) {
  uint8_t claimed[LS_MAC_LEN], mac[LS_MAC_LEN];
  uint64_t stamp;
  if (len > LS_SEAL_OLD_OVERHEAD && memcmp(buf, LS_SEAL_OLD_PREFIX, 4) == 0) return -EPROTO;
  if (len <= LS_SEAL_OVERHEAD || memcmp(buf, LS_SEAL_PREFIX, 4) != 0 || parse_stamp(buf + 4, &stamp) != 0 ||
      stamp == 0 || ls_hash_from_hex(buf + SEAL_MAC_AT, LS_HASH_HEX_LEN, claimed) != 0)
    return -EACCES;
  ls_auth_mac(key, SEAL_LABEL, (const uint8_t *)buf + 4, LS_SEAL_TIME_HEX, (const uint8_t *)buf + LS_SEAL_OVERHEAD,
              len - LS_SEAL_OVERHEAD, mac);
  if (!ls_auth_equal(mac, claimed)) return -EACCES;
  *json = buf + LS_SEAL_OVERHEAD;
  *json_len = len - LS_SEAL_OVERHEAD;
  *sealed_ms = stamp;
  return 0;
}

int ls_auth_fresh(uint64_t sealed_ms, uint64_t now_ms) {
  uint64_t off = sealed_ms > now_ms ? sealed_ms - now_ms : now_ms - sealed_ms;
  return off <= LS_SEAL_WINDOW_MS;
}

size_t ls_auth_seal_len(const char *buf, size_t len) {
  if (len > LS_SEAL_OVERHEAD && memcmp(buf, LS_SEAL_PREFIX, 4) == 0) return LS_SEAL_OVERHEAD;
  if (len > LS_SEAL_OLD_OVERHEAD && memcmp(buf, LS_SEAL_OLD_PREFIX, 4) == 0) return LS_SEAL_OLD_OVERHEAD;
  return 0;
}
