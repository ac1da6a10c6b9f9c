/* ls_tls: two ends in memory, bytes carried between them by the test. */
#include <openssl/ssl.h>

#include "helpers.h"
#include "ls_tls.h"

static void make_key(ls_key_t *k, const char *text) {
  memset(k, 0, sizeof *k);
  k->len = strlen(text);
  memcpy(k->bytes, text, k->len);
  k->set = 1;
}

/* Moves what `from` has to send into `to`; returns the bytes moved. The
 * optional flip changes one byte at that offset of what moves. */
static size_t carry(ls_tls_t *from, ls_tls_t *to, long flip) {
  uint8_t buf[65536];
  size_t total = 0, n;
  while ((n = ls_tls_take(from, buf, sizeof buf)) > 0) {
    if (flip >= 0 && (size_t)flip >= total && (size_t)flip < total + n) buf[(size_t)flip - total] ^= 0x01;
    assert_int_equal(ls_tls_feed(to, buf, n), 0);
    total += n;
  }
  return total;
}

/* Runs both handshakes until neither moves; returns each end's last result. */
static void handshake(ls_tls_t *client, ls_tls_t *server, int *crc, int *src) {
  *crc = *src = 0;
  for (int round = 0; round < 10; round++) {
    if (*crc == 0) *crc = ls_tls_handshake(client);
    size_t moved = carry(client, server, -1);
    if (*src == 0) *src = ls_tls_handshake(server);
    moved += carry(server, client, -1);
    if (moved == 0 && (*crc != 0 || *src != 0)) break;
  }
  if (*crc == 0) *crc = ls_tls_handshake(client);
}

typedef struct {
  ls_tls_ctx_t *cctx, *sctx;
  ls_tls_t c, s;
} pair_t;

static void pair_open(pair_t *p, const char *client_key, const char *server_key, ls_tls_kind_t ck, ls_tls_kind_t sk) {
  ls_key_t a, b;
  make_key(&a, client_key);
  make_key(&b, server_key);
  assert_int_equal(ls_tls_ctx_new(&a, ck, LS_TLS_CLIENT, &p->cctx), 0);
  assert_int_equal(ls_tls_ctx_new(&b, sk, LS_TLS_SERVER, &p->sctx), 0);
  assert_int_equal(ls_tls_init(&p->c, p->cctx), 0);
  assert_int_equal(ls_tls_init(&p->s, p->sctx), 0);
}

static void pair_close(pair_t *p) {
  ls_tls_close(&p->c);
  ls_tls_close(&p->s);
  ls_tls_ctx_free(p->cctx);
  ls_tls_ctx_free(p->sctx);
}

/* The PSK is HKDF-SHA256 as PROTOCOL.md says: the vector is from
 * `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:"the swarm's shared key"
 *  -kdfopt salt:lanswarm -kdfopt info:"lanswarm/1 tls13 psk chunk" HKDF`. */
static void psk_is_the_documented_hkdf(void **state) {
  (void)state;
  static const uint8_t want[LS_TLS_PSK_LEN] = {0x54, 0x70, 0x83, 0xD3, 0x7F, 0x55, 0x09, 0xE3, 0x06, 0x9B, 0xA4,
                                               0x3D, 0x15, 0xB0, 0x9A, 0x1A, 0x1D, 0x50, 0x7D, 0x7F, 0x4D, 0x83,
                                               0xFD, 0xC2, 0xA1, 0xEB, 0xEC, 0x45, 0x7A, 0xB9, 0xA3, 0xA2};
  ls_key_t k;
  uint8_t chunk[LS_TLS_PSK_LEN], tracker[LS_TLS_PSK_LEN];
  make_key(&k, "the swarm's shared key");
  assert_int_equal(ls_tls_derive(&k, LS_TLS_CHUNK, chunk), 0);
  assert_memory_equal(chunk, want, sizeof want);
  assert_int_equal(ls_tls_derive(&k, LS_TLS_TRACKER, tracker), 0);
  assert_memory_not_equal(chunk, tracker, sizeof chunk);
  k.set = 0;
  assert_int_equal(ls_tls_derive(&k, LS_TLS_CHUNK, chunk), -EINVAL);
  ls_tls_ctx_t *ctx;
  assert_int_equal(ls_tls_ctx_new(&k, LS_TLS_CHUNK, LS_TLS_SERVER, &ctx), -EINVAL);
  assert_null(ctx);
}

/* Same key: the handshake ends on both sides, in TLS 1.3 with an (EC)DHE
 * group (forward secrecy), and bytes flow both ways, none of them in clear. */
static void same_key_talks(void **state) {
  (void)state;
  pair_t p;
  int crc, src;
  pair_open(&p, "the swarm's shared key", "the swarm's shared key", LS_TLS_CHUNK, LS_TLS_CHUNK);
  assert_int_equal(ls_tls_read(&p.s, (uint8_t[4]){0}, 4), 0); /* nothing before the handshake */
  assert_int_equal(ls_tls_write(&p.c, (const uint8_t *)"x", 1), -ENOTCONN);
  handshake(&p.c, &p.s, &crc, &src);
  assert_int_equal(crc, 1);
  assert_int_equal(src, 1);
  SSL *ssl = p.s.ssl;
  assert_int_equal(SSL_version(ssl), TLS1_3_VERSION);
  assert_true(SSL_session_reused(ssl)); /* the PSK was used */
  assert_int_not_equal(SSL_get_negotiated_group(ssl), 0);
  assert_string_equal(SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)), "TLS_AES_128_GCM_SHA256");

  const char *secret = "MARKER-the-plaintext-that-must-not-show";
  assert_int_equal(ls_tls_write(&p.c, (const uint8_t *)secret, strlen(secret)), 0);
  uint8_t wire[4096];
  size_t n = ls_tls_take(&p.c, wire, sizeof wire);
  assert_true(n > strlen(secret));
  assert_null(memmem(wire, n, "MARKER", 6));
  assert_int_equal(ls_tls_feed(&p.s, wire, n), 0);
  uint8_t got[256];
  ssize_t r = ls_tls_read(&p.s, got, sizeof got);
  assert_int_equal(r, (ssize_t)strlen(secret));
  assert_memory_equal(got, secret, strlen(secret));
  assert_int_equal(ls_tls_read(&p.s, got, sizeof got), 0); /* all read */

  /* A big write comes out whole, in 16 KiB records. */
  size_t big = 200000;
  uint8_t *data = malloc(big), *back = malloc(big);
  for (size_t i = 0; i < big; i++) data[i] = (uint8_t)(i * 7);
  assert_int_equal(ls_tls_write(&p.s, data, big), 0);
  carry(&p.s, &p.c, -1);
  size_t have = 0;
  while ((r = ls_tls_read(&p.c, back + have, big - have)) > 0) have += (size_t)r;
  assert_int_equal(r, 0);
  assert_int_equal(have, big);
  assert_memory_equal(back, data, big);
  free(data);
  free(back);

  ls_tls_shutdown(&p.c); /* close_notify: the other end sees the end */
  carry(&p.c, &p.s, -1);
  assert_int_equal(ls_tls_read(&p.s, got, sizeof got), -EPIPE);
  pair_close(&p);
}

/* Another key fails the PSK binder: both ends fail, neither says a word. */
static void other_key_fails(void **state) {
  (void)state;
  pair_t p;
  int crc, src;
  pair_open(&p, "a key from elsewhere!", "the swarm's shared key", LS_TLS_CHUNK, LS_TLS_CHUNK);
  handshake(&p.c, &p.s, &crc, &src);
  assert_int_equal(src, -EACCES);
  assert_int_equal(crc, -EACCES);
  assert_non_null(strstr(ls_tls_error(&p.s), "TLS handshake failed"));
  assert_int_equal(ls_tls_write(&p.s, (const uint8_t *)"x", 1), -ENOTCONN);
  pair_close(&p);
  /* The same key for another kind of connection is another PSK. */
  pair_open(&p, "the swarm's shared key", "the swarm's shared key", LS_TLS_TRACKER, LS_TLS_CHUNK);
  handshake(&p.c, &p.s, &crc, &src);
  assert_int_equal(src, -EACCES);
  pair_close(&p);
}

/* One changed byte anywhere in a record (5 bytes of header, 11 of data, 1 of
 * type, 16 of tag): refused, and nothing of it read; a changed length only
 * waits for more, and fails with it. */
static void flipped_byte_fails(void **state) {
  (void)state;
  for (long at = 0; at < 5 + 11 + 1 + 16; at++) {
    pair_t p;
    int crc, src;
    pair_open(&p, "the swarm's shared key", "the swarm's shared key", LS_TLS_CHUNK, LS_TLS_CHUNK);
    handshake(&p.c, &p.s, &crc, &src);
    assert_int_equal(src, 1);
    assert_int_equal(ls_tls_write(&p.s, (const uint8_t *)"chunk bytes", 11), 0);
    carry(&p.s, &p.c, at);
    uint8_t got[64];
    ssize_t r = ls_tls_read(&p.c, got, sizeof got);
    if (r == 0) { /* a longer length: the record waits for bytes that follow */
      uint8_t more[400] = {0};
      assert_int_equal(ls_tls_write(&p.s, more, sizeof more), 0);
      carry(&p.s, &p.c, -1);
      r = ls_tls_read(&p.c, got, sizeof got);
    }
    assert_true(r < 0);
    assert_true(strlen(ls_tls_error(&p.c)) > 0);
    pair_close(&p);
  }
}

/* A raw OpenSSL client, without the PSK, up to max_version: the server's result. */
static int raw_client_result(int max_version) {
  ls_key_t k;
  make_key(&k, "the swarm's shared key");
  ls_tls_ctx_t *sctx;
  assert_int_equal(ls_tls_ctx_new(&k, LS_TLS_CHUNK, LS_TLS_SERVER, &sctx), 0);
  SSL_CTX *raw = SSL_CTX_new(TLS_method());
  SSL_CTX_set_max_proto_version(raw, max_version);
  SSL_CTX_set_cipher_list(raw, "ALL:@SECLEVEL=0");
  ls_tls_t s;
  assert_int_equal(ls_tls_init(&s, sctx), 0);
  SSL *c = SSL_new(raw);
  BIO *to_s = BIO_new(BIO_s_mem()), *to_c = BIO_new(BIO_s_mem());
  SSL_set_bio(c, to_c, to_s);
  SSL_set_connect_state(c);
  int result = 0;
  for (int round = 0; round < 6 && result == 0; round++) {
    SSL_do_handshake(c);
    uint8_t buf[8192];
    int n;
    while ((n = BIO_read(to_s, buf, sizeof buf)) > 0) ls_tls_feed(&s, buf, (size_t)n);
    result = ls_tls_handshake(&s);
    size_t m;
    while ((m = ls_tls_take(&s, buf, sizeof buf)) > 0) BIO_write(to_c, buf, (int)m);
  }
  SSL_free(c);
  SSL_CTX_free(raw);
  ls_tls_close(&s);
  ls_tls_ctx_free(sctx);
  return result;
}

/* TLS 1.2, and TLS 1.3 without the PSK (a certificate handshake): refused. */
static void no_psk_and_old_tls_refused(void **state) {
  (void)state;
  assert_int_equal(raw_client_result(TLS1_2_VERSION), -EACCES);
  assert_int_equal(raw_client_result(TLS1_3_VERSION), -EACCES);
}

/* Not TLS at all (a plaintext chunk request): the server's handshake fails,
 * and the first bytes tell a hello from anything else. */
static void plaintext_refused(void **state) {
  (void)state;
  pair_t p;
  pair_open(&p, "the swarm's shared key", "the swarm's shared key", LS_TLS_CHUNK, LS_TLS_CHUNK);
  static const uint8_t frame[] = {0, 0, 0, 38, 1, 0x01, 0, 0, 0, 5};
  assert_int_equal(ls_tls_looks_like_hello(frame, sizeof frame), 0);
  assert_int_equal(ls_tls_looks_like_hello(frame, 1), 0);
  assert_int_equal(ls_tls_looks_like_hello((const uint8_t *)"\x16", 1), -1);
  assert_int_equal(ls_tls_feed(&p.s, frame, sizeof frame), 0);
  assert_int_equal(ls_tls_handshake(&p.s), -EACCES);
  assert_int_equal(ls_tls_handshake(&p.c), 0); /* the ClientHello, waiting */
  uint8_t hello[2048];
  size_t n = ls_tls_take(&p.c, hello, sizeof hello);
  assert_int_equal(ls_tls_looks_like_hello(hello, n), 1);
  assert_null(memmem(hello, n, "the swarm", 9)); /* the key is not in it */
  pair_close(&p);
}

/* Records taken whole (ls_tls_take_all) and lent in uneven pieces from one
 * scratch buffer, reused (scribbled) after each ls_tls_lend_end, with reads
 * that stop early: what TLS had not read was kept, and the plaintext comes
 * out whole and in order. */
static void lent_bytes_rest_kept(void **state) {
  (void)state;
  pair_t p;
  int crc, src;
  pair_open(&p, "the swarm's shared key", "the swarm's shared key", LS_TLS_CHUNK, LS_TLS_CHUNK);
  handshake(&p.c, &p.s, &crc, &src);
  assert_int_equal(crc, 1);
  assert_int_equal(src, 1);
  carry(&p.s, &p.c, -1); /* the server's tickets-free finish, if any */
  enum { LEN = 100000 };
  uint8_t *plain = malloc(LEN), *got = malloc(LEN), scratch[3001];
  for (size_t i = 0; i < LEN; i++) plain[i] = (uint8_t)(i * 31 + i / 7);
  assert_int_equal(ls_tls_write(&p.s, plain, LEN), 0);
  size_t wire_len;
  uint8_t *wire = ls_tls_take_all(&p.s, &wire_len);
  assert_non_null(wire);
  assert_true(wire_len > LEN);
  assert_int_equal(ls_tls_pending(&p.s), 0);
  size_t off = 0, have = 0;
  while (have < LEN) {
    size_t n = wire_len - off < sizeof scratch ? wire_len - off : sizeof scratch;
    memcpy(scratch, wire + off, n);
    off += n;
    assert_int_equal(ls_tls_lend(&p.c, scratch, n), 0);
    ssize_t r = ls_tls_read(&p.c, got + have, LEN - have < 5000 ? LEN - have : 5000); /* stops early */
    assert_true(r >= 0);
    have += (size_t)r;
    assert_int_equal(ls_tls_lend_end(&p.c), 0);
    memset(scratch, 0xEE, sizeof scratch);
    if (off == wire_len)
      while ((r = ls_tls_read(&p.c, got + have, LEN - have)) > 0) have += (size_t)r;
    assert_true(off < wire_len || have == LEN);
  }
  assert_memory_equal(got, plain, LEN);
  free(wire);
  free(plain);
  free(got);
  pair_close(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(psk_is_the_documented_hkdf), cmocka_unit_test(same_key_talks),
      cmocka_unit_test(other_key_fails),            cmocka_unit_test(flipped_byte_fails),
      cmocka_unit_test(no_psk_and_old_tls_refused), cmocka_unit_test(plaintext_refused),
      cmocka_unit_test(lent_bytes_rest_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
