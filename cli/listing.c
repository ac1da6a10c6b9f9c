/* lanswarm peers and files: peers.txt and tags.txt made readable, a row per
 * peer or per content (ls_tagsq groups the entries). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "peers_add.h"
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
  if (argc > 1 && strcmp(argv[1], "add") == 0)
    return cli_peers_add(c->config_path[0] ? c->config_path : NULL, c->cfg.dir, argc - 1, argv + 1);
  ls_tagsq_known_t *rows;
  size_t k;
  if (cli_read_known(c, &rows, &k) != 0) return 1; /* said */
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

#define ROOT_SHOWN 8 /* hex digits of a root in the listing, as git shortens a commit */

/* `files --root PREFIX`: the content's root begins with prefix (hex, any case). */
static int root_matches(const char *prefix, const uint8_t *root) {
  if (prefix == NULL) return 1;
  char hx[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(root, hx);
  return strlen(prefix) <= LS_HASH_HEX_LEN && strncasecmp(hx, prefix, strlen(prefix)) == 0;
}

/* One row: a content of name, its root's first digits (for `get --root`) and
 * its holders, "tag" or "tag(partial)". */
static void print_content(const cli_ctx_t *c, const ls_tag_entry_t *e, size_t n, const char *name,
                          const uint8_t *root, int width, int *shown) {
  ls_tagsq_lookup_t lk;
  if (ls_tagsq_lookup(e, n, name, root, NULL, 0, &lk) != 0) return;
  char hx[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(root, hx);
  char holders[512] = "";
  size_t used = 0;
  for (size_t i = 0; i < lk.nholders && used < sizeof holders - 80; i++)
    used += (size_t)snprintf(holders + used, sizeof holders - used, "%s%s%s", used ? " " : "", lk.holders[i].tag,
                             lk.holders[i].complete ? "" : "(partial)");
  if (!(*shown)++)
    printf("%s%-40s %10s  %-*s  %s%s\n", cli_color(c, CLI_BOLD), "NAME", "SIZE", width, "ROOT", "HELD BY",
           cli_color(c, CLI_RESET));
  char size[32];
  ls_format_bytes((double)lk.contents[lk.chosen].size, size, sizeof size);
  printf("%-40s %10s  %.*s  %s\n", name, size, width, hx, holders);
}

/* The rows of each name matching pattern, by name: a row per content; with
 * root (a prefix), only contents with such a root, shown whole. */
static int print_files(const cli_ctx_t *c, const ls_tag_entry_t *e, size_t n, const char *pattern,
                       const char *root) {
  const ls_tag_entry_t **idx = malloc((n + 1) * sizeof *idx);
  if (idx == NULL) return -1;
  for (size_t i = 0; i < n; i++) idx[i] = &e[i];
  if (n) qsort(idx, n, sizeof *idx, entry_name_cmp);
  int shown = 0;
  for (size_t i = 0; i < n; i++) {
    if ((i > 0 && strcmp(idx[i]->name, idx[i - 1]->name) == 0) || !name_matches(pattern, idx[i]->name)) continue;
    ls_tagsq_lookup_t lk;
    if (ls_tagsq_lookup(e, n, idx[i]->name, NULL, NULL, 0, &lk) != 0) continue;
    for (size_t k = 0; k < lk.ncontents; k++)
      if (root_matches(root, lk.contents[k].root))
        print_content(c, e, n, idx[i]->name, lk.contents[k].root, root ? LS_HASH_HEX_LEN : ROOT_SHOWN, &shown);
  }
  free(idx);
  return shown;
}

/* files [PATTERN] [--root PREFIX]: 0 or 2 (usage, said). */
static int files_args(int argc, char **argv, const char **pattern, const char **root) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--root") == 0 && i + 1 < argc && argv[i + 1][0] != '\0' &&
        strspn(argv[i + 1], "0123456789abcdefABCDEF") == strlen(argv[i + 1]))
      *root = argv[++i];
    else if (argv[i][0] != '-' && *pattern == NULL) *pattern = argv[i];
    else {
      fprintf(stderr, "lanswarm files: unexpected '%s' (lanswarm files [PATTERN] [--root HEX])\n", argv[i]);
      return 2;
    }
  }
  return 0;
}

/* Exit status as grep's: 0 something listed, 1 nothing matched, 2 trouble. */
static int run_files(cli_ctx_t *c, int argc, char **argv) {
  const char *pattern = NULL, *root = NULL;
  if (files_args(argc, argv, &pattern, &root) != 0) return 2;
  ls_tag_entry_t *e;
  size_t n;
  if (cli_read_tags(c, &e, &n) != 0) return 2;
  int shown = print_files(c, e, n, pattern, root);
  if (shown < 0) fprintf(stderr, "lanswarm: out of memory\n");
  else if (shown == 0)
    printf("no files%s%s%s%s in %s\n", pattern ? " matching " : "", pattern ? pattern : "", root ? " with root " : "",
           root ? root : "", c->cfg.tags_path);
  ls_tags_free(e, n);
  return shown < 0 ? 2 : shown == 0 ? 1 : 0;
}

const cli_command_t cli_cmd_peers = {
    "peers",
    "peers [add HOST[:PORT]]",
    "the peers heard (peers.txt), sharing or not; add: a peer by hand",
    "Usage: lanswarm peers\n       lanswarm peers add HOST[:PORT]\n\nEvery peer the listener hears (peers.txt), including those that share\n"
    "nothing: tag, address, files, total size (tags.txt), last seen, and how it\n"
    "was found (broadcast, multicast, unicast, tracker).\n"
    "`peers add` writes HOST[:PORT] into lanswarm.conf's `peers =` line (the others kept), for a peer\n"
    "broadcast and multicast do not reach: another subnet, Wi-Fi client isolation.\n",
    run_peers,
    0,
};

const cli_command_t cli_cmd_files = {
    "files",
    "files [PATTERN]",
    "the files on the LAN (PATTERN: a glob or a part of the name)",
    "Usage: lanswarm files [PATTERN] [--root HEX]\n\nThe files in tags.txt, one row per content: name, size, the first\n"
    "digits of its root, holders. Two contents under one name are two rows, told\n"
    "apart by the root. --root HEX lists only the contents whose root begins with\n"
    "HEX, with the whole root, as `lanswarm get NAME --root` takes it. PATTERN is a\n"
    "glob (*.iso) or a part of the name.\n"
    "Exit status: 0 files listed; 1 none matched; 2 trouble (as grep).\n",
    run_files,
    0,
};
