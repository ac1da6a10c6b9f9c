/* lanswarm-downloader: fetch a file by name from every peer that has it.
 *
 * main.c is the command line: its options and the wiring. One download is
 * download.c (lookup, destination, fetch), how it ends is report.c (exit
 * status, client.log, --json, --events), the shell is interactive.c and the
 * engine is fetch.c. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "download.h"
#include "fetch.h"
#include "interactive.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_hash.h"
#include "ls_log.h"
#include "ls_name.h"
#include "ls_util.h"
#include "report.h"

enum { OPT_ROOT = 1000, OPT_JSON, OPT_DEPTH, OPT_QUIET, OPT_EVENTS, OPT_FROM, OPT_VERBOSE };

/* --from's value: tags (ls_tag_valid) separated by single commas. */
static int from_valid(const char *list) {
  while (1) {
    size_t len = strcspn(list, ",");
    if (!ls_tag_valid(list, len)) return 0;
    if (list[len] == '\0') return 1;
    list += len + 1;
  }
}

static int own_option(void *ud, int code, const char *arg) {
  download_opts_t *o = ud;
  uint64_t v;
  switch (code) {
    case OPT_ROOT: {
      uint8_t r[LS_HASH_LEN];
      if (ls_hash_from_hex(arg, strlen(arg), r) != 0) {
        fprintf(stderr, "lanswarm-downloader: --root: expected 64 hex characters\n");
        return -1;
      }
      o->root_hex = arg;
      return 0;
    }
    case OPT_FROM:
      if (!from_valid(arg)) {
        fprintf(stderr, "lanswarm-downloader: --from: peer tags separated by commas (e.g. alpha,beta)\n");
        return -1;
      }
      o->from = arg;
      return 0;
    case OPT_JSON: o->json = 1; return 0;
    case OPT_EVENTS: o->events = o->json = 1; return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
    case OPT_VERBOSE: o->verbose = 1; return 0;
    case OPT_DEPTH:
      if (ls_parse_u64(arg, 1, FETCH_MAX_DEPTH, &v) != 0) {
        fprintf(stderr, "lanswarm-downloader: --depth: 1 to %d\n", FETCH_MAX_DEPTH);
        return -1;
      }
      o->depth = (unsigned)v;
      return 0;
    default: return -1;
  }
}

static const struct option own_options[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"json", no_argument, NULL, OPT_JSON},
    {"events", no_argument, NULL, OPT_EVENTS},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"depth", required_argument, NULL, OPT_DEPTH},
    {"from", required_argument, NULL, OPT_FROM},
    {NULL, 0, NULL, 0},
};


static const ls_config_program_t program = {
    .program = "lanswarm-downloader",
    .synopsis = "[OPTIONS] [NAME]",
    .description =
        "Downloads NAME (a name from tags.txt) from every peer that has it, verifies\n"
        "every chunk, and saves it as DIR/downloads/NAME. Partial state is kept in\n"
        "temp/ and resumed. With no NAME on a terminal: an interactive shell\n"
        "(fetch NAME, list, quit). A line per download is appended to DIR/client.log.\n\n"
        "Exit status: 0 verified and saved, or already here (in share/, or announced\n"
        "from downloads/: nothing fetched); 1 other error; 2 usage; 3 name not in\n"
        "tags.txt; 4 no live holder; 5 integrity failure; 6 destination exists;\n"
        "7 local I/O error (e.g. disk full); 130 interrupted (partial kept).",
    .own_options_help = "  --root HASH          fetch this content when peers announce several under NAME\n"
                        "  --from TAG[,TAG]     fetch only from these peers (exit 4 if one of them does\n"
                        "                       not hold NAME; the holders are listed)\n"
                        "  --json               print a JSON summary on stdout, no progress bar\n"
                        "  --events             JSON lines on stdout: start, progress (4/s), end\n"
                        "                       (docs/PROTOCOL.md, section 'Downloader events')\n"
                        "  --quiet              print nothing but errors\n"
                        "  --verbose            diagnostics (peers dropped or banned...) on stderr too;\n"
                        "                       else they go to DIR/logs/lanswarm-downloader.log\n"
                        "  --depth N            chunk requests in flight per peer (default 4)\n",
    .own_options = own_options,
    .own_cb = own_option,
    .reads = LS_PROG_DOWNLOADER,
    .start = LS_START_ARGS,
    .fail_status = EXIT_IO,
};

/* A person reads sentences: the diagnostics (log lines: a peer dropped, a
 * chunk re-fetched) go to log_file, else DIR/logs/lanswarm-downloader.log, unless
 * --verbose. A program reading --json or --events keeps them on stderr. */
static void route_diagnostics(const download_opts_t *o) {
  if (o->verbose || o->json) return;
  char path[PATH_MAX + 32];
  if (o->cfg.log_file[0]) {
    snprintf(path, sizeof path, "%s", o->cfg.log_file);
  } else {
    snprintf(path, sizeof path, "%s/logs", o->cfg.dir);
    if (ls_mkdir_p(path) != 0) return;
    ls_log_path(o->cfg.dir, "downloader", path, sizeof path);
  }
  ls_log_open_file(path, 1);
}

int main(int argc, char **argv) {
  /* A holder that dies mid-write must cost a peer, not the whole download. */
  signal(SIGPIPE, SIG_IGN);
  ls_heap_for_chunks();
  download_opts_t o;
  memset(&o, 0, sizeof o);
  ls_config_program_t prog = program;
  prog.ud = &o;
  ls_daemon_t d = {.cfg = &o.cfg, .key = &o.key};
  int rc = ls_daemon_start(&d, &prog, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  route_diagnostics(&o);
  int first = d.first_arg;
  if (first < argc - 1) {
    fprintf(stderr, "lanswarm-downloader: one NAME at a time (try --help)\n");
    return EXIT_USAGE;
  }
  if (first == argc) {
    if (!isatty(STDIN_FILENO)) {
      fprintf(stderr, "lanswarm-downloader: missing NAME (try --help)\n");
      return EXIT_USAGE;
    }
    return interactive_run(&o);
  }
  return download_run(&o, argv[first]);
}
