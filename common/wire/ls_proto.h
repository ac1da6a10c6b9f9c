/* ls_proto: the chunk protocol's frames (see docs/PROTOCOL.md).
 *
 * Every frame: u32 length (of what follows) | u8 version | u8 type | u32 id |
 * payload; integers big-endian. A client sends requests with ids of its
 * choosing, several in flight; the server answers each with a reply carrying
 * the same id, in any order.
 *   MANIFEST_REQ  root[32]            -> MANIFEST_REP  canonical manifest bytes
 *   CHUNK_REQ     root[32] u32 index  -> CHUNK_REP     u32 index | chunk bytes
 *   HAVE_REQ      root[32]            -> HAVE_REP      u32 nchunks | bitmap
 *   LIST_REQ      (empty)             -> LIST_PAGE     one announcement page (JSON), repeated,
 *                                        then LIST_END digest (32 hex)
 *   any request                       -> ERROR         u16 code | text (<= 256 bytes)
 * The reader checks the length against the frame type before it allocates. */
#ifndef LS_PROTO_H
#define LS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"

#define LS_PROTO_VERSION 1
#define LS_PROTO_HEADER_LEN 10 /* length + version + type + id */
#define LS_PROTO_MAX_REQUEST 64
#define LS_PROTO_MAX_ERROR_TEXT 256
#define LS_PROTO_MAX_LIST_PAGE 1400 /* LS_ANNOUNCE_MAX_PAYLOAD */
#define LS_PROTO_LIST_END_LEN 32

typedef enum {
  LS_MSG_MANIFEST_REQ = 0x01,
  LS_MSG_CHUNK_REQ = 0x02,
  LS_MSG_HAVE_REQ = 0x03,
  LS_MSG_LIST_REQ = 0x04,
  LS_MSG_AUTH_CHALLENGE = 0x10, /* server -> client: nonce[32] (network key only) */
  LS_MSG_AUTH_RESPONSE = 0x11,  /* client -> server: nonce[32] mac[32] */
  LS_MSG_AUTH_OK = 0x12,        /* server -> client: mac[32] */
  LS_MSG_MANIFEST_REP = 0x81,
  LS_MSG_CHUNK_REP = 0x82,
  LS_MSG_HAVE_REP = 0x83,
  LS_MSG_LIST_PAGE = 0x84, /* one announcement page; as many as the list needs */
  LS_MSG_LIST_END = 0x85,  /* the list's digest: 32 lowercase hex */
  LS_MSG_ERROR = 0xFF,
} ls_msg_type_t;

typedef enum {
  LS_ERR_BAD_REQUEST = 1,
  LS_ERR_UNKNOWN_ROOT = 2,
  LS_ERR_NOT_HELD = 3,
  LS_ERR_BUSY = 4,
  LS_ERR_INTERNAL = 5,
  LS_ERR_VERSION = 6,
  LS_ERR_AUTH = 7,
} ls_err_code_t;

const char *ls_proto_err_name(unsigned code);

/* A frame, or a part of one (ls_proto_reader_parts): payload holds the len
 * bytes at off of the frame's total payload bytes; a whole frame has off 0
 * and total len. */
typedef struct {
  uint8_t type;
  uint32_t id;
  uint8_t *payload; /* malloc'ed; a callback may take it and set it to NULL */
  size_t len;
  size_t off;
  size_t total;
} ls_frame_t;

/* Frame reader for a byte stream. max_payload bounds any frame it accepts. */
typedef struct {
  uint8_t header[LS_PROTO_HEADER_LEN];
  size_t have_header;
  ls_frame_t frame;
  size_t have_payload;  /* of the part being read (the whole payload unless parts) */
  size_t max_payload;
  int is_server; /* accepts requests (else replies) */
  uint8_t part_type;    /* ls_proto_reader_parts; 0: every frame whole */
  size_t part_head, part_len;
} ls_proto_reader_t;

void ls_proto_reader_init(ls_proto_reader_t *r, size_t max_payload, int is_server);
void ls_proto_reader_close(ls_proto_reader_t *r);
/* Bytes of a frame received so far but not complete (0 between frames). */
size_t ls_proto_reader_partial(const ls_proto_reader_t *r);
/* Frames of type whose payload is longer than head + len bytes are handed
 * to the callback in parts, each in a buffer of its own, as they arrive: the
 * first head + len bytes, then len bytes at a time (the last part shorter),
 * so that a long payload (a big chunk) is never held whole. */
void ls_proto_reader_parts(ls_proto_reader_t *r, uint8_t type, size_t head, size_t len);

/* Called for each whole frame (or part); return 0 to go on, non-zero to stop feeding. */
typedef int (*ls_frame_cb)(void *ud, ls_frame_t *frame);
/* Feeds bytes. Returns 0, the callback's non-zero value, or -EPROTO (bad
 * version, unknown type, length out of bounds for the type: the stream
 * cannot be trusted any further) or -ENOMEM. */
int ls_proto_reader_feed(ls_proto_reader_t *r, const uint8_t *data, size_t len, ls_frame_cb cb, void *ud);

/* Zero-copy receive: while a frame's payload is being read, the rest of it
 * can be received straight into place. Returns NULL between payloads. */
uint8_t *ls_proto_reader_direct(ls_proto_reader_t *r, size_t *room);
/* n bytes were received at the pointer ls_proto_reader_direct gave. */
int ls_proto_reader_commit(ls_proto_reader_t *r, size_t n, ls_frame_cb cb, void *ud);

/* A parsed request. */
typedef struct {
  uint8_t type;
  uint32_t id;
  uint8_t root[LS_HASH_LEN];
  uint32_t index;
} ls_request_t;

/* Checks a request frame's payload for its type. 0 or -EINVAL. */
int ls_proto_parse_request(const ls_frame_t *f, ls_request_t *req);

/* Encoders. Each returns the number of bytes written into buf. */
size_t ls_proto_encode_request(uint8_t *buf, uint8_t type, uint32_t id, const uint8_t root[LS_HASH_LEN], uint32_t index);
/* Header of a reply with payload_len bytes to follow. */
size_t ls_proto_encode_header(uint8_t *buf, uint8_t type, uint32_t id, size_t payload_len);
/* Header + u32 index of a chunk reply (14 bytes); data follows. */
size_t ls_proto_encode_chunk_header(uint8_t *buf, uint32_t id, uint32_t index, uint32_t data_len);
/* A whole error frame; buf >= LS_PROTO_HEADER_LEN + 2 + LS_PROTO_MAX_ERROR_TEXT. */
size_t ls_proto_encode_error(uint8_t *buf, uint32_t id, uint16_t code, const char *text);

/* Decoders for replies. */
int ls_proto_parse_chunk_rep(const ls_frame_t *f, uint32_t *index, const uint8_t **data, size_t *len);
int ls_proto_parse_error(const ls_frame_t *f, uint16_t *code, char *text, size_t text_len);
/* bitmap of HAVE_REP into have[] (one byte per chunk); nchunks must match. */
int ls_proto_parse_have(const ls_frame_t *f, uint32_t nchunks, uint8_t *have);
/* Builds a HAVE_REP payload (u32 n | bitmap) from one byte per chunk; returns its length. */
size_t ls_proto_have_payload_len(uint32_t nchunks);
void ls_proto_encode_have_payload(uint8_t *buf, const uint8_t *have, uint32_t nchunks);
/* The same for a holder of every chunk (have == NULL). */

static inline void ls_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint32_t ls_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
