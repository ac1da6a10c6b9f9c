/* ls_spawn: runs another lanswarm program as a child process on the loop:
 * lanswarm-NAME beside this program (ls_program_dir) or in a given folder,
 * or a given path; standard input ignored, standard output and error
 * inherited from a descriptor, ignored, or a pipe the caller reads. Used by
 * `lanswarm up` (the daemons), the client shell and the dashboard (the
 * downloader). */
#ifndef LS_SPAWN_H
#define LS_SPAWN_H

#include <uv.h>

#define LS_SPAWN_IGNORE (-1)

typedef struct {
  const char *path;     /* the program's path; or NULL and: */
  const char *program;  /* NAME, for lanswarm-NAME ... */
  const char *dir;      /* ... in this folder (NULL: this program's own) */
  char *const *args;    /* the arguments after the program's name, NULL-terminated; NULL for none */
  int out_fd, err_fd;   /* a descriptor inherited (above 0), or 0 or LS_SPAWN_IGNORE ... */
  uv_pipe_t *out_pipe, *err_pipe; /* ... unless a pipe is given: initialised here, then the caller's to read and close */
  uv_exit_cb on_exit;
  uv_close_cb on_close; /* for the handles closed when the spawn fails; may be NULL */
} ls_spawn_opts_t;

/* Starts the program; proc->data and the pipes' data are kept. Returns 0 or
 * a negative error code. When the path is too long or memory short, no
 * handle was touched; when uv_spawn fails, the process handle and the pipes
 * are being closed, with on_close (uv_is_closing tells the two apart).
 * path, if not NULL, gets the program's path either way, for messages. */
int ls_spawn(uv_loop_t *loop, uv_process_t *proc, const ls_spawn_opts_t *o, char *path, size_t pathlen);

#endif
