/* ls_hash: SHA-256 (OpenSSL libcrypto) and hex helpers. */
#ifndef LS_HASH_H
#define LS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LS_HASH_LEN 32
#define LS_HASH_HEX_LEN 64

typedef struct ls_sha256_s ls_sha256_t; /* opaque streaming context */

ls_sha256_t *ls_sha256_new(void);
void ls_sha256_update(ls_sha256_t *ctx, const void *data, size_t len);
void ls_sha256_final(ls_sha256_t *ctx, uint8_t out[LS_HASH_LEN]); /* and resets */
void ls_sha256_free(ls_sha256_t *ctx);

/* One-shot digest. */
void ls_sha256(const void *data, size_t len, uint8_t out[LS_HASH_LEN]);

/* out gets 64 lowercase hex chars and a NUL. */
void ls_hash_to_hex(const uint8_t hash[LS_HASH_LEN], char out[LS_HASH_HEX_LEN + 1]);
/* Parses exactly 64 hex chars (either case). Returns 0 or -EINVAL. */
int ls_hash_from_hex(const char *hex, size_t len, uint8_t out[LS_HASH_LEN]);

#endif
