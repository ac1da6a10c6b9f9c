/* lanswarm peers and files: peers.txt and tags.txt made readable, a row per
 * peer or per content (ls_tagsq groups the entries). */
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

static void print_peers(const cli_ctx_t *c, const ls_tagsq_known_t *rows, size_t k) {
  if (k == 0) printf("no peers in %s yet (is the listener running? `lanswarm status`)\n", c->cfg.peers_path);
  else
    printf("%s%-20s %-21s %6s %10s  %-12s %s%s\n", cli_color(c, CLI_BOLD), "PEER", "ADDRESS", "FILES", "SIZE",
           "SEEN", "HOW", cli_color(c, CLI_RESET));
  for (size_t i = 0; i < k; i++) {
    char size[32], seen[32], how[64] = "-";
    ls_format_bytes((double)rows[i].bytes, size, sizeof size);
    ago(rows[i].last_seen, seen, sizeof seen);
    if (rows[i].how) ls_how_format(rows[i].how, how, sizeof how);
    printf("%-20s %-21s %6zu %10s  %-12s %s\n", rows[i].tag, rows[i].address, rows[i].files, size, seen, how);
  }
}

static int run_peers(cli_ctx_t *c, int argc, char **argv) {
  (void)argc;
  (void)argv;
  ls_tagsq_known_t *rows;
  size_t k;
  if (cli_read_known(c, &rows, &k) != 0) {
    fprintf(stderr, "lanswarm: out of memory\n");
    return 1;
  }
  print_peers(c, rows, k);
  free(rows);
  return 0;
}

/* ---------- files ---------- */

static int name_matches(const char *pattern, const char *name) {
  if (pattern == NULL) return 1;
  if (strpbrk(pattern, "*?[") != NULL) return fnmatch(pattern, name, 0) == 0;
  return strstr(name, pattern) != NULL;
}

static int entry_name_cmp(const void *a, const void *b) {
  return strcmp((*(const ls_tag_entry_t *const *)a)->name, (*(const ls_tag_entry_t *const *)b)->name);
}

/* One row: a content of name, with its holders, "tag" or "tag(partial)". */
static void print_content(const cli_ctx_t *c, const ls_tag_entry_t *e, size_t n, const char *name,
                          const uint8_t *root, int *shown) {
  ls_tagsq_lookup_t lk;
  if (ls_tagsq_lookup(e, n, name, root, NULL, 0, &lk) != 0) return;
  char holders[512] = "";
  size_t used = 0;
  for (size_t i = 0; i < lk.nholders && used < sizeof holders - 80; i++)
    used += (size_t)snprintf(holders + used, sizeof holders - used, "%s%s%s", used ? " " : "", lk.holders[i].tag,
                             lk.holders[i].complete ? "" : "(partial)");
  if (!(*shown)++)
    printf("%s%-40s %10s  %s%s\n", cli_color(c, CLI_BOLD), "NAME", "SIZE", "HELD BY", cli_color(c, CLI_RESET));
  char size[32];
  ls_format_bytes((double)lk.contents[lk.chosen].size, size, sizeof size);
  printf("%-40s %10s  %s\n", name, size, holders);
}

/* The rows of each name matching pattern, by name: a row per content. */
static int print_files(const cli_ctx_t *c, const ls_tag_entry_t *e, size_t n, const char *pattern) {
  const ls_tag_entry_t **idx = malloc((n + 1) * sizeof *idx);
  if (idx == NULL) return -1;
  for (size_t i = 0; i < n; i++) idx[i] = &e[i];
  if (n) qsort(idx, n, sizeof *idx, entry_name_cmp);
  int shown = 0;
  for (size_t i = 0; i < n; i++) {
    if ((i > 0 && strcmp(idx[i]->name, idx[i - 1]->name) == 0) || !name_matches(pattern, idx[i]->name)) continue;
    ls_tagsq_lookup_t lk;
    if (ls_tagsq_lookup(e, n, idx[i]->name, NULL, NULL, 0, &lk) != 0) continue;
    for (size_t k = 0; k < lk.ncontents; k++) print_content(c, e, n, idx[i]->name, lk.contents[k].root, &shown);
  }
  free(idx);
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
    "the peers heard (peers.txt), sharing or not",
    "Usage: lanswarm peers\n\nEvery peer the listener hears (peers.txt), including those that share\n"
    "nothing: tag, address, files, total size (tags.txt), last seen, and how it\n"
    "was found (broadcast, multicast, unicast, tracker).\n",
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
