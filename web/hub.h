/* hub: what the loop thread and the HTTP threads share.
 *
 * The loop thread (refresh.c, commands.c) owns every source of data; it
 * publishes each section of the dashboard as a finished JSON text with a
 * version number.
 * HTTP threads (http.c, libmicrohttpd's thread per connection) copy those
 * texts, wait for newer versions (Server-Sent Events), and hand requests that
 * change something to the loop thread as commands, waiting for the answer.
 * One mutex guards it all; nothing else crosses threads. */
#ifndef HUB_H
#define HUB_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

typedef enum { HUB_PEERS, HUB_FILES, HUB_TRANSFERS, HUB_SHARE, HUB_SERVER, HUB_STATUS, HUB_LOGS, HUB_NSECTIONS } hub_section_t;

extern const char *const hub_section_names[HUB_NSECTIONS];

typedef enum { HUB_CMD_DOWNLOAD, HUB_CMD_CANCEL, HUB_CMD_SHARE_ADD, HUB_CMD_SHARE_REMOVE } hub_cmd_type_t;

typedef struct hub_cmd_s {
  struct hub_cmd_s *next;
  hub_cmd_type_t type;
  cJSON *body;          /* the request's JSON (owned by the waiting thread) */
  unsigned id;          /* the job, for CANCEL */
  int done;
  int status;           /* HTTP status of the answer */
  char *answer;         /* JSON text, malloc'ed, set by the loop thread */
} hub_cmd_t;

typedef struct hub_s hub_t;
/* Loop thread. Sets cmd->status and cmd->answer, or leaves answer NULL and
 * calls hub_answer later (before hub_stop). */
typedef void (*hub_exec_cb)(hub_t *hub, hub_cmd_t *cmd);

struct hub_s {
  uv_mutex_t mu;
  uv_cond_t cv;          /* any change: a section, a command answered, stopping */
  char *json[HUB_NSECTIONS];
  uint64_t version[HUB_NSECTIONS];
  uint64_t seq;          /* bumps with every change */
  int stopping;
  hub_cmd_t *head, *tail;
  uv_async_t async;
  hub_exec_cb exec;
  void *data;
};

int hub_init(hub_t *hub, uv_loop_t *loop, hub_exec_cb exec);
/* Loop thread: closes the async handle (the hub is freed by hub_free after
 * the loop ran). */
void hub_close(hub_t *hub);
void hub_free(hub_t *hub);

/* Loop thread: publishes a section (takes the text) if it differs. */
void hub_publish(hub_t *hub, hub_section_t s, char *json);
/* Loop thread: answers a command that exec left pending (takes answer). */
void hub_answer(hub_t *hub, hub_cmd_t *cmd, int status, char *answer);
/* Loop thread: wakes every waiter; commands still queued get 503. */
void hub_stop(hub_t *hub);

/* HTTP threads: a copy of a section (never NULL but when out of memory). */
char *hub_get(hub_t *hub, hub_section_t s, uint64_t *version);
/* HTTP threads: waits until seq differs from *seen or timeout_ms passes;
 * updates *seen. Returns -1 when stopping. */
int hub_wait(hub_t *hub, uint64_t *seen, uint64_t timeout_ms);
/* HTTP threads: runs cmd on the loop thread and waits for its answer. */
void hub_call(hub_t *hub, hub_cmd_t *cmd);

#endif
