/* lanswarm: the one command a person types. This file is the dispatcher: the
 * global options (--dir, --config, --help, --version), the table of
 * subcommands and the usage it makes; each subcommand is in the file named
 * for it (cli.h), a thin front to the programs and files that exist. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ls_config.h"
#include "ls_util.h"

#define SYSTEM_CONFIG "/etc/lanswarm/lanswarm.conf"

static const cli_command_t *const commands[] = {
    &cli_cmd_init, &cli_cmd_up, &cli_cmd_down, &cli_cmd_status, &cli_cmd_peers, &cli_cmd_files, &cli_cmd_loc, &cli_cmd_get, &cli_cmd_cancel, &cli_cmd_clean,
    &cli_cmd_unshare, &cli_cmd_doctor,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out) {
  fprintf(out, "Usage: lanswarm [--dir DIR | --config FILE] COMMAND [ARGS]\n\nCommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) {
    const char *syn = commands[i]->synopsis;
    if (strlen(syn) > 16) fprintf(out, "  %s\n  %-16s  %s\n", syn, "", commands[i]->summary);
    else fprintf(out, "  %-16s  %s\n", syn, commands[i]->summary);
  }
  fprintf(out, "\nThe peer's configuration is --config FILE, else DIR/lanswarm.conf (DIR: --dir,\n"
               "default .), else " SYSTEM_CONFIG ". `lanswarm COMMAND --help` explains each.\n\n"
               "Exit status, for every command:\n"
               "  0    success (get: saved, or already here; with several names, every one)\n"
               "  1    failure; files, loc, cancel, clean NAME, unshare: nothing matched (grep's convention)\n"
               "  2    usage: unknown command or option; files, loc: trouble reading tags.txt\n"
               "  3-7  get (several names: the first failure's): not in tags.txt (3), no live holder (4; loc: none answered), integrity (5),\n"
               "       destination exists (6), local I/O error (7)\n"
               "  130  get: interrupted (the verified part is kept)\n");
}

static const cli_command_t *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0) return commands[i];
  return NULL;
}

/* The peer's configuration: --config FILE, else DIR/lanswarm.conf, else (no
 * --dir) the system's; --dir wins over the file's dir. 0 or -1 (said). */
static int load_config(cli_ctx_t *c, const char *dir, const char *config) {
  ls_config_defaults(&c->cfg);
  char err[512];
  const char *path = config;
  char local[PATH_MAX + 32];
  if (path == NULL) {
    snprintf(local, sizeof local, "%s/lanswarm.conf", dir ? dir : ".");
    if (access(local, F_OK) == 0) path = local;
    else if (dir == NULL && access(SYSTEM_CONFIG, F_OK) == 0) path = SYSTEM_CONFIG;
  }
  if (dir != NULL) snprintf(c->cfg.dir, sizeof c->cfg.dir, "%s", dir);
  if (path != NULL) {
    if (ls_config_load_file(&c->cfg, path, err, sizeof err) != 0) {
      fprintf(stderr, "lanswarm: %s\n", err);
      return -1;
    }
    if (dir != NULL) snprintf(c->cfg.dir, sizeof c->cfg.dir, "%s", dir);
    snprintf(c->config_path, sizeof c->config_path, "%s", path);
  }
  ls_config_finish(&c->cfg);
  return 0;
}

/* The global options before the command; the command's index in argv, or
 * -1 when an option was answered here (*rc is the exit status). */
static int global_options(int argc, char **argv, const char **dir, const char **config, int *rc) {
  int i = 1;
  for (; i < argc; i++) {
    if ((strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "-d") == 0) && i + 1 < argc) *dir = argv[++i];
    else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) *config = argv[++i];
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      *rc = 0;
      return -1;
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("lanswarm %s\n", ls_version());
      *rc = 0;
      return -1;
    } else break;
  }
  if (i == argc) {
    usage(stderr);
    *rc = 2;
    return -1;
  }
  return i;
}

int main(int argc, char **argv) {
  static cli_ctx_t c; /* large (the configuration and paths): not on the stack */
  const char *dir = NULL, *config = NULL;
  int rc = 0;
  int i = global_options(argc, argv, &dir, &config, &rc);
  if (i < 0) return rc;
  const cli_command_t *cmd = find_command(argv[i]);
  if (cmd == NULL) {
    fprintf(stderr, "lanswarm: unknown command '%s'\n\n", argv[i]);
    usage(stderr);
    return 2;
  }
  if (cmd->help != NULL && cli_wants_help(argc - i, argv + i)) {
    fputs(cmd->help, stdout);
    return 0;
  }
  cli_color_detect(&c);
  ls_program_dir(c.bin_dir, sizeof c.bin_dir);
  if (cmd->own_config) {
    if (dir) snprintf(c.cfg.dir, sizeof c.cfg.dir, "%s", dir);
  } else if (load_config(&c, dir, config) != 0) {
    return 2;
  }
  return cmd->run(&c, argc - i, argv + i);
}
