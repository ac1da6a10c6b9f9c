#include "ls_tls.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT "lanswarm"
#define CIPHER_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define GROUPS "X25519:P-256"
#define RECORD_MAX 16384     /* a TLS record's plaintext */
#define RECORD_OVERHEAD 22   /* TLS 1.3 with AEAD: header 5, content type 1, tag 16 */
#define BUF_MIN 4096

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

/* ---------- the BIO: ciphertext in plain buffers ----------
 * TLS reads what was kept, then what is lent; it writes into t->out, grown
 * by doubling (ls_tls_write sizes it for its records first). */

/* Room for len more bytes at *buf's end. 0 or -ENOMEM. */
static int grow(uint8_t **buf, size_t *cap, size_t used, size_t len) {
  if (used + len <= *cap) return 0;
  size_t want = *cap * 2 > used + len ? *cap * 2 : used + len;
  if (want < BUF_MIN) want = BUF_MIN;
  uint8_t *p = realloc(*buf, want);
  if (p == NULL) return -ENOMEM;
  *buf = p;
  *cap = want;
  return 0;
}

static int bio_write(BIO *b, const char *data, size_t len, size_t *written) {
  ls_tls_t *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (grow(&t->out, &t->out_cap, t->out_len, len) != 0) return 0;
  memcpy(t->out + t->out_len, data, len);
  t->out_len += len;
  *written = len;
  return 1;
}

static int bio_read(BIO *b, char *data, size_t cap, size_t *got) {
  ls_tls_t *t = BIO_get_data(b);
  size_t n = 0;
  BIO_clear_retry_flags(b);
  if (t->kept_off < t->kept_len) {
    n = t->kept_len - t->kept_off < cap ? t->kept_len - t->kept_off : cap;
    memcpy(data, t->kept + t->kept_off, n);
    t->kept_off += n;
  } else if (t->lent_len > 0) {
    n = t->lent_len < cap ? t->lent_len : cap;
    memcpy(data, t->lent, n);
    t->lent += n;
    t->lent_len -= n;
  }
  if (n == 0) {
    BIO_set_retry_read(b); /* empty: "more needed", not end of stream */
    return 0;
  }
  *got = n;
  return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  ls_tls_t *t = BIO_get_data(b);
  (void)num;
  (void)ptr;
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return (long)(t->kept_len - t->kept_off + t->lent_len);
    case BIO_CTRL_WPENDING: return (long)t->out_len;
    default: return 0;
  }
}

static BIO_METHOD *bio_method;

static void bio_method_make(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lanswarm buffers");
  if (m == NULL) return;
  if (!BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
      !BIO_meth_set_ctrl(m, bio_ctrl)) {
    BIO_meth_free(m);
    return;
  }
  bio_method = m; /* kept for the process's life */
}

/* ---------- a connection ---------- */

int ls_tls_init(ls_tls_t *t, ls_tls_ctx_t *ctx) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  memset(t, 0, sizeof *t);
  pthread_once(&once, bio_method_make);
  SSL *ssl = bio_method ? SSL_new(ctx->ssl_ctx) : NULL;
  BIO *bio = bio_method ? BIO_new(bio_method) : NULL;
  if (ssl == NULL || bio == NULL) {
    SSL_free(ssl);
    BIO_free(bio);
    ERR_clear_error();
    return -ENOMEM;
  }
  BIO_set_data(bio, t);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio); /* ssl owns it now */
  if (ctx->role == LS_TLS_SERVER) SSL_set_accept_state(ssl);
  else SSL_set_connect_state(ssl);
  t->ssl = ssl;
  return 0;
}

void ls_tls_close(ls_tls_t *t) {
  SSL_free(t->ssl); /* and its BIO */
  t->ssl = NULL;
  free(t->out);
  free(t->kept);
  t->out = t->kept = NULL;
  t->out_len = t->out_cap = t->kept_off = t->kept_len = t->kept_cap = t->lent_len = 0;
}

/* The reason OpenSSL gives for the last failure, into t->error. */
static void note_error(ls_tls_t *t, const char *what) {
  unsigned long e = ERR_peek_last_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  snprintf(t->error, sizeof t->error, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
  ERR_clear_error();
}

int ls_tls_feed(ls_tls_t *t, const uint8_t *buf, size_t len) {
  if (len == 0) return 0;
  if (t->kept_off == t->kept_len) t->kept_off = t->kept_len = 0;
  if (t->kept_off > 0 && t->kept_len + len > t->kept_cap) { /* room at the front first */
    memmove(t->kept, t->kept + t->kept_off, t->kept_len - t->kept_off);
    t->kept_len -= t->kept_off;
    t->kept_off = 0;
  }
  if (grow(&t->kept, &t->kept_cap, t->kept_len, len) != 0) return -ENOMEM;
  memcpy(t->kept + t->kept_len, buf, len);
  t->kept_len += len;
  return 0;
}

int ls_tls_lend(ls_tls_t *t, const uint8_t *buf, size_t len) {
  if (t->kept_off < t->kept_len || t->lent_len > 0) return ls_tls_feed(t, buf, len); /* behind those */
  t->lent = buf;
  t->lent_len = len;
  return 0;
}

int ls_tls_lend_end(ls_tls_t *t) {
  const uint8_t *rest = t->lent;
  size_t n = t->lent_len;
  t->lent = NULL;
  t->lent_len = 0;
  return ls_tls_feed(t, rest, n);
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
  /* Room for all its records first, so that they are made in place. */
  if (grow(&t->out, &t->out_cap, t->out_len, len + (len / RECORD_MAX + 1) * RECORD_OVERHEAD) != 0) return -ENOMEM;
  /* The BIO takes everything: one call writes all of buf as records. */
  if (SSL_write_ex(t->ssl, buf, len, &n) == 1 && n == len) return 0;
  note_error(t, "TLS write failed");
  return -EPROTO;
}

size_t ls_tls_pending(const ls_tls_t *t) {
  return t->out_len;
}

size_t ls_tls_take(ls_tls_t *t, uint8_t *buf, size_t cap) {
  size_t n = t->out_len < cap ? t->out_len : cap;
  if (n == 0) return 0;
  memcpy(buf, t->out, n);
  memmove(t->out, t->out + n, t->out_len - n);
  t->out_len -= n;
  return n;
}

uint8_t *ls_tls_take_all(ls_tls_t *t, size_t *len) {
  uint8_t *p = t->out;
  *len = t->out_len;
  if (*len == 0) return NULL;
  t->out = NULL;
  t->out_len = t->out_cap = 0;
  return p;
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
