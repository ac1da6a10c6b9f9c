#include "ls_spawn.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

static int program_path(const ls_spawn_opts_t *o, char *out, size_t len) {
  if (o->path != NULL) return snprintf(out, len, "%s", o->path) < (int)len ? 0 : UV_ENAMETOOLONG;
  char dir[PATH_MAX];
  if (o->dir != NULL) snprintf(dir, sizeof dir, "%s", o->dir);
  else if (ls_program_dir(dir, sizeof dir) != 0) return UV_ENAMETOOLONG;
  return snprintf(out, len, "%s/lanswarm-%s", dir, o->program) < (int)len ? 0 : UV_ENAMETOOLONG;
}

static void set_output(uv_stdio_container_t *c, int fd, uv_pipe_t *pipe) {
  if (pipe != NULL) {
    c->flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    c->data.stream = (uv_stream_t *)pipe;
  } else if (fd > 0) {
    c->flags = UV_INHERIT_FD;
    c->data.fd = fd;
  } else {
    c->flags = UV_IGNORE;
  }
}

/* argv: the program, then o->args. */
static char **make_argv(const char *file, char *const *args) {
  size_t n = 0;
  while (args && args[n]) n++;
  char **argv = calloc(n + 2, sizeof *argv);
  if (argv == NULL) return NULL;
  argv[0] = (char *)file;
  for (size_t i = 0; i < n; i++) argv[i + 1] = args[i];
  return argv;
}

static void init_pipes(uv_loop_t *loop, uv_pipe_t *const pipes[2]) {
  for (int i = 0; i < 2; i++) {
    if (pipes[i] == NULL) continue;
    void *data = pipes[i]->data;
    uv_pipe_init(loop, pipes[i], 0);
    pipes[i]->data = data;
  }
}

int ls_spawn(uv_loop_t *loop, uv_process_t *proc, const ls_spawn_opts_t *o, char *path, size_t pathlen) {
  char file[PATH_MAX + 32];
  int rc = program_path(o, file, sizeof file);
  if (path != NULL) snprintf(path, pathlen, "%s", rc == 0 ? file : o->path ? o->path : o->program);
  char **argv = rc == 0 ? make_argv(file, o->args) : NULL;
  if (argv == NULL) return rc != 0 ? rc : UV_ENOMEM; /* nothing touched */
  uv_pipe_t *const pipes[2] = {o->out_pipe, o->err_pipe};
  init_pipes(loop, pipes);
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  set_output(&stdio[1], o->out_fd, o->out_pipe);
  set_output(&stdio[2], o->err_fd, o->err_pipe);
  uv_process_options_t po;
  memset(&po, 0, sizeof po);
  po.file = file;
  po.args = argv;
  po.exit_cb = o->on_exit;
  po.stdio = stdio;
  po.stdio_count = 3;
  rc = uv_spawn(loop, proc, &po);
  free(argv);
  if (rc == 0) return 0;
  /* uv_spawn initialises the process handle even when it fails. */
  for (int i = 0; i < 2; i++)
    if (pipes[i] != NULL) uv_close((uv_handle_t *)pipes[i], o->on_close);
  uv_close((uv_handle_t *)proc, o->on_close);
  return rc;
}
