#include "ls_hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

struct ls_sha256_s {
  EVP_MD_CTX *md;
};

ls_sha256_t *ls_sha256_new(void) {
  ls_sha256_t *ctx = malloc(sizeof *ctx);
  if (ctx == NULL) return NULL;
  ctx->md = EVP_MD_CTX_new();
  if (ctx->md == NULL || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
    return NULL;
  }
  return ctx;
}

void ls_sha256_update(ls_sha256_t *ctx, const void *data, size_t len) {
  EVP_DigestUpdate(ctx->md, data, len);
}

void ls_sha256_final(ls_sha256_t *ctx, uint8_t out[LS_HASH_LEN]) {
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx->md, out, &n);
  EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL);
}

void ls_sha256_free(ls_sha256_t *ctx) {
  if (ctx == NULL) return;
  EVP_MD_CTX_free(ctx->md);
  free(ctx);
}

void ls_sha256(const void *data, size_t len, uint8_t out[LS_HASH_LEN]) {
  unsigned int n = 0;
  EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void ls_hash_to_hex(const uint8_t hash[LS_HASH_LEN], char out[LS_HASH_HEX_LEN + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < LS_HASH_LEN; i++) {
    out[2 * i] = digits[hash[i] >> 4];
    out[2 * i + 1] = digits[hash[i] & 15];
  }
  out[LS_HASH_HEX_LEN] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int ls_hash_from_hex(const char *hex, size_t len, uint8_t out[LS_HASH_LEN]) {
  if (len != LS_HASH_HEX_LEN) return -EINVAL;
  for (int i = 0; i < LS_HASH_LEN; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -EINVAL;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}
