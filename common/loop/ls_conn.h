/* ls_conn: a TCP connection speaking the chunk protocol (docs/PROTOCOL.md,
 * section 5), in either role, as ls_tlink is for the tracker's.
 *
 * It owns what both ends share, written once: reading frames with ls_proto's
 * bounded reader (zero-copy for large payloads), writing frames, with a
 * network key the TLS 1.3 layer under them (ls_tls: the PSK handshake, then
 * every byte in records; plain vs TLS is decided here and nowhere else),
 * "an error frame, then close", and one timer: idle for
 * a server, connect / handshake / stall for a client. What frames mean
 * (admission, serving, scheduling) stays with the owner, which embeds an
 * ls_conn_t and finds itself through c->data. */
#ifndef LS_CONN_H
#define LS_CONN_H

#include <uv.h>

#include "ls_proto.h"
#include "ls_tags.h"
#include "ls_tls.h"

typedef enum { LS_CONN_SERVER, LS_CONN_CLIENT } ls_conn_role_t;

typedef enum {
  LS_CONN_CONNECTING, /* client: connect in progress (also a server's before ls_conn_start) */
  LS_CONN_HANDSHAKE,  /* the network key's TLS handshake in progress */
  LS_CONN_READY,      /* frames go to the owner */
  LS_CONN_CLOSED,
} ls_conn_state_t;

/* Why a connection ended. */
typedef enum {
  LS_CONN_END_LOCAL,           /* the owner closed it for a reason of its own */
  LS_CONN_END_EOF,             /* the peer closed it */
  LS_CONN_END_RESET,           /* a read error */
  LS_CONN_END_PROTOCOL,        /* a malformed or oversized frame */
  LS_CONN_END_NOMEM,
  LS_CONN_END_WRITE,           /* a write failed */
  LS_CONN_END_IDLE,            /* server: no request for timeout_ms, none owed */
  LS_CONN_END_STALL,           /* client: replies awaited, none for timeout_ms */
  LS_CONN_END_CONNECT,         /* client: the connect failed (c->error says why) */
  LS_CONN_END_CONNECT_TIMEOUT, /* client */
  LS_CONN_END_AUTH_TIMEOUT,    /* client: the TLS handshake did not end in time */
  LS_CONN_END_AUTH_FAILED,     /* the TLS handshake failed: another key, or none (c->why says more) */
  LS_CONN_END_KEY_REQUIRED,    /* client without a key: the server asks for one */
  LS_CONN_END_REFUSED,         /* server: admission refused it (busy) */
  LS_CONN_END_SHUTDOWN,
  LS_CONN_END_WRITE_TIMEOUT,   /* server: queued replies made no progress (the peer does not read) */
  LS_CONN_END_EVICTED,         /* server: full; its slot went to an address holding fewer */
  LS_CONN_END_TLS,             /* a TLS record failed its check (a changed byte) */
} ls_conn_end_t;

/* A word for each (server.log's end=...). */
const char *ls_conn_end_name(ls_conn_end_t why);

typedef struct ls_conn_s ls_conn_t;
typedef struct ls_conn_out_s ls_conn_out_t;
/* An ls_conn_out item is written (status 0) or failed or was cancelled by a
 * close (status < 0); after a failure mid-frame the owner closes c. */
typedef void (*ls_conn_out_cb)(ls_conn_out_t *o, int status);
/* A whole frame after the handshake; return 0 to go on, non-zero to stop
 * reading this batch. The callback may take f->payload (set it to NULL). */
typedef int (*ls_conn_frame_cb)(ls_conn_t *c, ls_frame_t *f);
typedef void (*ls_conn_cb)(ls_conn_t *c);
typedef void (*ls_conn_end_cb)(ls_conn_t *c, ls_conn_end_t why);
/* Whether replies are owed (server) or awaited (client): the timer's question. */
typedef int (*ls_conn_busy_cb)(const ls_conn_t *c);

typedef struct {
  ls_conn_role_t role;
  ls_tls_ctx_t *tls;         /* the network key's TLS context for this role, or NULL: plain */
  size_t max_payload;        /* client: the longest reply payload accepted */
  size_t slab;               /* receive buffer; 0: a shared 4 KiB one (small frames only) */
  uint8_t part_type;         /* client: replies of this type longer than part_head + part_len */
  size_t part_head, part_len;/* arrive in parts (ls_proto_reader_parts); part_len 0: whole */
  uint64_t timeout_ms;       /* server: idle; client: connect, handshake and stall */
  unsigned keepalive_s;      /* TCP keepalive after this many idle seconds; 0: none */
  ls_conn_frame_cb on_frame;
  ls_conn_cb on_ready;       /* connected and, with a key, the TLS handshake done */
  ls_conn_end_cb on_end;     /* once, as it closes (also when the owner closes it) */
  ls_conn_cb on_closed;      /* its handles are closed: the owner may free it */
  ls_conn_busy_cb busy;      /* NULL: never busy */
  ls_conn_busy_cb receiving; /* client: while this holds, bytes received restart the stall
                              * clock (chunk replies, long); NULL: while busy */
} ls_conn_opts_t;

/* One frame for the reply queue, which writes frames whole and in order:
 * buffers, or a header buffer followed by len bytes of a file: plain, sent
 * with sendfile(2) from the page cache (no copy through user space); with
 * TLS, read and encrypted a slice at a time as the socket takes the records
 * (never the whole payload in memory; a long buffer frame's records too). The owner embeds it in its request
 * and keeps fd and the buffers until the callback. */
struct ls_conn_out_s {
  uv_write_t w;
  ls_conn_out_t *next;
  ls_conn_t *c;
  uv_buf_t bufs[2];
  unsigned nbufs;
  size_t head_sent;          /* file: bytes of bufs[0] (its header) sent */
  int fd;                    /* file: open for reading; -1 for buffers only */
  int64_t off;
  size_t left;
  ls_conn_out_cb cb;
  void *data;
};

struct ls_conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  ls_conn_opts_t o;
  ls_conn_state_t state;
  ls_proto_reader_t reader;
  ls_tls_t tls;              /* with o.tls */
  int tls_open;
  int first_byte_seen;       /* with o.tls: the first byte received was judged (TLS or not) */
  char why[160];             /* with LS_CONN_END_AUTH_FAILED or _TLS: OpenSSL's reason */
  int connected;             /* accepted, or the connect succeeded */
  int reading;
  int handles;
  int error;                 /* the failed connect's UV_E* code */
  unsigned errors_sent;      /* error frames written by ls_conn_fail or the refusal of plaintext */
  uint64_t bytes_queued;     /* bytes handed to ls_conn_send and the reply queue; with TLS, once
                              * encrypted, the records' bytes on the wire */
  uint64_t bytes_received;   /* every byte read from the peer (client.log's received=) */
  ls_conn_out_t *out_head, *out_tail; /* the reply queue: waiting */
  ls_conn_out_t *out_cur;    /* being written */
  size_t out_unsent;         /* bytes in the queue not yet handed to libuv or taken by the kernel */
  uv_poll_t poll;            /* writability while a file payload waits (on a dup of the socket) */
  int poll_fd;               /* -1 until the first file payload waits */
  char peer[LS_ADDR_MAX];    /* the other end's address and port */
  uint16_t peer_port;
  uint8_t *slab;
  int own_slab;
  ls_conn_out_t *tls_cur;    /* with TLS: the frame being encrypted slice by slice */
  size_t tls_off;            /* bytes of its buffers encrypted so far */
  size_t tls_held;           /* bytes of records handed to libuv and not yet called back */
  uint8_t *tls_slice;        /* a slice of its file (TLS_SLICE bytes, once needed) */
  void *data;
};

/* 0 or a negative UV_E* code (the handles are then not open). */
int ls_conn_init(uv_loop_t *loop, ls_conn_t *c, const ls_conn_opts_t *o);
/* Server: accepts a connection from the listener, and learns its address. */
int ls_conn_accept(ls_conn_t *c, uv_stream_t *listener);
/* Server: starts the idle timer and reading; with a key, the TLS handshake. */
void ls_conn_start(ls_conn_t *c);
/* Client: connects; on_ready or on_end follows. On an error returned here
 * the owner closes c. */
int ls_conn_connect(ls_conn_t *c, const struct sockaddr *addr);
/* A frame of ours, copied (requests). */
int ls_conn_send(ls_conn_t *c, uint8_t type, uint32_t id, const uint8_t *payload, size_t len);
/* The reply queue: frames in the caller's buffers (header included), written
 * whole and in order (a server's replies; a connection using it sends nothing
 * with ls_conn_send after its handshake). n is 1 or 2. Plain: without a copy;
 * with TLS: encrypted when the frame's turn comes, and cb follows its records
 * on the wire. */
int ls_conn_out(ls_conn_t *c, ls_conn_out_t *o, const uv_buf_t *bufs, unsigned n, ls_conn_out_cb cb);
/* A header, then len bytes of fd at off (the owner warms their pages first:
 * they are read on the loop thread, by sendfile or, with TLS, pread). */
int ls_conn_out_file(ls_conn_t *c, ls_conn_out_t *o, uv_buf_t head, int fd, uint64_t off, size_t len,
                     ls_conn_out_cb cb);
/* Whether file payloads go with sendfile: plain only (TLS must see every
 * byte, and this kernel has no kernel TLS). */
int ls_conn_sendfile_ok(const ls_conn_t *c);
/* Bytes the kernel has taken of what was written (grows while the peer reads),
 * and bytes still queued in user space (waiting for the peer to read). */
uint64_t ls_conn_bytes_sent(const ls_conn_t *c);
size_t ls_conn_unsent(const ls_conn_t *c);
/* Says ERROR code/text to the peer (now or never), then closes. */
void ls_conn_fail(ls_conn_t *c, uint32_t id, uint16_t code, const char *text, ls_conn_end_t why);
void ls_conn_close(ls_conn_t *c, ls_conn_end_t why);
/* Back-pressure: stop or resume reading. */
void ls_conn_set_reading(ls_conn_t *c, int on);
void ls_conn_set_max_payload(ls_conn_t *c, size_t max_payload);
/* The timer: restart it now; start it unless it runs; stop it. */
void ls_conn_watch(ls_conn_t *c);
void ls_conn_arm(ls_conn_t *c);
void ls_conn_rest(ls_conn_t *c);
/* Ready for frames: connected and, with a key, the TLS handshake done. */
int ls_conn_ready(const ls_conn_t *c);

#endif
