/* lanswarm peers and files: tags.txt made readable, a row per peer or per
 * content. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ls_tagsq.h"
#include "ls_util.h"

static void ago(int64_t then, char *buf, size_t len) {
  int64_t s = ls_unix_now() - then;
  if (s < 0) s = 0;
  if (s < 120) snprintf(buf, len, "%lld s ago", (long long)s);
  else if (s < 7200) snprintf(buf, len, "%lld min ago", (long long)(s / 60));
  else snprintf(buf, len, "%lld h ago", (long long)(s / 3600));
}

static void print_peers(const cli_ctx_t *c, const ls_tagsq_peer_t *rows, size_t k) {
  if (k == 0) printf("no peers in %s yet (is the listener running? `lanswarm status`)\n", c->cfg.tags_path);
  else
    printf("%s%-20s %-21s %6s %10s  %s%s\n", cli_color(c, CLI_BOLD), "PEER", "ADDRESS", "FILES", "SIZE", "SEEN",
           cli_color(c, CLI_RESET));
  for (size_t i = 0; i < k; i++) {
    char size[32], seen[32];
    ls_format_bytes((double)rows[i].bytes, size, sizeof size);
    ago(rows[i].last_seen, seen, sizeof seen);
    printf("%-20s %-21s %6zu %10s  %s\n", rows[i].first->tag, rows[i].address, rows[i].files, size, seen);
  }
}

static int run_peers(cli_ctx_t *c, int argc, char **argv) {
  (void)argc;
  (void)argv;
  ls_tag_entry_t *e;
  size_t n;
  if (cli_read_tags(c, &e, &n) != 0) return 1;
  ls_tagsq_peer_t *rows = NULL;
  size_t k = 0;
  int rc = ls_tagsq_peers(e, n, &rows, &k);
  if (rc == 0) print_peers(c, rows, k);
  else fprintf(stderr, "lanswarm: %s\n", strerror(-rc));
  free(rows);
  ls_tags_free(e, n);
  return rc == 0 ? 0 : 1;
}

/* ---------- files ---------- */

static int name_matches(const char *pattern, const char *name) {
  if (pattern == NULL) return 1;
  if (strpbrk(pattern, "*?[") != NULL) return fnmatch(pattern, name, 0) == 0;
  return strstr(name, pattern) != NULL;
}

/* A row per content (name and root) matching pattern, with its holders. */
static int print_files(const cli_ctx_t *c, const ls_tag_entry_t *e, size_t n, const char *pattern) {
  int shown = 0;
  uint8_t *done = calloc(n + 1, 1);
  if (done == NULL) return -1;
  for (size_t i = 0; i < n; i++) {
    if (done[i] || !name_matches(pattern, e[i].name)) continue;
    char holders[512] = "";
    size_t used = 0;
    for (size_t j = i; j < n; j++) {
      if (done[j] || strcmp(e[j].name, e[i].name) != 0 || memcmp(e[j].root, e[i].root, LS_HASH_LEN) != 0) continue;
      done[j] = 1;
      if (used < sizeof holders - 80)
        used += (size_t)snprintf(holders + used, sizeof holders - used, "%s%s%s", used ? " " : "", e[j].tag,
                                 e[j].complete ? "" : "(partial)");
    }
    if (!shown++)
      printf("%s%-40s %10s  %s%s\n", cli_color(c, CLI_BOLD), "NAME", "SIZE", "HELD BY", cli_color(c, CLI_RESET));
    char size[32];
    ls_format_bytes((double)e[i].size, size, sizeof size);
    printf("%-40s %10s  %s\n", e[i].name, size, holders);
  }
  free(done);
  return shown;
}

static int run_files(cli_ctx_t *c, int argc, char **argv) {
  const char *pattern = argc > 1 ? argv[1] : NULL;
  ls_tag_entry_t *e;
  size_t n;
  if (cli_read_tags(c, &e, &n) != 0) return 1;
  int shown = print_files(c, e, n, pattern);
  if (shown < 0) fprintf(stderr, "lanswarm: out of memory\n");
  else if (shown == 0)
    printf("no files%s%s in %s\n", pattern ? " matching " : "", pattern ? pattern : "", c->cfg.tags_path);
  ls_tags_free(e, n);
  return shown < 0 ? 1 : 0;
}

const cli_command_t cli_cmd_peers = {
    "peers",
    "peers",
    "the peers in tags.txt",
    "Usage: lanswarm peers\n\nThe peers in tags.txt: tag, address, files, total size, last seen.\n",
    run_peers,
    0,
};

const cli_command_t cli_cmd_files = {
    "files",
    "files [PATTERN]",
    "the files on the LAN (PATTERN: a glob or a part of the name)",
    "Usage: lanswarm files [PATTERN]\n\nThe files in tags.txt, one row per content: name, size, holders.\n"
    "PATTERN is a glob (*.iso) or a part of the name.\n",
    run_files,
    0,
};
