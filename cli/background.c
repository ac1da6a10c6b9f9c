/* background: the records of `get --detach` (DIR/run/get/PID), and the
 * commands over them and over temp/: cancel (stop a background download,
 * keep its partial) and clean (discard partials on purpose). */
#include "background.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ls_partial.h"
#include "ls_util.h"

static void record_path(const cli_ctx_t *c, long pid, char *buf, size_t len) {
  if (pid > 0) snprintf(buf, len, "%s/run/get/%ld", c->cfg.dir, pid);
  else snprintf(buf, len, "%s/run/get", c->cfg.dir);
}

/* In the child: its own session, no terminal, output to DIR/logs/get.log. */
static void detach_child(const cli_ctx_t *c, char **argv) {
  char log[PATH_MAX + 32];
  snprintf(log, sizeof log, "%s/logs", c->cfg.dir);
  ls_mkdir_p(log);
  snprintf(log, sizeof log, "%s/logs/get.log", c->cfg.dir);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC), out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (setsid() < 0 || in < 0 || out < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
      dup2(out, STDERR_FILENO) < 0)
    _exit(1);
  execv(argv[0], argv);
  _exit(127);
}

long cli_bg_start(const cli_ctx_t *c, char **argv, const char *name) {
  char path[PATH_MAX + 64];
  record_path(c, 0, path, sizeof path);
  if (ls_mkdir_p(path) != 0) {
    fprintf(stderr, "lanswarm get: cannot create %s: %s\n", path, strerror(errno));
    return -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) detach_child(c, argv);
  if (pid < 0) {
    fprintf(stderr, "lanswarm get: cannot start a background download: %s\n", strerror(errno));
    return -1;
  }
  record_path(c, pid, path, sizeof path);
  char line[LS_NAME_MAX + 2];
  int n = snprintf(line, sizeof line, "%s\n", name);
  if (ls_write_file_atomic(path, line, (size_t)n, 0) != 0)
    fprintf(stderr, "lanswarm get: cannot record it in %s (status and cancel will not see it)\n", path);
  return (long)pid;
}

/* pid is a lanswarm program still running (not a pid reused since). */
static int still_ours(long pid) {
  char path[64], cmd[256];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, cmd, sizeof cmd - 1);
  close(fd);
  if (n <= 0) return 0;
  cmd[n] = '\0';
  return strstr(cmd, "lanswarm") != NULL;
}

void cli_bg_each(const cli_ctx_t *c, cli_bg_cb cb, void *ud) {
  char path[PATH_MAX + 64];
  record_path(c, 0, path, sizeof path);
  DIR *d = opendir(path);
  struct dirent *de;
  while (d != NULL && (de = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(de->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    record_path(c, pid, path, sizeof path);
    uint8_t *data;
    size_t len;
    if (ls_read_file(path, LS_NAME_MAX + 2, &data, &len) != 0) continue;
    char *name = (char *)data;
    name[strcspn(name, "\n")] = '\0';
    int stop = 0;
    if (!still_ours(pid) || kill((pid_t)pid, 0) != 0) unlink(path); /* finished: its record goes */
    else if (ls_name_valid(name, strlen(name))) stop = cb(ud, pid, name);
    free(data);
    if (stop) break;
  }
  if (d) closedir(d);
}

/* ---------- cancel ---------- */

typedef struct {
  const char *name;
  long pids[64];
  size_t n;
} cancel_t;

static int match_name(void *ud, long pid, const char *name) {
  cancel_t *k = ud;
  if (strcmp(name, k->name) == 0 && k->n < sizeof k->pids / sizeof k->pids[0]) k->pids[k->n++] = pid;
  return 0;
}

/* Waits (10 s at most) for the processes to end; how many still run. */
static size_t wait_gone(const cancel_t *k) {
  size_t left = k->n;
  for (int tries = 0; tries < 200 && left > 0; tries++) {
    left = 0;
    for (size_t i = 0; i < k->n; i++) left += kill((pid_t)k->pids[i], 0) == 0 && still_ours(k->pids[i]);
    if (left) nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
  }
  return left;
}

/* cancel NAME: 0 stopped, 1 none ran, 2 usage. */
static int run_cancel(cli_ctx_t *c, int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "lanswarm cancel: which download? (lanswarm cancel NAME; lanswarm status lists them)\n");
    return 2;
  }
  cancel_t k = {argv[1], {0}, 0};
  cli_bg_each(c, match_name, &k);
  if (k.n == 0) {
    printf("no background download of %s (lanswarm status lists them; one in a terminal stops with Ctrl-C)\n",
           argv[1]);
    return 1;
  }
  for (size_t i = 0; i < k.n; i++) kill((pid_t)k.pids[i], SIGTERM);
  if (wait_gone(&k) > 0) {
    fprintf(stderr, "lanswarm cancel: %s did not stop within 10 s (pid %ld)\n", argv[1], k.pids[0]);
    return 1;
  }
  printf("cancelled %s; its verified chunks stay in %s (lanswarm get %s resumes, lanswarm clean %s discards them)\n",
         argv[1], c->cfg.temp_dir, argv[1], argv[1]);
  return 0;
}

const cli_command_t cli_cmd_cancel = {
    "cancel",
    "cancel NAME",
    "stop a background download (get --detach); its partial is kept",
    "Usage: lanswarm cancel NAME\n\nStops the background download of NAME (lanswarm get --detach) as Ctrl-C\n"
    "would: the chunks verified so far stay in temp/, so `lanswarm get NAME`\n"
    "resumes it and `lanswarm clean NAME` discards it.\n"
    "Exit status: 0 stopped; 1 no background download of NAME; 2 usage.\n",
    run_cancel,
    0,
};

/* ---------- clean ---------- */

typedef struct {
  const cli_ctx_t *c;
  const char *name; /* NULL: every partial */
  unsigned removed, busy, failed;
} clean_t;

static int clean_one(void *ud, ls_partial_info_t *info) {
  clean_t *k = ud;
  if (k->name != NULL && strcmp(k->name, info->name) != 0) return 0;
  char got[32], size[32];
  uint64_t held = info->held > 0 ? (uint64_t)info->held * info->manifest.chunk_size : 0;
  ls_format_bytes((double)(held < info->manifest.size ? held : info->manifest.size), got, sizeof got);
  ls_format_bytes((double)info->manifest.size, size, sizeof size);
  int rc = ls_partial_remove(k->c->cfg.temp_dir, info->root_hex);
  if (rc == -EBUSY) {
    k->busy++;
    printf("kept %s: it is being downloaded (lanswarm cancel %s first)\n", info->name, info->name);
  } else if (rc != 0) {
    k->failed++;
    fprintf(stderr, "lanswarm clean: cannot remove the partial of %s: %s\n", info->name, strerror(-rc));
  } else {
    k->removed++;
    printf("removed the partial download of %s (%s of %s verified) from %s\n", info->name, got, size,
           k->c->cfg.temp_dir);
  }
  return 0;
}

/* clean [NAME]: 0 (something removed, or nothing to do without NAME), 1 NAME
 * has no partial or could not go, 2 usage. */
static int run_clean(cli_ctx_t *c, int argc, char **argv) {
  if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    fprintf(stderr, "lanswarm clean: unexpected '%s' (lanswarm clean [NAME])\n", argv[argc - 1]);
    return 2;
  }
  clean_t k = {c, argc == 2 ? argv[1] : NULL, 0, 0, 0};
  int rc = ls_partial_scan(c->cfg.temp_dir, clean_one, &k);
  if (rc != 0 && rc != -ENOENT) {
    fprintf(stderr, "lanswarm clean: cannot read %s: %s\n", c->cfg.temp_dir, strerror(-rc));
    return 1;
  }
  if (k.removed + k.busy + k.failed == 0) {
    if (k.name) printf("no partial download of %s in %s\n", k.name, c->cfg.temp_dir);
    else printf("no partial downloads in %s: nothing to clean\n", c->cfg.temp_dir);
    return k.name ? 1 : 0;
  }
  return k.busy + k.failed > 0 ? 1 : 0;
}

const cli_command_t cli_cmd_clean = {
    "clean",
    "clean [NAME]",
    "discard partial downloads (temp/): NAME's, or all not running",
    "Usage: lanswarm clean [NAME]\n\nDiscards the partial download of NAME (every one, without NAME) from\n"
    "temp/: its data and its map of verified chunks, said line by line. A download\n"
    "running is kept (lanswarm cancel NAME first). Nothing in downloads/ or\n"
    "share/ is touched.\n"
    "Exit status: 0 removed (or nothing to clean without NAME); 1 NAME has no\n"
    "partial, or one could not be removed; 2 usage.\n",
    run_clean,
    0,
};
