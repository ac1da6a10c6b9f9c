/* lanswarm get: runs lanswarm-downloader in this process's place, with the
 * peer's --dir and --config before the options given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* `get --help`: this command's usage, then the downloader's options (from
 * its --help, past its own usage line and description), which get passes on. */
static int get_help(const char *prog) {
  printf("Usage: lanswarm get NAME [OPTIONS]\n\nDownloads NAME from every peer that has it into DIR/downloads/ by running\n"
         "lanswarm-downloader with this peer's --dir and --config; OPTIONS are passed on.\n\n");
  fflush(stdout);
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(prog, prog, "--help", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *in = pid > 0 ? fdopen(fds[0], "r") : NULL;
  if (in == NULL) {
    close(fds[0]);
    return 1;
  }
  char line[512];
  int shown = 0, status = 1;
  while (fgets(line, sizeof line, in) != NULL) {
    if (!shown && (strncmp(line, "Exit status", 11) == 0 || strncmp(line, "Options:", 8) == 0)) shown = 1;
    if (shown) fputs(line, stdout);
  }
  fclose(in);
  waitpid(pid, &status, 0);
  return status == 0 && shown ? 0 : 1;
}

static int run_get(cli_ctx_t *c, int argc, char **argv) {
  char prog[PATH_MAX + 32];
  snprintf(prog, sizeof prog, "%s/lanswarm-downloader", c->bin_dir);
  if (cli_wants_help(argc, argv)) return get_help(prog);
  char **args = calloc((size_t)argc + 6, sizeof *args);
  if (args == NULL) return 1;
  int n = 0;
  args[n++] = prog;
  args[n++] = "--dir";
  args[n++] = c->cfg.dir;
  if (c->config_path[0]) {
    args[n++] = "--config";
    args[n++] = c->config_path;
  }
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  args[n] = NULL;
  execv(prog, args);
  fprintf(stderr, "lanswarm: cannot run %s: %s\n", prog, strerror(errno));
  free(args);
  return 1;
}

const cli_command_t cli_cmd_get = {
    "get",
    "get NAME [OPTS]",
    "download NAME (lanswarm-downloader; OPTS are passed on)",
    NULL, /* run_get: this command's usage and the downloader's options */
    run_get,
    0,
};
