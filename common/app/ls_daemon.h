/* ls_daemon: the start-up every lanswarm program shares.
 *
 * The program side of the library, like curl's src/tool_*: it reads the
 * configuration (defaults, file, flags), answers --help and --version, sets
 * up logging (and the log file), loads the network key and creates the
 * peer's folders; it prints what went wrong as one line on stderr and says
 * which exit status to use. What is left to main() is the program itself.
 *
 *   ls_daemon_t d = {.cfg = &app.cfg, .key = &app.key};
 *   int rc = ls_daemon_start(&d, &program, argc, argv);
 *   if (rc != LS_DAEMON_RUN) return rc;
 *   ... d.loop is the default loop; argv[d.first_arg] the first argument ... */
#ifndef LS_DAEMON_H
#define LS_DAEMON_H

#include <uv.h>

#include "ls_auth.h"
#include "ls_config.h"

#define LS_DAEMON_RUN (-1) /* ls_daemon_start: go on */

typedef struct {
  ls_config_t *cfg;  /* in: where the configuration goes */
  ls_key_t *key;     /* in: where the network key goes, or NULL: the program loads none */
  uv_loop_t *loop;   /* out: the default loop */
  int first_arg;     /* out: argv's first positional argument (argc if none) */
} ls_daemon_t;

/* Starts a program as prog says (prog->start: LS_START_*). Returns
 * LS_DAEMON_RUN, or the exit status to end with: 0 after --help or
 * --version, 2 for a bad flag, key or argument, prog->fail_status (default 1)
 * when the log file, the key or a folder cannot be had. */
int ls_daemon_start(ls_daemon_t *d, const ls_config_program_t *prog, int argc, char **argv);

/* prog->program without "lanswarm-": the name on log lines. */
const char *ls_daemon_log_name(const ls_config_program_t *prog);

#endif
