/* ls_lines: reads standard input line by line on the loop (a terminal or a
 * pipe), for the interactive shells. */
#ifndef LS_LINES_H
#define LS_LINES_H

#include <uv.h>

#define LS_LINES_MAX 4096

typedef struct ls_lines_s ls_lines_t;
/* line is NUL-terminated without its newline; NULL at end of input. */
typedef void (*ls_lines_cb)(ls_lines_t *in, char *line);

struct ls_lines_s {
  union {
    uv_tty_t tty;
    uv_pipe_t pipe;
  } h;
  int is_tty;
  int open;
  int paused;
  ls_lines_cb cb;
  void *data;
  char line[LS_LINES_MAX];
  size_t len;
  int overlong;
};

/* UV_ENOTSUP when stdin is neither a terminal nor a pipe. */
int ls_lines_start(uv_loop_t *loop, ls_lines_t *in, ls_lines_cb cb);
void ls_lines_pause(ls_lines_t *in);
void ls_lines_resume(ls_lines_t *in);
void ls_lines_close(ls_lines_t *in);

#endif
