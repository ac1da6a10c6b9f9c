/* ls_config: one configuration per peer, read by all of its daemons.
 *
 * The file (default <dir>/lanswarm.conf, or --config FILE) holds lines of
 * `key = value`; '#' starts a comment. Command-line flags name the same keys
 * (--udp-port 41770 sets udp_port) and override the file. See docs/CONFIG.md. */
#ifndef LS_CONFIG_H
#define LS_CONFIG_H

#include <getopt.h>
#include <limits.h>
#include <stdint.h>

#include "ls_log.h"
#include "ls_name.h"

#define LS_DEFAULT_UDP_PORT 41770
#define LS_DEFAULT_TCP_PORT 41771
#define LS_DEFAULT_WEB_PORT 41773
#define LS_WEB_TOKEN_MIN 16
#define LS_WEB_TOKEN_MAX 128
#define LS_CONFIG_MAX_BYTES (64 * 1024)

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char dir[PATH_MAX];           /* the peer's folder: tags.txt, logs, cache */
  char share_dir[PATH_MAX];
  char downloads_dir[PATH_MAX];
  char temp_dir[PATH_MAX];
  char cache_dir[PATH_MAX];
  char tags_path[PATH_MAX];
  char client_log[PATH_MAX];
  char server_log[PATH_MAX];
  char server_status[PATH_MAX]; /* the server's open connections, JSON, rewritten each second */
  char log_file[PATH_MAX];      /* daemon diagnostics; empty: stderr only */
  char key_file[PATH_MAX];      /* the network key; empty: none */
  char broadcast[256];          /* "auto" or comma-separated IPv4 addresses */
  char tracker[64];             /* "addr:port" of a tracker, or empty */
  char listen_addr[64];         /* where the listener and server bind */
  char web_addr[64];            /* where lanswarm-web listens; default 127.0.0.1 */
  char web_token[LS_WEB_TOKEN_MAX + 1]; /* lanswarm-web's token; empty: made at start */
  int udp_port;
  int tcp_port;
  int web_port;
  unsigned interval;            /* announce interval, seconds */
  unsigned rescan;              /* share rescan fallback, seconds */
  uint32_t chunk_size;
  uint64_t rate_limit;          /* server upload bytes/s, 0 = unlimited */
  unsigned max_conns;           /* server connections */
  unsigned max_conns_per_ip;    /* server connections from one address */
  unsigned idle_timeout;        /* server idle seconds */
  unsigned stall_timeout;       /* downloader: seconds without progress from a peer */
  int fsync;                    /* downloader: fsync a finished download before linking it */
  ls_log_level_t log_level;
} ls_config_t;

/* A program's own flags, handled by its callback; return 0 or -1 (error,
 * message already printed). */
typedef int (*ls_config_opt_cb)(void *ud, int code, const char *arg);

typedef struct {
  const char *program;          /* "lanswarm-listener" */
  const char *synopsis;         /* "[OPTIONS]" */
  const char *description;      /* one paragraph */
  const char *own_options_help; /* lines describing extra options, or NULL */
  const struct option *own_options; /* NULL-terminated, codes >= 1000 */
  ls_config_opt_cb own_cb;
  void *ud;
} ls_config_program_t;

void ls_config_defaults(ls_config_t *cfg);
/* Sets one key from text. Returns 0, or -EINVAL with a reason in err. */
int ls_config_set(ls_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Reads a config file. Returns 0 or negative errno; err says which line. */
int ls_config_load_file(ls_config_t *cfg, const char *path, char *err, size_t errlen);
/* Fills in the paths derived from dir. */
void ls_config_finish(ls_config_t *cfg);

/* Parses argv: defaults, then the config file, then flags. Prints --help and
 * exits 0; prints a one-line error and returns -1 on bad input. On success
 * returns the index of the first positional argument. */
int ls_config_from_args(ls_config_t *cfg, const ls_config_program_t *prog, int argc, char **argv);

/* Loads cfg->key_file into key (key->set stays 0 without one). Prints a
 * one-line error naming prog and returns -1 if the file is unusable. */
int ls_config_load_key(const ls_config_t *cfg, const char *prog, void *key);

/* Creates the peer's folders (share, downloads, temp, cache). */
int ls_config_make_dirs(const ls_config_t *cfg);

#endif
