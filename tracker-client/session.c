#include "session.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ls_log.h"
#include "ls_spawn.h"
#include "ls_tags.h"
#include "ls_util.h"

static void prompt(session_t *c) {
  ls_shell_prompt(&c->sh);
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

void session_close(session_t *c) {
  if (c->quitting) return;
  c->quitting = 1;
  say("leaving the tracker");
  ls_publisher_close(&c->pub);
  ls_catalog_close(c->catalog);
  ls_shell_close(&c->sh);
  if (c->on_quit) c->on_quit(c->ud);
}

/* ---------- registration ---------- */

static void on_registered(ls_publisher_t *p) {
  session_t *c = p->data;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(c->catalog);
  if (!c->registered_once) {
    say("registered as %s at %s; %zu file(s) published", p->host, c->tracker, snap ? snap->count : 0);
    prompt(c);
  }
  c->registered_once = 1;
}

static void on_name(ls_shell_t *sh, char *line) {
  session_t *c = sh->data;
  while (*line == ' ') line++;
  if (!ls_tag_valid(line, strlen(line))) {
    ls_shell_ask(sh, "1 to 64 characters of A-Z a-z 0-9 . _ -; hostname: ", on_name);
    return;
  }
  ls_publisher_rename(&c->pub, line);
}

static void on_taken(ls_publisher_t *p, const char *reason) {
  session_t *c = p->data;
  say("%s", reason);
  ls_shell_ask(&c->sh, "hostname: ", on_name);
}

/* ---------- publish ---------- */

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  session_t *c = ud;
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
  session_t *c = req->data;
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
static int cmd_publish(ls_shell_t *sh, int argc, char **argv) {
  session_t *c = sh->data;
  const char *local = argv[0], *name = argv[1];
  (void)argc;
  c->add.data = c;
  int rc = ls_share_add(c->loop, &c->add, c->cfg->share_dir, local, name, LS_SHARE_LENIENT, placed);
  if (rc < 0) {
    say("%s", c->add.why);
    return LS_SHELL_LATER;
  }
  snprintf(c->publish_name, sizeof c->publish_name, "%s", name);
  if (rc == 1) placed(&c->add, 0);
  return LS_SHELL_LATER;
}

/* ---------- fetch ---------- */

/* Why a download failed, from lanswarm-downloader's exit status (its --help);
 * the downloader has said the details on stderr above. */
static const char *failure(int64_t status) {
  switch (status) {
    case 2: return "not a valid request";
    case 3: return "no host has it";
    case 4: return "no holder could be reached";
    case 5: return "the data did not verify";
    case 6: return "a file of that name is already in the downloads folder";
    case 7: return "cannot write it here (disk full or no permission?)";
    case 130: return "interrupted; the verified part is kept for next time";
    default: return "the downloader failed";
  }
}

static void child_exit(uv_process_t *p, int64_t status, int signal) {
  session_t *c = p->data;
  (void)signal;
  uv_close((uv_handle_t *)p, NULL);
  if (status == 0) say("fetch %s: done, saved as %s/%s", c->fetch_name, c->cfg->downloads_dir, c->fetch_name);
  else say("fetch %s: failed: %s", c->fetch_name, failure(status));
  ls_shell_resume(&c->sh);
}

/* This peer's own copy of name (share/ or downloads/), into path: 1, or 0. */
static int already_here(const session_t *c, const char *name, char *path, size_t len) {
  const char *dirs[] = {c->cfg->share_dir, c->cfg->downloads_dir};
  for (size_t i = 0; i < 2; i++) {
    struct stat st;
    snprintf(path, len, "%s/%s", dirs[i], name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return 1;
  }
  return 0;
}

static void run_downloader(session_t *c, const char *tags_path) {
  char dl[PATH_MAX + 32], port[16];
  snprintf(port, sizeof port, "%d", c->cfg->tcp_port);
  ls_config_t *cfg = (ls_config_t *)c->cfg; /* uv's args are char *; nothing writes them */
  char *args[] = {"--dir", cfg->dir, "--share", cfg->share_dir, "--downloads", cfg->downloads_dir,
                  "--temp", cfg->temp_dir, "--tags", (char *)tags_path, "--tag", cfg->tag, "--port", port,
                  c->fetch_name, cfg->key_file[0] ? "--key-file" : NULL, cfg->key_file, NULL};
  ls_spawn_opts_t so = {.program = "downloader", .args = args, .out_fd = 1, .err_fd = 2, .on_exit = child_exit};
  c->child.data = c;
  int rc = ls_spawn(c->loop, &c->child, &so, dl, sizeof dl);
  if (rc != 0) {
    say("cannot run %s: %s", dl, uv_strerror(rc));
    return;
  }
  ls_shell_pause(&c->sh); /* one thing at a time; pings are still answered */
}

static void on_lookup(session_t *c, ls_tmsg_t *m) {
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
  snprintf(tags, sizeof tags, "%s/tracker-tags.txt", c->cfg->dir);
  int rc = ls_tags_write(tags, rows, m->nentries);
  free(rows);
  if (rc != 0) {
    say("cannot write %s: %s", tags, uv_strerror(rc));
    prompt(c);
    return;
  }
  run_downloader(c, tags);
}

static int cmd_fetch(ls_shell_t *sh, int argc, char **argv) {
  session_t *c = sh->data;
  const char *name = argv[0];
  (void)argc;
  if (!ls_name_valid(name, strlen(name))) {
    say("'%s' is not a valid name", name);
    return LS_SHELL_LATER;
  }
  char here[PATH_MAX + 300];
  if (already_here(c, name, here, sizeof here)) {
    say("%s is already here: %s", name, here);
    return LS_SHELL_DONE;
  }
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_LOOKUP;
  m.name = (char *)name;
  snprintf(c->fetch_name, sizeof c->fetch_name, "%s", name);
  c->lookup_id = ls_publisher_request(&c->pub, &m);
  if (c->lookup_id == 0) say("not connected to the tracker; try again in a moment");
  return LS_SHELL_LATER;
}

static void on_msg(ls_publisher_t *p, ls_tmsg_t *m) {
  session_t *c = p->data;
  if (c->lookup_id != 0 && m->id == c->lookup_id) on_lookup(c, m);
}

/* ---------- the shell ---------- */

static int cmd_list(ls_shell_t *sh, int argc, char **argv) {
  session_t *c = sh->data;
  (void)argc;
  (void)argv;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(c->catalog);
  if (snap == NULL || snap->count == 0) {
    say("this peer shares no files");
    return LS_SHELL_DONE;
  }
  for (size_t i = 0; i < snap->count; i++) {
    char size[32];
    ls_format_bytes((double)snap->entries[i].manifest.size, size, sizeof size);
    say("%-40s %10s  %s", snap->entries[i].name, size,
        snap->entries[i].source == LS_SOURCE_PARTIAL ? "partial" : "complete");
  }
  return LS_SHELL_DONE;
}

static int cmd_quit(ls_shell_t *sh, int argc, char **argv) {
  (void)argc;
  (void)argv;
  session_close(sh->data);
  return LS_SHELL_DONE;
}

static const ls_shell_cmd_t commands[] = {
    {"publish", "<local-path> <name>", "add a file to the share under name and publish it", 2, 2, 1, cmd_publish},
    {"fetch", "<name>", "show the holders and download it (lanswarm-downloader)", 1, 1, 1, cmd_fetch},
    {"list", "", "this peer's files", 0, 0, 0, cmd_list},
    {"quit", "", "leave the tracker cleanly", 0, LS_SHELL_MAX_ARGS, 0, cmd_quit},
    {"disconnect", "", NULL, 0, LS_SHELL_MAX_ARGS, 0, cmd_quit},
    {"exit", "", NULL, 0, LS_SHELL_MAX_ARGS, 0, cmd_quit},
};

static void on_end(ls_shell_t *sh) {
  session_close(sh->data);
}

int session_init(session_t *c, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key,
                 void (*on_quit)(void *ud), void *ud) {
  memset(c, 0, sizeof *c);
  c->cfg = cfg;
  c->loop = loop;
  c->on_quit = on_quit;
  c->ud = ud;
  c->sh.data = c;
  if (ls_shell_start(loop, &c->sh, commands, sizeof commands / sizeof commands[0], "lanswarm> ", on_end) != 0)
    return SESSION_NO_SHELL;
  char addrs[LS_MAX_TRACKERS][LS_TRACKER_ADDR_LEN];
  size_t n;
  const char *why;
  if (ls_config_tracker_list(cfg->tracker, addrs, &n, &why) != 0 || n == 0) return UV_EINVAL;
  memcpy(c->tracker, addrs[0], sizeof c->tracker);
  ls_catalog_dirs_t dirs = {cfg->share_dir, cfg->downloads_dir, cfg->temp_dir, cfg->cache_dir, cfg->chunk_size, cfg->max_chunks, 0};
  int rc = ls_catalog_new(loop, &dirs, cfg->rescan, catalog_cb, c, &c->catalog);
  if (rc != 0) return rc;
  ls_publisher_init(loop, &c->pub, c->tracker, cfg->tag, (uint16_t)cfg->tcp_port, c->catalog);
  c->pub.data = c;
  c->pub.on_taken = on_taken;
  c->pub.on_up = on_registered;
  c->pub.on_msg = on_msg;
  c->pub.client.key = key;
  return 0;
}

void session_start(session_t *c) {
  ls_catalog_start(c->catalog);
  say("lanswarm client: registering as %s at %s (publish, fetch, list, quit)", c->cfg->tag, c->tracker);
  ls_publisher_start(&c->pub);
}
