/* ls_tmsg: tracker protocol messages (docs/PROTOCOL.md, section 7).
 *
 * Each message is a JSON object (cJSON) in a frame: u32 big-endian length,
 * then that many bytes of UTF-8 JSON, at most LS_TMSG_MAX bytes. Every field
 * is checked by ls_tmsg_decode; names and tags exactly as in discovery. */
#ifndef LS_TMSG_H
#define LS_TMSG_H

#include <stddef.h>
#include <stdint.h>

#include "ls_announce.h"
#include "ls_tags.h"

#define LS_TMSG_VERSION 1
#define LS_TMSG_MAX (1u << 20)          /* bytes of JSON in one frame */
#define LS_TMSG_MAX_FILES 1000          /* files or entries in one message */
#define LS_TMSG_MAX_REASON 160

typedef enum {
  LS_TMSG_REGISTER = 1, /* peer -> tracker: host, port */
  LS_TMSG_PUBLISH,      /* peer -> tracker: files, replace */
  LS_TMSG_UNPUBLISH,    /* peer -> tracker: names */
  LS_TMSG_LOOKUP,       /* anyone -> tracker: name or root */
  LS_TMSG_LIST,         /* anyone -> tracker: offset, limit */
  LS_TMSG_PING,         /* either way */
  LS_TMSG_PONG,
  LS_TMSG_BYE,          /* peer -> tracker */
  LS_TMSG_SHUTDOWN,     /* tracker -> everyone */
  LS_TMSG_OK,
  LS_TMSG_ERROR,        /* code, reason */
  LS_TMSG_ENTRIES,      /* tracker -> asker: entries, total, offset */
  LS_TMSG_CHALLENGE,    /* tracker -> peer, network key only: nonce */
  LS_TMSG_AUTH,         /* peer -> tracker: nonce, mac */
  LS_TMSG_AUTH_OK,      /* tracker -> peer: mac */
  LS_TMSG_SUBSCRIBE,    /* anyone -> tracker: push ENTRIES (this id) on every change */
} ls_tmsg_type_t;

typedef enum {
  LS_TERR_BAD_REQUEST = 1,
  LS_TERR_NAME_TAKEN = 2,
  LS_TERR_NOT_REGISTERED = 3,
  LS_TERR_LIMIT = 4,
  LS_TERR_ALREADY_REGISTERED = 5,
  LS_TERR_AUTH = 6,
} ls_terr_t;

/* One (host, file) row, as in tags.txt. */
typedef struct {
  char host[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  ls_announce_file_t file;
} ls_tentry_t;

typedef struct {
  ls_tmsg_type_t type;
  uint32_t id;
  char host[LS_TAG_MAX + 1];        /* REGISTER */
  uint16_t port;                    /* REGISTER */
  int replace;                      /* PUBLISH */
  ls_announce_file_t *files;        /* PUBLISH */
  size_t nfiles;
  char **names;                     /* UNPUBLISH */
  size_t nnames;
  char *name;                       /* LOOKUP by name */
  int has_root;                     /* LOOKUP by root */
  uint8_t root[LS_HASH_LEN];
  uint32_t offset, limit, total;    /* LIST, ENTRIES */
  /* SUBSCRIBE has no fields but v, type, id. */
  ls_tentry_t *entries;             /* ENTRIES */
  size_t nentries;
  uint8_t nonce[32];                /* CHALLENGE, AUTH */
  uint8_t mac[32];                  /* AUTH, AUTH_OK */
  int code;                         /* ERROR */
  char reason[LS_TMSG_MAX_REASON];  /* ERROR */
} ls_tmsg_t;

/* Decodes one frame's JSON. 0 or -EINVAL with a static reason in *why. */
int ls_tmsg_decode(ls_tmsg_t *m, const char *json, size_t len, const char **why);
/* Encodes m as a whole frame (length + JSON), malloc'ed. */
int ls_tmsg_encode(const ls_tmsg_t *m, uint8_t **frame, size_t *len);
void ls_tmsg_free(ls_tmsg_t *m);
const char *ls_tmsg_type_name(ls_tmsg_type_t t);

/* Stream framing: collects bytes into whole frames. */
typedef struct {
  uint8_t len_buf[4];
  size_t have_len;
  char *body;
  size_t body_cap;
  size_t body_len;
  size_t have_body;
} ls_tmsg_reader_t;

typedef int (*ls_tmsg_frame_cb)(void *ud, const char *json, size_t len);
void ls_tmsg_reader_init(ls_tmsg_reader_t *r);
void ls_tmsg_reader_close(ls_tmsg_reader_t *r);
/* Feeds bytes; calls cb per whole frame. Returns 0, cb's non-zero value, or
 * -EMSGSIZE for a frame over LS_TMSG_MAX (nothing allocated for it). */
int ls_tmsg_reader_feed(ls_tmsg_reader_t *r, const uint8_t *data, size_t len, ls_tmsg_frame_cb cb, void *ud);

#endif
