/* lanswarm init: a commented configuration and the peer's folders. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ls_util.h"

/* The commented lanswarm.conf for a peer in dir, with the defaults d. */
static int config_text(const ls_config_t *d, const char *dir, char *text, size_t cap) {
  return snprintf(text, cap,
                  "# lanswarm peer configuration, read by all of this peer's daemons.\n"
                  "# Every key can also be given as a flag (udp_port -> --udp-port). See lanswarm.conf(5).\n\n"
                  "# This peer's name on the LAN: 1-64 of A-Z a-z 0-9 . _ -\n"
                  "tag = %s\n\n"
                  "# The peer's folder, resolved by lanswarm init; the folders below default to\n"
                  "# ones inside it (give absolute paths if you change them).\n"
                  "dir = %s\n"
                  "# share = %s/share\n# downloads = %s/downloads\n# temp = %s/temp\n\n"
                  "# Announcements (UDP) and the chunk server (TCP): open both in a firewall.\n"
                  "udp_port = %d\ntcp_port = %d\n\n"
                  "# Where announcements go. auto = the directed broadcast address of every up,\n"
                  "# non-loopback IPv4 interface. Or a list: broadcast = 192.168.1.255\n"
                  "broadcast = auto\n\n"
                  "# Seconds between announcement rounds; peers silent for 3 are dropped.\n"
                  "interval = %u\n\n"
                  "# Upload limit for the chunk server, bytes per second (0 = none), e.g. 25M\n"
                  "rate_limit = 0\n\n"
                  "# Tracker mode, when broadcast does not reach every peer:\n"
                  "# tracker = 198.18.0.1:41772\n\n"
                  "# The dashboard (lanswarm up --web): loopback only unless web_token is set.\n"
                  "# web_addr = 127.0.0.1\n# web_port = 41773\n",
                  d->tag, dir, dir, dir, dir, d->udp_port, d->tcp_port, d->interval);
}

static int run_init(cli_ctx_t *c, int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : (c->cfg.dir[0] ? c->cfg.dir : ".");
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/lanswarm.conf", dir);
  if (access(path, F_OK) == 0) {
    fprintf(stderr, "lanswarm: %s exists; not overwriting it\n", path);
    return 1;
  }
  int rc = ls_mkdir_p(dir);
  if (rc != 0) {
    fprintf(stderr, "lanswarm: cannot create %s: %s\n", dir, strerror(-rc));
    return 1;
  }
  char abs[PATH_MAX];
  if (realpath(dir, abs) == NULL) {
    fprintf(stderr, "lanswarm: cannot resolve %s: %s\n", dir, strerror(errno));
    return 1;
  }
  dir = abs;
  ls_config_t d;
  ls_config_defaults(&d);
  char text[4096];
  int n = config_text(&d, dir, text, sizeof text);
  if ((rc = ls_write_file_atomic(path, text, (size_t)n, 1)) != 0) {
    fprintf(stderr, "lanswarm: cannot write %s: %s\n", path, strerror(-rc));
    return 1;
  }
  const char *sub[] = {"share", "downloads", "temp"};
  for (int i = 0; i < 3; i++) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
    ls_mkdir_p(p);
  }
  printf("wrote %s/lanswarm.conf (tag %s); put files to share in %s/share, then: lanswarm --dir %s up\n", dir, d.tag,
         dir, dir);
  return 0;
}

const cli_command_t cli_cmd_init = {
    "init",
    "init [DIR]",
    "write a commented config and create the peer's folders",
    "Usage: lanswarm init [DIR]\n\nWrites DIR/lanswarm.conf (commented; tag = this host's name, broadcast\n"
    "left on auto) and creates DIR/share, downloads, temp. DIR defaults to the\n"
    "current folder. An existing config is never overwritten.\n",
    run_init,
    1,
};
