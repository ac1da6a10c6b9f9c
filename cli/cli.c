#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_util.h"

const char *cli_color(const cli_ctx_t *c, const char *code) {
  return c->color ? code : "";
}

void cli_color_detect(cli_ctx_t *c) {
  c->color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
}

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

void cli_pid_path(const cli_ctx_t *c, char *buf, size_t len) {
  snprintf(buf, len, "%s/run/lanswarm.pid", c->cfg.dir);
}

long cli_supervisor_pid(const cli_ctx_t *c) {
  char path[PATH_MAX + 32];
  cli_pid_path(c, path, sizeof path);
  uint8_t *data;
  size_t len;
  if (ls_read_file(path, 64, &data, &len) != 0) return 0;
  long pid = strtol((char *)data, NULL, 10);
  free(data);
  return pid > 0 && kill((pid_t)pid, 0) == 0 ? pid : 0;
}

int cli_read_tags(const cli_ctx_t *c, ls_tag_entry_t **entries, size_t *n) {
  int rc = ls_tags_read(c->cfg.tags_path, entries, n, NULL);
  if (rc == 0) return 0;
  fprintf(stderr, "lanswarm: cannot read %s: %s\n", c->cfg.tags_path, ls_tags_read_error(rc));
  return -1;
}

int cli_read_known(const cli_ctx_t *c, ls_tagsq_known_t **rows, size_t *n) {
  ls_tag_entry_t *e = NULL;
  ls_peer_entry_t *p = NULL;
  size_t ne = 0, np = 0;
  int rc = ls_tags_read(c->cfg.tags_path, &e, &ne, NULL);
  if (rc != 0) { /* said; peers.txt's peers are still worth showing */
    fprintf(stderr, "lanswarm: cannot read %s: %s\n", c->cfg.tags_path, ls_tags_read_error(rc));
    ne = 0;
  }
  if (ls_peers_read(c->cfg.peers_path, &p, &np, NULL) != 0) np = 0;
  rc = ls_tagsq_known(p, np, e, ne, rows, n);
  free(p);
  ls_tags_free(e, ne);
  if (rc != 0) fprintf(stderr, "lanswarm: out of memory\n");
  return rc == 0 ? 0 : -1;
}
