#include "download.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "ls_name.h"
#include "ls_tags.h"
#include "ls_tagsq.h"
#include "ls_util.h"
#include "progress.h"
#include "report.h"

/* No such name: says so, with the closest names of tags.txt if any ("did you
 * mean"), on stderr and in the --events end line. */
static void not_found(const download_opts_t *o, const ls_tag_entry_t *entries, size_t n, const char *name) {
  const char *near[3];
  size_t k = ls_tagsq_similar(entries, n, name, near, 3);
  char hint[3 * 300 + 32] = "";
  size_t used = 0;
  for (size_t i = 0; i < k && used < sizeof hint; i++)
    used += (size_t)snprintf(hint + used, sizeof hint - used, "%s%.256s", i ? ", " : "; did you mean: ", near[i]);
  if (k > 0 && used < sizeof hint) snprintf(hint + used, sizeof hint - used, "?");
  fprintf(stderr, "lanswarm-downloader: no peer in %s has '%s'%s\n", o->cfg.tags_path, name, hint);
  char msg[sizeof hint + 64];
  snprintf(msg, sizeof msg, "no peer in tags.txt has it%s", hint);
  report_early_end(o->events, name, "not-found", msg);
}

/* The holders of name (of --root's content if given) from tags.txt; 0 or an
 * exit status, said. */
static int look_up(const download_opts_t *o, const char *name, ls_tagsq_lookup_t *lk) {
  ls_tag_entry_t *entries;
  size_t n;
  int rc = ls_tags_read(o->cfg.tags_path, &entries, &n, NULL);
  if (rc != 0) {
    fprintf(stderr, "lanswarm-downloader: cannot read %s: %s\n", o->cfg.tags_path, ls_tags_read_error(rc));
    report_early_end(o->events, name, "io-error", "cannot read tags.txt");
    return EXIT_IO;
  }
  uint8_t want[LS_HASH_LEN];
  if (o->root_hex) ls_hash_from_hex(o->root_hex, strlen(o->root_hex), want);
  rc = ls_tagsq_lookup(entries, n, name, o->root_hex ? want : NULL, o->cfg.tag, (uint16_t)o->cfg.tcp_port, lk);
  if (rc != 0) {
    if (o->root_hex) {
      fprintf(stderr, "lanswarm-downloader: no peer in %s has '%s' with root %s\n", o->cfg.tags_path, name,
              o->root_hex);
      report_early_end(o->events, name, "not-found", "no peer in tags.txt has it");
    } else {
      not_found(o, entries, n, name);
    }
  }
  ls_tags_free(entries, n);
  return rc != 0 ? EXIT_NOT_FOUND : 0;
}

/* list (tags separated by commas) has the tag of len bytes at tag. */
static int list_has(const char *list, const char *tag, size_t len) {
  for (const char *p = list;; p++) {
    size_t n = strcspn(p, ",");
    if (n == len && strncmp(p, tag, len) == 0) return 1;
    p += n;
    if (*p == '\0') return 0;
  }
}

/* --from: every tag given must hold the content, and only those are asked.
 * 0, or EXIT_NO_HOLDER said with the holders listed. */
static int keep_only_from(const download_opts_t *o, const char *name, ls_tagsq_lookup_t *lk) {
  for (const char *p = o->from;; p++) {
    size_t len = strcspn(p, ","), k = 0;
    while (k < lk->nholders && !list_has(lk->holders[k].tag, p, len)) k++;
    if (k == lk->nholders) {
      fprintf(stderr, "lanswarm-downloader: peer '%.*s' does not have '%s'; its holders:", (int)len, p, name);
      for (size_t i = 0; i < lk->nholders; i++) fprintf(stderr, "%s %s", i ? "," : "", lk->holders[i].tag);
      fprintf(stderr, "\n");
      report_early_end(o->events, name, "no-holder", "a peer given with --from does not have it");
      return EXIT_NO_HOLDER;
    }
    p += len;
    if (*p == '\0') break;
  }
  size_t kept = 0;
  for (size_t i = 0; i < lk->nholders; i++)
    if (list_has(o->from, lk->holders[i].tag, strlen(lk->holders[i].tag))) lk->holders[kept++] = lk->holders[i];
  lk->nholders = kept;
  return 0;
}

/* Several contents under one name: which there are, and which is fetched. */
static void list_contents(const download_opts_t *o, const char *name, const ls_tagsq_lookup_t *lk) {
  if (lk->ncontents <= 1) return;
  fprintf(stderr, "lanswarm-downloader: peers announce %zu different contents as '%s':\n", lk->ncontents, name);
  for (size_t k = 0; k < lk->ncontents; k++) {
    char hx[LS_HASH_HEX_LEN + 1];
    ls_hash_to_hex(lk->contents[k].root, hx);
    fprintf(stderr, "  %s  %llu bytes  %zu holder(s)%s\n", hx, (unsigned long long)lk->contents[k].size,
            lk->contents[k].holders, k == lk->chosen ? "  <- fetching this one" : "");
  }
  if (!o->root_hex) fprintf(stderr, "  (choose another with --root HASH)\n");
}

static int make_parent_dirs(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) return 0;
  *slash = '\0';
  return ls_mkdir_p(dir);
}

/* downloads/NAME, which must not exist yet, and the folders it needs; 0 or an
 * exit status, said. */
static int prepare_dest(const download_opts_t *o, const char *name, char *dest, size_t len) {
  fetch_dest_path(&o->cfg, name, dest, len);
  struct stat st;
  if (lstat(dest, &st) == 0) {
    fprintf(stderr, "lanswarm-downloader: %s already exists; not overwriting it (move it away first)\n", dest);
    report_early_end(o->events, name, "exists", "already in downloads/; not overwriting it");
    return EXIT_EXISTS;
  }
  int rc;
  if ((rc = ls_config_make_dirs(&o->cfg)) != 0 || (rc = make_parent_dirs(dest)) != 0) {
    fprintf(stderr, "lanswarm-downloader: cannot create folders for %s: %s\n", dest, strerror(-rc));
    report_early_end(o->events, name, "io-error", "cannot create folders");
    return EXIT_IO;
  }
  return 0;
}

/* Runs the fetch of the chosen content, with the bar on a terminal or the
 * --events lines. */
static void fetch(const download_opts_t *o, const char *name, const ls_tagsq_lookup_t *lk, const char *root_hex,
                  fetch_result_t *res) {
  const ls_tagsq_content_t *c = &lk->contents[lk->chosen];
  progress_t pg = {stderr, 0};
  int show_bar = !o->quiet && !o->json && isatty(STDERR_FILENO);
  if (!o->quiet && !o->json)
    fprintf(stderr, "fetching %s (%llu bytes, root %.16s...) from %zu peer(s)\n", name, (unsigned long long)c->size,
            root_hex, lk->nholders);
  if (o->events) report_event_start(name, root_hex, c->size, lk);
  fetch_progress_cb on_progress = o->events ? report_event_progress : show_bar ? progress_draw : NULL;
  fetch_opts_t fo = {&o->cfg, name, {0}, lk->holders, lk->nholders, o->depth, on_progress, &pg,
                     o->key.set ? &o->key : NULL};
  memcpy(fo.root, c->root, LS_HASH_LEN);
  fetch_run(&fo, res);
  progress_end(&pg);
}

/* This peer announces name complete itself (its own entry in tags.txt). */
static int self_holds(const download_opts_t *o, const char *name) {
  ls_tag_entry_t *entries;
  size_t n;
  if (ls_tags_read(o->cfg.tags_path, &entries, &n, NULL) != 0) return 0;
  int found = 0;
  for (size_t i = 0; i < n && !found; i++)
    found = entries[i].complete && strcmp(entries[i].name, name) == 0 && strcmp(entries[i].tag, o->cfg.tag) == 0 &&
            entries[i].port == (uint16_t)o->cfg.tcp_port;
  ls_tags_free(entries, n);
  return found;
}

static int regular_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The copy of name this peer already has: share/NAME, or downloads/NAME when
 * the peer announces it (a file of the user's own under downloads/ is not
 * taken for it: prepare_dest refuses to overwrite that). 1 and its path, or 0. */
static int already_here(const download_opts_t *o, const char *name, char *path, size_t len) {
  snprintf(path, len, "%s/%s", o->cfg.share_dir, name);
  if (regular_file(path)) return 1;
  snprintf(path, len, "%s/%s", o->cfg.downloads_dir, name);
  return regular_file(path) && self_holds(o, name);
}

int download_run(const download_opts_t *o, const char *name) {
  if (!ls_name_valid(name, strlen(name))) {
    fprintf(stderr, "lanswarm-downloader: '%s' is not a valid file name\n", name);
    report_early_end(o->events, name, "usage", "not a valid file name");
    return EXIT_USAGE;
  }
  char here[PATH_MAX + 300];
  if (already_here(o, name, here, sizeof here)) {
    report_here(o->json, o->events, o->quiet, name, here);
    return EXIT_OK;
  }
  ls_tagsq_lookup_t lk;
  int code = look_up(o, name, &lk);
  if (code == 0 && o->from) code = keep_only_from(o, name, &lk);
  if (code != 0) return code;
  char root_hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(lk.contents[lk.chosen].root, root_hex);
  list_contents(o, name, &lk);
  char dest[4096];
  if ((code = prepare_dest(o, name, dest, sizeof dest)) != 0) return code;
  fetch_result_t *res = calloc(1, sizeof *res);
  if (res == NULL) return EXIT_ERROR;
  fetch(o, name, &lk, root_hex, res);
  report_client_log(o->cfg.client_log, name, root_hex, res);
  report_end(o->json, o->events, o->quiet, name, root_hex, res, dest);
  code = report_exit_status(res->status);
  free(res);
  return code;
}
