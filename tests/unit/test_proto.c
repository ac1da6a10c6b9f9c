#include "helpers.h"
#include "ls_proto.h"

typedef struct {
  ls_frame_t frames[8];
  int n;
} got_t;

static int keep(void *ud, ls_frame_t *f) {
  got_t *g = ud;
  g->frames[g->n] = *f;
  g->frames[g->n].payload = malloc(f->len + 1);
  memcpy(g->frames[g->n].payload, f->payload, f->len);
  g->n++;
  return 0;
}

static void got_free(got_t *g) {
  for (int i = 0; i < g->n; i++) free(g->frames[i].payload);
}

static void requests_byte_by_byte(void **state) {
  (void)state;
  uint8_t root[LS_HASH_LEN], buf[256];
  for (int i = 0; i < LS_HASH_LEN; i++) root[i] = (uint8_t)i;
  size_t n = ls_proto_encode_request(buf, LS_MSG_CHUNK_REQ, 77, root, 5);
  n += ls_proto_encode_request(buf + n, LS_MSG_MANIFEST_REQ, 78, root, 0);
  ls_proto_reader_t r;
  ls_proto_reader_init(&r, 0, 1);
  got_t g = {0};
  for (size_t i = 0; i < n; i++) assert_int_equal(ls_proto_reader_feed(&r, buf + i, 1, keep, &g), 0);
  assert_int_equal(g.n, 2);
  ls_request_t rq;
  assert_int_equal(ls_proto_parse_request(&g.frames[0], &rq), 0);
  assert_int_equal(rq.type, LS_MSG_CHUNK_REQ);
  assert_int_equal(rq.id, 77);
  assert_int_equal(rq.index, 5);
  assert_memory_equal(rq.root, root, LS_HASH_LEN);
  assert_int_equal(ls_proto_parse_request(&g.frames[1], &rq), 0);
  assert_int_equal(rq.type, LS_MSG_MANIFEST_REQ);
  got_free(&g);
  ls_proto_reader_close(&r);
}

static void hostile_frames(void **state) {
  (void)state;
  uint8_t buf[64];
  ls_proto_reader_t r;
  got_t g = {0};
  /* A request frame claiming 4 GB: refused before any allocation. */
  ls_proto_reader_init(&r, 0, 1);
  ls_proto_encode_header(buf, LS_MSG_CHUNK_REQ, 1, 0xFFFFFFF0u);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  /* A reply type sent to a server, a bad version, a too-short length. */
  ls_proto_reader_init(&r, 0, 1);
  ls_proto_encode_header(buf, LS_MSG_CHUNK_REP, 1, 36);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  ls_proto_reader_init(&r, 0, 1);
  ls_proto_encode_header(buf, LS_MSG_MANIFEST_REQ, 1, 32);
  buf[4] = 9;
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  ls_proto_reader_init(&r, 0, 1);
  memset(buf, 0, 10);
  assert_int_equal(ls_proto_reader_feed(&r, buf, 10, keep, &g), -EPROTO);
  /* A client reader refuses a chunk reply over its limit (the 1 TB chunk). */
  ls_proto_reader_init(&r, 1 << 20, 0);
  ls_proto_encode_header(buf, LS_MSG_CHUNK_REP, 1, (1u << 20) + 5);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  /* An ERROR frame: code and up to 256 bytes of text, not one more. */
  ls_proto_reader_init(&r, 1 << 20, 0);
  ls_proto_encode_header(buf, LS_MSG_ERROR, 1, 2 + LS_PROTO_MAX_ERROR_TEXT + 1);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  ls_proto_reader_close(&r);
  ls_proto_reader_init(&r, 1 << 20, 0);
  ls_proto_encode_header(buf, LS_MSG_ERROR, 1, 2 + LS_PROTO_MAX_ERROR_TEXT);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), 0);
  ls_proto_reader_close(&r);
  /* A request with a wrong-length root is refused by the reader. */
  ls_proto_reader_init(&r, 0, 1);
  ls_proto_encode_header(buf, LS_MSG_MANIFEST_REQ, 1, 31);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  assert_int_equal(g.n, 0);
}

static void replies(void **state) {
  (void)state;
  uint8_t buf[600];
  ls_proto_reader_t r;
  ls_proto_reader_init(&r, 1 << 16, 0);
  got_t g = {0};
  size_t n = ls_proto_encode_error(buf, 9, LS_ERR_NOT_HELD, "chunk not held\x01");
  uint8_t have[11] = {1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1};
  uint8_t payload[16];
  ls_proto_encode_have_payload(payload, have, 11);
  size_t pl = ls_proto_have_payload_len(11);
  n += ls_proto_encode_header(buf + n, LS_MSG_HAVE_REP, 3, pl);
  memcpy(buf + n, payload, pl);
  n += pl;
  n += ls_proto_encode_chunk_header(buf + n, 4, 4, 3);
  memcpy(buf + n, "abc", 3);
  n += 3;
  assert_int_equal(ls_proto_reader_feed(&r, buf, n, keep, &g), 0);
  assert_int_equal(g.n, 3);
  uint16_t code;
  char text[64];
  assert_int_equal(ls_proto_parse_error(&g.frames[0], &code, text, sizeof text), 0);
  assert_int_equal(code, LS_ERR_NOT_HELD);
  assert_string_equal(text, "chunk not held?"); /* control bytes never reach a terminal */
  uint8_t back[11];
  assert_int_equal(ls_proto_parse_have(&g.frames[1], 11, back), 0);
  assert_memory_equal(back, have, 11);
  assert_int_not_equal(ls_proto_parse_have(&g.frames[1], 12, back), 0);
  uint32_t index;
  const uint8_t *data;
  size_t len;
  assert_int_equal(ls_proto_parse_chunk_rep(&g.frames[2], &index, &data, &len), 0);
  assert_int_equal(index, 4);
  assert_int_equal(len, 3);
  assert_memory_equal(data, "abc", 3);
  got_free(&g);
}

static void direct_receive(void **state) {
  (void)state;
  uint8_t hdr[16], data[5000];
  fill_pattern(data, sizeof data, 2);
  size_t hl = ls_proto_encode_chunk_header(hdr, 1, 1, sizeof data);
  ls_proto_reader_t r;
  ls_proto_reader_init(&r, 1 << 16, 0);
  got_t g = {0};
  assert_int_equal(ls_proto_reader_feed(&r, hdr, hl, keep, &g), 0);
  size_t room;
  uint8_t *dst = ls_proto_reader_direct(&r, &room);
  assert_non_null(dst);
  assert_int_equal(room, sizeof data);
  memcpy(dst, data, 3000);
  assert_int_equal(ls_proto_reader_commit(&r, 3000, keep, &g), 0);
  dst = ls_proto_reader_direct(&r, &room);
  assert_int_equal(room, 2000);
  memcpy(dst, data + 3000, 2000);
  assert_int_equal(ls_proto_reader_commit(&r, 2000, keep, &g), 0);
  assert_int_equal(g.n, 1);
  assert_memory_equal(g.frames[0].payload + 4, data, sizeof data);
  assert_null(ls_proto_reader_direct(&r, &room));
  got_free(&g);
}

/* A long chunk reply in parts (ls_proto_reader_parts): head + len bytes,
 * then len at a time, each a buffer of its own with its offset; fed byte by
 * byte or received in place; a short reply and other types stay whole. */
static void parts(void **state) {
  (void)state;
  uint8_t buf[64], data[25];
  fill_pattern(data, sizeof data, 4);
  size_t n = ls_proto_encode_chunk_header(buf, 7, 7, sizeof data);
  memcpy(buf + n, data, sizeof data);
  n += sizeof data;
  size_t m = ls_proto_encode_chunk_header(buf + n, 8, 8, 6); /* 4 + 6: not longer than head + len */
  memcpy(buf + n + m, data, 6);
  n += m + 6;
  for (int direct = 0; direct < 2; direct++) {
    ls_proto_reader_t r;
    ls_proto_reader_init(&r, 1 << 16, 0);
    ls_proto_reader_parts(&r, LS_MSG_CHUNK_REP, 4, 10);
    got_t g = {0};
    for (size_t i = 0; i < n; i++) {
      size_t room;
      uint8_t *dst = direct ? ls_proto_reader_direct(&r, &room) : NULL;
      if (dst != NULL) {
        *dst = buf[i];
        assert_int_equal(ls_proto_reader_commit(&r, 1, keep, &g), 0);
      } else {
        assert_int_equal(ls_proto_reader_feed(&r, buf + i, 1, keep, &g), 0);
      }
    }
    assert_int_equal(g.n, 4);
    static const size_t off[] = {0, 14, 24, 0}, len[] = {14, 10, 5, 10}, total[] = {29, 29, 29, 10};
    for (int i = 0; i < 4; i++) {
      assert_int_equal(g.frames[i].type, LS_MSG_CHUNK_REP);
      assert_int_equal(g.frames[i].id, i < 3 ? 7 : 8);
      assert_int_equal(g.frames[i].off, off[i]);
      assert_int_equal(g.frames[i].len, len[i]);
      assert_int_equal(g.frames[i].total, total[i]);
    }
    assert_int_equal(ls_get_u32(g.frames[0].payload), 7);
    assert_memory_equal(g.frames[0].payload + 4, data, 10);
    assert_memory_equal(g.frames[1].payload, data + 10, 10);
    assert_memory_equal(g.frames[2].payload, data + 20, 5);
    assert_int_equal(ls_proto_reader_partial(&r), 0);
    got_free(&g);
    ls_proto_reader_close(&r);
  }
}

/* LIST: an empty request; pages of at most a datagram and a 32-byte end. */
static void list_frames(void **state) {
  (void)state;
  uint8_t buf[2048];
  ls_proto_reader_t r;
  got_t g = {0};
  ls_request_t rq;
  ls_proto_reader_init(&r, 0, 1);
  size_t n = ls_proto_encode_header(buf, LS_MSG_LIST_REQ, 9, 0);
  assert_int_equal(ls_proto_reader_feed(&r, buf, n, keep, &g), 0);
  assert_int_equal(g.n, 1);
  assert_int_equal(ls_proto_parse_request(&g.frames[0], &rq), 0);
  assert_int_equal(rq.type, LS_MSG_LIST_REQ);
  assert_int_equal(rq.id, 9);
  ls_proto_reader_init(&r, 0, 1); /* a LIST request with a payload */
  ls_proto_encode_header(buf, LS_MSG_LIST_REQ, 9, 1);
  assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN + 1, keep, &g), -EPROTO);
  ls_proto_reader_init(&r, LS_PROTO_MAX_LIST_PAGE, 0);
  n = ls_proto_encode_header(buf, LS_MSG_LIST_PAGE, 9, 2);
  memcpy(buf + n, "{}", 2);
  n += 2;
  n += ls_proto_encode_header(buf + n, LS_MSG_LIST_END, 9, LS_PROTO_LIST_END_LEN);
  memset(buf + n, 'a', LS_PROTO_LIST_END_LEN);
  n += LS_PROTO_LIST_END_LEN;
  assert_int_equal(ls_proto_reader_feed(&r, buf, n, keep, &g), 0);
  assert_int_equal(g.n, 3);
  assert_int_equal(g.frames[1].type, LS_MSG_LIST_PAGE);
  assert_int_equal(g.frames[2].type, LS_MSG_LIST_END);
  const size_t bad[][2] = {{LS_MSG_LIST_PAGE, LS_PROTO_MAX_LIST_PAGE + 1}, {LS_MSG_LIST_PAGE, 0},
                           {LS_MSG_LIST_END, LS_PROTO_LIST_END_LEN - 1}, {LS_MSG_LIST_END, 64}};
  for (size_t i = 0; i < 4; i++) {
    ls_proto_reader_init(&r, LS_PROTO_MAX_LIST_PAGE, 0);
    ls_proto_encode_header(buf, (uint8_t)bad[i][0], 9, bad[i][1]);
    assert_int_equal(ls_proto_reader_feed(&r, buf, LS_PROTO_HEADER_LEN, keep, &g), -EPROTO);
  }
  got_free(&g);
  ls_proto_reader_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(requests_byte_by_byte), cmocka_unit_test(hostile_frames),
                                     cmocka_unit_test(replies), cmocka_unit_test(direct_receive),
                                     cmocka_unit_test(parts), cmocka_unit_test(list_frames)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
