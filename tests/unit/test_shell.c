/* ls_shell: commands from a table, fed through a pipe on standard input. */
#include "helpers.h"

#include <fcntl.h>

#include "ls_shell.h"

typedef struct {
  char calls[1024]; /* "name(arg,arg);" for every command run */
  int ended;
  char answer[64];
} record_t;

static void note(ls_shell_t *sh, const char *name, int argc, char **argv) {
  record_t *r = sh->data;
  size_t n = strlen(r->calls);
  n += (size_t)snprintf(r->calls + n, sizeof r->calls - n, "%s(", name);
  for (int i = 0; i < argc; i++)
    n += (size_t)snprintf(r->calls + n, sizeof r->calls - n, "%s%s", i ? "," : "", argv[i]);
  snprintf(r->calls + n, sizeof r->calls - n, ");");
}

static void got_answer(ls_shell_t *sh, char *line) {
  record_t *r = sh->data;
  snprintf(r->answer, sizeof r->answer, "%s", line);
}

static int cmd_get(ls_shell_t *sh, int argc, char **argv) {
  note(sh, "get", argc, argv);
  return LS_SHELL_DONE;
}

static int cmd_put(ls_shell_t *sh, int argc, char **argv) {
  note(sh, "put", argc, argv);
  return LS_SHELL_DONE;
}

static int cmd_ask(ls_shell_t *sh, int argc, char **argv) {
  note(sh, "ask", argc, argv);
  ls_shell_ask(sh, "name? ", got_answer);
  return LS_SHELL_LATER;
}

static int cmd_quit(ls_shell_t *sh, int argc, char **argv) {
  note(sh, "quit", argc, argv);
  ls_shell_close(sh);
  return LS_SHELL_DONE;
}

static const ls_shell_cmd_t commands[] = {
    {"get", "<name>", "fetch a name", 1, 1, 1, cmd_get},
    {"put", "<path> <name>", "publish a file", 2, 2, 1, cmd_put},
    {"ask", "", "ask a question", 0, 0, 0, cmd_ask},
    {"quit", "", "leave", 0, 0, 0, cmd_quit},
    {"bye", "", NULL, 0, 0, 0, cmd_quit},
};

static void on_end(ls_shell_t *sh) {
  ((record_t *)sh->data)->ended = 1;
}

/* Runs the shell over input on a pipe as stdin; returns what it printed. */
static void run_shell(const char *input, record_t *r, char *out, size_t outlen) {
  int in[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
  close(in[1]);
  char path[] = "/tmp/lanswarm-unit-shell-XXXXXX";
  int capture = mkstemp(path);
  assert_true(capture >= 0);
  fflush(stdout);
  int saved_in = dup(0), saved_out = dup(1);
  dup2(in[0], 0);
  dup2(capture, 1);
  close(in[0]);

  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_shell_t sh;
  memset(&sh, 0, sizeof sh);
  sh.data = r;
  int rc = ls_shell_start(&loop, &sh, commands, sizeof commands / sizeof commands[0], "> ", on_end);
  if (rc == 0) {
    ls_shell_greet(&sh, "test shell");
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);

  fflush(stdout);
  dup2(saved_out, 1);
  dup2(saved_in, 0);
  close(saved_out);
  close(saved_in);
  assert_int_equal(rc, 0);
  memset(out, 0, outlen);
  assert_true(pread(capture, out, outlen - 1, 0) >= 0);
  close(capture);
  unlink(path);
}

static void splits_lines_into_commands(void **state) {
  (void)state;
  record_t r = {0};
  char out[4096];
  run_shell("get  my song.ogg\n\n  put /tmp/a b c\nget\nlist\nhelp\nquit now\nbye\nget late\n", &r, out, sizeof out);
  /* A `rest` argument keeps its spaces; "quit now" has too many arguments; "bye" quits. */
  assert_string_equal(r.calls, "get(my song.ogg);put(/tmp/a,b c);quit();");
  assert_int_equal(r.ended, 0); /* quit closes: no end of input seen */
  assert_non_null(strstr(out, "test shell: get <name>, put <path> <name>, ask, quit\n"));
  assert_non_null(strstr(out, "usage: get <name> | put <path> <name> | ask | quit\n"));
  assert_non_null(strstr(out, "  put <path> <name>              publish a file\n"));
  assert_non_null(strstr(out, "  help                           this list\n"));
  assert_null(strstr(out, "bye"));   /* aliases are not shown */
  assert_null(strstr(out, "PROMPT"));    /* no prompt on a pipe */
}

static void asks_and_ends(void **state) {
  (void)state;
  record_t r = {0};
  char out[1024];
  run_shell("ask\n  Bob \nget x\r\nput y", &r, out, sizeof out);
  assert_string_equal(r.answer, "  Bob "); /* the answer is the whole line */
  assert_string_equal(r.calls, "ask();get(x);");
  assert_non_null(strstr(out, "name? "));
  assert_int_equal(r.ended, 1); /* the unterminated last line is dropped */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(splits_lines_into_commands),
      cmocka_unit_test(asks_and_ends),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
