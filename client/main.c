/* lanswarm-client: the hybrid model's client shell (origins 000 and 001).
 *
 * Registers this peer with the tracker under a unique host name (asking for
 * another while the name is taken), publishes the peer's share and keeps it
 * published (ls_publisher), answers the tracker's pings, and reads commands:
 *   publish <local-path> <name>   put a file into the share under name, publish it
 *   fetch <name>                  show the holders, then run lanswarm-downloader
 *   list                          this peer's files
 *   quit | disconnect             leave the tracker cleanly
 * Files travel peer to peer: run lanswarm-server beside it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_lines.h"
#include "ls_log.h"
#include "ls_name.h"
#include "ls_net.h"
#include "ls_publisher.h"
#include "ls_share.h"
#include "ls_tags.h"
#include "ls_util.h"

typedef struct {
  ls_config_t cfg;
  ls_key_t key;
  uv_loop_t *loop;
  ls_catalog_t *catalog;
  ls_publisher_t pub;
  ls_lines_t in;
  ls_signals_t signals;
  int asking_name;        /* the next line is a host name */
  int registered_once;
  uint32_t lookup_id;
  char fetch_name[LS_NAME_MAX + 1];
  char pending[LS_NAME_MAX + 1]; /* a published name waiting for the catalog */
  uv_process_t child;
  int child_running;
  ls_share_add_t add;     /* the file being put into the share */
  char publish_name[LS_NAME_MAX + 1];
  int quitting;
} client_t;

static void prompt(client_t *c) {
  if (c->in.is_tty && !c->child_running) printf("lanswarm> ");
  fflush(stdout);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
}

static void quit(client_t *c) {
  if (c->quitting) return;
  c->quitting = 1;
  say("leaving the tracker");
  ls_publisher_close(&c->pub);
  ls_catalog_close(c->catalog);
  ls_lines_close(&c->in);
  ls_signals_close(&c->signals);
}

/* ---------- registration ---------- */

static void on_registered(ls_publisher_t *p) {
  client_t *c = p->data;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(c->catalog);
  if (!c->registered_once) {
    say("registered as %s at %s; %zu file(s) published", p->host, c->cfg.tracker, snap ? snap->count : 0);
    prompt(c);
  }
  c->registered_once = 1;
}

static void on_taken(ls_publisher_t *p, const char *reason) {
  client_t *c = p->data;
  say("%s", reason);
  printf("hostname: ");
  fflush(stdout);
  c->asking_name = 1;
}

/* ---------- publish ---------- */

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  client_t *c = ud;
  ls_publisher_sync(&c->pub);
  if (c->pending[0] == '\0') return;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(cat);
  for (size_t i = 0; i < snap->count; i++) {
    if (strcmp(snap->entries[i].name, c->pending) != 0) continue;
    char hex[LS_HASH_HEX_LEN + 1], size[32];
    ls_hash_to_hex(snap->entries[i].manifest.root, hex);
    ls_format_bytes((double)snap->entries[i].manifest.size, size, sizeof size);
    say("published %s (%s, root %.16s...)%s", c->pending, size, hex,
        c->pub.registered ? "" : " (the tracker will have it once it is reachable)");
    c->pending[0] = '\0';
    prompt(c);
    return;
  }
}

static void placed(ls_share_add_t *req, int rc) {
  client_t *c = req->data;
  if (rc < 0) {
    say("cannot add %s to the share: %s", c->publish_name, req->why);
    prompt(c);
    return;
  }
  snprintf(c->pending, sizeof c->pending, "%s", c->publish_name);
  ls_catalog_poke(c->catalog);
}

/* publish: the file goes into the share (ls_share: checked, never replacing,
 * linked or copied whole), then to the tracker once the catalog has it. */
static void cmd_publish(client_t *c, const char *local, const char *name) {
  c->add.data = c;
  int rc = ls_share_add(c->loop, &c->add, c->cfg.share_dir, local, name, LS_SHARE_LENIENT, placed);
  if (rc < 0) {
    say("%s", c->add.why);
    return;
  }
  snprintf(c->publish_name, sizeof c->publish_name, "%s", name);
  if (rc == 1) placed(&c->add, 0);
}

/* ---------- fetch ---------- */

static void child_exit(uv_process_t *p, int64_t status, int signal) {
  client_t *c = p->data;
  (void)signal;
  c->child_running = 0;
  uv_close((uv_handle_t *)p, NULL);
  if (status == 0) say("fetch %s: done, in %s", c->fetch_name, c->cfg.downloads_dir);
  else say("fetch %s: failed (downloader exit status %lld; see --help of lanswarm-downloader)", c->fetch_name,
           (long long)status);
  ls_lines_resume(&c->in);
  prompt(c);
}

static void run_downloader(client_t *c, const char *tags_path) {
  char exe[PATH_MAX], dl[PATH_MAX + 32], port[16];
  if (ls_program_dir(exe, sizeof exe) != 0) {
    say("cannot find the downloader");
    return;
  }
  snprintf(dl, sizeof dl, "%s/lanswarm-downloader", exe);
  snprintf(port, sizeof port, "%d", c->cfg.tcp_port);
  char *args[] = {dl, "--dir", c->cfg.dir, "--share", c->cfg.share_dir, "--downloads", c->cfg.downloads_dir,
                  "--temp", c->cfg.temp_dir, "--tags", (char *)tags_path, "--tag", c->cfg.tag, "--port", port,
                  c->fetch_name, c->cfg.key_file[0] ? "--key-file" : NULL, c->cfg.key_file, NULL};
  uv_stdio_container_t stdio[3] = {{UV_IGNORE, {0}}, {UV_INHERIT_FD, {.fd = 1}}, {UV_INHERIT_FD, {.fd = 2}}};
  uv_process_options_t opts;
  memset(&opts, 0, sizeof opts);
  opts.file = dl;
  opts.args = args;
  opts.exit_cb = child_exit;
  opts.stdio = stdio;
  opts.stdio_count = 3;
  c->child.data = c;
  int rc = uv_spawn(c->loop, &c->child, &opts);
  if (rc != 0) {
    say("cannot run %s: %s", dl, uv_strerror(rc));
    return;
  }
  c->child_running = 1;
  ls_lines_pause(&c->in); /* one thing at a time; pings are still answered */
}

static void on_lookup(client_t *c, ls_tmsg_t *m) {
  c->lookup_id = 0;
  if (m->type != LS_TMSG_ENTRIES || m->nentries == 0) {
    say("no host has %s", c->fetch_name);
    prompt(c);
    return;
  }
  say("%s is held by:", c->fetch_name);
  ls_tag_entry_t *rows = calloc(m->nentries, sizeof *rows);
  if (rows == NULL) return;
  for (size_t i = 0; i < m->nentries; i++) {
    const ls_tentry_t *e = &m->entries[i];
    say("  %-20s %s:%u  %s", e->host, e->addr, e->port, e->file.complete ? "complete" : "partial");
    memcpy(rows[i].tag, e->host, sizeof rows[i].tag);
    memcpy(rows[i].addr, e->addr, sizeof rows[i].addr);
    rows[i].port = e->port;
    memcpy(rows[i].root, e->file.root, LS_HASH_LEN);
    rows[i].size = e->file.size;
    rows[i].chunk_size = e->file.chunk_size;
    rows[i].complete = e->file.complete;
    rows[i].last_seen = ls_unix_now();
    rows[i].name = e->file.name;
  }
  /* The downloader reads holders from a tags file: it runs unchanged. */
  char tags[PATH_MAX + 32];
  snprintf(tags, sizeof tags, "%s/tracker-tags.txt", c->cfg.dir);
  int rc = ls_tags_write(tags, rows, m->nentries);
  free(rows);
  if (rc != 0) {
    say("cannot write %s: %s", tags, uv_strerror(rc));
    prompt(c);
    return;
  }
  run_downloader(c, tags);
}

static void cmd_fetch(client_t *c, const char *name) {
  if (!ls_name_valid(name, strlen(name))) {
    say("'%s' is not a valid name", name);
    return;
  }
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_LOOKUP;
  m.name = (char *)name;
  snprintf(c->fetch_name, sizeof c->fetch_name, "%s", name);
  c->lookup_id = ls_publisher_request(&c->pub, &m);
  if (c->lookup_id == 0) say("not connected to the tracker; try again in a moment");
}

static void on_msg(ls_publisher_t *p, ls_tmsg_t *m) {
  client_t *c = p->data;
  if (c->lookup_id != 0 && m->id == c->lookup_id) on_lookup(c, m);
}

/* ---------- the shell ---------- */

static void cmd_list(client_t *c) {
  const ls_catalog_snapshot_t *snap = ls_catalog_current(c->catalog);
  if (snap == NULL || snap->count == 0) {
    say("this peer shares no files");
    return;
  }
  for (size_t i = 0; i < snap->count; i++) {
    char size[32];
    ls_format_bytes((double)snap->entries[i].manifest.size, size, sizeof size);
    say("%-40s %10s  %s", snap->entries[i].name, size,
        snap->entries[i].source == LS_SOURCE_PARTIAL ? "partial" : "complete");
  }
}

static void on_line(ls_lines_t *in, char *line) {
  client_t *c = in->data;
  if (line == NULL) {
    quit(c);
    return;
  }
  if (c->asking_name) {
    while (*line == ' ') line++;
    if (!ls_tag_valid(line, strlen(line))) {
      printf("1 to 64 characters of A-Z a-z 0-9 . _ -; hostname: ");
      fflush(stdout);
      return;
    }
    c->asking_name = 0;
    ls_publisher_rename(&c->pub, line);
    return;
  }
  char *save = NULL;
  char *cmd = strtok_r(line, " \t", &save);
  if (cmd == NULL) {
    prompt(c);
    return;
  }
  char *a1 = strtok_r(NULL, " \t", &save);
  char *a2 = strtok_r(NULL, "", &save); /* a name may hold spaces */
  if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "disconnect") == 0 || strcmp(cmd, "exit") == 0) {
    quit(c);
    return;
  }
  if (strcmp(cmd, "list") == 0 && a1 == NULL) cmd_list(c);
  else if (strcmp(cmd, "publish") == 0 && a1 != NULL && a2 != NULL) {
    cmd_publish(c, a1, a2);
    return;
  } else if (strcmp(cmd, "fetch") == 0 && a1 != NULL) {
    char name[LS_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s%s%s", a1, a2 ? " " : "", a2 ? a2 : "");
    cmd_fetch(c, name);
    return;
  } else say("usage: publish <local-path> <name> | fetch <name> | list | quit");
  prompt(c);
}

static void on_signal(ls_signals_t *s, int signum) {
  (void)signum;
  quit(s->data);
}

static const ls_config_program_t program = {
    .program = "lanswarm-client",
    .synopsis = "--tracker ADDR:PORT [OPTIONS]",
    .description =
        "The client shell of the hybrid model: registers this peer with a tracker under a\n"
        "unique host name (default: the tag; asks again while a name is taken), publishes\n"
        "the peer's share, and reads commands:\n"
        "  publish <local-path> <name>   add a file to the share under name and publish it\n"
        "  fetch <name>                  show the holders and download it (lanswarm-downloader)\n"
        "  list                          this peer's files\n"
        "  quit (or disconnect)          leave the tracker cleanly\n"
        "Run lanswarm-server beside it: files travel peer to peer.",
    .reads = LS_PROG_CLIENT,
    /* The shell's own lines are the output; diagnostics below warn go to --log-file only. */
    .start = LS_START_MAKE_DIRS | LS_START_QUIET,
};

int main(int argc, char **argv) {
  client_t c;
  memset(&c, 0, sizeof c);
  ls_daemon_t d = {.cfg = &c.cfg, .key = &c.key};
  int rc = ls_daemon_start(&d, &program, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  if (c.cfg.tracker[0] == '\0') {
    fprintf(stderr, "lanswarm-client: no tracker configured (--tracker ADDR:PORT or 'tracker =' in the config)\n");
    return 2;
  }
  c.loop = d.loop;
  c.in.data = &c;
  if (ls_lines_start(c.loop, &c.in, on_line) != 0) {
    fprintf(stderr, "lanswarm-client: standard input must be a terminal or a pipe\n");
    return 2;
  }
  ls_catalog_dirs_t dirs = {c.cfg.share_dir, c.cfg.downloads_dir, c.cfg.temp_dir, c.cfg.cache_dir, c.cfg.chunk_size};
  if (ls_catalog_new(c.loop, &dirs, c.cfg.rescan, catalog_cb, &c, &c.catalog) != 0) return 1;
  ls_publisher_init(c.loop, &c.pub, c.cfg.tracker, c.cfg.tag, (uint16_t)c.cfg.tcp_port, c.catalog);
  c.pub.data = &c;
  c.pub.on_taken = on_taken;
  c.pub.on_up = on_registered;
  c.pub.on_msg = on_msg;
  c.pub.client.key = c.key.set ? &c.key : NULL;
  ls_signals_init(c.loop, &c.signals, on_signal, &c);
  ls_catalog_start(c.catalog);
  say("lanswarm client: registering as %s at %s (publish, fetch, list, quit)", c.cfg.tag, c.cfg.tracker);
  ls_publisher_start(&c.pub);
  uv_run(c.loop, UV_RUN_DEFAULT);
  uv_loop_close(c.loop);
  return 0;
}
