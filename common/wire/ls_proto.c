#include "ls_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ls_proto_err_name(unsigned code) {
  switch (code) {
    case LS_ERR_BAD_REQUEST: return "bad request";
    case LS_ERR_UNKNOWN_ROOT: return "unknown root";
    case LS_ERR_NOT_HELD: return "chunk not held";
    case LS_ERR_BUSY: return "busy";
    case LS_ERR_INTERNAL: return "internal error";
    case LS_ERR_VERSION: return "unsupported version";
    case LS_ERR_AUTH: return "network key required";
    default: return "unknown error";
  }
}

void ls_proto_reader_init(ls_proto_reader_t *r, size_t max_payload, int is_server) {
  memset(r, 0, sizeof *r);
  r->max_payload = max_payload;
  r->is_server = is_server;
}

void ls_proto_reader_close(ls_proto_reader_t *r) {
  free(r->frame.payload);
  r->frame.payload = NULL;
}

size_t ls_proto_reader_partial(const ls_proto_reader_t *r) {
  return r->have_header + r->frame.off + r->have_payload;
}

void ls_proto_reader_parts(ls_proto_reader_t *r, uint8_t type, size_t head, size_t len) {
  r->part_type = type;
  r->part_head = head;
  r->part_len = len;
}

/* The buffer for the frame's next part (its whole payload unless in parts),
 * from frame.off on. 0 or -ENOMEM. */
static int part_alloc(ls_proto_reader_t *r) {
  size_t left = r->frame.total - r->frame.off, len = left;
  if (r->part_len > 0 && r->frame.type == r->part_type && r->frame.total > r->part_head + r->part_len)
    len = r->frame.off == 0 ? r->part_head + r->part_len : r->part_len;
  r->frame.len = len < left ? len : left;
  r->have_payload = 0;
  r->frame.payload = malloc(r->frame.len + 1);
  return r->frame.payload == NULL ? -ENOMEM : 0;
}

/* The part being read is in: to the callback, then the next part, or the
 * next frame's header. The callback's value. */
static int part_done(ls_proto_reader_t *r, ls_frame_cb cb, void *ud) {
  int rc = cb(ud, &r->frame);
  free(r->frame.payload);
  r->frame.payload = NULL;
  r->frame.off += r->frame.len;
  if (r->frame.off < r->frame.total) {
    int arc = part_alloc(r); /* even if told to stop: a later feed goes on with it */
    if (rc == 0) rc = arc;
  } else {
    r->have_header = 0;
    r->have_payload = 0;
    r->frame.off = 0;
  }
  return rc;
}

static int type_ok(const ls_proto_reader_t *r, uint8_t type, size_t payload) {
  if (r->is_server) {
    if (type == LS_MSG_MANIFEST_REQ || type == LS_MSG_HAVE_REQ) return payload == LS_HASH_LEN;
    if (type == LS_MSG_CHUNK_REQ) return payload == LS_HASH_LEN + 4;
    if (type == LS_MSG_AUTH_RESPONSE) return payload == 64;
    if (type == LS_MSG_LIST_REQ) return payload == 0;
    return 0;
  }
  switch (type) {
    case LS_MSG_MANIFEST_REP:
    case LS_MSG_CHUNK_REP:
    case LS_MSG_HAVE_REP: return payload <= r->max_payload;
    case LS_MSG_LIST_PAGE: return payload >= 1 && payload <= LS_PROTO_MAX_LIST_PAGE;
    case LS_MSG_LIST_END: return payload == LS_PROTO_LIST_END_LEN;
    case LS_MSG_ERROR: return payload >= 2 && payload <= 2 + LS_PROTO_MAX_ERROR_TEXT;
    case LS_MSG_AUTH_CHALLENGE:
    case LS_MSG_AUTH_OK: return payload == 32;
    default: return 0;
  }
}

int ls_proto_reader_feed(ls_proto_reader_t *r, const uint8_t *data, size_t len, ls_frame_cb cb, void *ud) {
  while (len > 0) {
    if (r->have_header < LS_PROTO_HEADER_LEN) {
      size_t take = LS_PROTO_HEADER_LEN - r->have_header;
      if (take > len) take = len;
      memcpy(r->header + r->have_header, data, take);
      r->have_header += take;
      data += take;
      len -= take;
      if (r->have_header < LS_PROTO_HEADER_LEN) return 0;
      uint32_t flen = ls_get_u32(r->header);
      if (flen < LS_PROTO_HEADER_LEN - 4) return -EPROTO;
      size_t payload = flen - (LS_PROTO_HEADER_LEN - 4);
      if (r->header[4] != LS_PROTO_VERSION || !type_ok(r, r->header[5], payload)) return -EPROTO;
      r->frame.type = r->header[5];
      r->frame.id = ls_get_u32(r->header + 6);
      r->frame.off = 0;
      r->frame.total = payload;
      int rc = part_alloc(r);
      if (rc != 0) return rc;
    }
    size_t take = r->frame.len - r->have_payload;
    if (take > len) take = len;
    memcpy(r->frame.payload + r->have_payload, data, take);
    r->have_payload += take;
    data += take;
    len -= take;
    if (r->have_payload == r->frame.len) {
      int rc = part_done(r, cb, ud);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

uint8_t *ls_proto_reader_direct(ls_proto_reader_t *r, size_t *room) {
  if (r->have_header < LS_PROTO_HEADER_LEN || r->frame.payload == NULL) return NULL;
  *room = r->frame.len - r->have_payload;
  return *room > 0 ? r->frame.payload + r->have_payload : NULL;
}

int ls_proto_reader_commit(ls_proto_reader_t *r, size_t n, ls_frame_cb cb, void *ud) {
  r->have_payload += n;
  if (r->have_payload < r->frame.len) return 0;
  return part_done(r, cb, ud);
}

int ls_proto_parse_request(const ls_frame_t *f, ls_request_t *req) {
  memset(req, 0, sizeof *req);
  req->type = f->type;
  req->id = f->id;
  switch (f->type) {
    case LS_MSG_MANIFEST_REQ:
    case LS_MSG_HAVE_REQ:
      if (f->len != LS_HASH_LEN) return -EINVAL;
      memcpy(req->root, f->payload, LS_HASH_LEN);
      return 0;
    case LS_MSG_CHUNK_REQ:
      if (f->len != LS_HASH_LEN + 4) return -EINVAL;
      memcpy(req->root, f->payload, LS_HASH_LEN);
      req->index = ls_get_u32(f->payload + LS_HASH_LEN);
      return 0;
    case LS_MSG_LIST_REQ: return f->len == 0 ? 0 : -EINVAL;
    default: return -EINVAL;
  }
}

size_t ls_proto_encode_header(uint8_t *buf, uint8_t type, uint32_t id, size_t payload_len) {
  ls_put_u32(buf, (uint32_t)(payload_len + LS_PROTO_HEADER_LEN - 4));
  buf[4] = LS_PROTO_VERSION;
  buf[5] = type;
  ls_put_u32(buf + 6, id);
  return LS_PROTO_HEADER_LEN;
}

size_t ls_proto_encode_request(uint8_t *buf, uint8_t type, uint32_t id, const uint8_t root[LS_HASH_LEN], uint32_t index) {
  size_t payload = type == LS_MSG_CHUNK_REQ ? LS_HASH_LEN + 4 : LS_HASH_LEN;
  size_t n = ls_proto_encode_header(buf, type, id, payload);
  memcpy(buf + n, root, LS_HASH_LEN);
  if (type == LS_MSG_CHUNK_REQ) ls_put_u32(buf + n + LS_HASH_LEN, index);
  return n + payload;
}

size_t ls_proto_encode_chunk_header(uint8_t *buf, uint32_t id, uint32_t index, uint32_t data_len) {
  size_t n = ls_proto_encode_header(buf, LS_MSG_CHUNK_REP, id, 4 + (size_t)data_len);
  ls_put_u32(buf + n, index);
  return n + 4;
}

size_t ls_proto_encode_error(uint8_t *buf, uint32_t id, uint16_t code, const char *text) {
  size_t tlen = strlen(text);
  if (tlen > LS_PROTO_MAX_ERROR_TEXT) tlen = LS_PROTO_MAX_ERROR_TEXT;
  size_t n = ls_proto_encode_header(buf, LS_MSG_ERROR, id, 2 + tlen);
  buf[n] = (uint8_t)(code >> 8);
  buf[n + 1] = (uint8_t)code;
  memcpy(buf + n + 2, text, tlen);
  return n + 2 + tlen;
}

int ls_proto_parse_chunk_rep(const ls_frame_t *f, uint32_t *index, const uint8_t **data, size_t *len) {
  if (f->type != LS_MSG_CHUNK_REP || f->len < 4) return -EINVAL;
  *index = ls_get_u32(f->payload);
  *data = f->payload + 4;
  *len = f->len - 4;
  return 0;
}

int ls_proto_parse_error(const ls_frame_t *f, uint16_t *code, char *text, size_t text_len) {
  if (f->type != LS_MSG_ERROR || f->len < 2 || text_len == 0) return -EINVAL;
  *code = (uint16_t)(f->payload[0] << 8 | f->payload[1]);
  size_t n = f->len - 2;
  if (n >= text_len) n = text_len - 1;
  /* Text from the network is shown to people: keep printable ASCII only. */
  for (size_t i = 0; i < n; i++) {
    uint8_t c = f->payload[2 + i];
    text[i] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
  }
  text[n] = '\0';
  return 0;
}

size_t ls_proto_have_payload_len(uint32_t nchunks) {
  return 4 + ((size_t)nchunks + 7) / 8;
}

void ls_proto_encode_have_payload(uint8_t *buf, const uint8_t *have, uint32_t nchunks) {
  ls_put_u32(buf, nchunks);
  memset(buf + 4, 0, ((size_t)nchunks + 7) / 8);
  for (uint32_t i = 0; i < nchunks; i++)
    if (have == NULL || have[i]) buf[4 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

int ls_proto_parse_have(const ls_frame_t *f, uint32_t nchunks, uint8_t *have) {
  if (f->type != LS_MSG_HAVE_REP || f->len != ls_proto_have_payload_len(nchunks) || ls_get_u32(f->payload) != nchunks)
    return -EINVAL;
  for (uint32_t i = 0; i < nchunks; i++) have[i] = (f->payload[4 + i / 8] >> (7 - i % 8)) & 1;
  return 0;
}
