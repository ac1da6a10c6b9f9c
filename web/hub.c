#include "hub.h"

#include <stdlib.h>
#include <string.h>

const char *const hub_section_names[HUB_NSECTIONS] = {"peers", "files", "transfers", "share", "server", "status", "logs"};

static char *dup_answer(const char *s) {
  return strdup(s);
}


static void async_cb(uv_async_t *a) {
  hub_t *hub = a->data;
  for (;;) {
    uv_mutex_lock(&hub->mu);
    hub_cmd_t *cmd = hub->head;
    if (cmd) {
      hub->head = cmd->next;
      if (hub->head == NULL) hub->tail = NULL;
    }
    uv_mutex_unlock(&hub->mu);
    if (cmd == NULL) return;
    cmd->status = 500;
    cmd->answer = NULL;
    hub->exec(hub, cmd);
    if (cmd->answer != NULL) hub_answer(hub, cmd, cmd->status, cmd->answer);
  }
}

void hub_answer(hub_t *hub, hub_cmd_t *cmd, int status, char *answer) {
  uv_mutex_lock(&hub->mu);
  cmd->status = status;
  cmd->answer = answer;
  cmd->done = 1;
  hub->seq++;
  uv_cond_broadcast(&hub->cv);
  uv_mutex_unlock(&hub->mu);
}

int hub_init(hub_t *hub, uv_loop_t *loop, hub_exec_cb exec) {
  memset(hub, 0, sizeof *hub);
  hub->exec = exec;
  int rc = uv_mutex_init(&hub->mu);
  if (rc != 0) return rc;
  if ((rc = uv_cond_init(&hub->cv)) != 0) {
    uv_mutex_destroy(&hub->mu);
    return rc;
  }
  for (int i = 0; i < HUB_NSECTIONS; i++) hub->json[i] = strdup("{}");
  hub->async.data = hub;
  return uv_async_init(loop, &hub->async, async_cb);
}

void hub_close(hub_t *hub) {
  uv_close((uv_handle_t *)&hub->async, NULL);
}

void hub_free(hub_t *hub) {
  for (int i = 0; i < HUB_NSECTIONS; i++) free(hub->json[i]);
  uv_cond_destroy(&hub->cv);
  uv_mutex_destroy(&hub->mu);
}

void hub_publish(hub_t *hub, hub_section_t s, char *json) {
  if (json == NULL) return;
  uv_mutex_lock(&hub->mu);
  if (hub->json[s] != NULL && strcmp(hub->json[s], json) == 0) {
    uv_mutex_unlock(&hub->mu);
    free(json);
    return;
  }
  free(hub->json[s]);
  hub->json[s] = json;
  hub->version[s]++;
  hub->seq++;
  uv_cond_broadcast(&hub->cv);
  uv_mutex_unlock(&hub->mu);
}

void hub_stop(hub_t *hub) {
  uv_mutex_lock(&hub->mu);
  hub->stopping = 1;
  for (hub_cmd_t *cmd = hub->head; cmd; cmd = cmd->next) {
    cmd->status = 503;
    cmd->answer = dup_answer("{\"error\":\"lanswarm-web is stopping\"}");
    cmd->done = 1;
  }
  hub->head = hub->tail = NULL;
  hub->seq++;
  uv_cond_broadcast(&hub->cv);
  uv_mutex_unlock(&hub->mu);
}

char *hub_get(hub_t *hub, hub_section_t s, uint64_t *version) {
  uv_mutex_lock(&hub->mu);
  char *copy = strdup(hub->json[s] ? hub->json[s] : "{}");
  if (version) *version = hub->version[s];
  uv_mutex_unlock(&hub->mu);
  return copy;
}

int hub_wait(hub_t *hub, uint64_t *seen, uint64_t timeout_ms) {
  uv_mutex_lock(&hub->mu);
  if (!hub->stopping && hub->seq == *seen) uv_cond_timedwait(&hub->cv, &hub->mu, timeout_ms * 1000000ull);
  int rc = hub->stopping ? -1 : 0;
  *seen = hub->seq;
  uv_mutex_unlock(&hub->mu);
  return rc;
}

void hub_call(hub_t *hub, hub_cmd_t *cmd) {
  uv_mutex_lock(&hub->mu);
  cmd->next = NULL;
  cmd->done = 0;
  if (hub->stopping) {
    cmd->status = 503;
    cmd->answer = dup_answer("{\"error\":\"lanswarm-web is stopping\"}");
    uv_mutex_unlock(&hub->mu);
    return;
  }
  if (hub->tail) hub->tail->next = cmd;
  else hub->head = cmd;
  hub->tail = cmd;
  uv_mutex_unlock(&hub->mu);
  uv_async_send(&hub->async);
  uv_mutex_lock(&hub->mu);
  while (!cmd->done) uv_cond_wait(&hub->cv, &hub->mu);
  uv_mutex_unlock(&hub->mu);
}
