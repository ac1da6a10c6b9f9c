/* commands: what the HTTP threads ask of the loop thread through the hub
 * (docs/WEB.md): download (a job, jobs.c), cancel, add a file to the share
 * (ls_share: a link, or a copy answered when it ends) and remove one (moved
 * to DIR/unshared/). Each sets the command's HTTP status and JSON answer.
 * Runs on the loop thread. */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <uv.h>

#include "hub.h"
#include "jobs.h"
#include "ls_config.h"
#include "refresh.h"

typedef struct commands_add_s commands_add_t;

typedef struct {
  uv_loop_t *loop;
  const ls_config_t *cfg;
  hub_t *hub;
  jobs_t *jobs;
  refresh_t *refresh;    /* tags.txt as last read; the catalog to poke */
  commands_add_t *adds;  /* "Add file" copies under way */
  int closing;
} commands_t;

/* Keeps loop, cfg, hub, jobs and refresh (until the loop ends). */
void commands_init(commands_t *c, uv_loop_t *loop, const ls_config_t *cfg, hub_t *hub, jobs_t *jobs,
                   refresh_t *refresh);
/* Runs cmd (a hub_exec_cb's work): answers it, or leaves it for hub_answer. */
void commands_exec(commands_t *c, hub_cmd_t *cmd);
/* Stopping: commands still waiting are answered 503, and so is every later
 * one. Copies under way finish on their own (and free themselves). */
void commands_close(commands_t *c);

#endif
