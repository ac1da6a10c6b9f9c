#include "ls_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_manifest.h"
#include "ls_net.h"
#include "ls_tags.h"
#include "ls_util.h"

#ifndef LS_VERSION
#define LS_VERSION "0.0.0+unknown" /* the Makefile passes debian/changelog's */
#endif

const char *ls_version(void) {
  return LS_VERSION;
}

/* ---------- what string keys accept ---------- */

static const char *check_tag(const char *v) {
  return ls_tag_valid(v, strlen(v)) ? NULL : "1 to 64 characters of A-Z a-z 0-9 . _ -";
}

static const char *check_broadcast(const char *v) {
  return *v ? NULL : "'auto', 'off' or a comma-separated list of IPv4 addresses";
}

static const char *check_multicast(const char *v) {
  struct in_addr g4[LS_NET_MAX_TARGETS];
  struct in6_addr g6;
  size_t n4, n6;
  return ls_net_groups("auto", v, "off", g4, LS_NET_MAX_TARGETS, &n4, &g6, &n6) == 0
             ? NULL
             : "'auto', 'off' or a comma-separated list of IPv4 multicast groups (224.0.0.0/4)";
}

static const char *check_multicast6(const char *v) {
  struct in_addr g4;
  struct in6_addr g6;
  size_t n4, n6;
  return ls_net_groups("auto", "off", v, &g4, 1, &n4, &g6, &n6) == 0 ? NULL
                                                                       : "'auto', 'off' or one IPv6 multicast group (ff00::/8)";
}

static const char *check_peers(const char *v) {
  char buf[512], host[256];
  int port;
  size_t n = 0;
  snprintf(buf, sizeof buf, "%s", v);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
    if (++n > LS_NET_PEERS_MAX || ls_net_peer_parse(tok, 1, host, sizeof host, &port) != 0)
      return "up to 8 of HOST[:PORT], [IPV6][:PORT], separated by commas";
  return NULL;
}

/* One list item, spaces trimmed, into out (normalized); 0 or -EINVAL. */
static int tracker_item(const char *start, size_t len, char out[LS_TRACKER_ADDR_LEN]) {
  char item[64];
  struct sockaddr_in sa;
  while (len > 0 && isspace((unsigned char)*start)) start++, len--;
  while (len > 0 && isspace((unsigned char)start[len - 1])) len--;
  if (len == 0 || len >= sizeof item) return -EINVAL;
  memcpy(item, start, len);
  item[len] = '\0';
  if (ls_net_parse_hostport(item, &sa) != 0) return -EINVAL;
  char host[16];
  uint16_t port;
  ls_net_addr_str((const struct sockaddr *)&sa, host, sizeof host, &port);
  snprintf(out, LS_TRACKER_ADDR_LEN, "%s:%u", host, (unsigned)port);
  return 0;
}

int ls_config_tracker_list(const char *value, char out[][LS_TRACKER_ADDR_LEN], size_t *n, const char **why) {
  *n = 0;
  *why = NULL;
  if (*value == '\0') return 0;
  for (const char *p = value;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (*n == LS_MAX_TRACKERS) return *why = "at most 8 trackers", -EINVAL;
    if (tracker_item(p, len, out[*n]) != 0)
      return *why = "comma-separated ADDRESS:PORT of up to 8 trackers, e.g. 198.18.0.1:41772", -EINVAL;
    for (size_t i = 0; i < *n; i++)
      if (strcmp(out[i], out[*n]) == 0) return *why = "the same tracker twice", -EINVAL;
    (*n)++;
    if (comma == NULL) return 0;
    p = comma + 1;
  }
}

static const char *check_tracker(const char *v) {
  char addrs[LS_MAX_TRACKERS][LS_TRACKER_ADDR_LEN];
  size_t n;
  const char *why;
  return ls_config_tracker_list(v, addrs, &n, &why) == 0 ? NULL : why;
}

static const char *check_listen_addr(const char *v) {
  return *v ? NULL : "an IPv4 address";
}

static const char *check_web_addr(const char *v) {
  struct in_addr a;
  return inet_pton(AF_INET, v, &a) == 1 ? NULL : "an IPv4 address such as 127.0.0.1";
}

static const char *check_web_token(const char *v) {
  size_t n = strlen(v);
  int ok = n >= LS_WEB_TOKEN_MIN && n <= LS_WEB_TOKEN_MAX;
  for (size_t i = 0; ok && i < n; i++) ok = isalnum((unsigned char)v[i]) || strchr("-._~", v[i]) != NULL;
  return ok ? NULL : "16 to 128 characters of A-Z a-z 0-9 - . _ ~";
}

/* ---------- the table ---------- */

#define FIELD(f) offsetof(ls_config_t, f), sizeof(((ls_config_t *)0)->f)
#define ALL LS_PROG_DAEMONS
#define ANN LS_PROG_ANNOUNCER
#define LIS LS_PROG_LISTENER
#define SRV LS_PROG_SERVER
#define DL LS_PROG_DOWNLOADER
#define TRK LS_PROG_TRACKER
#define CLT LS_PROG_CLIENT
#define WEB LS_PROG_WEB
#define CLI LS_PROG_CLI
/* The folders the catalog reads (announcer, server, client shell, dashboard, status). */
#define CATALOG (ANN | SRV | CLT | WEB | CLI)

/* One macro per type, as Redis' createIntConfig(): name, field, bounds,
 * default (as the file would say it) or how docs say a computed one, the
 * programs that read it, the flag's argument and the help line. */
#define UINT_KEY(name, alias, field, min, max, def, programs, arg, help) \
  {name, alias, LS_CFG_UINT, FIELD(field), min, max, def, NULL, programs, arg, help, NULL}
#define SIZE_KEY(name, field, min, max, def, programs, arg, help) \
  {name, NULL, LS_CFG_SIZE, FIELD(field), min, max, def, NULL, programs, arg, help, NULL}
#define STRING_KEY(name, field, def, def_doc, programs, arg, help, check) \
  {name, NULL, LS_CFG_STRING, FIELD(field), 0, 0, def, def_doc, programs, arg, help, check}
#define PATH_KEY(name, field, def, def_doc, programs, arg, help) \
  {name, NULL, LS_CFG_PATH, FIELD(field), 0, 0, def, def_doc, programs, arg, help, NULL}
#define LEVEL_KEY(name, field, def, programs, arg, help) \
  {name, NULL, LS_CFG_LEVEL, FIELD(field), 0, 0, def, NULL, programs, arg, help, NULL}

static const ls_config_key_t keys[] = {
    STRING_KEY("tag", tag, NULL, "the host name", ANN | LIS | DL | CLT | WEB | CLI, "TAG",
               "this peer's name on the LAN (1-64 of A-Za-z0-9._-)", check_tag),
    PATH_KEY("dir", dir, ".", NULL, ALL | CLI, "DIR", "the peer's folder (lanswarm.conf, tags.txt, logs)"),
    PATH_KEY("share", share_dir, NULL, "DIR/share", CATALOG, "DIR", "the folder to share"),
    PATH_KEY("downloads", downloads_dir, NULL, "DIR/downloads", CATALOG | DL, "DIR",
             "finished downloads (also served)"),
    PATH_KEY("temp", temp_dir, NULL, "DIR/temp", CATALOG | DL, "DIR", "partial downloads (verified chunks are served)"),
    PATH_KEY("tags", tags_path, NULL, "DIR/tags.txt", LIS | DL | WEB | CLI, "FILE",
             "the peers' files: the listener writes it"),
    UINT_KEY("udp_port", NULL, udp_port, 1, 65535, "41770", ANN | LIS | WEB, "N", "announcements (UDP)"),
    UINT_KEY("tcp_port", "port", tcp_port, 0, 65535, "41771", ANN | SRV | DL | CLT | WEB, "N", "the chunk server (TCP)"),
    UINT_KEY("tracker_port", NULL, tracker_port, 0, 65535, "41772", TRK, "N",
             "lanswarm-tracker's own port (TCP); its --port"),
    STRING_KEY("broadcast", broadcast, "auto", NULL, ANN | LIS, "ADDR[,ADDR]",
               "where announcements and queries go: auto, off or a list", check_broadcast),
    STRING_KEY("multicast", multicast, "auto", NULL, ANN | LIS, "GROUP[,GROUP]",
               "IPv4 multicast groups: auto (with broadcast auto), off or a list", check_multicast),
    STRING_KEY("multicast6", multicast6, "auto", NULL, ANN | LIS, "GROUP",
               "the IPv6 link-local group: auto (with broadcast auto), off or a group", check_multicast6),
    STRING_KEY("peers", peers, NULL, "none", ANN | LIS, "HOST[:PORT],...",
               "peers by hand, announced to unicast (PORT: their udp_port)", check_peers),
    STRING_KEY("listen_addr", listen_addr, "0.0.0.0", NULL, LIS | SRV | TRK, "ADDR",
               "where the listener, server and tracker bind", check_listen_addr),
    UINT_KEY("interval", NULL, interval, 1, 3600, "60", ANN | LIS | WEB, "SEC", "seconds between announcement rounds"),
    UINT_KEY("rescan", NULL, rescan, 1, 3600, "10", CATALOG & ~CLI, "SEC",
             "seconds between fallback rescans of the share"),
    SIZE_KEY("chunk_size", chunk_size, LS_CHUNK_MIN, LS_CHUNK_MAX, "1M", CATALOG, "SIZE",
             "chunk size for files this peer hashes"),
    SIZE_KEY("tags_max_bytes", tags_max_bytes, 64 << 10, LS_TAGS_MAX_BYTES, "64M", LIS, "SIZE",
             "the listener keeps tags.txt within this size (a quarter per address)"),
    UINT_KEY("max_chunks", NULL, max_chunks, 16, LS_MANIFEST_MAX_CHUNKS, "131072", CATALOG, "N",
             "most chunks of a file this peer hashes: more and the chunk size doubles"),
    SIZE_KEY("rate_limit", rate_limit, 0, UINT64_MAX, "0", SRV, "RATE",
             "the server's upload in bytes/s (25M); 0: none"),
    /* Spelled as curl's and wget's option: --limit-rate. */
    {"download_rate_limit", "limit-rate", LS_CFG_SIZE, FIELD(download_rate_limit), 0, UINT64_MAX, "0", NULL, DL,
     "RATE", "the downloader's download in bytes/s (25M), all peers together; 0: none", NULL},
    UINT_KEY("max_conns", NULL, max_conns, 1, 1000000, "256", SRV | TRK, "N", "connections the server or tracker takes"),
    UINT_KEY("max_conns_per_ip", NULL, max_conns_per_ip, 1, 100000, "32", SRV, "N",
             "the server's connections from one address"),
    UINT_KEY("idle_timeout", NULL, idle_timeout, 1, 86400, "60", SRV, "SEC",
             "the server closes connections idle this long"),
    UINT_KEY("write_timeout", NULL, write_timeout, 1, 3600, "10", SRV, "SEC",
             "the server closes a connection whose replies are not read this long"),
    UINT_KEY("stall_timeout", NULL, stall_timeout, 1, 3600, "10", DL, "SEC",
             "the downloader drops a peer silent this long"),
    UINT_KEY("fsync", NULL, fsync, 0, 1, "1", DL, "0|1", "make a finished download durable first"),
    STRING_KEY("tracker", tracker, NULL, "none", ANN | LIS | CLT, "ADDR:PORT[,...]",
               "up to 8 trackers to use (hybrid model); the client shell uses the first", check_tracker),
    PATH_KEY("key_file", key_file, NULL, "none", ALL, "FILE", "the network key: only peers with it take part"),
    STRING_KEY("web_addr", web_addr, "127.0.0.1", NULL, WEB | CLI, "ADDR",
               "where lanswarm-web listens (off loopback: web_token)", check_web_addr),
    UINT_KEY("web_port", NULL, web_port, 0, 65535, "41773", WEB | CLI, "N", "lanswarm-web's HTTP port"),
    STRING_KEY("web_token", web_token, NULL, "made at start", WEB, "TOKEN",
               "lanswarm-web's token (16-128 of A-Za-z0-9-._~)", check_web_token),
    LEVEL_KEY("log_level", log_level, "info", ALL, "LEVEL", "debug, info, warn or error"),
    PATH_KEY("log_file", log_file, NULL, "none", ALL, "FILE", "also write diagnostics there"),
};
#define NKEYS (sizeof keys / sizeof keys[0])

const ls_config_key_t *ls_config_keys(size_t *count) {
  *count = NKEYS;
  return keys;
}

const ls_config_key_t *ls_config_key(const char *name) {
  for (size_t i = 0; i < NKEYS; i++)
    if (strcmp(keys[i].name, name) == 0) return &keys[i];
  return NULL;
}

const char *ls_config_key_default(const ls_config_key_t *k) {
  return k->def_doc ? k->def_doc : k->def ? k->def : "none";
}

void ls_config_flag_name(const ls_config_key_t *k, char *buf, size_t len) {
  snprintf(buf, len, "%s", k->name);
  for (char *p = buf; *p; p++)
    if (*p == '_') *p = '-';
}

/* ---------- one key from text, and back ---------- */

static int set_number(const ls_config_key_t *k, void *field, const char *value, char *err, size_t errlen) {
  uint64_t v;
  if (k->type == LS_CFG_UINT) {
    if (ls_parse_u64(value, k->min, k->max, &v) != 0) {
      snprintf(err, errlen, "%s: expected a whole number from %llu to %llu, got '%.80s'", k->name,
               (unsigned long long)k->min, (unsigned long long)k->max, value);
      return -EINVAL;
    }
  } else if (ls_parse_size(value, &v) != 0 || v < k->min || v > k->max) {
    if (k->max == UINT64_MAX)
      snprintf(err, errlen, "%s: expected bytes such as 25M (K, M, G: powers of 1024), got '%.80s'", k->name, value);
    else
      snprintf(err, errlen, "%s: expected from %lluK to %lluM, got '%.80s'", k->name,
               (unsigned long long)k->min >> 10, (unsigned long long)k->max >> 20, value);
    return -EINVAL;
  }
  if (k->size == sizeof(uint64_t)) *(uint64_t *)field = v;
  else *(uint32_t *)field = (uint32_t)v; /* int, unsigned and uint32_t fields alike */
  return 0;
}

static int set_value(ls_config_t *cfg, const ls_config_key_t *k, const char *value, char *err, size_t errlen) {
  char *field = (char *)cfg + k->offset;
  const char *why = NULL;
  switch (k->type) {
    case LS_CFG_UINT:
    case LS_CFG_SIZE: return set_number(k, field, value, err, errlen);
    case LS_CFG_LEVEL:
      if (ls_log_level_parse(value, (ls_log_level_t *)field) == 0) return 0;
      why = "debug, info, warn or error";
      break;
    case LS_CFG_PATH:
      if (*value == '\0') why = "a path, not empty";
      break;
    case LS_CFG_STRING: why = k->check ? k->check(value) : NULL; break;
  }
  if (why == NULL && strlen(value) >= k->size) why = "too long";
  if (why != NULL) {
    snprintf(err, errlen, "%s: %s; got '%.80s'", k->name, why, value);
    return -EINVAL;
  }
  memcpy(field, value, strlen(value) + 1);
  return 0;
}

int ls_config_set(ls_config_t *cfg, const char *key, const char *value, char *err, size_t errlen) {
  const ls_config_key_t *k = ls_config_key(key);
  if (k == NULL) {
    snprintf(err, errlen, "unknown key '%.64s'", key);
    return -EINVAL;
  }
  return set_value(cfg, k, value, err, errlen);
}

int ls_config_format(const ls_config_t *cfg, const ls_config_key_t *k, char *buf, size_t len) {
  static const char *levels[] = {"debug", "info", "warn", "error"};
  const char *field = (const char *)cfg + k->offset;
  int n;
  if (k->type == LS_CFG_UINT || k->type == LS_CFG_SIZE) {
    uint64_t v = k->size == sizeof(uint64_t) ? *(const uint64_t *)field : *(const uint32_t *)field;
    n = snprintf(buf, len, "%llu", (unsigned long long)v);
  } else if (k->type == LS_CFG_LEVEL)
    n = snprintf(buf, len, "%s", levels[*(const ls_log_level_t *)field & 3]);
  else n = snprintf(buf, len, "%s", field);
  return n >= 0 && (size_t)n < len ? 0 : -EINVAL;
}

void ls_config_defaults(ls_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  char err[256];
  for (size_t i = 0; i < NKEYS; i++)
    if (keys[i].def != NULL) set_value(cfg, &keys[i], keys[i].def, err, sizeof err);
  char host[256] = "peer";
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "peer");
  host[sizeof host - 1] = '\0';
  /* A host name may hold characters a tag may not: keep the valid prefix. */
  size_t n = 0;
  while (n < LS_TAG_MAX && host[n] && ls_tag_valid(host + n, 1)) n++;
  if (n == 0) snprintf(cfg->tag, sizeof cfg->tag, "peer");
  else snprintf(cfg->tag, sizeof cfg->tag, "%.*s", (int)n, host);
}

/* ---------- the file ---------- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

/* One line of the file, its comment already cut. */
static int load_line(ls_config_t *cfg, char *line, const char *path, int lineno, char *err, size_t errlen) {
  char *t = trim(line);
  if (*t == '\0') return 0;
  char *eq = strchr(t, '=');
  if (eq == NULL) {
    snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
    return -EINVAL;
  }
  *eq = '\0';
  char why[256];
  if (ls_config_set(cfg, trim(t), trim(eq + 1), why, sizeof why) != 0) {
    snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
    return -EINVAL;
  }
  return 0;
}

int ls_config_load_file(ls_config_t *cfg, const char *path, char *err, size_t errlen) {
  uint8_t *data;
  size_t len;
  int rc = ls_read_file(path, LS_CONFIG_MAX_BYTES, &data, &len);
  if (rc != 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    return rc;
  }
  if (memchr(data, '\0', len) != NULL) {
    snprintf(err, errlen, "%s: not a text file", path);
    free(data);
    return -EINVAL;
  }
  int lineno = 0;
  /* strtok_r would skip empty lines and break the line count; walk by hand. */
  char *line = (char *)data;
  while (rc == 0 && line != NULL && *line != '\0') {
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    lineno++;
    char *hash = strchr(line, '#');
    if (hash != NULL) *hash = '\0';
    rc = load_line(cfg, line, path, lineno, err, errlen);
    line = next;
  }
  free(data);
  return rc;
}

static void derive(char *dst, size_t len, const char *dir, const char *name) {
  if (dst[0] != '\0') return;
  /* dir is at most PATH_MAX - 1 long; a longer result is cut and fails later at open(). */
  if (snprintf(dst, len, "%s/%s", dir, name) >= (int)len) dst[len - 1] = '\0';
}

void ls_config_finish(ls_config_t *cfg) {
  derive(cfg->share_dir, sizeof cfg->share_dir, cfg->dir, "share");
  derive(cfg->downloads_dir, sizeof cfg->downloads_dir, cfg->dir, "downloads");
  derive(cfg->temp_dir, sizeof cfg->temp_dir, cfg->dir, "temp");
  derive(cfg->cache_dir, sizeof cfg->cache_dir, cfg->dir, "cache");
  derive(cfg->tags_path, sizeof cfg->tags_path, cfg->dir, "tags.txt");
  derive(cfg->client_log, sizeof cfg->client_log, cfg->dir, "client.log");
  derive(cfg->server_log, sizeof cfg->server_log, cfg->dir, "server.log");
  derive(cfg->server_status, sizeof cfg->server_status, cfg->dir, "server.status");
  derive(cfg->peers_path, sizeof cfg->peers_path, cfg->dir, "peers.txt");
  derive(cfg->round_path, sizeof cfg->round_path, cfg->dir, "run/round");
}

int ls_config_load_key(const ls_config_t *cfg, ls_key_t *key, char *err, size_t errlen) {
  memset(key, 0, sizeof *key);
  if (cfg->key_file[0] == '\0') return 0;
  int rc = ls_key_load(cfg->key_file, key);
  if (rc == -EINVAL) snprintf(err, errlen, "%s: a key must hold at least %d bytes", cfg->key_file, LS_KEY_MIN);
  else if (rc != 0) snprintf(err, errlen, "cannot read the key %s: %s", cfg->key_file, strerror(-rc));
  return rc;
}

int ls_config_make_dirs(const ls_config_t *cfg) {
  const char *dirs[] = {cfg->dir, cfg->share_dir, cfg->downloads_dir, cfg->temp_dir, cfg->cache_dir};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    int rc = ls_mkdir_p(dirs[i]);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ---------- flags ---------- */

#define FLAG_BASE 300   /* key i is FLAG_BASE + i: above any short option; programs use 1000 and up */
#define FLAG_VERSION 299
#define MAX_OPTS 96

/* getopt's table: every key by its flag and its alias, then the program's own. */
typedef struct {
  struct option opts[MAX_OPTS];
  char names[NKEYS][40];
} options_t;

static void build_options(options_t *o, const ls_config_program_t *prog) {
  memset(o, 0, sizeof *o);
  size_t n = 0;
  /* The program's own options first: one may give a key's flag its own
   * meaning (the tracker's --port is its tracker_port). */
  for (const struct option *p = prog->own_options; p != NULL && p->name != NULL && n < MAX_OPTS - 1; p++)
    o->opts[n++] = *p;
  for (size_t i = 0; i < NKEYS; i++) {
    ls_config_flag_name(&keys[i], o->names[i], sizeof o->names[i]);
    o->opts[n++] = (struct option){o->names[i], required_argument, NULL, (int)(FLAG_BASE + i)};
    if (keys[i].alias) o->opts[n++] = (struct option){keys[i].alias, required_argument, NULL, (int)(FLAG_BASE + i)};
  }
  o->opts[n++] = (struct option){"config", required_argument, NULL, 'c'};
  o->opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  o->opts[n++] = (struct option){"version", no_argument, NULL, FLAG_VERSION};
  o->opts[n] = (struct option){NULL, 0, NULL, 0};
}

/* Pass 1: --help and --version win; --config and --dir say which file to read. */
static int first_pass(ls_config_t *cfg, const options_t *o, int argc, char **argv, const char **config_path) {
  const int dir_code = FLAG_BASE + (int)(ls_config_key("dir") - keys);
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":c:h", o->opts, NULL)) != -1) {
    if (c == 'h') return LS_CONFIG_HELP;
    if (c == FLAG_VERSION) return LS_CONFIG_VERSION;
    if (c == 'c') *config_path = optarg;
    if (c == dir_code) snprintf(cfg->dir, sizeof cfg->dir, "%s", optarg);
  }
  return 0;
}

static int load_config_file(ls_config_t *cfg, const char *config_path, char *err, size_t errlen) {
  char default_path[PATH_MAX + 32];
  if (config_path == NULL) {
    snprintf(default_path, sizeof default_path, "%s/lanswarm.conf", cfg->dir);
    if (access(default_path, F_OK) == 0) config_path = default_path;
  }
  return config_path != NULL ? ls_config_load_file(cfg, config_path, err, errlen) : 0;
}

/* Pass 2: the flags over the file. */
static int second_pass(ls_config_t *cfg, const ls_config_program_t *prog, const options_t *o, int argc, char **argv,
                       char *err, size_t errlen) {
  int c, index = -1;
  char why[256];
  optind = 0;
  while ((c = getopt_long(argc, argv, ":c:h", o->opts, &index)) != -1) {
    if (c >= FLAG_BASE && c < FLAG_BASE + (int)NKEYS) {
      if (set_value(cfg, &keys[c - FLAG_BASE], optarg, why, sizeof why) != 0) {
        snprintf(err, errlen, "--%s: %s", o->opts[index].name, why);
        return -EINVAL;
      }
    } else if (c >= 1000 && prog->own_cb != NULL) {
      if (prog->own_cb(prog->ud, c, optarg) != 0) return -EINVAL;
    } else if (c == ':') {
      snprintf(err, errlen, "option '%.64s' needs a value (try --help)", argv[optind - 1]);
      return -EINVAL;
    } else if (c == '?') {
      snprintf(err, errlen, "unknown option '%.64s' (try --help)", argv[optind - 1]);
      return -EINVAL;
    }
    index = -1;
  }
  return optind;
}

int ls_config_from_args(ls_config_t *cfg, const ls_config_program_t *prog, int argc, char **argv, char *err,
                        size_t errlen) {
  options_t o;
  build_options(&o, prog);
  ls_config_defaults(cfg);
  err[0] = '\0';
  const char *config_path = NULL;
  opterr = 0;
  int rc = first_pass(cfg, &o, argc, argv, &config_path);
  if (rc == 0) rc = load_config_file(cfg, config_path, err, errlen);
  if (rc == 0) rc = second_pass(cfg, prog, &o, argc, argv, err, errlen);
  if (rc >= 0) ls_config_finish(cfg);
  return rc;
}

/* ---------- help ---------- */

static void help_line(FILE *out, const char *left, const char *text) {
  if (strlen(left) <= 22) fprintf(out, "  %-22s %s\n", left, text);
  else fprintf(out, "  %s\n  %-22s %s\n", left, "", text);
}

static void help_key(FILE *out, const ls_config_key_t *k) {
  char flag[40], left[96], text[256];
  ls_config_flag_name(k, flag, sizeof flag);
  if (k->alias) snprintf(left, sizeof left, "--%s, --%s %s", flag, k->alias, k->arg);
  else snprintf(left, sizeof left, "--%s %s", flag, k->arg);
  if (k->type == LS_CFG_UINT && !(k->min <= 1 && k->max == 65535))
    snprintf(text, sizeof text, "%s (%llu-%llu; default %s)", k->help, (unsigned long long)k->min,
             (unsigned long long)k->max, ls_config_key_default(k));
  else snprintf(text, sizeof text, "%s (default %s)", k->help, ls_config_key_default(k));
  help_line(out, left, text);
}

void ls_config_help(const ls_config_program_t *prog, FILE *out) {
  fprintf(out, "Usage: %s %s\n\n%s\n\n", prog->program, prog->synopsis, prog->description);
  if (prog->own_options_help != NULL) fprintf(out, "Options:\n%s\n", prog->own_options_help);
  fprintf(out, "Peer options (each also a key of lanswarm.conf: the same name with _ for -):\n");
  help_line(out, "-c, --config FILE", "config file (default DIR/lanswarm.conf if present)");
  for (size_t i = 0; i < NKEYS; i++)
    if (keys[i].programs & prog->reads) help_key(out, &keys[i]);
  help_line(out, "-h, --help", "show this help");
  help_line(out, "--version", "show the version");
  fprintf(out, "\nThe other keys of lanswarm.conf(5) are accepted and not used here.\n");
}
