/* session: the client shell's session at the tracker. Registers this peer
 * under a unique host name (asking for another while the name is taken),
 * publishes the peer's share and keeps it published (ls_publisher), answers
 * the tracker's pings, and runs the shell's commands (ls_shell):
 *   publish <local-path> <name>   put a file into the share under name, publish it
 *   fetch <name>                  show the holders, then run lanswarm-downloader
 *   list                          this peer's files
 *   quit | disconnect             leave the tracker cleanly */
#ifndef SESSION_H
#define SESSION_H

#include <uv.h>

#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_name.h"
#include "ls_publisher.h"
#include "ls_share.h"
#include "ls_shell.h"

#define SESSION_NO_SHELL 1 /* session_init: stdin is neither a terminal nor a pipe */

typedef struct {
  const ls_config_t *cfg;
  char tracker[LS_TRACKER_ADDR_LEN]; /* the first of `tracker`: the shell uses one tracker */
  uv_loop_t *loop;
  ls_catalog_t *catalog;
  ls_publisher_t pub;
  ls_shell_t sh;
  int registered_once;
  uint32_t lookup_id;
  char fetch_name[LS_NAME_MAX + 1];
  char pending[LS_NAME_MAX + 1]; /* a published name waiting for the catalog */
  uv_process_t child;
  ls_share_add_t add;     /* the file being put into the share */
  char publish_name[LS_NAME_MAX + 1];
  int quitting;
  void (*on_quit)(void *ud); /* the session has closed (quit, end of input, session_close) */
  void *ud;
} session_t;

/* The shell on stdin, the catalog and the publisher, from cfg (kept, as key
 * is, while the loop runs; key NULL without a network key). Returns 0,
 * SESSION_NO_SHELL, or a negative error code. */
int session_init(session_t *c, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key,
                 void (*on_quit)(void *ud), void *ud);
/* Registers at the tracker and starts reading commands. */
void session_start(session_t *c);
/* Leaves the tracker cleanly: the loop then ends. */
void session_close(session_t *c);

#endif
