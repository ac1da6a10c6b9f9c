/* ls_spawn: a child program with its output on a pipe or a descriptor, its
 * exit status, and a spawn that fails. */
#include "helpers.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "ls_spawn.h"

typedef struct {
  uv_process_t proc;
  uv_pipe_t out;
  char text[256];
  size_t len;
  int exited;
  int64_t status;
  int closed;
} child_t;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  child_t *c = p->data;
  (void)sig;
  c->exited = 1;
  c->status = status;
  uv_close((uv_handle_t *)p, NULL);
}

static void on_closed(uv_handle_t *h) {
  ((child_t *)h->data)->closed++;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  child_t *c = h->data;
  (void)suggested;
  *buf = uv_buf_init(c->text + c->len, (unsigned)(sizeof c->text - 1 - c->len));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  child_t *c = s->data;
  (void)buf;
  if (n < 0) uv_close((uv_handle_t *)s, NULL);
  else c->len += (size_t)n;
}

static void output_on_a_pipe(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  child_t c;
  memset(&c, 0, sizeof c);
  c.proc.data = c.out.data = &c;
  char *args[] = {"hello", "there", NULL};
  ls_spawn_opts_t o = {.path = "/bin/echo", .args = args, .out_pipe = &c.out, .on_exit = on_exit_cb};
  char path[256];
  assert_int_equal(ls_spawn(&loop, &c.proc, &o, path, sizeof path), 0);
  assert_string_equal(path, "/bin/echo");
  assert_true(c.proc.pid > 0);
  uv_read_start((uv_stream_t *)&c.out, alloc_cb, read_cb);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.exited, 1);
  assert_int_equal(c.status, 0);
  assert_string_equal(c.text, "hello there\n");
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* lanswarm-NAME in a folder, output to a file, its exit status. */
static void sibling_program_and_status(void **state) {
  (void)state;
  char dir[256], prog[300], log[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(prog, sizeof prog, "%s/lanswarm-hello", dir);
  snprintf(log, sizeof log, "%s/hello.log", dir);
  const char *script = "#!/bin/sh\necho \"hi $1\"\necho oops >&2\nexit 3\n";
  write_bytes(prog, script, strlen(script));
  assert_int_equal(chmod(prog, 0755), 0);
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd > 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  child_t c;
  memset(&c, 0, sizeof c);
  c.proc.data = &c;
  char *args[] = {"you", NULL};
  ls_spawn_opts_t o = {.program = "hello", .dir = dir, .args = args, .out_fd = fd, .err_fd = fd, .on_exit = on_exit_cb};
  char path[400];
  assert_int_equal(ls_spawn(&loop, &c.proc, &o, path, sizeof path), 0);
  close(fd);
  assert_string_equal(path, prog);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.status, 3);
  char text[64] = {0};
  FILE *f = fopen(log, "r");
  assert_non_null(f);
  assert_true(fread(text, 1, sizeof text - 1, f) > 0);
  fclose(f);
  assert_string_equal(text, "hi you\noops\n");
  assert_int_equal(uv_loop_close(&loop), 0);
  rm_tree(dir);
}

/* A program that is not there: the handles are closed, with on_close. */
static void failure_closes_the_handles(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  child_t c;
  memset(&c, 0, sizeof c);
  c.proc.data = c.out.data = &c;
  ls_spawn_opts_t o = {.program = "no-such-program", .dir = "/nonexistent", .out_pipe = &c.out,
                       .on_exit = on_exit_cb, .on_close = on_closed};
  assert_true(ls_spawn(&loop, &c.proc, &o, NULL, 0) < 0);
  assert_true(uv_is_closing((uv_handle_t *)&c.proc));
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(c.closed, 2);
  assert_int_equal(c.exited, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(output_on_a_pipe),
      cmocka_unit_test(sibling_program_and_status),
      cmocka_unit_test(failure_closes_the_handles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
