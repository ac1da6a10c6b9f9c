/* background: downloads `lanswarm get --detach` started, one record each in
 * DIR/run/get/PID (the name, one line), for status, cancel and clean. */
#ifndef CLI_BACKGROUND_H
#define CLI_BACKGROUND_H

#include "cli.h"

/* Runs argv (argv[0] the downloader) in its own session, its output appended
 * to DIR/logs/get.log, and records it under name. The pid, or -1 (said). */
long cli_bg_start(const cli_ctx_t *c, char **argv, const char *name);

/* Calls cb for each background download still running (records of finished
 * ones are removed); a non-zero return stops. */
typedef int (*cli_bg_cb)(void *ud, long pid, const char *name);
void cli_bg_each(const cli_ctx_t *c, cli_bg_cb cb, void *ud);

#endif
