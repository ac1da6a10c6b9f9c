#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uv.h>

#include "assets.h"
#include "ls_log.h"

struct http_s {
  struct MHD_Daemon *d;
  hub_t *hub;
  char token[160];
  int loopback;
  int port;
};

/* Per request: the body of a POST as it arrives. */
typedef struct {
  char *body;
  size_t len;
  int too_large;
} req_t;

static const char *const CSP =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* ---------- responses ---------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type, const void *data,
                                 size_t len, enum MHD_ResponseMemoryMode mode) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
  if (r == NULL) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  if (strncmp(type, "text/html", 9) == 0) {
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
  }
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, POST");
  if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"lanswarm\"");
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, char *json) {
  if (json == NULL) return MHD_NO;
  return send_text(c, status, "application/json; charset=utf-8", json, strlen(json), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", msg);
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return send_json(c, status, s);
}

/* ---------- checks ---------- */

static const char *header(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static int token_equal(const http_t *h, const char *given) {
  size_t n = strlen(h->token);
  return given != NULL && strlen(given) == n && CRYPTO_memcmp(given, h->token, n) == 0;
}

/* 0: allowed; else the status to answer with (msg set). */
static unsigned check_token(const http_t *h, struct MHD_Connection *c, int allow_query, const char **msg) {
  const char *auth = header(c, "Authorization");
  const char *given = NULL;
  if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) given = auth + 7;
  else if (allow_query) given = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
  if (given == NULL) {
    *msg = allow_query ? "missing token (Authorization: Bearer TOKEN, or ?token=TOKEN)"
                       : "missing token (Authorization: Bearer TOKEN)";
    return MHD_HTTP_UNAUTHORIZED;
  }
  if (!token_equal(h, given)) {
    /* Guessing costs time: this connection's thread answers after a pause. */
    uv_sleep(HTTP_WRONG_TOKEN_DELAY_MS);
    *msg = "wrong token";
    return MHD_HTTP_FORBIDDEN;
  }
  return 0;
}

/* On loopback, Host must name loopback: a page elsewhere cannot reach the
 * dashboard through a DNS name rebound to 127.0.0.1. */
static int host_ok(const http_t *h, const char *host) {
  if (!h->loopback) return 1;
  if (host == NULL) return 0;
  char want[3][64];
  snprintf(want[0], sizeof want[0], "127.0.0.1:%d", h->port);
  snprintf(want[1], sizeof want[1], "localhost:%d", h->port);
  snprintf(want[2], sizeof want[2], "[::1]:%d", h->port);
  for (int i = 0; i < 3; i++)
    if (strcasecmp(host, want[i]) == 0) return 1;
  return 0;
}

/* A browser tells where a request comes from; it must be this page. */
static unsigned check_same_origin(struct MHD_Connection *c, const char **msg) {
  const char *site = header(c, "Sec-Fetch-Site");
  if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
    *msg = "cross-site request refused";
    return MHD_HTTP_FORBIDDEN;
  }
  const char *origin = header(c, "Origin"), *host = header(c, "Host");
  if (origin != NULL) {
    char want[320];
    snprintf(want, sizeof want, "http://%s", host ? host : "");
    if (host == NULL || strcmp(origin, want) != 0) {
      *msg = "cross-origin request refused";
      return MHD_HTTP_FORBIDDEN;
    }
  }
  return 0;
}

/* ---------- the event stream ---------- */

typedef struct {
  hub_t *hub;
  uint64_t seen;
  uint64_t sent[HUB_NSECTIONS];
  int started;
  char *buf;
  size_t len, off;
} sse_t;

static void sse_append(sse_t *s, const char *a, size_t n) {
  char *nb = realloc(s->buf, s->len + n + 1);
  if (nb == NULL) return;
  s->buf = nb;
  memcpy(s->buf + s->len, a, n);
  s->len += n;
}

static void sse_fill(sse_t *s) {
  if (!s->started) {
    sse_append(s, "retry: 2000\n\n", 13);
    s->started = 1;
  }
  for (int i = 0; i < HUB_NSECTIONS; i++) {
    uint64_t v;
    char *json = hub_get(s->hub, (hub_section_t)i, &v);
    if (json == NULL) continue;
    if (s->sent[i] != v || s->sent[i] == 0) {
      char head[64];
      int n = snprintf(head, sizeof head, "event: %s\ndata: ", hub_section_names[i]);
      sse_append(s, head, (size_t)n);
      sse_append(s, json, strlen(json)); /* cJSON output has no newline */
      sse_append(s, "\n\n", 2);
      s->sent[i] = v ? v : 1;
    }
    free(json);
  }
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max) {
  (void)pos;
  sse_t *s = cls;
  while (s->off == s->len) {
    free(s->buf);
    s->buf = NULL;
    s->len = s->off = 0;
    uint64_t before = s->seen;
    if (hub_wait(s->hub, &s->seen, s->started ? HTTP_SSE_KEEPALIVE_MS : 0) < 0) return MHD_CONTENT_READER_END_OF_STREAM;
    sse_fill(s);
    if (s->len == 0 && s->seen == before) sse_append(s, ": keepalive\n\n", 13);
  }
  size_t n = s->len - s->off < max ? s->len - s->off : max;
  memcpy(out, s->buf + s->off, n);
  s->off += n;
  return (ssize_t)n;
}

static void sse_free(void *cls) {
  sse_t *s = cls;
  free(s->buf);
  free(s);
}

static enum MHD_Result send_events(http_t *h, struct MHD_Connection *c) {
  sse_t *s = calloc(1, sizeof *s);
  if (s == NULL) return MHD_NO;
  s->hub = h->hub;
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, sse_read, s, sse_free);
  if (r == NULL) {
    free(s);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", "text/event-stream");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return rc;
}

/* ---------- routes ---------- */

static int section_for(const char *path) {
  for (int i = 0; i < HUB_NSECTIONS; i++)
    if (strcmp(path, hub_section_names[i]) == 0) return i;
  return -1;
}

/* POST routes: the command, or -1 for an unknown path. */
static int post_route(const char *api, unsigned *id) {
  if (strcmp(api, "downloads") == 0) return HUB_CMD_DOWNLOAD;
  if (strcmp(api, "share") == 0) return HUB_CMD_SHARE_ADD;
  if (strcmp(api, "share/remove") == 0) return HUB_CMD_SHARE_REMOVE;
  unsigned long v;
  int used = 0;
  if (sscanf(api, "downloads/%lu/cancel%n", &v, &used) == 1 && api[used] == '\0' && v > 0 && v < 1000000000ul &&
      api[10] >= '0' && api[10] <= '9') {
    *id = (unsigned)v;
    return HUB_CMD_CANCEL;
  }
  return -1;
}

static enum MHD_Result run_command(http_t *h, struct MHD_Connection *c, int type, unsigned id, req_t *rq) {
  cJSON *body = NULL;
  if (type != HUB_CMD_CANCEL || rq->len > 0) {
    body = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
    if (!cJSON_IsObject(body)) {
      cJSON_Delete(body);
      return send_error(c, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
    }
  }
  hub_cmd_t cmd;
  memset(&cmd, 0, sizeof cmd);
  cmd.type = (hub_cmd_type_t)type;
  cmd.body = body;
  cmd.id = id;
  hub_call(h->hub, &cmd);
  cJSON_Delete(body);
  if (cmd.answer == NULL) return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "no answer");
  return send_json(c, (unsigned)cmd.status, cmd.answer);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  http_t *h = cls;
  req_t *rq = *con_cls;
  int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  int is_post = strcmp(method, "POST") == 0;
  const char *api = strncmp(url, "/api/", 5) == 0 ? url + 5 : NULL;
  const char *msg = NULL;
  unsigned st;

  if (rq == NULL) {
    /* First call: headers only. Everything that can be refused is refused now,
     * before any body is read. */
    rq = calloc(1, sizeof *rq);
    if (rq == NULL) return MHD_NO;
    *con_cls = rq;
    if (!host_ok(h, header(c, "Host")))
      return send_error(c, MHD_HTTP_FORBIDDEN, "unexpected Host header: use http://127.0.0.1:PORT/");
    if (api == NULL) {
      if (!is_get) return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "the page is GET only");
      const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
      for (size_t i = 0; i < web_nassets; i++)
        if (strcmp(path, web_assets[i].path) == 0)
          return send_text(c, MHD_HTTP_OK, web_assets[i].type, web_assets[i].data, web_assets[i].len,
                           MHD_RESPMEM_PERSISTENT);
      return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
    }
    int sec = section_for(api);
    unsigned id = 0;
    int cmd = post_route(api, &id);
    if (sec < 0 && strcmp(api, "events") != 0 && cmd < 0) return send_error(c, MHD_HTTP_NOT_FOUND, "no such API route");
    if (is_get) {
      if (sec < 0 && strcmp(api, "events") != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "this route takes POST");
      if ((st = check_token(h, c, 1, &msg)) != 0) return send_error(c, st, msg);
      if (sec >= 0) return send_json(c, MHD_HTTP_OK, hub_get(h->hub, (hub_section_t)sec, NULL));
      return send_events(h, c);
    }
    if (!is_post || cmd < 0) return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here");
    if ((st = check_same_origin(c, &msg)) != 0) return send_error(c, st, msg);
    if ((st = check_token(h, c, 0, &msg)) != 0) return send_error(c, st, msg);
    const char *ct = header(c, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
      return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
    const char *cl = header(c, "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_BODY_MAX)
      return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large (at most 16 KiB)");
    return MHD_YES; /* the body comes next */
  }

  if (*upload_size > 0) {
    if (!rq->too_large) {
      if (rq->len + *upload_size > HTTP_BODY_MAX) {
        rq->too_large = 1;
        free(rq->body);
        rq->body = NULL;
        rq->len = 0;
      } else {
        char *nb = realloc(rq->body, rq->len + *upload_size + 1);
        if (nb == NULL) return MHD_NO;
        rq->body = nb;
        memcpy(rq->body + rq->len, upload, *upload_size);
        rq->len += *upload_size;
      }
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (rq->too_large) return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large (at most 16 KiB)");
  unsigned id = 0;
  int cmd = post_route(api ? api : "", &id);
  if (cmd < 0) return send_error(c, MHD_HTTP_NOT_FOUND, "no such API route");
  return run_command(h, c, cmd, id, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  req_t *rq = *con_cls;
  if (rq) {
    free(rq->body);
    free(rq);
  }
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  line[strcspn(line, "\n")] = '\0';
  ls_log(LS_LOG_WARN, "http: %s", line);
}

int http_start(hub_t *hub, const char *addr, int port, const char *token, http_t **out, char *err, size_t errlen) {
  http_t *h = calloc(1, sizeof *h);
  if (h == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  h->hub = hub;
  snprintf(h->token, sizeof h->token, "%s", token);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    snprintf(err, errlen, "web_addr %s: not an IPv4 address", addr);
    free(h);
    return -1;
  }
  h->loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
  h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                          NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
                          (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32u << 10),
                          MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
  if (h->d == NULL) {
    snprintf(err, errlen, "cannot listen on %s:%d (in use, or not an address of this host)", addr, port);
    free(h);
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : port;
  *out = h;
  return 0;
}

int http_port(const http_t *h) {
  return h->port;
}

void http_stop(http_t *h) {
  MHD_stop_daemon(h->d);
  free(h);
}
