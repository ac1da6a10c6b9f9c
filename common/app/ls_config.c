#include "ls_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_auth.h"
#include "ls_manifest.h"
#include "ls_net.h"
#include "ls_util.h"

void ls_config_defaults(ls_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  char host[256] = "peer";
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "peer");
  host[sizeof host - 1] = '\0';
  /* A host name may hold characters a tag may not: keep the valid prefix. */
  size_t n = 0;
  while (n < LS_TAG_MAX && host[n] && ls_tag_valid(host + n, 1)) n++;
  if (n == 0) snprintf(cfg->tag, sizeof cfg->tag, "peer");
  else snprintf(cfg->tag, sizeof cfg->tag, "%.*s", (int)n, host);
  snprintf(cfg->dir, sizeof cfg->dir, ".");
  snprintf(cfg->broadcast, sizeof cfg->broadcast, "auto");
  snprintf(cfg->listen_addr, sizeof cfg->listen_addr, "0.0.0.0");
  cfg->udp_port = LS_DEFAULT_UDP_PORT;
  cfg->tcp_port = LS_DEFAULT_TCP_PORT;
  snprintf(cfg->web_addr, sizeof cfg->web_addr, "127.0.0.1");
  cfg->web_port = LS_DEFAULT_WEB_PORT;
  cfg->interval = 60;
  cfg->rescan = 10;
  cfg->chunk_size = LS_CHUNK_DEFAULT;
  cfg->max_conns = 256;
  cfg->max_conns_per_ip = 32;
  cfg->idle_timeout = 60;
  cfg->stall_timeout = 10;
  cfg->fsync = 1;
  cfg->log_level = LS_LOG_INFO;
}

static int set_path(char *dst, size_t len, const char *value, char *err, size_t errlen, const char *key) {
  if (*value == '\0' || strlen(value) >= len) {
    snprintf(err, errlen, "%s: path empty or too long", key);
    return -EINVAL;
  }
  snprintf(dst, len, "%s", value);
  return 0;
}

static int set_uint(uint64_t *out, const char *value, uint64_t min, uint64_t max, char *err, size_t errlen,
                    const char *key) {
  if (ls_parse_u64(value, min, max, out) != 0) {
    snprintf(err, errlen, "%s: expected a whole number from %llu to %llu, got '%s'", key,
             (unsigned long long)min, (unsigned long long)max, value);
    return -EINVAL;
  }
  return 0;
}

int ls_config_set(ls_config_t *cfg, const char *key, const char *value, char *err, size_t errlen) {
  uint64_t v;
  int rc;
  if (strcmp(key, "tag") == 0) {
    if (!ls_tag_valid(value, strlen(value))) {
      snprintf(err, errlen, "tag: 1 to 64 characters of A-Z a-z 0-9 . _ -, got '%.80s'", value);
      return -EINVAL;
    }
    snprintf(cfg->tag, sizeof cfg->tag, "%s", value);
    return 0;
  }
  if (strcmp(key, "dir") == 0) return set_path(cfg->dir, sizeof cfg->dir, value, err, errlen, key);
  if (strcmp(key, "share") == 0) return set_path(cfg->share_dir, sizeof cfg->share_dir, value, err, errlen, key);
  if (strcmp(key, "downloads") == 0)
    return set_path(cfg->downloads_dir, sizeof cfg->downloads_dir, value, err, errlen, key);
  if (strcmp(key, "temp") == 0) return set_path(cfg->temp_dir, sizeof cfg->temp_dir, value, err, errlen, key);
  if (strcmp(key, "log_file") == 0) return set_path(cfg->log_file, sizeof cfg->log_file, value, err, errlen, key);
  if (strcmp(key, "key_file") == 0) return set_path(cfg->key_file, sizeof cfg->key_file, value, err, errlen, key);
  if (strcmp(key, "broadcast") == 0) {
    if (*value == '\0' || strlen(value) >= sizeof cfg->broadcast) {
      snprintf(err, errlen, "broadcast: 'auto' or a comma-separated list of IPv4 addresses");
      return -EINVAL;
    }
    snprintf(cfg->broadcast, sizeof cfg->broadcast, "%s", value);
    return 0;
  }
  if (strcmp(key, "tracker") == 0) {
    struct sockaddr_in sa;
    if (strlen(value) >= sizeof cfg->tracker || (*value && ls_net_parse_hostport(value, &sa) != 0)) {
      snprintf(err, errlen, "tracker: ADDRESS:PORT of a tracker, e.g. 198.18.0.1:41772");
      return -EINVAL;
    }
    snprintf(cfg->tracker, sizeof cfg->tracker, "%s", value);
    return 0;
  }
  if (strcmp(key, "tags") == 0) return set_path(cfg->tags_path, sizeof cfg->tags_path, value, err, errlen, key);
  if (strcmp(key, "listen_addr") == 0) {
    if (*value == '\0' || strlen(value) >= sizeof cfg->listen_addr) {
      snprintf(err, errlen, "listen_addr: an IPv4 address");
      return -EINVAL;
    }
    snprintf(cfg->listen_addr, sizeof cfg->listen_addr, "%s", value);
    return 0;
  }
  if (strcmp(key, "web_addr") == 0) {
    struct in_addr a;
    if (strlen(value) >= sizeof cfg->web_addr || inet_pton(AF_INET, value, &a) != 1) {
      snprintf(err, errlen, "web_addr: an IPv4 address such as 127.0.0.1");
      return -EINVAL;
    }
    snprintf(cfg->web_addr, sizeof cfg->web_addr, "%s", value);
    return 0;
  }
  if (strcmp(key, "web_token") == 0) {
    size_t n = strlen(value);
    int ok = n >= LS_WEB_TOKEN_MIN && n <= LS_WEB_TOKEN_MAX;
    for (size_t i = 0; ok && i < n; i++)
      ok = isalnum((unsigned char)value[i]) || strchr("-._~", value[i]) != NULL;
    if (!ok) {
      snprintf(err, errlen, "web_token: %d to %d characters of A-Z a-z 0-9 - . _ ~", LS_WEB_TOKEN_MIN,
               LS_WEB_TOKEN_MAX);
      return -EINVAL;
    }
    snprintf(cfg->web_token, sizeof cfg->web_token, "%s", value);
    return 0;
  }
  if (strcmp(key, "web_port") == 0) {
    if ((rc = set_uint(&v, value, 0, 65535, err, errlen, key)) == 0) cfg->web_port = (int)v;
    return rc;
  }
  if (strcmp(key, "udp_port") == 0) {
    if ((rc = set_uint(&v, value, 1, 65535, err, errlen, key)) == 0) cfg->udp_port = (int)v;
    return rc;
  }
  if (strcmp(key, "tcp_port") == 0) {
    if ((rc = set_uint(&v, value, 0, 65535, err, errlen, key)) == 0) cfg->tcp_port = (int)v;
    return rc;
  }
  if (strcmp(key, "interval") == 0) {
    if ((rc = set_uint(&v, value, 1, 3600, err, errlen, key)) == 0) cfg->interval = (unsigned)v;
    return rc;
  }
  if (strcmp(key, "rescan") == 0) {
    if ((rc = set_uint(&v, value, 1, 3600, err, errlen, key)) == 0) cfg->rescan = (unsigned)v;
    return rc;
  }
  if (strcmp(key, "max_conns") == 0) {
    if ((rc = set_uint(&v, value, 1, 100000, err, errlen, key)) == 0) cfg->max_conns = (unsigned)v;
    return rc;
  }
  if (strcmp(key, "max_conns_per_ip") == 0) {
    if ((rc = set_uint(&v, value, 1, 100000, err, errlen, key)) == 0) cfg->max_conns_per_ip = (unsigned)v;
    return rc;
  }
  if (strcmp(key, "idle_timeout") == 0) {
    if ((rc = set_uint(&v, value, 1, 86400, err, errlen, key)) == 0) cfg->idle_timeout = (unsigned)v;
    return rc;
  }
  if (strcmp(key, "stall_timeout") == 0) {
    if ((rc = set_uint(&v, value, 1, 3600, err, errlen, key)) == 0) cfg->stall_timeout = (unsigned)v;
    return rc;
  }
  if (strcmp(key, "fsync") == 0) {
    if ((rc = set_uint(&v, value, 0, 1, err, errlen, key)) == 0) cfg->fsync = (int)v;
    return rc;
  }
  if (strcmp(key, "chunk_size") == 0) {
    if (ls_parse_size(value, &v) != 0 || v > UINT32_MAX || !ls_chunk_size_valid((uint32_t)v)) {
      snprintf(err, errlen, "chunk_size: from 1K to 16M, got '%s'", value);
      return -EINVAL;
    }
    cfg->chunk_size = (uint32_t)v;
    return 0;
  }
  if (strcmp(key, "rate_limit") == 0) {
    if (ls_parse_size(value, &v) != 0) {
      snprintf(err, errlen, "rate_limit: bytes per second such as 25M, or 0 for none; got '%s'", value);
      return -EINVAL;
    }
    cfg->rate_limit = v;
    return 0;
  }
  if (strcmp(key, "log_level") == 0) {
    if (ls_log_level_parse(value, &cfg->log_level) != 0) {
      snprintf(err, errlen, "log_level: debug, info, warn or error; got '%s'", value);
      return -EINVAL;
    }
    return 0;
  }
  snprintf(err, errlen, "unknown key '%.64s'", key);
  return -EINVAL;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
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
  char *text = (char *)data;
  /* strtok_r would skip empty lines and break the line count; walk by hand. */
  char *line = text;

  while (line != NULL && *line != '\0') {
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    lineno++;
    char *hash = strchr(line, '#');
    if (hash != NULL) *hash = '\0';
    char *t = trim(line);
    if (*t != '\0') {
      char *eq = strchr(t, '=');
      if (eq == NULL) {
        snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
        free(data);
        return -EINVAL;
      }
      *eq = '\0';
      char *key = trim(t), *value = trim(eq + 1);
      char why[256];
      if (ls_config_set(cfg, key, value, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
        free(data);
        return -EINVAL;
      }
    }
    line = next;
  }
  free(data);
  return 0;
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
}

int ls_config_load_key(const ls_config_t *cfg, const char *prog, void *keyp) {
  ls_key_t *key = keyp;
  memset(key, 0, sizeof *key);
  if (cfg->key_file[0] == '\0') return 0;
  int rc = ls_key_load(cfg->key_file, key);
  if (rc == -EINVAL) fprintf(stderr, "%s: %s: a key must hold at least %d bytes\n", prog, cfg->key_file, LS_KEY_MIN);
  else if (rc != 0) fprintf(stderr, "%s: cannot read the key %s: %s\n", prog, cfg->key_file, strerror(-rc));
  return rc == 0 ? 0 : -1;
}

int ls_config_make_dirs(const ls_config_t *cfg) {
  const char *dirs[] = {cfg->dir, cfg->share_dir, cfg->downloads_dir, cfg->temp_dir, cfg->cache_dir};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    int rc = ls_mkdir_p(dirs[i]);
    if (rc != 0) return rc;
  }
  return 0;
}

/* Common flags: each sets the config key of the same meaning. */
static const struct {
  const char *flag;
  const char *key;
  const char *help;
} common_flags[] = {
    {"dir", "dir", "DIR      the peer's folder (tags.txt, logs, cache); default ."},
    {"tag", "tag", "TAG      this peer's name on the LAN; default the host name"},
    {"share", "share", "DIR    folder to share; default DIR/share"},
    {"downloads", "downloads", "DIR  finished downloads; default DIR/downloads"},
    {"temp", "temp", "DIR     partial downloads; default DIR/temp"},
    {"udp-port", "udp_port", "N   announcement port (UDP); default 41770"},
    {"port", "tcp_port", "N       chunk server port (TCP); default 41771"},
    {"broadcast", "broadcast", "ADDR[,ADDR] where announcements go; default auto (every"
                               "\n                       interface's directed broadcast)"},
    {"tracker", "tracker", "ADDR:PORT  a tracker to register with / read from (hybrid model)"},
    {"tags", "tags", "FILE       the tags.txt to keep or read; default DIR/tags.txt"},
    {"listen-addr", "listen_addr", "ADDR address the listener and server bind; default 0.0.0.0"},
    {"interval", "interval", "SEC  announce interval, 1-3600; default 60"},
    {"rescan", "rescan", "SEC    share rescan fallback; default 10"},
    {"chunk-size", "chunk_size", "SIZE chunk size for new manifests; default 1M"},
    {"rate-limit", "rate_limit", "RATE server upload limit in bytes/s (e.g. 25M); default 0, none"},
    {"max-conns", "max_conns", "N   server connection limit; default 256"},
    {"max-conns-per-ip", "max_conns_per_ip", "N server connections from one address; default 32"},
    {"idle-timeout", "idle_timeout", "SEC server closes idle connections; default 60"},
    {"stall-timeout", "stall_timeout", "SEC downloader drops a silent peer; default 10"},
    {"fsync", "fsync", "0|1      fsync each finished download before it appears; default 1"},
    {"key-file", "key_file", "FILE  the network key: only peers with the same key take part"},
    {"log-level", "log_level", "L   debug, info, warn, error; default info"},
    {"log-file", "log_file", "FILE  also write diagnostics to FILE"},
    {"web-addr", "web_addr", "ADDR  where lanswarm-web listens; default 127.0.0.1"},
    {"web-port", "web_port", "N     lanswarm-web's HTTP port; default 41773"},
    {"web-token", "web_token", "T   lanswarm-web's token (needed off loopback); default: made at start"},
};
#define N_COMMON (sizeof common_flags / sizeof common_flags[0])
#define FLAG_BASE 300 /* above any short option character; programs use 1000 and up */

static void print_help(const ls_config_program_t *prog) {
  printf("Usage: %s %s\n\n%s\n\n", prog->program, prog->synopsis, prog->description);
  if (prog->own_options_help != NULL) printf("Options:\n%s\n", prog->own_options_help);
  printf("Peer options (also settable in the config file, same names with _):\n");
  printf("  -c, --config FILE    config file; default DIR/lanswarm.conf if present\n");
  for (size_t i = 0; i < N_COMMON; i++) printf("  --%s %s\n", common_flags[i].flag, common_flags[i].help);
  printf("  -h, --help           show this help\n");
}

int ls_config_from_args(ls_config_t *cfg, const ls_config_program_t *prog, int argc, char **argv) {
  struct option opts[64];
  size_t n = 0;
  for (size_t i = 0; i < N_COMMON; i++) opts[n++] = (struct option){common_flags[i].flag, required_argument, NULL, (int)(FLAG_BASE + i)};
  opts[n++] = (struct option){"config", required_argument, NULL, 'c'};
  opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  for (const struct option *o = prog->own_options; o != NULL && o->name != NULL && n < 63; o++) opts[n++] = *o;
  opts[n] = (struct option){NULL, 0, NULL, 0};

  ls_config_defaults(cfg);
  const char *config_path = NULL;
  /* Pass 1: find --config, --dir and --help; pass 2 applies the flags over the file. */
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    if (c == 'h') {
      print_help(prog);
      exit(0);
    }
    if (c == 'c') config_path = optarg;
    if (c == FLAG_BASE) snprintf(cfg->dir, sizeof cfg->dir, "%s", optarg);
  }
  char err[512];
  char default_path[PATH_MAX + 32];
  if (config_path == NULL) {
    snprintf(default_path, sizeof default_path, "%s/lanswarm.conf", cfg->dir);
    if (access(default_path, F_OK) == 0) config_path = default_path;
  }
  if (config_path != NULL && ls_config_load_file(cfg, config_path, err, sizeof err) != 0) {
    fprintf(stderr, "%s: %s\n", prog->program, err);
    return -1;
  }
  opterr = 1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    if (c == 'c') continue;
    if (c >= FLAG_BASE && c < FLAG_BASE + (int)N_COMMON) {
      const char *key = common_flags[c - FLAG_BASE].key;
      if (ls_config_set(cfg, key, optarg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --%s: %s\n", prog->program, common_flags[c - FLAG_BASE].flag, err);
        return -1;
      }
      continue;
    }
    if (c >= 1000 && prog->own_cb != NULL) {
      if (prog->own_cb(prog->ud, c, optarg) != 0) return -1;
      continue;
    }
    fprintf(stderr, "%s: try '%s --help'\n", prog->program, prog->program);
    return -1;
  }
  ls_config_finish(cfg);
  return optind;
}
