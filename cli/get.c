/* lanswarm get: runs lanswarm-downloader with the peer's --dir and --config
 * before the options given. One name: the downloader in this process's
 * place. Several names, or a glob matched against tags.txt's names: one
 * downloader after another (each its own progress line), then a summary.
 * --detach: each in the background (background.c), listed by status. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "background.h"
#include "cli.h"

#define GET_DETACH_MAX 16 /* background downloads one `get --detach` starts */

/* `get --help`: this command's usage, then the downloader's options (from
 * its --help, past its own usage line and description), which get passes on. */
static int get_help(const char *prog) {
  printf("Usage: lanswarm get NAME|'GLOB'... [--detach] [OPTIONS]\n\nDownloads each NAME from every peer that has it into DIR/downloads/ by running\n"
         "lanswarm-downloader with this peer's --dir and --config; OPTIONS are passed on.\n"
         "A GLOB (quoted: 'photos/*') stands for the names in tags.txt it matches.\n"
         "Several files are fetched one after another, each with its own progress line,\n"
         "then a summary; the exit status is 0 when every one was saved or is already\n"
         "here, else the first failure's (below). --detach runs each in the background\n"
         "(output in DIR/logs/get.log): `lanswarm status` lists them, `lanswarm cancel\n"
         "NAME` stops one.\n\n");
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

/* An option of the downloader's that takes the next argument as its value:
 * its own (--root, --from, --depth), -c, or a configuration key's flag. */
static int takes_value(const char *arg) {
  if (strchr(arg, '=') != NULL || strncmp(arg, "--", 2) != 0) return strcmp(arg, "-c") == 0;
  if (strcmp(arg, "--root") == 0 || strcmp(arg, "--from") == 0 || strcmp(arg, "--depth") == 0) return 1;
  size_t n;
  const ls_config_key_t *keys = ls_config_keys(&n);
  char flag[128];
  for (size_t i = 0; i < n; i++) {
    ls_config_flag_name(&keys[i], flag, sizeof flag);
    if (strcmp(arg + 2, flag) == 0 || (keys[i].alias && strcmp(arg + 2, keys[i].alias) == 0)) return 1;
  }
  return 0;
}

typedef struct {
  char **args;      /* the downloader's argv: program, --dir, [--config], options; a name goes last */
  int nargs;        /* without the name */
  char **names;     /* as given, then as matched */
  size_t nnames;
  int detach, root;
} get_t;

/* Splits argv into the downloader's options and the names. 0 or -1. */
static int split_args(const cli_ctx_t *c, get_t *g, char *prog, int argc, char **argv) {
  g->args = calloc((size_t)argc + 7, sizeof *g->args);
  g->names = calloc((size_t)argc, sizeof *g->names);
  if (g->args == NULL || g->names == NULL) return -1;
  g->args[g->nargs++] = prog;
  g->args[g->nargs++] = "--dir";
  g->args[g->nargs++] = (char *)c->cfg.dir;
  if (c->config_path[0]) {
    g->args[g->nargs++] = "--config";
    g->args[g->nargs++] = (char *)c->config_path;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--detach") == 0) {
      g->detach = 1;
    } else if (argv[i][0] == '-') {
      g->root |= strncmp(argv[i], "--root", 6) == 0;
      g->args[g->nargs++] = argv[i];
      if (takes_value(argv[i]) && i + 1 < argc) g->args[g->nargs++] = argv[++i];
    } else {
      g->names[g->nnames++] = argv[i];
    }
  }
  return 0;
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A glob (* ? [) becomes the names of tags.txt it matches, sorted, each
 * once (a name of tags.txt spelled so is itself); *out is malloc'ed, the
 * names point into e. The count, or -1. */
static long expand_glob(const ls_tag_entry_t *e, size_t n, const char *glob, char ***out) {
  *out = malloc((n + 1) * sizeof **out);
  if (*out == NULL) return -1;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(glob, e[i].name) == 0) { /* a name that only looks like a glob ("a[1].txt") */
      (*out)[0] = e[i].name;
      return 1;
    }
  for (size_t i = 0; i < n; i++)
    if (fnmatch(glob, e[i].name, 0) == 0) (*out)[k++] = e[i].name;
  if (k) qsort(*out, k, sizeof **out, str_cmp);
  size_t u = 0;
  for (size_t i = 0; i < k; i++)
    if (u == 0 || strcmp((*out)[u - 1], (*out)[i]) != 0) (*out)[u++] = (*out)[i];
  return (long)u;
}

/* The names with each glob replaced by its matches (strdup'ed). 0, or an
 * exit status (said): 3 a glob matches nothing. */
static int expand_names(const cli_ctx_t *c, get_t *g) {
  ls_tag_entry_t *e = NULL;
  size_t n = 0, cap = g->nnames + 1, k = 0;
  char **names = malloc(cap * sizeof *names);
  int rc = names ? 0 : 1;
  for (size_t i = 0; i < g->nnames && rc == 0; i++) {
    char **m = &g->names[i];
    long nm = 1;
    if (strpbrk(g->names[i], "*?[") != NULL) {
      if (e == NULL && cli_read_tags(c, &e, &n) != 0) {
        rc = 7; /* as the downloader's: tags.txt cannot be read */
        break;
      }
      if ((nm = expand_glob(e, n, g->names[i], &m)) == 0) {
        fprintf(stderr, "lanswarm get: no file in %s matches '%s' (lanswarm files lists them)\n", c->cfg.tags_path,
                g->names[i]);
        rc = 3;
      }
    }
    char **more = nm > 0 ? realloc(names, (cap += (size_t)nm) * sizeof *names) : names;
    if (nm < 0 || more == NULL) rc = 1;
    else names = more;
    for (long j = 0; rc == 0 && j < nm; j++) names[k++] = strdup(m[j]);
    if (m != &g->names[i]) free(m);
  }
  ls_tags_free(e, n);
  free(g->names);
  g->names = names;
  g->nnames = names ? k : 0;
  return rc;
}

/* Runs the downloader for one name and waits: its exit status. */
static int run_one(get_t *g, char *name) {
  g->args[g->nargs] = name;
  g->args[g->nargs + 1] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    execv(g->args[0], g->args);
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) return 1;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

/* Several names, one after another: the first failure's status, or 0. */
static int get_several(get_t *g) {
  int first_fail = 0;
  size_t ok = 0;
  char failed[1024] = "";
  size_t used = 0;
  for (size_t i = 0; i < g->nnames; i++) {
    fprintf(stderr, "[%zu/%zu] %s\n", i + 1, g->nnames, g->names[i]);
    int rc = run_one(g, g->names[i]);
    if (rc == 0) ok++;
    else if (first_fail == 0) first_fail = rc;
    if (rc != 0 && used < sizeof failed - 1)
      used += (size_t)snprintf(failed + used, sizeof failed - used, "%s%s (exit %d)", used ? ", " : "",
                               g->names[i], rc);
    if (rc == 130) break; /* Ctrl-C stops them all, as it stops one */
  }
  if (first_fail == 0) fprintf(stderr, "all %zu files saved or already here\n", g->nnames);
  else fprintf(stderr, "%zu of %zu files saved or already here; not done: %s\n", ok, g->nnames, failed);
  return first_fail;
}

/* --detach: each name in the background. */
static int get_detached(const cli_ctx_t *c, get_t *g) {
  if (g->nnames > GET_DETACH_MAX) {
    fprintf(stderr, "lanswarm get: at most %d background downloads at once (%zu asked); use no --detach for more\n",
            GET_DETACH_MAX, g->nnames);
    return 2;
  }
  int rc = 0;
  for (size_t i = 0; i < g->nnames; i++) {
    g->args[g->nargs] = g->names[i];
    g->args[g->nargs + 1] = NULL;
    long pid = cli_bg_start(c, g->args, g->names[i]);
    if (pid < 0) rc = 1;
    else printf("downloading %s in the background (pid %ld)\n", g->names[i], pid);
  }
  printf("lanswarm status shows them, lanswarm cancel NAME stops one; their output is in %s/logs/get.log\n",
         c->cfg.dir);
  return rc;
}

static void get_free(get_t *g) {
  for (size_t i = 0; g->names && i < g->nnames; i++) free(g->names[i]);
  free(g->names);
  free(g->args);
}

static int run_get(cli_ctx_t *c, int argc, char **argv) {
  char prog[PATH_MAX + 32];
  snprintf(prog, sizeof prog, "%s/lanswarm-downloader", c->bin_dir);
  if (cli_wants_help(argc, argv)) return get_help(prog);
  get_t g = {0};
  int rc = split_args(c, &g, prog, argc, argv) == 0 ? 0 : 1;
  if (rc == 0 && g.nnames > 0) rc = expand_names(c, &g);
  if (rc == 0 && g.root && g.nnames > 1) {
    fprintf(stderr, "lanswarm get: --root picks one content of one name; give one NAME with it\n");
    rc = 2;
  }
  if (rc == 0 && g.detach && g.nnames == 0) {
    fprintf(stderr, "lanswarm get: --detach needs a NAME (lanswarm get NAME --detach)\n");
    rc = 2;
  }
  if (rc == 0 && g.detach) rc = get_detached(c, &g);
  else if (rc == 0 && g.nnames > 1) rc = get_several(&g);
  else if (rc == 0) {
    g.args[g.nargs] = g.nnames ? g.names[0] : NULL;
    g.args[g.nargs + 1] = NULL;
    execv(prog, g.args);
    fprintf(stderr, "lanswarm: cannot run %s: %s\n", prog, strerror(errno));
    rc = 1;
  }
  get_free(&g);
  return rc;
}

const cli_command_t cli_cmd_get = {
    "get",
    "get NAME|GLOB... [OPTS]",
    "download files (lanswarm-downloader); --detach: in the background",
    NULL, /* run_get: this command's usage and the downloader's options */
    run_get,
    0,
};
