/* cli: what lanswarm's subcommands share. main.c parses the global options,
 * fills a cli_ctx_t and runs one command from its table; each command lives
 * in a file named for it (init.c, up.c, status.c, listing.c, get.c) and reads
 * or runs what the daemons provide: the files they write, the programs. */
#ifndef CLI_H
#define CLI_H

#include <limits.h>

#include "ls_config.h"
#include "ls_tags.h"
#include "ls_tagsq.h"

typedef struct {
  ls_config_t cfg;
  char config_path[PATH_MAX + 32]; /* the file read, or empty */
  char bin_dir[PATH_MAX];          /* where the lanswarm-* programs are */
  int color;                       /* stdout is a terminal and NO_COLOR is unset */
} cli_ctx_t;

/* A subcommand: its line in the usage and its --help, and the function that
 * runs it with argv[0] the command's name. Returns the exit status. */
typedef struct {
  const char *name;
  const char *synopsis; /* the usage's left column, e.g. "init [DIR]" */
  const char *summary;  /* its right column */
  const char *help;     /* `lanswarm NAME --help`; NULL: run() answers --help itself */
  int (*run)(cli_ctx_t *c, int argc, char **argv);
  int own_config;       /* run() reads no configuration first (init writes one) */
} cli_command_t;

extern const cli_command_t cli_cmd_init, cli_cmd_up, cli_cmd_down, cli_cmd_status, cli_cmd_peers, cli_cmd_files,
    cli_cmd_get, cli_cmd_loc, cli_cmd_cancel, cli_cmd_clean, cli_cmd_unshare, cli_cmd_doctor;

/* Colours, for cli_color(), which gives "" unless c->color. */
#define CLI_GREEN "\033[32m"
#define CLI_YELLOW "\033[33m"
#define CLI_RED "\033[31m"
#define CLI_BOLD "\033[1m"
#define CLI_RESET "\033[0m"
const char *cli_color(const cli_ctx_t *c, const char *code);
/* Sets c->color: stdout is a terminal and NO_COLOR is not set. */
void cli_color_detect(cli_ctx_t *c);

/* --help or -h among argv[1..]. */
int cli_wants_help(int argc, char **argv);

/* DIR/run/lanswarm.pid, the pid file of a running `up`. */
void cli_pid_path(const cli_ctx_t *c, char *buf, size_t len);
/* The pid of this peer's running `up`, or 0. */
long cli_supervisor_pid(const cli_ctx_t *c);

/* tags.txt's entries (ls_tags_read); on failure says so on stderr. 0 or -1. */
int cli_read_tags(const cli_ctx_t *c, ls_tag_entry_t **entries, size_t *n);

/* The peers as peers.txt and tags.txt know them (ls_tagsq_known); missing
 * files give none; an unreadable tags.txt is said on stderr (one sentence)
 * and gives none. 0, or -1 when out of memory (said). */
int cli_read_known(const cli_ctx_t *c, ls_tagsq_known_t **rows, size_t *n);

#endif
