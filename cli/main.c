/* lanswarm: the one command a person types. Each subcommand is a thin front
 * to the programs and files that exist: `up` supervises the daemons
 * (supervise.c), `get` runs the downloader, `status`, `peers` and `files`
 * read tags.txt, client.log, temp/ and the supervisor's state. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_log.h"
#include "ls_manifest.h"
#include "ls_partial.h"
#include "ls_tags.h"
#include "ls_tagsq.h"
#include "ls_util.h"
#include "peers_add.h"
#include "supervise.h"

#define SYSTEM_CONFIG "/etc/lanswarm/lanswarm.conf"

typedef struct {
  ls_config_t cfg;
  char config_path[PATH_MAX + 32]; /* the file read, or empty */
  char bin_dir[PATH_MAX];
  int color;
} ctx_t;

static const char *C(const ctx_t *c, const char *code) {
  return c->color ? code : "";
}
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RED "\033[31m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static void usage(FILE *out) {
  fprintf(out,
          "Usage: lanswarm [--dir DIR | --config FILE] COMMAND [ARGS]\n\n"
          "Commands:\n"
          "  init [DIR]        write a commented config and create the peer's folders\n"
          "  up [--detach] [--web]  run this peer's daemons (listener, server, announcer;\n"
          "                    with --web the dashboard too), supervised\n"
          "  down              stop a detached `up`\n"
          "  status [--json]   daemons, shared files, peers, downloads\n"
          "  peers             the peers in tags.txt\n"
          "  peers add HOST[:PORT]  a peer by hand, into lanswarm.conf's `peers =` line\n"
          "  files [PATTERN]   the files on the LAN (PATTERN: a glob or a part of the name)\n"
          "  get NAME [OPTS]   download NAME (lanswarm-downloader; OPTS are passed on)\n\n"
          "The peer's configuration is --config FILE, else DIR/lanswarm.conf (DIR: --dir,\n"
          "default .), else " SYSTEM_CONFIG ". `lanswarm COMMAND --help` explains each.\n");
}

/* ---------- the peer's configuration ---------- */

static int load_ctx(ctx_t *c, const char *dir, const char *config) {
  ls_config_defaults(&c->cfg);
  char err[512];
  const char *path = config;
  char local[PATH_MAX + 32];
  if (path == NULL) {
    snprintf(local, sizeof local, "%s/lanswarm.conf", dir ? dir : ".");
    if (access(local, F_OK) == 0) path = local;
    else if (dir == NULL && access(SYSTEM_CONFIG, F_OK) == 0) path = SYSTEM_CONFIG;
  }
  if (dir != NULL) snprintf(c->cfg.dir, sizeof c->cfg.dir, "%s", dir);
  if (path != NULL) {
    if (ls_config_load_file(&c->cfg, path, err, sizeof err) != 0) {
      fprintf(stderr, "lanswarm: %s\n", err);
      return -1;
    }
    if (dir != NULL) snprintf(c->cfg.dir, sizeof c->cfg.dir, "%s", dir);
    snprintf(c->config_path, sizeof c->config_path, "%s", path);
  }
  ls_config_finish(&c->cfg);
  return 0;
}

static void find_bin_dir(ctx_t *c) {
  ls_program_dir(c->bin_dir, sizeof c->bin_dir);
}

static int wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

/* ---------- init ---------- */

static int cmd_init(ctx_t *c, int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("Usage: lanswarm init [DIR]\n\nWrites DIR/lanswarm.conf (commented; tag = this host's name, broadcast\n"
           "left on auto) and creates DIR/share, downloads, temp. DIR defaults to the\n"
           "current folder. An existing config is never overwritten.\n");
    return 0;
  }
  const char *dir = argc > 1 ? argv[1] : (c->cfg.dir[0] ? c->cfg.dir : ".");
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/lanswarm.conf", dir);
  if (access(path, F_OK) == 0) {
    fprintf(stderr, "lanswarm: %s exists; not overwriting it\n", path);
    return 1;
  }
  int rc = ls_mkdir_p(dir);
  if (rc != 0) {
    fprintf(stderr, "lanswarm: cannot create %s: %s\n", dir, strerror(-rc));
    return 1;
  }
  ls_config_t d;
  ls_config_defaults(&d);
  char text[4096];
  int n = snprintf(text, sizeof text,
                   "# lanswarm peer configuration, read by all of this peer's daemons.\n"
                   "# Every key can also be given as a flag (udp_port -> --udp-port). See lanswarm.conf(5).\n\n"
                   "# This peer's name on the LAN: 1-64 of A-Z a-z 0-9 . _ -\n"
                   "tag = %s\n\n"
                   "# Folders (relative names are relative to where the daemons start; `lanswarm up`\n"
                   "# runs them with --dir set to this folder).\n"
                   "# share = %s/share\n# downloads = %s/downloads\n# temp = %s/temp\n\n"
                   "# Announcements (UDP) and the chunk server (TCP): open both in a firewall.\n"
                   "udp_port = %d\ntcp_port = %d\n\n"
                   "# Where announcements go. auto = the directed broadcast address of every up,\n"
                   "# non-loopback IPv4 interface. Or a list: broadcast = 192.168.1.255\n"
                   "broadcast = auto\n\n"
                   "# Seconds between announcement rounds; peers silent for 3 are dropped.\n"
                   "interval = %u\n\n"
                   "# Upload limit for the chunk server, bytes per second (0 = none), e.g. 25M\n"
                   "rate_limit = 0\n\n"
                   "# Tracker mode, when broadcast does not reach every peer:\n"
                   "# tracker = 198.18.0.1:41772\n\n"
                   "# The dashboard (lanswarm up --web): loopback only unless web_token is set.\n"
                   "# web_addr = 127.0.0.1\n# web_port = 41773\n",
                   d.tag, dir, dir, dir, d.udp_port, d.tcp_port, d.interval);
  if ((rc = ls_write_file_atomic(path, text, (size_t)n, 1)) != 0) {
    fprintf(stderr, "lanswarm: cannot write %s: %s\n", path, strerror(-rc));
    return 1;
  }
  const char *sub[] = {"share", "downloads", "temp"};
  for (int i = 0; i < 3; i++) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
    ls_mkdir_p(p);
  }
  printf("wrote %s (tag %s); put files to share in %s/share, then: lanswarm --dir %s up\n", path, d.tag, dir, dir);
  return 0;
}

/* ---------- up / down ---------- */

static void pid_path(const ctx_t *c, char *buf, size_t len) {
  snprintf(buf, len, "%s/run/lanswarm.pid", c->cfg.dir);
}

static long read_pid(const ctx_t *c) {
  char path[PATH_MAX + 32];
  pid_path(c, path, sizeof path);
  uint8_t *data;
  size_t len;
  if (ls_read_file(path, 64, &data, &len) != 0) return 0;
  long pid = strtol((char *)data, NULL, 10);
  free(data);
  return pid > 0 && kill((pid_t)pid, 0) == 0 ? pid : 0;
}

static int cmd_up(ctx_t *c, int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("Usage: lanswarm up [--detach] [--web]\n\nRuns this peer's listener, server and announcer, each logging to\n"
           "DIR/logs/NAME.log, and restarts one that dies (backoff from 1 s to 60 s,\n"
           "logged in DIR/logs/up.log). Ctrl-C or SIGTERM stops them all (the announcer's\n"
           "goodbye goes out) and exits 0. --detach runs in the background with a pid file\n"
           "(DIR/run/lanswarm.pid); `lanswarm down` stops it. --web runs the dashboard\n"
           "(lanswarm-web) too: its address, with the token, is in DIR/web.url.\n"
           "Downloads run on demand: `lanswarm get NAME`, or from the dashboard.\n");
    return 0;
  }
  int detach = 0, web = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--detach") == 0) detach = 1;
    else if (strcmp(argv[i], "--web") == 0) web = 1;
    else {
      fprintf(stderr, "lanswarm up: unexpected argument '%s' (try lanswarm up --help)\n", argv[i]);
      return 2;
    }
  }
  long running = read_pid(c);
  if (running) {
    fprintf(stderr, "lanswarm: already up in %s (pid %ld)\n", c->cfg.dir, running);
    return 1;
  }
  int rc = ls_config_make_dirs(&c->cfg);
  char run_dir[PATH_MAX + 32], path[PATH_MAX + 32];
  snprintf(run_dir, sizeof run_dir, "%s/run", c->cfg.dir);
  if (rc != 0 || ls_mkdir_p(run_dir) != 0) {
    fprintf(stderr, "lanswarm: cannot create folders under %s\n", c->cfg.dir);
    return 1;
  }
  pid_path(c, path, sizeof path);
  if (detach) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) {
      for (int i = 0; i < 100 && !read_pid(c); i++) usleep(50000);
      long p = read_pid(c);
      if (!p) {
        fprintf(stderr, "lanswarm: the background supervisor did not start; see %s/logs/up.log\n", c->cfg.dir);
        return 1;
      }
      printf("lanswarm up in the background (pid %ld); logs in %s/logs; stop with: lanswarm --dir %s down\n", p,
             c->cfg.dir, c->cfg.dir);
      if (web) printf("dashboard: open the address in %s/web.url (it carries the token)\n", c->cfg.dir);
      return 0;
    }
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
  }
  char pidtext[32];
  int n = snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
  ls_write_file_atomic(path, pidtext, (size_t)n, 0);
  ls_log_init("up", LS_LOG_INFO);
  rc = supervise_run(c->cfg.dir, c->config_path[0] ? c->config_path : NULL, c->bin_dir, detach, web);
  unlink(path);
  return rc;
}

static int cmd_down(ctx_t *c, int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("Usage: lanswarm down\n\nStops a detached `lanswarm up` and waits for its daemons to stop.\n");
    return 0;
  }
  long pid = read_pid(c);
  if (!pid) {
    fprintf(stderr, "lanswarm: not up in %s (no running supervisor)\n", c->cfg.dir);
    return 1;
  }
  kill((pid_t)pid, SIGTERM);
  for (int i = 0; i < 300; i++) {
    if (kill((pid_t)pid, 0) != 0) {
      printf("stopped (pid %ld)\n", pid);
      return 0;
    }
    usleep(50000);
  }
  fprintf(stderr, "lanswarm: pid %ld did not stop within 15 s\n", pid);
  return 1;
}

/* ---------- reading what the daemons wrote ---------- */

static void ago(int64_t then, char *buf, size_t len) {
  int64_t s = ls_unix_now() - then;
  if (s < 0) s = 0;
  if (s < 120) snprintf(buf, len, "%lld s ago", (long long)s);
  else if (s < 7200) snprintf(buf, len, "%lld min ago", (long long)(s / 60));
  else snprintf(buf, len, "%lld h ago", (long long)(s / 3600));
}

static int cmd_peers(ctx_t *c, int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("Usage: lanswarm peers\n\nThe peers in tags.txt: tag, address, files, total size, last seen.\n");
    return 0;
  }
  ls_tag_entry_t *e;
  size_t n;
  if (ls_tags_read(c->cfg.tags_path, &e, &n, NULL) != 0) {
    fprintf(stderr, "lanswarm: cannot read %s\n", c->cfg.tags_path);
    return 1;
  }
  ls_tagsq_peer_t *rows = NULL;
  size_t k = 0;
  ls_tagsq_peers(e, n, &rows, &k);
  if (k == 0) printf("no peers in %s yet (is the listener running? `lanswarm status`)\n", c->cfg.tags_path);
  else printf("%s%-20s %-21s %6s %10s  %s%s\n", C(c, BOLD), "PEER", "ADDRESS", "FILES", "SIZE", "SEEN", C(c, RESET));
  for (size_t i = 0; i < k; i++) {
    char size[32], seen[32];
    ls_format_bytes((double)rows[i].bytes, size, sizeof size);
    ago(rows[i].last_seen, seen, sizeof seen);
    printf("%-20s %-21s %6zu %10s  %s\n", rows[i].first->tag, rows[i].address, rows[i].files, size, seen);
  }
  free(rows);
  ls_tags_free(e, n);
  return 0;
}

static int name_matches(const char *pattern, const char *name) {
  if (pattern == NULL) return 1;
  if (strpbrk(pattern, "*?[") != NULL) return fnmatch(pattern, name, 0) == 0;
  return strstr(name, pattern) != NULL;
}

static int cmd_files(ctx_t *c, int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("Usage: lanswarm files [PATTERN]\n\nThe files in tags.txt, one row per content: name, size, holders.\n"
           "PATTERN is a glob (*.iso) or a part of the name.\n");
    return 0;
  }
  const char *pattern = argc > 1 ? argv[1] : NULL;
  ls_tag_entry_t *e;
  size_t n;
  if (ls_tags_read(c->cfg.tags_path, &e, &n, NULL) != 0) {
    fprintf(stderr, "lanswarm: cannot read %s\n", c->cfg.tags_path);
    return 1;
  }
  int shown = 0;
  uint8_t *done = calloc(n + 1, 1);
  for (size_t i = 0; i < n && done; i++) {
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
    if (!shown++) printf("%s%-40s %10s  %s%s\n", C(c, BOLD), "NAME", "SIZE", "HELD BY", C(c, RESET));
    char size[32];
    ls_format_bytes((double)e[i].size, size, sizeof size);
    printf("%-40s %10s  %s\n", e[i].name, size, holders);
  }
  if (!shown) printf("no files%s%s in %s\n", pattern ? " matching " : "", pattern ? pattern : "", c->cfg.tags_path);
  free(done);
  ls_tags_free(e, n);
  return 0;
}

/* `get --help`: this command's usage, then the downloader's options (from
 * its --help, past its own usage line and description), which get passes on. */
static int get_help(const char *prog) {
  printf("Usage: lanswarm get NAME [OPTIONS]\n\nDownloads NAME from every peer that has it into DIR/downloads/ by running\n"
         "lanswarm-downloader with this peer's --dir and --config; OPTIONS are passed on.\n\n");
  fflush(stdout);
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(prog, prog, "--help", (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  FILE *in = pid > 0 ? fdopen(fds[0], "r") : NULL;
  if (in == NULL) {
    close(fds[0]);
    return 1;
  }
  char line[512];
  int shown = 0, status = 1;
  while (fgets(line, sizeof line, in) != NULL) {
    if (!shown && (strncmp(line, "Exit status", 11) == 0 || strncmp(line, "Options:", 8) == 0)) shown = 1;
    if (shown) fputs(line, stdout);
  }
  fclose(in);
  waitpid(pid, &status, 0);
  return status == 0 && shown ? 0 : 1;
}

static int cmd_get(ctx_t *c, int argc, char **argv) {
  char prog[PATH_MAX + 32];
  snprintf(prog, sizeof prog, "%s/lanswarm-downloader", c->bin_dir);
  if (wants_help(argc, argv)) return get_help(prog);
  char **args = calloc((size_t)argc + 6, sizeof *args);
  int n = 0;
  args[n++] = prog;
  args[n++] = "--dir";
  args[n++] = c->cfg.dir;
  if (c->config_path[0]) {
    args[n++] = "--config";
    args[n++] = c->config_path;
  }
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  args[n] = NULL;
  execv(prog, args);
  fprintf(stderr, "lanswarm: cannot run %s: %s\n", prog, strerror(errno));
  return 1;
}

/* ---------- status ---------- */

static double json_number(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *daemons_json(const ctx_t *c) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/run/state.json", c->cfg.dir);
  uint8_t *data;
  size_t len;
  cJSON *state = NULL;
  if (read_pid(c) && ls_read_file(path, 1 << 20, &data, &len) == 0) {
    state = cJSON_ParseWithLength((char *)data, len);
    free(data);
  }
  cJSON *out = cJSON_CreateArray();
  cJSON *ds = state ? cJSON_GetObjectItemCaseSensitive(state, "daemons") : NULL;
  const cJSON *d;
  cJSON_ArrayForEach(d, ds) {
    cJSON *pid = cJSON_GetObjectItemCaseSensitive(d, "pid");
    int alive = cJSON_IsNumber(pid) && pid->valueint > 0 && kill(pid->valueint, 0) == 0;
    cJSON *copy = cJSON_Duplicate(d, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(copy, "running", cJSON_CreateBool(alive));
    cJSON_AddItemToArray(out, copy);
  }
  cJSON_Delete(state);
  return out;
}

/* ls_partial_scan: one download in progress into the array ud. */
static int add_downloading(void *ud, ls_partial_info_t *info) {
  cJSON *a = cJSON_CreateObject();
  cJSON_AddStringToObject(a, "name", info->name);
  cJSON_AddNumberToObject(a, "size", (double)info->manifest.size);
  cJSON_AddNumberToObject(a, "chunks", info->manifest.nchunks);
  cJSON_AddNumberToObject(a, "chunks_verified", (double)(info->held > 0 ? info->held : 0));
  cJSON_AddItemToArray(ud, a);
  return 0;
}

static int cmd_status(ctx_t *c, int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("Usage: lanswarm status [--json]\n\nWhich daemons run (pid, uptime, restarts), this peer's shared files,\n"
           "the peers seen (tags.txt), downloads in progress (temp/) and the last few\n"
           "finished (client.log). --json prints the same as one JSON object.\n");
    return 0;
  }
  int json = argc > 1 && strcmp(argv[1], "--json") == 0;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "dir", c->cfg.dir);
  cJSON_AddStringToObject(o, "tag", c->cfg.tag);
  long sup = read_pid(c);
  cJSON_AddNumberToObject(o, "supervisor_pid", (double)sup);
  cJSON_AddItemToObject(o, "daemons", daemons_json(c));

  /* Shared files: the catalog as the daemons see it (cached manifests). */
  ls_catalog_dirs_t dirs = {c->cfg.share_dir, c->cfg.downloads_dir, NULL, c->cfg.cache_dir, c->cfg.chunk_size};
  ls_catalog_snapshot_t snap;
  cJSON *shared = cJSON_AddArrayToObject(o, "shared");
  if (ls_catalog_scan(&dirs, NULL, &snap) == 0) {
    for (size_t i = 0; i < snap.count; i++) {
      cJSON *f = cJSON_CreateObject();
      cJSON_AddStringToObject(f, "name", snap.entries[i].name);
      cJSON_AddNumberToObject(f, "size", (double)snap.entries[i].manifest.size);
      cJSON_AddItemToArray(shared, f);
    }
    ls_catalog_snapshot_free(&snap);
  }
  /* Peers. */
  ls_tag_entry_t *e;
  size_t n;
  cJSON *peers = cJSON_AddArrayToObject(o, "peers");
  if (ls_tags_read(c->cfg.tags_path, &e, &n, NULL) == 0) {
    ls_tagsq_peer_t *rows = NULL;
    size_t k = 0;
    ls_tagsq_peers(e, n, &rows, &k);
    for (size_t i = 0; i < k; i++) {
      cJSON *p = cJSON_CreateObject();
      cJSON_AddStringToObject(p, "tag", rows[i].first->tag);
      cJSON_AddStringToObject(p, "address", rows[i].address);
      cJSON_AddNumberToObject(p, "files", (double)rows[i].files);
      cJSON_AddNumberToObject(p, "bytes", (double)rows[i].bytes);
      cJSON_AddNumberToObject(p, "last_seen", (double)rows[i].last_seen);
      cJSON_AddItemToArray(peers, p);
    }
    free(rows);
    ls_tags_free(e, n);
  }
  /* Downloads in progress: temp/ROOT.manifest + .have. */
  cJSON *active = cJSON_AddArrayToObject(o, "downloading");
  ls_partial_scan(c->cfg.temp_dir, add_downloading, active);
  /* The last five finished downloads (client.log lines, as written). */
  cJSON *recent = cJSON_AddArrayToObject(o, "recent");
  uint8_t *log;
  size_t len;
  if (ls_read_file(c->cfg.client_log, 64u << 20, &log, &len) == 0) {
    char *lines[5] = {0};
    int k = 0;
    for (char *line = strtok((char *)log, "\n"); line; line = strtok(NULL, "\n")) lines[k++ % 5] = line;
    for (int i = k > 5 ? k - 5 : 0; i < k; i++) cJSON_AddItemToArray(recent, cJSON_CreateString(lines[i % 5]));
    free(log);
  }

  if (json) {
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
    return 0;
  }
  printf("%speer %s%s in %s%s\n", C(c, BOLD), c->cfg.tag, C(c, RESET), c->cfg.dir,
         c->config_path[0] ? "" : " (no config file: defaults)");
  if (!sup) printf("daemons: %snot up%s (start with: lanswarm --dir %s up)\n", C(c, YELLOW), C(c, RESET), c->cfg.dir);
  else printf("supervisor: pid %ld\n", sup);
  const cJSON *it;
  int web_up = 0;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "daemons")) {
    /* state.json is a file on disk: a field may be missing or of another type. */
    int up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "running"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
    if (up && name && strcmp(name, "web") == 0) web_up = 1;
    int64_t started = (int64_t)json_number(it, "started");
    printf("  %-10s %s%-8s%s pid %-7d up %-10lld restarts %d\n", name ? name : "?", C(c, up ? GREEN : RED),
           up ? "running" : "stopped", C(c, RESET), (int)json_number(it, "pid"),
           up ? (long long)(ls_unix_now() - started) : 0LL, (int)json_number(it, "restarts"));
  }
  if (web_up) {
    char url_path[PATH_MAX + 16];
    snprintf(url_path, sizeof url_path, "%s/web.url", c->cfg.dir);
    if (access(url_path, F_OK) == 0)
      printf("dashboard: http://%s:%d/ (open the address in %s: it carries the token)\n", c->cfg.web_addr,
             c->cfg.web_port, url_path);
  }
  printf("sharing %d file(s) from %s\n", cJSON_GetArraySize(shared), c->cfg.share_dir);
  printf("peers seen: %d (lanswarm peers)\n", cJSON_GetArraySize(peers));
  cJSON_ArrayForEach(it, active) {
    double total = cJSON_GetObjectItemCaseSensitive(it, "chunks")->valuedouble;
    double got = cJSON_GetObjectItemCaseSensitive(it, "chunks_verified")->valuedouble;
    printf("downloading %s: %.0f%%\n", cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring,
           total > 0 ? 100.0 * got / total : 100.0);
  }
  if (cJSON_GetArraySize(recent) > 0) printf("last downloads (client.log):\n");
  cJSON_ArrayForEach(it, recent) printf("  %s\n", it->valuestring);
  cJSON_Delete(o);
  return 0;
}

int main(int argc, char **argv) {
  ctx_t c;
  memset(&c, 0, sizeof c);
  const char *dir = NULL, *config = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if ((strcmp(argv[i], "--dir") == 0 || strcmp(argv[i], "-d") == 0) && i + 1 < argc) dir = argv[++i];
    else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) config = argv[++i];
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("lanswarm %s\n", ls_version());
      return 0;
    } else break;
  }
  if (i == argc) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[i];
  int sub_argc = argc - i;
  char **sub_argv = argv + i;
  c.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
  find_bin_dir(&c);
  if (strcmp(cmd, "init") == 0) {
    if (dir) snprintf(c.cfg.dir, sizeof c.cfg.dir, "%s", dir);
    return cmd_init(&c, sub_argc, sub_argv);
  }
  static const char *known[] = {"up", "down", "status", "peers", "files", "get"};
  int ok = 0;
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= strcmp(cmd, known[k]) == 0;
  if (!ok) {
    fprintf(stderr, "lanswarm: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
  }
  if (load_ctx(&c, dir, config) != 0) return 2;
  if (strcmp(cmd, "up") == 0) return cmd_up(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "down") == 0) return cmd_down(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "status") == 0) return cmd_status(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "peers") == 0 && sub_argc > 1 && strcmp(sub_argv[1], "add") == 0) return cli_peers_add(c.config_path[0] ? c.config_path : NULL, c.cfg.dir, sub_argc - 1, sub_argv + 1);
  if (strcmp(cmd, "peers") == 0) return cmd_peers(&c, sub_argc, sub_argv);
  if (strcmp(cmd, "files") == 0) return cmd_files(&c, sub_argc, sub_argv);
  return cmd_get(&c, sub_argc, sub_argv);
}
