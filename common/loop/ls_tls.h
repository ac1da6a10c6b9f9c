/* ls_tls: TLS 1.3 with an external pre-shared key derived from the network
 * key (docs/PROTOCOL.md, "The TLS layer"; docs/SECURITY.md).
 *
 * With a key_file, the chunk protocol (ls_conn) and the tracker link
 * (ls_tlink) run inside TLS 1.3: OpenSSL's libssl does the handshake and the
 * records; nothing here is a protocol of our own. The PSK is
 * HKDF-SHA256(key, salt "lanswarm", info "lanswarm/1 tls13 psk <kind>"), its
 * identity "lanswarm/1 <kind>"; the key exchange is PSK with (EC)DHE only
 * (psk_dhe_ke: forward secrecy), no certificates, no tickets, no resumption,
 * no early data; cipher suites TLS_AES_128_GCM_SHA256 and
 * TLS_CHACHA20_POLY1305_SHA256. A peer with another key fails the PSK binder,
 * so the handshake fails; a changed byte fails a record's AEAD tag, so the
 * connection ends.
 *
 * No socket here: a connection is driven through a BIO of our own over plain
 * buffers, so the owner's libuv stream stays the owner's. Bytes received go
 * in with ls_tls_feed (copied) or are lent with ls_tls_lend (read in place,
 * what is left copied at ls_tls_lend_end); the handshake advances with
 * ls_tls_handshake; plaintext comes out of ls_tls_read and goes in with
 * ls_tls_write; whatever TLS has to send (handshake messages, records,
 * alerts) waits in ls_tls_pending bytes, in one buffer sized for the records
 * before they are made, for ls_tls_take (a copy) or ls_tls_take_all (the
 * buffer itself, for a write without a copy). Errors are returned (negative
 * errno) with a sentence in ls_tls_error; nothing is printed. */
#ifndef LS_TLS_H
#define LS_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ls_auth.h"

#define LS_TLS_PSK_LEN 32

typedef enum {
  LS_TLS_CHUNK,   /* the chunk protocol: server and downloader (and the listener's LIST) */
  LS_TLS_TRACKER, /* the tracker link */
} ls_tls_kind_t;

typedef enum { LS_TLS_CLIENT, LS_TLS_SERVER } ls_tls_role_t;

/* What a key means for one kind of connection: the PSK and its identity. */
int ls_tls_derive(const ls_key_t *key, ls_tls_kind_t kind, uint8_t psk[LS_TLS_PSK_LEN]);
const char *ls_tls_identity(ls_tls_kind_t kind);

/* One SSL_CTX for a role, a key and a kind, shared by its connections. */
typedef struct ls_tls_ctx_s ls_tls_ctx_t;
/* 0, -EINVAL (no key), -ENOMEM or -EPROTO (OpenSSL refused a setting). */
int ls_tls_ctx_new(const ls_key_t *key, ls_tls_kind_t kind, ls_tls_role_t role, ls_tls_ctx_t **out);
void ls_tls_ctx_free(ls_tls_ctx_t *ctx);
ls_tls_role_t ls_tls_ctx_role(const ls_tls_ctx_t *ctx);

/* One connection's TLS. */
typedef struct {
  void *ssl;       /* SSL * (and its BIO, which reads and writes the buffers below) */
  uint8_t *out;    /* ciphertext to send: out_len bytes of out_cap */
  size_t out_len, out_cap;
  uint8_t *kept;   /* ciphertext received and not yet read by TLS: kept_off..kept_len */
  size_t kept_off, kept_len, kept_cap;
  const uint8_t *lent; /* the owner's, between ls_tls_lend and ls_tls_lend_end */
  size_t lent_len;
  int done;        /* the handshake finished */
  int peer_closed; /* the peer's close_notify came */
  char error[160];
} ls_tls_t;

/* t must stay where it is until ls_tls_close (its BIO points at it). */
int ls_tls_init(ls_tls_t *t, ls_tls_ctx_t *ctx);
void ls_tls_close(ls_tls_t *t);
/* Ciphertext received from the peer. 0 or -ENOMEM. */
int ls_tls_feed(ls_tls_t *t, const uint8_t *buf, size_t len);
/* The same without a copy: buf is read in place until ls_tls_lend_end, which
 * copies what TLS has not read yet (a record's start). 0 or -ENOMEM. */
int ls_tls_lend(ls_tls_t *t, const uint8_t *buf, size_t len);
int ls_tls_lend_end(ls_tls_t *t);
/* Advances the handshake (the client's first call writes its ClientHello):
 * 1 finished, 0 more bytes needed, -EACCES it failed (another key, no PSK,
 * not TLS 1.3, not TLS at all). */
int ls_tls_handshake(ls_tls_t *t);
/* Plaintext received: > 0 bytes, 0 none until more is fed, -EPIPE the peer
 * closed (close_notify), -EBADMSG a record failed its check (a changed
 * byte) or any other TLS error. */
ssize_t ls_tls_read(ls_tls_t *t, uint8_t *buf, size_t cap);
/* Encrypts all of buf into records waiting to be sent. 0, -ENOTCONN before
 * the handshake finished, -ENOMEM or -EPROTO. */
int ls_tls_write(ls_tls_t *t, const uint8_t *buf, size_t len);
/* Ciphertext waiting to be sent, and taking it. */
size_t ls_tls_pending(const ls_tls_t *t);
size_t ls_tls_take(ls_tls_t *t, uint8_t *buf, size_t cap);
/* All of it, as the buffer itself (the caller frees it); NULL if none. */
uint8_t *ls_tls_take_all(ls_tls_t *t, size_t *len);
/* Adds the close_notify alert to what waits to be sent. */
void ls_tls_shutdown(ls_tls_t *t);
/* The last failure as a sentence ("" if none). */
const char *ls_tls_error(const ls_tls_t *t);
/* Whether the first bytes a server receives can open a TLS handshake
 * (a handshake record, version 3.x): 1, 0, or -1 for "too few to tell". */
int ls_tls_looks_like_hello(const uint8_t *buf, size_t len);

#endif
