/* lanswarm unshare: a file leaves what this peer serves, from share/ or
 * downloads/ alike, without being deleted: it moves to DIR/unshared/
 * (ls_share_remove, as the dashboard's Remove). The announcer and the
 * server see the folder change (their catalogs watch it) and drop it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ls_name.h"
#include "ls_share.h"

/* Moves name out of folder if it is there: 1 moved (said), 0 not there, -1 failed (said). */
static int move_out(const cli_ctx_t *c, const char *folder, const char *name) {
  char aside[PATH_MAX + 16], dest[PATH_MAX];
  snprintf(aside, sizeof aside, "%s/unshared", c->cfg.dir);
  int rc = ls_share_remove(folder, aside, name, dest, sizeof dest);
  if (rc == -ENOENT) return 0;
  if (rc != 0) {
    fprintf(stderr, "lanswarm unshare: cannot move %s/%s out: %s\n", folder, name, strerror(-rc));
    return -1;
  }
  printf("stopped sharing %s: moved %s/%s to %s\n", name, folder, name, dest);
  return 1;
}

/* unshare NAME...: 0 every one moved, 1 one was in neither folder or could
 * not be moved, 2 usage. */
static int run_unshare(cli_ctx_t *c, int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "lanswarm unshare: which file? (lanswarm unshare NAME...)\n");
    return 2;
  }
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    const char *name = argv[i];
    if (name[0] == '-' || !ls_name_valid(name, strlen(name))) {
      fprintf(stderr, "lanswarm unshare: '%s' is not a file name of the share (lanswarm status lists them)\n", name);
      return 2;
    }
    int a = move_out(c, c->cfg.share_dir, name), b = move_out(c, c->cfg.downloads_dir, name);
    if (a == 0 && b == 0)
      printf("%s is in neither %s nor %s: nothing to unshare (lanswarm clean %s discards a partial download)\n",
             name, c->cfg.share_dir, c->cfg.downloads_dir, name);
    if (a < 0 || b < 0 || (a == 0 && b == 0)) rc = 1;
  }
  if (rc == 0) printf("nothing was deleted; the announcer stops announcing it within seconds\n");
  return rc;
}

const cli_command_t cli_cmd_unshare = {
    "unshare",
    "unshare NAME...",
    "stop sharing files of share/ or downloads/ (moved to DIR/unshared/)",
    "Usage: lanswarm unshare NAME...\n\nStops sharing each NAME, whether it is in share/ or in downloads/ (a\n"
    "finished download is seeded until then): the file moves to DIR/unshared/NAME\n"
    "(NAME.1, NAME.2... if taken), so nothing is deleted; delete it from there, or\n"
    "move it back to share it again. The announcer and the server see the\n"
    "folder change and stop offering it within seconds.\n"
    "Exit status: 0 every one moved; 1 one was in neither folder or could not be\n"
    "moved; 2 usage.\n",
    run_unshare,
    0,
};
