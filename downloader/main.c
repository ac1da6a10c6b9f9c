/* lanswarm-downloader: fetch a file by name from every peer that has it.
 *
 * main.c is the command line: options, the tags.txt lookup, the progress bar,
 * client.log and the exit status. The engine is fetch.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "ls_config.h"
#include "ls_clientlog.h"
#include "ls_daemon.h"
#include "ls_events.h"
#include "ls_log.h"
#include "ls_name.h"
#include "ls_shell.h"
#include "ls_tags.h"
#include "ls_tagsq.h"
#include "ls_util.h"
#include "progress.h"

enum {
  EXIT_OK = 0,
  EXIT_ERROR = 1,
  EXIT_USAGE = 2,
  EXIT_NOT_FOUND = 3,
  EXIT_NO_HOLDER = 4,
  EXIT_INTEGRITY = 5,
  EXIT_EXISTS = 6,
  EXIT_IO = 7,
  EXIT_INTERRUPTED = 130,
};

enum { OPT_ROOT = 1000, OPT_JSON, OPT_DEPTH, OPT_QUIET, OPT_EVENTS };

typedef struct {
  ls_config_t cfg;
  ls_key_t key;
  const char *root_hex;
  int json;
  int events;
  int quiet;
  unsigned depth;
} opts_t;

static int own_option(void *ud, int code, const char *arg) {
  opts_t *o = ud;
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
    case OPT_JSON: o->json = 1; return 0;
    case OPT_EVENTS: o->events = o->json = 1; return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
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
    {"depth", required_argument, NULL, OPT_DEPTH},
    {NULL, 0, NULL, 0},
};


static const char *status_word(fetch_status_t st) {
  switch (st) {
    case FETCH_OK: return "ok";
    case FETCH_NO_HOLDER: return "no-holder";
    case FETCH_INTEGRITY: return "integrity";
    case FETCH_EXISTS: return "exists";
    case FETCH_IO: return "io-error";
    case FETCH_INTERRUPTED: return "interrupted";
  }
  return "error";
}

/* One line per download, key=value, the name quoted last-but-one:
 * time name root size result duration_s speed_Bps fetched resumed peers message */
static void client_log(const opts_t *o, const char *name, const char *root_hex, const fetch_result_t *r) {
  ls_clientlog_t *rec = calloc(1, sizeof *rec);
  if (rec == NULL) return;
  ls_log_timestamp(rec->time, sizeof rec->time);
  snprintf(rec->name, sizeof rec->name, "%s", name);
  snprintf(rec->root, sizeof rec->root, "%s", root_hex);
  rec->size = r->size;
  snprintf(rec->result, sizeof rec->result, "%s", status_word(r->status));
  rec->duration_s = r->seconds;
  rec->speed_Bps = r->seconds > 0 ? (double)r->bytes_fetched / r->seconds : 0;
  rec->fetched = r->bytes_fetched;
  rec->resumed = r->bytes_resumed;
  for (size_t i = 0; i < r->npeers && i < LS_CLIENTLOG_PEERS_MAX; i++) {
    ls_clientlog_peer_t *p = &rec->peers[rec->npeers++];
    memcpy(p->tag, r->peers[i].tag, sizeof p->tag);
    memcpy(p->addr, r->peers[i].addr, sizeof p->addr);
    p->port = r->peers[i].port;
    p->bytes = r->peers[i].bytes;
  }
  snprintf(rec->message, sizeof rec->message, "%s", r->message);
  int rc = ls_clientlog_append(o->cfg.client_log, rec);
  if (rc != 0) fprintf(stderr, "lanswarm-downloader: cannot append to %s: %s\n", o->cfg.client_log, strerror(-rc));
  free(rec);
}

/* Writes one event as a line on stdout, flushed (a reader may be following
 * the stream). */
static void emit(const ls_event_t *ev, unsigned flags) {
  char *s = NULL;
  if (ls_events_encode(ev, flags, &s) == 0) printf("%s\n", s);
  fflush(stdout);
  free(s);
}

/* --events: {"event":"start"...} once the holders are known. */
static void emit_start(const char *name, const char *root_hex, uint64_t size, const ls_tagsq_lookup_t *lk) {
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_START;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->root, sizeof ev->root, "%s", root_hex);
  ev->size = size;
  for (size_t i = 0; i < lk->nholders && i < LS_EVENTS_PEERS_MAX; i++)
    memcpy(ev->holders[ev->nholders++], lk->holders[i].tag, sizeof ev->holders[0]);
  emit(ev, 0);
  free(ev);
}

/* --events: {"event":"progress"...} four times a second (fetch_progress_cb). */
static void emit_progress(void *ud, const fetch_progress_t *p) {
  (void)ud;
  if (p->total_bytes == 0) return; /* no manifest yet */
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_PROGRESS;
  ev->done = p->done_bytes;
  ev->total = p->total_bytes;
  ev->rate_Bps = (uint64_t)p->rate;
  ev->eta_s = p->rate > 1 && p->total_bytes > p->done_bytes
                  ? (int64_t)(uint64_t)((double)(p->total_bytes - p->done_bytes) / p->rate)
                  : -1;
  for (size_t i = 0; i < p->npeers && i < LS_EVENTS_PEERS_MAX; i++, ev->npeers++) {
    snprintf(ev->peers[i].tag, sizeof ev->peers[i].tag, "%s", p->peer_tags[i]);
    ev->peers[i].bytes = p->peer_bytes[i];
  }
  emit(ev, 0);
  free(ev);
}

/* --events: a download that ends before it starts (not found, exists...). */
static void emit_early_end(const opts_t *o, const char *name, const char *result, const char *message) {
  if (!o->events) return;
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_END;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->result, sizeof ev->result, "%s", result);
  snprintf(ev->message, sizeof ev->message, "%s", message);
  emit(ev, 0);
  free(ev);
}

static void print_json(int events, const char *name, const char *root_hex, const fetch_result_t *r, const char *dest) {
  ls_event_t *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return;
  ev->kind = LS_EVENT_END;
  ev->started = 1;
  snprintf(ev->name, sizeof ev->name, "%s", name);
  snprintf(ev->root, sizeof ev->root, "%s", root_hex);
  snprintf(ev->result, sizeof ev->result, "%s", status_word(r->status));
  snprintf(ev->message, sizeof ev->message, "%s", r->message);
  ev->size = r->size;
  ev->fetched = r->bytes_fetched;
  ev->resumed = r->bytes_resumed;
  ev->seconds = r->seconds;
  ev->speed_Bps = r->seconds > 0 ? (double)r->bytes_fetched / r->seconds : 0;
  if (r->status == FETCH_OK) snprintf(ev->path, sizeof ev->path, "%s", dest);
  for (size_t i = 0; i < r->npeers && i < LS_EVENTS_PEERS_MAX; i++, ev->npeers++) {
    ls_event_peer_t *p = &ev->peers[i];
    memcpy(p->tag, r->peers[i].tag, sizeof p->tag);
    ls_net_endpoint_format(r->peers[i].addr, r->peers[i].port, p->address, sizeof p->address);
    p->bytes = r->peers[i].bytes;
    snprintf(p->end, sizeof p->end, "%s", r->peers[i].end);
  }
  emit(ev, events ? 0 : LS_EVENTS_NO_KIND);
  free(ev);
}

static int exit_for(fetch_status_t st) {
  switch (st) {
    case FETCH_OK: return EXIT_OK;
    case FETCH_NO_HOLDER: return EXIT_NO_HOLDER;
    case FETCH_INTEGRITY: return EXIT_INTEGRITY;
    case FETCH_EXISTS: return EXIT_EXISTS;
    case FETCH_IO: return EXIT_IO;
    case FETCH_INTERRUPTED: return EXIT_INTERRUPTED;
  }
  return EXIT_ERROR;
}

static int make_parent_dirs(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) return 0;
  *slash = '\0';
  return ls_mkdir_p(dir);
}

static int download(opts_t *o, const char *name) {
  if (!ls_name_valid(name, strlen(name))) {
    fprintf(stderr, "lanswarm-downloader: '%s' is not a valid file name\n", name);
    emit_early_end(o, name, "usage", "not a valid file name");
    return EXIT_USAGE;
  }
  ls_tag_entry_t *entries;
  size_t n;
  int rc = ls_tags_read(o->cfg.tags_path, &entries, &n, NULL);
  if (rc != 0) {
    fprintf(stderr, "lanswarm-downloader: cannot read %s: %s\n", o->cfg.tags_path, strerror(-rc));
    emit_early_end(o, name, "io-error", "cannot read tags.txt");
    return EXIT_IO;
  }
  uint8_t want[LS_HASH_LEN];
  if (o->root_hex) ls_hash_from_hex(o->root_hex, strlen(o->root_hex), want);
  ls_tagsq_lookup_t lk;
  rc = ls_tagsq_lookup(entries, n, name, o->root_hex ? want : NULL, o->cfg.tag, (uint16_t)o->cfg.tcp_port, &lk);
  ls_tags_free(entries, n);
  if (rc != 0) {
    if (o->root_hex) fprintf(stderr, "lanswarm-downloader: no peer in %s has '%s' with root %s\n", o->cfg.tags_path, name, o->root_hex);
    else fprintf(stderr, "lanswarm-downloader: no peer in %s has '%s'\n", o->cfg.tags_path, name);
    emit_early_end(o, name, "not-found", "no peer in tags.txt has it");
    return EXIT_NOT_FOUND;
  }
  char root_hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(lk.contents[lk.chosen].root, root_hex);
  if (lk.ncontents > 1) {
    fprintf(stderr, "lanswarm-downloader: peers announce %zu different contents as '%s':\n", lk.ncontents, name);
    for (size_t k = 0; k < lk.ncontents; k++) {
      char hx[LS_HASH_HEX_LEN + 1];
      ls_hash_to_hex(lk.contents[k].root, hx);
      fprintf(stderr, "  %s  %llu bytes  %zu holder(s)%s\n", hx, (unsigned long long)lk.contents[k].size,
              lk.contents[k].holders, k == lk.chosen ? "  <- fetching this one" : "");
    }
    if (!o->root_hex) fprintf(stderr, "  (choose another with --root HASH)\n");
  }
  char dest[4096];
  fetch_dest_path(&o->cfg, name, dest, sizeof dest);
  struct stat st;
  if (lstat(dest, &st) == 0) {
    fprintf(stderr, "lanswarm-downloader: %s already exists; not overwriting it (move it away first)\n", dest);
    emit_early_end(o, name, "exists", "already in downloads/; not overwriting it");
    return EXIT_EXISTS;
  }
  if ((rc = ls_config_make_dirs(&o->cfg)) != 0 || (rc = make_parent_dirs(dest)) != 0) {
    fprintf(stderr, "lanswarm-downloader: cannot create folders for %s: %s\n", dest, strerror(-rc));
    emit_early_end(o, name, "io-error", "cannot create folders");
    return EXIT_IO;
  }
  progress_t pg = {stderr, 0};
  int show_bar = !o->quiet && !o->json && isatty(STDERR_FILENO);
  if (!o->quiet && !o->json)
    fprintf(stderr, "fetching %s (%llu bytes, root %.16s...) from %zu peer(s)\n", name,
            (unsigned long long)lk.contents[lk.chosen].size, root_hex, lk.nholders);
  if (o->events) emit_start(name, root_hex, lk.contents[lk.chosen].size, &lk);
  fetch_progress_cb on_progress = o->events ? emit_progress : show_bar ? progress_draw : NULL;
  fetch_opts_t fo = {&o->cfg, name, {0}, lk.holders, lk.nholders, o->depth, on_progress, &pg,
                     o->key.set ? &o->key : NULL};
  memcpy(fo.root, lk.contents[lk.chosen].root, LS_HASH_LEN);
  fetch_result_t *res = calloc(1, sizeof *res);
  if (res == NULL) return EXIT_ERROR;
  fetch_run(&fo, res);
  progress_end(&pg);
  client_log(o, name, root_hex, res);
  int code = exit_for(res->status);
  if (o->json) {
    print_json(o->events, name, root_hex, res, dest);
  } else if (res->status == FETCH_OK) {
    char sz[32], sp[32];
    ls_format_bytes((double)res->size, sz, sizeof sz);
    ls_format_bytes(res->seconds > 0 ? (double)res->bytes_fetched / res->seconds : 0, sp, sizeof sp);
    if (!o->quiet) {
      fprintf(stderr, "%s: %s in %.2f s (%s/s) from", dest, sz, res->seconds, sp);
      for (size_t i = 0; i < res->npeers; i++)
        if (res->peers[i].bytes > 0) fprintf(stderr, " %s", res->peers[i].tag);
      fprintf(stderr, "%s\n", res->bytes_resumed ? " (resumed)" : "");
    }
  } else {
    fprintf(stderr, "lanswarm-downloader: %s: %s\n", name, res->message);
  }
  free(res);
  return code;
}

/* ---------- the interactive downloader (the origin documents') ---------- */

static int cmd_list(ls_shell_t *sh, int argc, char **argv) {
  opts_t *o = sh->data;
  (void)argc;
  (void)argv;
  ls_tag_entry_t *e;
  size_t n;
  if (ls_tags_read(o->cfg.tags_path, &e, &n, NULL) != 0) {
    printf("cannot read %s\n", o->cfg.tags_path);
    return LS_SHELL_DONE;
  }
  if (n == 0) printf("no files known yet (is the listener running?)\n");
  for (size_t i = 0; i < n; i++) {
    char sz[32];
    ls_format_bytes((double)e[i].size, sz, sizeof sz);
    printf("%-40s %10s  %s (%s:%u)%s\n", e[i].name, sz, e[i].tag, e[i].addr, e[i].port,
           e[i].complete ? "" : " partial");
  }
  ls_tags_free(e, n);
  return LS_SHELL_DONE;
}

/* The download runs its own loop (fetch.c); this one waits meanwhile. */
static int cmd_fetch(ls_shell_t *sh, int argc, char **argv) {
  (void)argc;
  fflush(stdout);
  int code = download(sh->data, argv[0]);
  if (code != 0) printf("fetch failed (exit status %d)\n", code);
  return LS_SHELL_DONE;
}

static int cmd_quit(ls_shell_t *sh, int argc, char **argv) {
  (void)argc;
  (void)argv;
  ls_shell_close(sh);
  return LS_SHELL_DONE;
}

static const ls_shell_cmd_t commands[] = {
    {"fetch", "NAME", "download NAME from the peers that have it", 1, 1, 1, cmd_fetch},
    {"list", "", "the files tags.txt knows", 0, 0, 0, cmd_list},
    {"quit", "", "leave", 0, 0, 0, cmd_quit},
    {"exit", "", NULL, 0, 0, 0, cmd_quit},
};

static int interactive(opts_t *o) {
  uv_loop_t loop;
  ls_shell_t sh;
  memset(&sh, 0, sizeof sh);
  sh.data = o;
  if (uv_loop_init(&loop) != 0) return EXIT_ERROR;
  if (ls_shell_start(&loop, &sh, commands, sizeof commands / sizeof commands[0], "lanswarm> ", NULL) != 0) {
    fprintf(stderr, "lanswarm-downloader: standard input must be a terminal\n");
    uv_loop_close(&loop);
    return EXIT_USAGE;
  }
  ls_shell_greet(&sh, "lanswarm downloader");
  ls_shell_prompt(&sh);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}

static const ls_config_program_t program = {
    .program = "lanswarm-downloader",
    .synopsis = "[OPTIONS] [NAME]",
    .description =
        "Downloads NAME (a name from tags.txt) from every peer that has it, verifies\n"
        "every chunk, and saves it as DIR/downloads/NAME. Partial state is kept in\n"
        "temp/ and resumed. With no NAME on a terminal: an interactive shell\n"
        "(fetch NAME, list, quit). A line per download is appended to DIR/client.log.\n\n"
        "Exit status: 0 verified and saved; 1 other error; 2 usage; 3 name not in\n"
        "tags.txt; 4 no live holder; 5 integrity failure; 6 destination exists;\n"
        "7 local I/O error (e.g. disk full); 130 interrupted (partial kept).",
    .own_options_help = "  --root HASH          fetch this content when peers announce several under NAME\n"
                        "  --json               print a JSON summary on stdout, no progress bar\n"
                        "  --events             JSON lines on stdout: start, progress (4/s), end\n"
                        "                       (docs/PROTOCOL.md, section 'Downloader events')\n"
                        "  --quiet              print nothing but errors\n"
                        "  --depth N            chunk requests in flight per peer (default 4)\n",
    .own_options = own_options,
    .own_cb = own_option,
    .reads = LS_PROG_DOWNLOADER,
    .start = LS_START_ARGS,
    .fail_status = EXIT_IO,
};

int main(int argc, char **argv) {
  /* A holder that dies mid-write must cost a peer, not the whole download. */
  signal(SIGPIPE, SIG_IGN);
  opts_t o;
  memset(&o, 0, sizeof o);
  ls_config_program_t prog = program;
  prog.ud = &o;
  ls_daemon_t d = {.cfg = &o.cfg, .key = &o.key};
  int rc = ls_daemon_start(&d, &prog, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
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
    return interactive(&o);
  }
  return download(&o, argv[first]);
}
