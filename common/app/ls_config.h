/* ls_config: one configuration per peer, read by all of its programs.
 *
 * The file (default <dir>/lanswarm.conf, or --config FILE) holds lines of
 * `key = value`; '#' starts a comment. Every key is also a flag: the key with
 * '-' for '_' (--udp-port 41770 sets udp_port); flags win over the file.
 *
 * Each key is declared once, in the table in ls_config.c (ls_config_keys()):
 * its type, bounds, default, the programs that read it and its help line.
 * The defaults, the file parser, the flags, --help and the docs check
 * (tests/integration/test_config_docs.py) all walk that table. See
 * docs/CONFIG.md.
 *
 * Nothing here prints or exits: errors come back as a negative errno and a
 * one-line reason in the caller's buffer; --help is text written where the
 * program says (ls_config_help). */
#ifndef LS_CONFIG_H
#define LS_CONFIG_H

#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ls_auth.h"
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
  char peers_path[PATH_MAX];    /* DIR/peers.txt: the peers the listener hears, beside tags_path */
  char round_path[PATH_MAX];    /* DIR/run/round: the announcer's last round, which the listener answers with */
  char log_file[PATH_MAX];      /* daemon diagnostics; empty: stderr only */
  char key_file[PATH_MAX];      /* the network key; empty: none */
  char broadcast[256];          /* "auto", "off" or comma-separated IPv4 addresses */
  char multicast[256];          /* "auto", "off" or comma-separated IPv4 groups */
  char multicast6[64];          /* "auto", "off" or one IPv6 group */
  char peers[512];              /* peers by hand: HOST[:PORT], ... */
  char tracker[256];            /* "addr:port, addr:port" of up to LS_MAX_TRACKERS trackers, or empty */
  char listen_addr[64];         /* where the listener and server bind */
  char web_addr[64];            /* where lanswarm-web listens; default 127.0.0.1 */
  char web_token[LS_WEB_TOKEN_MAX + 1]; /* lanswarm-web's token; empty: made at start */
  int udp_port;
  int tcp_port;
  int tracker_port;             /* lanswarm-tracker's own (TCP) */
  int web_port;
  unsigned interval;            /* announce interval, seconds */
  unsigned rescan;              /* share rescan fallback, seconds */
  uint32_t chunk_size;
  uint32_t max_chunks;          /* chunks a file is hashed into before its chunk size doubles */
  uint64_t rate_limit;          /* server upload bytes/s, 0 = unlimited */
  uint64_t download_rate_limit; /* downloader bytes/s, all peers together, 0 = unlimited */
  uint64_t tags_max_bytes;      /* listener: tags.txt's size at most */
  unsigned max_conns;           /* server connections */
  unsigned max_conns_per_ip;    /* server connections from one address */
  unsigned idle_timeout;        /* server idle seconds */
  unsigned write_timeout;       /* server: seconds a reply may go unread */
  unsigned stall_timeout;       /* downloader: seconds without progress from a peer */
  int fsync;                    /* downloader: fsync a finished download before linking it */
  ls_log_level_t log_level;
} ls_config_t;

/* The programs, as bits: which read a key, which one is running. */
enum {
  LS_PROG_ANNOUNCER = 1u << 0,
  LS_PROG_LISTENER = 1u << 1,
  LS_PROG_SERVER = 1u << 2,
  LS_PROG_DOWNLOADER = 1u << 3,
  LS_PROG_TRACKER = 1u << 4,
  LS_PROG_CLIENT = 1u << 5,
  LS_PROG_WEB = 1u << 6,
  LS_PROG_CLI = 1u << 7, /* bin/lanswarm */
};
#define LS_PROG_DAEMONS 0x7fu /* every program but bin/lanswarm */

typedef enum {
  LS_CFG_STRING, /* text; check() says what is refused */
  LS_CFG_PATH,   /* a file or folder name, not empty */
  LS_CFG_UINT,   /* a whole number from min to max */
  LS_CFG_SIZE,   /* bytes, with K/M/G suffixes, from min to max */
  LS_CFG_LEVEL,  /* a log level */
} ls_config_type_t;

/* One key of the table. */
typedef struct {
  const char *name;     /* "udp_port"; its flag is --udp-port */
  const char *alias;    /* an older flag that still works ("port"), or NULL */
  ls_config_type_t type;
  size_t offset, size;  /* the field in ls_config_t */
  uint64_t min, max;    /* LS_CFG_UINT and LS_CFG_SIZE */
  const char *def;      /* the default, as it would be written in the file; NULL: none or computed */
  const char *def_doc;  /* how help and docs give a default def cannot say ("DIR/share"), or NULL */
  unsigned programs;    /* LS_PROG_* bits of the programs that read it */
  const char *arg;      /* the flag's argument in --help: "N", "DIR" */
  const char *help;     /* one line */
  const char *(*check)(const char *value); /* LS_CFG_STRING: NULL, or why value is refused */
} ls_config_key_t;

/* The table, in the order help shows it. */
const ls_config_key_t *ls_config_keys(size_t *count);
/* The key of that name, or NULL. */
const ls_config_key_t *ls_config_key(const char *name);
/* The default as help and docs give it: def_doc, else def, else "none". */
const char *ls_config_key_default(const ls_config_key_t *k);
/* The flag of a key: its name with '-' for '_'. */
void ls_config_flag_name(const ls_config_key_t *k, char *buf, size_t len);

/* "0.1.0": the version of every program (debian/changelog's, from the Makefile). */
const char *ls_version(void);

/* A program's own flags, handled by its callback; return 0 or -1 (the
 * callback has said why). */
typedef int (*ls_config_opt_cb)(void *ud, int code, const char *arg);

/* What ls_daemon_start does besides reading the configuration. */
enum {
  LS_START_ARGS = 1u << 0,      /* positional arguments are the program's (else refused) */
  LS_START_MAKE_DIRS = 1u << 1, /* create the peer's folders (ls_config_make_dirs) */
  LS_START_MAKE_DIR = 1u << 2,  /* create only dir */
  LS_START_QUIET = 1u << 3,     /* stdout is the program's: stderr gets warnings and errors only */
};

typedef struct {
  const char *program;          /* "lanswarm-listener" */
  const char *synopsis;         /* "[OPTIONS]" */
  const char *description;      /* one paragraph */
  const char *own_options_help; /* lines describing extra options, or NULL */
  const struct option *own_options; /* NULL-terminated, codes >= 1000 */
  ls_config_opt_cb own_cb;
  void *ud;
  unsigned reads;               /* its LS_PROG_* bit: --help shows the keys it reads */
  unsigned start;               /* LS_START_* for ls_daemon_start */
  int fail_status;              /* exit status when start-up fails (0: 1) */
} ls_config_program_t;

/* ls_config_from_args' answers besides an argument index and -errno. */
#define LS_CONFIG_HELP (-10001)    /* --help: the program shows ls_config_help */
#define LS_CONFIG_VERSION (-10002) /* --version: the program shows its version */

void ls_config_defaults(ls_config_t *cfg);
/* Sets one key from text. Returns 0, or -EINVAL with a reason in err. */
int ls_config_set(ls_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Writes one key's value as text, as the file would hold it. Returns 0 or -EINVAL. */
int ls_config_format(const ls_config_t *cfg, const ls_config_key_t *k, char *buf, size_t len);
/* Reads a config file. Returns 0 or negative errno; err says which line. */
int ls_config_load_file(ls_config_t *cfg, const char *path, char *err, size_t errlen);
/* Fills in the paths derived from dir. */
void ls_config_finish(ls_config_t *cfg);

/* Parses argv: defaults, then the config file, then flags. Returns the index
 * of the first positional argument; LS_CONFIG_HELP or LS_CONFIG_VERSION when
 * asked for those; or -EINVAL with a one-line reason in err (empty when the
 * program's own callback said why). */
int ls_config_from_args(ls_config_t *cfg, const ls_config_program_t *prog, int argc, char **argv, char *err,
                        size_t errlen);
/* Writes the program's --help: its usage, description, own options and the
 * keys it reads (prog->reads), each as a flag with its default. */
void ls_config_help(const ls_config_program_t *prog, FILE *out);

/* Loads cfg->key_file into key (key->set stays 0 without one). Returns 0 or
 * negative errno with a reason in err. */
int ls_config_load_key(const ls_config_t *cfg, ls_key_t *key, char *err, size_t errlen);

#define LS_MAX_TRACKERS 8
#define LS_TRACKER_ADDR_LEN 24 /* "255.255.255.255:65535" and its NUL */

/* The `tracker` list: comma-separated ADDRESS:PORT (dotted IPv4), spaces
 * around the commas allowed, at most LS_MAX_TRACKERS, none twice. Fills out
 * (normalized "a.b.c.d:port") and *n (0 for an empty value). Returns 0, or
 * -EINVAL with a static reason in *why. */
int ls_config_tracker_list(const char *value, char out[][LS_TRACKER_ADDR_LEN], size_t *n, const char **why);

/* Creates the peer's folders (share, downloads, temp, cache). */
int ls_config_make_dirs(const ls_config_t *cfg);

#endif
