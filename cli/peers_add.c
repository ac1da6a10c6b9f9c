/* `lanswarm peers add HOST[:PORT]`: appends the peer to the `peers =` line
 * of lanswarm.conf (or adds that line), keeping every other line and
 * comment as it was; the file is replaced atomically. The announcer reads
 * it at its next start. */
#include "peers_add.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_config.h"
#include "ls_net.h"
#include "ls_util.h"

#define CONF_MAX (1u << 20)

/* The `peers = ...` line in text: its start and end (before the newline), or -1. */
static long find_peers_line(const char *text, size_t len, size_t *end) {
  for (size_t at = 0; at < len;) {
    const char *nl = memchr(text + at, '\n', len - at);
    size_t stop = nl ? (size_t)(nl - text) : len;
    size_t k = at + strspn(text + at, " \t");
    if (stop - k > 5 && strncmp(text + k, "peers", 5) == 0 && strchr(" \t=", text[k + 5]) != NULL) {
      size_t e = k + 5 + strspn(text + k + 5, " \t");
      if (e < stop && text[e] == '=') {
        *end = stop;
        return (long)at;
      }
    }
    at = stop + 1;
  }
  return -1;
}

/* The value of the line (its comment cut, trimmed) into value; the comment into comment. */
static void split_line(const char *line, size_t len, char *value, size_t vlen, char *comment, size_t clen) {
  const char *eq = memchr(line, '=', len), *hash = memchr(line, '#', len);
  size_t vstart = (size_t)(eq - line) + 1, vend = hash ? (size_t)(hash - line) : len;
  while (vstart < vend && strchr(" \t", line[vstart])) vstart++;
  while (vend > vstart && strchr(" \t\r", line[vend - 1])) vend--;
  snprintf(value, vlen, "%.*s", (int)(vend - vstart), line + vstart);
  snprintf(comment, clen, "%.*s", hash ? (int)(len - (size_t)(hash - line)) : 0, hash ? hash : "");
}

static int listed(const char *value, const char *entry) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", value);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
    if (strcmp(tok, entry) == 0) return 1;
  return 0;
}

/* text with the peers line set to "peers = value" (plus its old comment). */
static int rewrite(const char *path, const char *text, size_t len, const char *entry) {
  size_t end = 0;
  long start = find_peers_line(text, len, &end);
  char value[1024] = "", comment[512] = "", line[2048];
  if (start >= 0) split_line(text + start, end - (size_t)start, value, sizeof value, comment, sizeof comment);
  if (listed(value, entry)) {
    printf("%s is already in peers (%s)\n", entry, path);
    return 0;
  }
  char joined[1100];
  snprintf(joined, sizeof joined, "%s%s%s", value, value[0] ? ", " : "", entry);
  ls_config_t cfg;
  char err[256];
  ls_config_defaults(&cfg);
  if (ls_config_set(&cfg, "peers", joined, err, sizeof err) != 0) {
    fprintf(stderr, "lanswarm: %s\n", err);
    return 1;
  }
  snprintf(line, sizeof line, "peers = %s%s%s", joined, comment[0] ? "  " : "", comment);
  size_t head = start >= 0 ? (size_t)start : len, tail = start >= 0 ? end : len;
  int need_nl = start < 0 && len > 0 && text[len - 1] != '\n';
  size_t outlen = head + need_nl + strlen(line) + (start < 0 ? 1 : 0) + (len - tail);
  char *out = malloc(outlen + 1);
  if (out == NULL) return 1;
  int n = snprintf(out, outlen + 1, "%.*s%s%s%s%.*s", (int)head, text, need_nl ? "\n" : "", line, start < 0 ? "\n" : "",
                   (int)(len - tail), text + tail);
  int rc = n < 0 ? -EINVAL : ls_write_file_atomic(path, out, (size_t)n, 1);
  free(out);
  if (rc != 0) {
    fprintf(stderr, "lanswarm: cannot write %s: %s\n", path, strerror(-rc));
    return 1;
  }
  printf("peers = %s (in %s; the announcer reads it when it starts: lanswarm down, then up)\n", joined, path);
  return 0;
}

int cli_peers_add(const char *conf, const char *dir, int argc, char **argv) {
  char host[256], path[PATH_MAX + 32];
  int port;
  if (argc != 2 || strcmp(argv[1], "--help") == 0 || ls_net_peer_parse(argv[1], 1, host, sizeof host, &port) != 0) {
    fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
            "Usage: lanswarm peers add HOST[:PORT]\n\nAppends a peer by hand (HOST, HOST:PORT, [IPV6] or [IPV6]:PORT; PORT\n"
            "is its udp_port) to the `peers =` line of lanswarm.conf, keeping the other lines.\n");
    return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  if (conf != NULL) snprintf(path, sizeof path, "%s", conf);
  else snprintf(path, sizeof path, "%s/lanswarm.conf", dir);
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = ls_read_file(path, CONF_MAX, &data, &len);
  if (rc != 0 && rc != -ENOENT) {
    fprintf(stderr, "lanswarm: cannot read %s: %s\n", path, strerror(-rc));
    return 1;
  }
  rc = rewrite(path, data ? (const char *)data : "", data ? len : 0, argv[1]);
  free(data);
  return rc;
}
