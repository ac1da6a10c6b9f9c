/* ls_announce: the announcement datagram, both ways (cJSON), strictly checked.
 *
 *   {"v":1,"type":"announce","tag":"alpha","port":41771,"interval":60,
 *    "seq":7,"page":0,"pages":2,
 *    "files":[{"name":"a/b.txt","size":12,"chunk":1048576,"root":"<64 hex>","complete":true}]}
 *   {"v":1,"type":"bye","tag":"alpha","port":41771}
 *   {"v":1,"type":"query","tag":"gamma"}   (gamma asks every peer for its round)
 *   {"v":1,"type":"beat","tag":"alpha","port":41771,"interval":60,"seq":8,
 *    "digest":"<32 hex>","files":20000}   (a big share's round: its version only)
 *
 * One announcement round (one seq) is split into pages so that no datagram
 * exceeds LS_ANNOUNCE_MAX_PAYLOAD bytes. See docs/PROTOCOL.md. */
#ifndef LS_ANNOUNCE_H
#define LS_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"
#include "ls_name.h"

#define LS_ANNOUNCE_VERSION 1
#define LS_ANNOUNCE_MAX_PAYLOAD 1400
#define LS_ANNOUNCE_MAX_FILES_PER_PAGE 64
#define LS_ANNOUNCE_MAX_PAGES 65535
#define LS_ANNOUNCE_BEAT_PAGES 4 /* a round of more pages goes out as one beat */
#define LS_ANNOUNCE_DIGEST_HEX 32

/* LS_ANNOUNCE_QUERY carries only the asker's tag: port and the round fields
 * stay 0. */
typedef enum { LS_ANNOUNCE_FILES = 1, LS_ANNOUNCE_BYE = 2, LS_ANNOUNCE_QUERY = 3,
               LS_ANNOUNCE_BEAT = 4 } ls_announce_type_t;

typedef struct {
  char *name;
  uint64_t size;
  uint32_t chunk_size;
  uint8_t root[LS_HASH_LEN];
  int complete;
} ls_announce_file_t;

typedef struct {
  ls_announce_type_t type;
  char tag[LS_TAG_MAX + 1];
  uint16_t port;
  uint32_t interval;
  uint32_t seq;
  uint32_t page;
  uint32_t pages;
  size_t nfiles;
  ls_announce_file_t *files;
  uint32_t beat_files;                        /* a beat: how many files its catalog holds */
  char digest[LS_ANNOUNCE_DIGEST_HEX + 1];    /* a beat's; a page's if it carries one; else "" */
  uint64_t sealed_ms; /* not in the JSON: the receiver's, the seal's time (ls_auth_open), 0 if unsealed */
} ls_announce_t;

/* Decodes one datagram. Returns 0, or -EINVAL with a short reason in *why
 * (a static string). On success the caller frees with ls_announce_free. */
int ls_announce_decode(ls_announce_t *a, const char *buf, size_t len, const char **why);
void ls_announce_free(ls_announce_t *a);

/* Encodes the goodbye datagram into buf (>= LS_ANNOUNCE_MAX_PAYLOAD).
 * Returns its length or a negative errno. */
int ls_announce_encode_bye(const char *tag, uint16_t port, char *buf, size_t cap);

/* Encodes the query datagram of the asker `tag` into buf. Returns its length
 * or a negative errno. */
int ls_announce_encode_query(const char *tag, char *buf, size_t cap);

/* The catalog's version: 32 lowercase hex, the first 16 bytes of SHA-256
 * over one line per file sorted by name (byte order):
 * "name\troot\tsize\tchunk\tcomplete(0|1)\n". Order of files does not
 * matter. out_hex holds LS_ANNOUNCE_DIGEST_HEX + 1. 0 or -ENOMEM. */
int ls_announce_digest(const ls_announce_file_t *files, size_t n, char *out_hex);
/* 1 if s is a digest: exactly 32 lowercase hex digits. */
int ls_announce_digest_valid(const char *s, size_t len);

/* Encodes the beat datagram into buf. Returns its length or a negative errno. */
int ls_announce_encode_beat(const char *tag, uint16_t port, uint32_t interval, uint32_t seq, const char *digest,
                            uint32_t nfiles, char *buf, size_t cap);

/* Splits files into pages and calls emit once per datagram, in order.
 * Files whose entry alone cannot fit a datagram are skipped and counted in
 * *skipped. Returns the number of pages or a negative errno. */
typedef int (*ls_announce_emit_cb)(void *ud, const char *buf, size_t len);
int ls_announce_encode_pages(const char *tag, uint16_t port, uint32_t interval, uint32_t seq,
                             const ls_announce_file_t *files, size_t nfiles, ls_announce_emit_cb emit, void *ud,
                             size_t *skipped);
/* The same, leaving `reserve` bytes of every datagram free (for the MAC of a
 * network key). */
int ls_announce_encode_pages_r(const char *tag, uint16_t port, uint32_t interval, uint32_t seq,
                               const ls_announce_file_t *files, size_t nfiles, size_t reserve, ls_announce_emit_cb emit,
                               void *ud, size_t *skipped);

/* The same, each page carrying "digest" (NULL: none). */
int ls_announce_encode_pages_d(const char *tag, uint16_t port, uint32_t interval, uint32_t seq,
                               const ls_announce_file_t *files, size_t nfiles, size_t reserve, const char *digest,
                               ls_announce_emit_cb emit, void *ud, size_t *skipped);

/* One file entry as a cJSON object (the tracker protocol uses the same
 * entries). from_json validates like the decoder and strdup's the name. */
int ls_announce_file_from_json(const void *cjson_object, ls_announce_file_t *f, const char **why);
void *ls_announce_file_to_json(const ls_announce_file_t *f);

#endif
