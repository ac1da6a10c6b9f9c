#include "ls_auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

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

int ls_auth_seal(const ls_key_t *key, const char *json, size_t len, char *out, size_t cap) {
  if (len + LS_SEAL_OVERHEAD > cap) return -EMSGSIZE;
  uint8_t mac[LS_MAC_LEN];
  char hex[LS_HASH_HEX_LEN + 1];
  ls_auth_mac(key, "announce", (const uint8_t *)json, len, NULL, 0, mac);
  ls_hash_to_hex(mac, hex);
  memmove(out + LS_SEAL_OVERHEAD, json, len);
  memcpy(out, LS_SEAL_PREFIX, 4);
  memcpy(out + 4, hex, LS_HASH_HEX_LEN);
  return (int)(len + LS_SEAL_OVERHEAD);
}

int ls_auth_open(const ls_key_t *key, const char *buf, size_t len, const char **json, size_t *json_len) {
  uint8_t claimed[LS_MAC_LEN], mac[LS_MAC_LEN];
  if (len <= LS_SEAL_OVERHEAD || memcmp(buf, LS_SEAL_PREFIX, 4) != 0 ||
      ls_hash_from_hex(buf + 4, LS_HASH_HEX_LEN, claimed) != 0)
    return -EACCES;
  ls_auth_mac(key, "announce", (const uint8_t *)buf + LS_SEAL_OVERHEAD, len - LS_SEAL_OVERHEAD, NULL, 0, mac);
  if (!ls_auth_equal(mac, claimed)) return -EACCES;
  *json = buf + LS_SEAL_OVERHEAD;
  *json_len = len - LS_SEAL_OVERHEAD;
  return 0;
}
