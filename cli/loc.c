/* lanswarm loc: where a file's chunks are. Each holder tags.txt names for the
 * content is asked for its HAVE map over the chunk protocol (ls_conn, the
 * network key's handshake if there is one), all at once with one timeout;
 * each answer becomes a row: chunks held and a compact bar, or why it could
 * not be asked. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli.h"
#include "ls_conn.h"
#include "ls_net.h"
#include "ls_manifest.h"
#include "ls_partial.h"
#include "ls_proto.h"
#include "ls_util.h"

#define LOC_BAR 40           /* cells of the bar: each stands for nchunks / LOC_BAR chunks */
#define LOC_TIMEOUT_MS 3000  /* connect, handshake and answer, per holder */

typedef struct {
  ls_conn_t conn;
  const ls_tagsq_holder_t *h;
  const uint8_t *root;
  uint32_t nchunks;
  uint8_t *have;      /* nchunks bytes once answered */
  long held;          /* chunks held; -1 until answered */
  char why[160];      /* why there is no answer */
  int open;
} loc_peer_t;

static void on_closed(ls_conn_t *c) {
  ((loc_peer_t *)c->data)->open = 0;
}

static void on_end(ls_conn_t *c, ls_conn_end_t why) {
  loc_peer_t *p = c->data;
  if (p->held < 0 && p->why[0] == '\0') {
    if (why == LS_CONN_END_CONNECT) snprintf(p->why, sizeof p->why, "cannot connect: %s", uv_strerror(c->error));
    else snprintf(p->why, sizeof p->why, "no answer (%s)", ls_conn_end_name(why));
  }
}

static void on_ready(ls_conn_t *c) {
  loc_peer_t *p = c->data;
  if (ls_conn_send(c, LS_MSG_HAVE_REQ, 1, p->root, LS_HASH_LEN) != 0) ls_conn_close(c, LS_CONN_END_WRITE);
  else ls_conn_arm(c);
}

static int on_frame(ls_conn_t *c, ls_frame_t *f) {
  loc_peer_t *p = c->data;
  uint16_t code;
  char text[LS_PROTO_MAX_ERROR_TEXT + 1] = "";
  if (f->type == LS_MSG_HAVE_REP && (p->have = calloc(p->nchunks ? p->nchunks : 1, 1)) != NULL &&
      ls_proto_parse_have(f, p->nchunks, p->have) == 0) {
    p->held = 0;
    for (uint32_t i = 0; i < p->nchunks; i++) p->held += p->have[i] != 0;
  } else if (f->type == LS_MSG_ERROR && ls_proto_parse_error(f, &code, text, sizeof text) == 0) {
    snprintf(p->why, sizeof p->why, "answered: %s", ls_proto_err_name(code));
  } else {
    snprintf(p->why, sizeof p->why, "answered with something else than its map");
  }
  ls_conn_close(c, LS_CONN_END_LOCAL);
  return 1;
}

static int busy(const ls_conn_t *c) {
  return ((const loc_peer_t *)c->data)->held < 0;
}

/* Starts asking one holder; on failure says why in p->why. */
static void ask(uv_loop_t *loop, loc_peer_t *p, ls_tls_ctx_t *tls) {
  ls_conn_opts_t co = {.role = LS_CONN_CLIENT, .tls = tls,
                       .max_payload = ls_proto_have_payload_len(p->nchunks), .timeout_ms = LOC_TIMEOUT_MS,
                       .on_frame = on_frame, .on_ready = on_ready, .on_end = on_end, .on_closed = on_closed,
                       .busy = busy};
  int rc = ls_conn_init(loop, &p->conn, &co);
  if (rc != 0) {
    snprintf(p->why, sizeof p->why, "%s", uv_strerror(rc));
    return;
  }
  p->conn.data = p;
  p->open = 1;
  struct sockaddr_storage sa;
  rc = ls_net_addr_parse(p->h->addr, p->h->port, &sa);
  if (rc == 0) rc = ls_conn_connect(&p->conn, (const struct sockaddr *)&sa);
  if (rc != 0) {
    snprintf(p->why, sizeof p->why, "cannot connect: %s", uv_strerror(rc));
    ls_conn_close(&p->conn, LS_CONN_END_CONNECT);
  }
}

/* Asks every holder of lk's chosen content at once; the loop ends when all
 * have answered or timed out. 0 or -1 (out of memory). */
static int ask_all(const cli_ctx_t *c, const ls_tagsq_lookup_t *lk, uint32_t nchunks, loc_peer_t *peers) {
  ls_key_t key;
  char err[512];
  if (ls_config_load_key(&c->cfg, &key, err, sizeof err) != 0) {
    fprintf(stderr, "lanswarm loc: %s\n", err);
    return -1;
  }
  ls_tls_ctx_t *tls = NULL;
  if (key.set && ls_tls_ctx_new(&key, LS_TLS_CHUNK, LS_TLS_CLIENT, &tls) != 0) {
    fprintf(stderr, "lanswarm loc: cannot set up TLS with the network key\n");
    return -1;
  }
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    ls_tls_ctx_free(tls);
    return -1;
  }
  for (size_t i = 0; i < lk->nholders; i++) {
    peers[i] = (loc_peer_t){.h = &lk->holders[i], .root = lk->contents[lk->chosen].root, .nchunks = nchunks,
                            .held = -1};
    ask(&loop, &peers[i], tls);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  ls_tls_ctx_free(tls);
  return 0;
}

static void bar(const uint8_t *have, uint32_t nchunks, char *out) {
  ls_partial_bar(have, nchunks, LOC_BAR, out);
}

static void print_rows(const char *name, const ls_tagsq_lookup_t *lk, uint32_t nchunks, const loc_peer_t *peers) {
  const ls_tagsq_content_t *ct = &lk->contents[lk->chosen];
  char size[32], hx[LS_HASH_HEX_LEN + 1], cells[LOC_BAR + 1];
  ls_format_bytes((double)ct->size, size, sizeof size);
  ls_hash_to_hex(ct->root, hx);
  printf("%s: %s in %u chunk(s), root %.8s, %zu holder(s)\n", name, size, nchunks, hx, lk->nholders);
  for (size_t i = 0; i < lk->nholders; i++) {
    const loc_peer_t *p = &peers[i];
    if (p->held < 0) {
      printf("  %-20s %s\n", p->h->tag, p->why);
      continue;
    }
    bar(p->have, nchunks, cells);
    printf("  %-20s [%s] %3.0f%%  %ld/%u\n", p->h->tag, cells, nchunks ? 100.0 * (double)p->held / nchunks : 100.0,
           p->held, nchunks);
  }
}

static void print_json(const char *name, const ls_tagsq_lookup_t *lk, uint32_t nchunks, const loc_peer_t *peers) {
  cJSON *o = cJSON_CreateObject();
  char hx[LS_HASH_HEX_LEN + 1], cells[LOC_BAR + 1], addr[LS_ADDR_MAX + 8];
  ls_hash_to_hex(lk->contents[lk->chosen].root, hx);
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "root", hx);
  cJSON_AddNumberToObject(o, "size", (double)lk->contents[lk->chosen].size);
  cJSON_AddNumberToObject(o, "chunks", nchunks);
  cJSON *hs = cJSON_AddArrayToObject(o, "holders");
  for (size_t i = 0; i < lk->nholders; i++) {
    const loc_peer_t *p = &peers[i];
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "tag", p->h->tag);
    snprintf(addr, sizeof addr, "%s:%u", p->h->addr, p->h->port);
    cJSON_AddStringToObject(h, "address", addr);
    cJSON_AddBoolToObject(h, "announced_complete", p->h->complete);
    if (p->held >= 0) {
      bar(p->have, nchunks, cells);
      cJSON_AddNumberToObject(h, "chunks_held", (double)p->held);
      cJSON_AddStringToObject(h, "bar", cells);
    } else {
      cJSON_AddNullToObject(h, "chunks_held");
      cJSON_AddStringToObject(h, "error", p->why);
    }
    cJSON_AddItemToArray(hs, h);
  }
  char *text = cJSON_PrintUnformatted(o);
  if (text) printf("%s\n", text);
  free(text);
  cJSON_Delete(o);
}

/* loc NAME [--root HEX] [--json]: 0 or 2 (usage, said). */
static int loc_args(int argc, char **argv, const char **name, const char **root, int *json) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) *json = 1;
    else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) *root = argv[++i];
    else if (argv[i][0] != '-' && *name == NULL) *name = argv[i];
    else {
      fprintf(stderr, "lanswarm loc: unexpected '%s' (lanswarm loc NAME [--root HEX] [--json])\n", argv[i]);
      return 2;
    }
  }
  uint8_t r[LS_HASH_LEN];
  if (*root && ls_hash_from_hex(*root, strlen(*root), r) != 0) {
    fprintf(stderr, "lanswarm loc: --root takes the whole root, 64 hex digits (lanswarm files --root PREFIX)\n");
    return 2;
  }
  if (*name == NULL) fprintf(stderr, "lanswarm loc: which file? (lanswarm loc NAME)\n");
  return *name ? 0 : 2;
}

/* The chunk size the holders announce for the chosen content (tags.txt). */
static uint32_t chunk_size_of(const ls_tag_entry_t *e, size_t n, const uint8_t *root) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(e[i].root, root, LS_HASH_LEN) == 0 && e[i].chunk_size > 0) return e[i].chunk_size;
  return 0;
}

/* Exit status: 0 at least one holder answered, 1 no such file (as files),
 * 2 usage or tags.txt unreadable, 4 no holder answered. */
static int run_loc(cli_ctx_t *c, int argc, char **argv) {
  const char *name = NULL, *root_hex = NULL;
  int json = 0;
  if (loc_args(argc, argv, &name, &root_hex, &json) != 0) return 2;
  ls_tag_entry_t *e;
  size_t n;
  if (cli_read_tags(c, &e, &n) != 0) return 2;
  uint8_t want[LS_HASH_LEN];
  if (root_hex) ls_hash_from_hex(root_hex, strlen(root_hex), want);
  ls_tagsq_lookup_t lk;
  int rc = ls_tagsq_lookup(e, n, name, root_hex ? want : NULL, NULL, 0, &lk);
  uint32_t chunk = rc == 0 ? chunk_size_of(e, n, lk.contents[lk.chosen].root) : 0;
  ls_tags_free(e, n);
  if (rc != 0 || chunk == 0) {
    printf("no peer in %s has '%s'%s%s (lanswarm files lists what there is)\n", c->cfg.tags_path, name,
           root_hex ? " with root " : "", root_hex ? root_hex : "");
    return 1;
  }
  uint64_t size = lk.contents[lk.chosen].size;
  int ok; /* tags.txt's reader already refused a count over the manifest's bound */
  uint32_t nchunks = ls_manifest_count(size, chunk, &ok);
  if (!ok) return 2;
  loc_peer_t *peers = calloc(lk.nholders + 1, sizeof *peers);
  if (peers == NULL || ask_all(c, &lk, nchunks, peers) != 0) {
    free(peers);
    return 2;
  }
  if (json) print_json(name, &lk, nchunks, peers);
  else print_rows(name, &lk, nchunks, peers);
  int answered = 0;
  for (size_t i = 0; i < lk.nholders; i++) {
    answered += peers[i].held >= 0;
    free(peers[i].have);
  }
  free(peers);
  return answered ? 0 : 4;
}

const cli_command_t cli_cmd_loc = {
    "loc",
    "loc NAME [--json]",
    "where NAME's chunks are: per holder, its map (HAVE) as a bar",
    "Usage: lanswarm loc NAME [--root HEX] [--json]\n\nAsks every holder of NAME (tags.txt) which chunks it has (the chunk\n"
    "protocol's HAVE request) and prints a row per holder: a bar of 40 cells\n"
    "('#' every chunk of that part held, '+' some, '.' none), the share held and\n"
    "the count, or why the holder did not answer. --root picks one content when\n"
    "several share the name; --json prints the same as one JSON object.\n"
    "Exit status: 0 a holder answered; 1 no such file; 2 trouble; 4 no holder answered.\n",
    run_loc,
    0,
};
