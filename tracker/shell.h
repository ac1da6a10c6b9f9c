/* shell: the tracker's admin shell on standard input (a terminal or a pipe):
 * discover <host>, ping <host>, list, files, quit. */
#ifndef SHELL_H
#define SHELL_H

#include <uv.h>

#include "tracker.h"

typedef struct shell_s shell_t;
/* on_quit runs when the user types quit. Returns 0, or UV_ENOTSUP when
 * stdin is neither a terminal nor a pipe (then there is no shell). */
int shell_start(uv_loop_t *loop, tracker_t *t, void (*on_quit)(void *ud), void *ud, shell_t **out);
void shell_close(shell_t *s);
void shell_free(shell_t *s);

#endif
