#include "commands.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_hash.h"
#include "ls_log.h"
#include "ls_name.h"
#include "ls_share.h"
#include "ls_tagsq.h"
#include "ls_util.h"

/* An "Add file" copying across file systems, answered when it ends. */
struct commands_add_s {
  ls_share_add_t req;
  commands_add_t *next;
  commands_t *owner;
  hub_cmd_t *cmd;    /* NULL once answered at shutdown */
  char name[LS_NAME_MAX + 1];
};

static char *print(cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

static char *error_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *error_json(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "error", msg);
  return print(o);
}

static void answer(hub_cmd_t *cmd, int status, char *json) {
  cmd->status = status;
  cmd->answer = json;
}

static const char *body_string(const hub_cmd_t *cmd, const char *key) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(cmd->body, key);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void cmd_download(commands_t *c, hub_cmd_t *cmd) {
  const char *name = body_string(cmd, "name"), *root = body_string(cmd, "root");
  if (name == NULL || !ls_name_valid(name, strlen(name))) {
    answer(cmd, 400, error_json("\"name\": a valid file name (relative, no '..', no control characters)"));
    return;
  }
  uint8_t want[LS_HASH_LEN];
  if (cJSON_GetObjectItemCaseSensitive(cmd->body, "root") != NULL && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cmd->body, "root")) &&
      (root == NULL || ls_hash_from_hex(root, strlen(root), want) != 0)) {
    answer(cmd, 400, error_json("\"root\": 64 hex characters"));
    return;
  }
  ls_tagsq_lookup_t found;
  if (ls_tagsq_lookup(c->refresh->tags, c->refresh->ntags, name, root ? want : NULL, c->cfg->tag, (uint16_t)c->cfg->tcp_port, &found) != 0) {
    answer(cmd, 404, error_json("no peer in tags.txt has '%s'", name));
    return;
  }
  char dest[PATH_MAX];
  struct stat st;
  if (snprintf(dest, sizeof dest, "%s/%s", c->cfg->downloads_dir, name) < (int)sizeof dest && lstat(dest, &st) == 0) {
    answer(cmd, 409, error_json("downloads/%s exists already; not overwriting it", name));
    return;
  }
  char err[300];
  unsigned id = 0;
  jobs_err_t rc = jobs_start(c->jobs, name, root, &id, err, sizeof err);
  if (rc != JOBS_OK) {
    answer(cmd, rc == JOBS_BUSY ? 429 : rc == JOBS_DUPLICATE ? 409 : 500, error_json("%s", err));
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", id);
  cJSON_AddStringToObject(o, "name", name);
  answer(cmd, 202, print(o));
}

static void cmd_cancel(commands_t *c, hub_cmd_t *cmd) {
  jobs_err_t rc = jobs_cancel(c->jobs, cmd->id);
  if (rc == JOBS_UNKNOWN) answer(cmd, 404, error_json("no download %u", cmd->id));
  else if (rc == JOBS_DONE) answer(cmd, 409, error_json("download %u has ended already", cmd->id));
  else answer(cmd, 202, strdup("{\"cancelling\":true}"));
}

static void add_done_json(commands_t *c, hub_cmd_t *cmd, const char *name) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "added", "share");
  answer(cmd, 201, print(o));
  refresh_poke(c->refresh);
}

/* An ls_share_add failure as an HTTP status: the request's fault or ours. */
static int add_status(int rc) {
  switch (-rc) {
    case EEXIST:
    case EBUSY: return 409;
    case EINVAL:
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case ELOOP:
    case ENAMETOOLONG: return 400;
    default: return 500;
  }
}

static void add_free(commands_add_t *a) {
  commands_t *c = a->owner;
  for (commands_add_t **pp = &c->adds; *pp; pp = &(*pp)->next)
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  free(a);
}

static void add_copied(ls_share_add_t *req, int rc) {
  commands_add_t *a = req->data;
  commands_t *c = a->owner;
  ls_log(rc == 0 ? LS_LOG_INFO : LS_LOG_WARN, "add %s: %s", a->name, rc == 0 ? "copied into the share" : req->why);
  if (a->cmd) {
    hub_cmd_t tmp;
    memset(&tmp, 0, sizeof tmp);
    if (rc == 0) add_done_json(c, &tmp, a->name);
    else answer(&tmp, add_status(rc), error_json("%s", req->why));
    hub_answer(c->hub, a->cmd, tmp.status, tmp.answer);
  } else if (rc == 0) {
    refresh_poke(c->refresh);
  }
  add_free(a);
}

/* "Add file": a local file into the share under a name (ls_share, strictly:
 * an absolute path to a regular file, never a symlink; nothing replaced). */
static void cmd_share_add(commands_t *c, hub_cmd_t *cmd) {
  const char *path = body_string(cmd, "path"), *name = body_string(cmd, "name");
  if (path == NULL || name == NULL) {
    answer(cmd, 400, error_json("\"path\" (an absolute path on this machine) and \"name\" (its name in the share)"));
    return;
  }
  commands_add_t *a = calloc(1, sizeof *a);
  if (a == NULL) {
    answer(cmd, 500, error_json("out of memory"));
    return;
  }
  a->req.data = a;
  int rc = ls_share_add(c->loop, &a->req, c->cfg->share_dir, path, name, LS_SHARE_STRICT, add_copied);
  if (rc == 1) {
    ls_log(LS_LOG_INFO, "add %s: linked from %s", name, path);
    add_done_json(c, cmd, name);
  } else if (rc < 0) {
    answer(cmd, add_status(rc), error_json("%s", a->req.why));
  }
  if (rc != 0) {
    free(a);
    return;
  }
  /* Copying: answered in add_copied. */
  a->owner = c;
  a->cmd = cmd;
  snprintf(a->name, sizeof a->name, "%s", name);
  a->next = c->adds;
  c->adds = a;
}

/* "Remove": the file leaves the share but is not deleted: it moves to
 * DIR/unshared/, under a new name if that one is taken. */
static void cmd_share_remove(commands_t *c, hub_cmd_t *cmd) {
  const char *name = body_string(cmd, "name");
  if (name == NULL || !ls_name_valid(name, strlen(name))) {
    answer(cmd, 400, error_json("\"name\": a valid file name (relative, no '..', no control characters)"));
    return;
  }
  char aside[PATH_MAX + 16], dest[PATH_MAX];
  snprintf(aside, sizeof aside, "%s/unshared", c->cfg->dir);
  /* From share/ or downloads/: a downloaded file would be seeded forever otherwise. */
  int rc = ls_share_remove(c->cfg->share_dir, aside, name, dest, sizeof dest);
  if (rc == -ENOENT) rc = ls_share_remove(c->cfg->downloads_dir, aside, name, dest, sizeof dest);
  if (rc == -ENOENT) {
    answer(cmd, 404, error_json("'%s' is not a file in share/ or downloads/", name));
    return;
  }
  if (rc != 0) {
    answer(cmd, rc == -ENAMETOOLONG ? 400 : 500, error_json("cannot move %s out of the share: %s", name, strerror(-rc)));
    return;
  }
  ls_log(LS_LOG_INFO, "remove %s: moved to %s", name, dest);
  refresh_poke(c->refresh);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "moved_to", dest);
  answer(cmd, 200, print(o));
}


void commands_init(commands_t *c, uv_loop_t *loop, const ls_config_t *cfg, hub_t *hub, jobs_t *jobs,
                   refresh_t *refresh) {
  memset(c, 0, sizeof *c);
  c->loop = loop;
  c->cfg = cfg;
  c->hub = hub;
  c->jobs = jobs;
  c->refresh = refresh;
}

void commands_exec(commands_t *c, hub_cmd_t *cmd) {
  if (c->closing) {
    answer(cmd, 503, error_json("lanswarm-web is stopping"));
    return;
  }
  switch (cmd->type) {
    case HUB_CMD_DOWNLOAD: cmd_download(c, cmd); break;
    case HUB_CMD_CANCEL: cmd_cancel(c, cmd); break;
    case HUB_CMD_SHARE_ADD: cmd_share_add(c, cmd); break;
    case HUB_CMD_SHARE_REMOVE: cmd_share_remove(c, cmd); break;
  }
}

void commands_close(commands_t *c) {
  c->closing = 1;
  for (commands_add_t *a = c->adds; a; a = a->next)
    if (a->cmd) {
      hub_answer(c->hub, a->cmd, 503, error_json("lanswarm-web is stopping"));
      a->cmd = NULL;
    }
}
