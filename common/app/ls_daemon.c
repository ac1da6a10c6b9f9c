#include "ls_daemon.h"

#include <stdio.h>
#include <string.h>

#include "ls_log.h"
#include "ls_pool.h"
#include "ls_util.h"

const char *ls_daemon_log_name(const ls_config_program_t *prog) {
  const char *p = prog->program;
  return strncmp(p, "lanswarm-", 9) == 0 ? p + 9 : p;
}

static int read_config(ls_daemon_t *d, const ls_config_program_t *prog, int argc, char **argv) {
  char err[512];
  int rc = ls_config_from_args(d->cfg, prog, argc, argv, err, sizeof err);
  if (rc == LS_CONFIG_HELP) {
    ls_config_help(prog, stdout);
    return 0;
  }
  if (rc == LS_CONFIG_VERSION) {
    printf("%s %s\n", prog->program, ls_version());
    return 0;
  }
  if (rc < 0) {
    if (err[0]) fprintf(stderr, "%s: %s\n", prog->program, err);
    return 2;
  }
  d->first_arg = rc;
  if (rc < argc && !(prog->start & LS_START_ARGS)) {
    fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", prog->program, argv[rc]);
    return 2;
  }
  return LS_DAEMON_RUN;
}

/* Diagnostics go to stderr and, with log_file, to that file too. A program
 * whose stdout is a conversation (LS_START_QUIET) keeps stderr to warnings
 * and errors, or sends everything to log_file alone. */
static int start_log(const ls_daemon_t *d, const ls_config_program_t *prog) {
  const ls_config_t *cfg = d->cfg;
  int quiet = (prog->start & LS_START_QUIET) != 0;
  ls_log_level_t level = cfg->log_level;
  if (quiet && cfg->log_file[0] == '\0' && level < LS_LOG_WARN) level = LS_LOG_WARN;
  ls_log_init(ls_daemon_log_name(prog), level);
  if (cfg->log_file[0] && ls_log_open_file(cfg->log_file, quiet) != 0) {
    fprintf(stderr, "%s: cannot open log file %s\n", prog->program, cfg->log_file);
    return -1;
  }
  return 0;
}

static int make_dirs(const ls_daemon_t *d, const ls_config_program_t *prog) {
  int rc = 0;
  if (prog->start & LS_START_MAKE_DIRS) rc = ls_config_make_dirs(d->cfg);
  else if (prog->start & LS_START_MAKE_DIR) rc = ls_mkdir_p(d->cfg->dir);
  if (rc != 0) fprintf(stderr, "%s: cannot create folders under %s: %s\n", prog->program, d->cfg->dir, uv_strerror(rc));
  return rc;
}

int ls_daemon_start(ls_daemon_t *d, const ls_config_program_t *prog, int argc, char **argv) {
  int fail = prog->fail_status ? prog->fail_status : 1;
  ls_pool_init(); /* before anything uses the thread pool */
  int rc = read_config(d, prog, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  if (start_log(d, prog) != 0) return fail;
  if (d->key != NULL) {
    char err[512];
    if (ls_config_load_key(d->cfg, d->key, err, sizeof err) != 0) {
      fprintf(stderr, "%s: %s\n", prog->program, err);
      return fail;
    }
  }
  if (make_dirs(d, prog) != 0) return fail;
  d->loop = uv_default_loop();
  return LS_DAEMON_RUN;
}
