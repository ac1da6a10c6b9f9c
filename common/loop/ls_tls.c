#include "ls_tls.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT "lanswarm"
#define CIPHER_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define GROUPS "X25519:P-256"

struct ls_tls_ctx_s {
  SSL_CTX *ssl_ctx;
  ls_tls_kind_t kind;
  ls_tls_role_t role;
  uint8_t psk[LS_TLS_PSK_LEN];
};

const char *ls_tls_identity(ls_tls_kind_t kind) {
  return kind == LS_TLS_TRACKER ? "lanswarm/1 tracker" : "lanswarm/1 chunk";
}

static const char *info_label(ls_tls_kind_t kind) {
  return kind == LS_TLS_TRACKER ? "lanswarm/1 tls13 psk tracker" : "lanswarm/1 tls13 psk chunk";
}

int ls_tls_derive(const ls_key_t *key, ls_tls_kind_t kind, uint8_t psk[LS_TLS_PSK_LEN]) {
  if (key == NULL || !key->set) return -EINVAL;
  char digest[] = "SHA256";
  const char *info = info_label(kind);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key->bytes, key->len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)SALT, strlen(SALT)),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
      OSSL_PARAM_construct_end()};
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
  int ok = kctx != NULL && EVP_KDF_derive(kctx, psk, LS_TLS_PSK_LEN, params) == 1;
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  return ok ? 0 : -EPROTO;
}

/* ---------- the PSK, as OpenSSL asks for it ---------- */

/* A session carrying the external PSK: TLS 1.3, a SHA-256 suite (the hash
 * of the PSK's binder; the other SHA-256 suite may still be negotiated). */
static SSL_SESSION *psk_session(SSL *ssl, const ls_tls_ctx_t *ctx) {
  static const unsigned char aes128gcm[] = {0x13, 0x01}; /* TLS_AES_128_GCM_SHA256 (RFC 8446, B.4) */
  const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm);
  SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
  if (s == NULL) return NULL;
  if (SSL_SESSION_set1_master_key(s, ctx->psk, LS_TLS_PSK_LEN) != 1 || SSL_SESSION_set_cipher(s, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(s);
    return NULL;
  }
  return s;
}

static const ls_tls_ctx_t *ctx_of(SSL *ssl) {
  return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* Client: offers the PSK (again after a HelloRetryRequest, if the hash fits). */
static int use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess) {
  const ls_tls_ctx_t *ctx = ctx_of(ssl);
  *sess = NULL;
  if (md != NULL && EVP_MD_get_type(md) != NID_sha256) return 1; /* no PSK for that hash */
  if ((*sess = psk_session(ssl, ctx)) == NULL) return 0;
  *id = (const unsigned char *)ls_tls_identity(ctx->kind);
  *idlen = strlen(ls_tls_identity(ctx->kind));
  return 1;
}

/* Server: knows one identity; any other means no PSK, and with no
 * certificate to fall back on the handshake fails. */
static int find_session_cb(SSL *ssl, const unsigned char *identity, size_t len, SSL_SESSION **sess) {
  const ls_tls_ctx_t *ctx = ctx_of(ssl);
  const char *want = ls_tls_identity(ctx->kind);
  *sess = NULL;
  if (len != strlen(want) || memcmp(identity, want, len) != 0) return 1;
  return (*sess = psk_session(ssl, ctx)) != NULL;
}

/* ---------- the context ---------- */

static int ctx_settings(SSL_CTX *c, ls_tls_role_t role) {
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 || SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(c, CIPHER_SUITES) != 1 || SSL_CTX_set1_groups_list(c, GROUPS) != 1 ||
      SSL_CTX_set_num_tickets(c, 0) != 1)
    return -EPROTO;
  /* No SSL_OP_ALLOW_NO_DHE_KEX: a PSK alone (psk_ke) is refused. */
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_options(c, SSL_OP_ALLOW_NO_DHE_KEX);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_max_early_data(c, 0);
  if (role == LS_TLS_CLIENT) SSL_CTX_set_psk_use_session_callback(c, use_session_cb);
  else SSL_CTX_set_psk_find_session_callback(c, find_session_cb);
  return 0;
}

int ls_tls_ctx_new(const ls_key_t *key, ls_tls_kind_t kind, ls_tls_role_t role, ls_tls_ctx_t **out) {
  *out = NULL;
  if (key == NULL || !key->set) return -EINVAL;
  ls_tls_ctx_t *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) return -ENOMEM;
  ctx->kind = kind;
  ctx->role = role;
  int rc = ls_tls_derive(key, kind, ctx->psk);
  if (rc == 0 && (ctx->ssl_ctx = SSL_CTX_new(TLS_method())) == NULL) rc = -ENOMEM;
  if (rc == 0) rc = ctx_settings(ctx->ssl_ctx, role);
  if (rc == 0 && SSL_CTX_set_app_data(ctx->ssl_ctx, ctx) != 1) rc = -EPROTO;
  ERR_clear_error();
  if (rc != 0) {
    ls_tls_ctx_free(ctx);
    return rc;
  }
  *out = ctx;
  return 0;
}

void ls_tls_ctx_free(ls_tls_ctx_t *ctx) {
  if (ctx == NULL) return;
  SSL_CTX_free(ctx->ssl_ctx);
  OPENSSL_cleanse(ctx->psk, sizeof ctx->psk);
  free(ctx);
}

ls_tls_role_t ls_tls_ctx_role(const ls_tls_ctx_t *ctx) {
  return ctx->role;
}

/* ---------- a connection ---------- */

int ls_tls_init(ls_tls_t *t, ls_tls_ctx_t *ctx) {
  memset(t, 0, sizeof *t);
  SSL *ssl = SSL_new(ctx->ssl_ctx);
  BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
  if (ssl == NULL || in == NULL || out == NULL) {
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    ERR_clear_error();
    return -ENOMEM;
  }
  BIO_set_mem_eof_return(in, -1); /* empty: "more needed", not end of stream */
  SSL_set_bio(ssl, in, out);      /* ssl owns both now */
  if (ctx->role == LS_TLS_SERVER) SSL_set_accept_state(ssl);
  else SSL_set_connect_state(ssl);
  t->ssl = ssl;
  t->in = in;
  t->out = out;
  return 0;
}

void ls_tls_close(ls_tls_t *t) {
  SSL_free(t->ssl); /* and its BIOs */
  t->ssl = t->in = t->out = NULL;
}

/* The reason OpenSSL gives for the last failure, into t->error. */
static void note_error(ls_tls_t *t, const char *what) {
  unsigned long e = ERR_peek_last_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  snprintf(t->error, sizeof t->error, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
  ERR_clear_error();
}

int ls_tls_feed(ls_tls_t *t, const uint8_t *buf, size_t len) {
  size_t n = 0;
  if (len == 0) return 0;
  if (BIO_write_ex(t->in, buf, len, &n) != 1 || n != len) {
    ERR_clear_error();
    return -ENOMEM;
  }
  return 0;
}

int ls_tls_handshake(ls_tls_t *t) {
  if (t->done) return 1;
  ERR_clear_error();
  int rc = SSL_do_handshake(t->ssl);
  if (rc == 1) {
    t->done = 1;
    return 1;
  }
  int e = SSL_get_error(t->ssl, rc);
  if (e == SSL_ERROR_WANT_READ) return 0;
  note_error(t, "TLS handshake failed");
  return -EACCES;
}

ssize_t ls_tls_read(ls_tls_t *t, uint8_t *buf, size_t cap) {
  size_t n = 0;
  if (!t->done) return 0;
  ERR_clear_error();
  if (SSL_read_ex(t->ssl, buf, cap, &n) == 1) return (ssize_t)n;
  int e = SSL_get_error(t->ssl, 0);
  if (e == SSL_ERROR_WANT_READ) return 0;
  if (e == SSL_ERROR_ZERO_RETURN) {
    t->peer_closed = 1;
    ERR_clear_error();
    return -EPIPE;
  }
  note_error(t, "TLS record refused");
  return -EBADMSG;
}

int ls_tls_write(ls_tls_t *t, const uint8_t *buf, size_t len) {
  size_t n = 0;
  if (!t->done) return -ENOTCONN;
  if (len == 0) return 0;
  ERR_clear_error();
  /* Memory BIOs take everything: one call writes all of buf as records. */
  if (SSL_write_ex(t->ssl, buf, len, &n) == 1 && n == len) return 0;
  note_error(t, "TLS write failed");
  return -EPROTO;
}

size_t ls_tls_pending(const ls_tls_t *t) {
  return t->out ? BIO_ctrl_pending(t->out) : 0;
}

size_t ls_tls_take(ls_tls_t *t, uint8_t *buf, size_t cap) {
  size_t n = 0;
  if (cap == 0 || ls_tls_pending(t) == 0) return 0;
  if (BIO_read_ex(t->out, buf, cap, &n) != 1) n = 0;
  ERR_clear_error();
  return n;
}

void ls_tls_shutdown(ls_tls_t *t) {
  if (t->ssl != NULL && t->done) SSL_shutdown(t->ssl);
  ERR_clear_error();
}

const char *ls_tls_error(const ls_tls_t *t) {
  return t->error;
}

int ls_tls_looks_like_hello(const uint8_t *buf, size_t len) {
  if (len < 2) return len == 1 && buf[0] != 0x16 ? 0 : -1;
  return buf[0] == 0x16 && buf[1] == 0x03; /* handshake record, TLS 3.x */
}
