/* supervise: `lanswarm up`: runs the peer's daemons as children, each with
 * its own log, restarts one that dies (with backoff, logged), and stops them
 * all cleanly on SIGINT/SIGTERM. Its state (pids, start times, restarts) is
 * kept in DIR/run/state.json for `lanswarm status`. */
#ifndef SUPERVISE_H
#define SUPERVISE_H

/* dir: the peer's folder; config: its config file or NULL; bin_dir: where
 * the lanswarm-* programs are. Returns the exit status for `up`. */
int supervise_run(const char *dir, const char *config, const char *bin_dir, int quiet, int web);

#endif
