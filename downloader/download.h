/* download: one download, from a name to an exit status (report.h). The name
 * is looked up in tags.txt (ls_tagsq), an existing destination is refused,
 * fetch_run does the work with the progress bar or --events, and report.c
 * says how it ended (client.log, --json, stderr). Runs its own loop; the
 * caller's, if any, waits meanwhile. */
#ifndef DOWNLOAD_H
#define DOWNLOAD_H

#include "ls_auth.h"
#include "ls_config.h"

typedef struct {
  ls_config_t cfg;
  ls_key_t key;          /* key.set with a network key */
  const char *root_hex;  /* --root: this content when several share the name */
  const char *from;      /* --from: only these peers' tags, comma-separated, or NULL */
  int json;              /* --json (and --events): JSON on stdout, no bar */
  int events;            /* --events: start, progress and end lines */
  int quiet;
  int verbose;           /* --verbose: diagnostics on stderr too */
  unsigned depth;        /* --depth, 0 for fetch.c's default */
} download_opts_t;

/* Downloads name; returns the program's exit status (EXIT_*, report.h). */
int download_run(const download_opts_t *o, const char *name);

#endif
