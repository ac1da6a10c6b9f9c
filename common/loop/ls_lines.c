#include "ls_lines.h"

#include <string.h>

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char slab[4096];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(slab, sizeof slab);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  ls_lines_t *in = st->data;
  if (n < 0) {
    ls_lines_close(in);
    in->cb(in, NULL);
    return;
  }
  for (ssize_t i = 0; i < n && in->open; i++) {
    char c = buf->base[i];
    if (c != '\n') {
      if (in->len + 1 < sizeof in->line) in->line[in->len++] = c;
      else in->overlong = 1;
      continue;
    }
    in->line[in->len] = '\0';
    if (in->len > 0 && in->line[in->len - 1] == '\r') in->line[in->len - 1] = '\0';
    int overlong = in->overlong;
    in->len = 0;
    in->overlong = 0;
    in->cb(in, overlong ? "" : in->line);
  }
}

int ls_lines_start(uv_loop_t *loop, ls_lines_t *in, ls_lines_cb cb) {
  uv_handle_type kind = uv_guess_handle(0);
  if (kind != UV_TTY && kind != UV_NAMED_PIPE) return UV_ENOTSUP;
  void *data = in->data;
  memset(in, 0, sizeof *in);
  in->data = data;
  in->cb = cb;
  in->is_tty = kind == UV_TTY;
  int rc = in->is_tty ? uv_tty_init(loop, &in->h.tty, 0, 1) : uv_pipe_init(loop, &in->h.pipe, 0);
  if (rc == 0 && !in->is_tty) rc = uv_pipe_open(&in->h.pipe, 0);
  if (rc != 0) return rc;
  in->h.tty.data = in;
  in->open = 1;
  return uv_read_start((uv_stream_t *)&in->h, alloc_cb, read_cb);
}

void ls_lines_pause(ls_lines_t *in) {
  if (in->open && !in->paused) uv_read_stop((uv_stream_t *)&in->h);
  in->paused = 1;
}

void ls_lines_resume(ls_lines_t *in) {
  if (in->open && in->paused) uv_read_start((uv_stream_t *)&in->h, alloc_cb, read_cb);
  in->paused = 0;
}

void ls_lines_close(ls_lines_t *in) {
  if (!in->open) return;
  in->open = 0;
  uv_close((uv_handle_t *)&in->h, NULL);
}
