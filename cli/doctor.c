/* lanswarm doctor: runs the checks of doctor_checks.c and prints one line per
 * check (a check mark or a cross on a terminal, [ok] or [FAIL] otherwise),
 * each failure followed by its remedy; --json prints the same as one object.
 * Exit 0 when nothing failed, 1 when a check failed. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

static const char *const status_words[] = {"ok", "warn", "fail", "skip"};

void doctor_add(doctor_t *d, const char *name, doctor_status_t status, const char *remedy, const char *fmt, ...) {
  if (d->n == DOCTOR_MAX_RESULTS) return;
  doctor_result_t *r = &d->results[d->n++];
  r->name = name;
  r->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
  snprintf(r->remedy, sizeof r->remedy, "%s", remedy ? remedy : "");
}

/* What the checks share: the key, the listener's counters, the known peers. */
static int doctor_load(doctor_t *d, const cli_ctx_t *c) {
  memset(d, 0, sizeof *d);
  d->c = c;
  char err[512], path[PATH_MAX + 32];
  if (ls_config_load_key(&c->cfg, &d->key, err, sizeof err) != 0) {
    fprintf(stderr, "lanswarm doctor: %s\n", err);
    return -1;
  }
  ls_lstatus_path(c->cfg.dir, path, sizeof path);
  if (ls_lstatus_read(path, &d->listener) == 0 && d->listener.pid > 0 && kill((pid_t)d->listener.pid, 0) == 0)
    d->listener_pid = (long)d->listener.pid;
  if (cli_read_known(c, &d->peers, &d->npeers) != 0) return -1;
  return 0;
}

static void print_text(const doctor_t *d) {
  const cli_ctx_t *c = d->c;
  static const char *const marks[] = {"\u2713", "!", "\u2717", "-"};
  static const char *const ascii[] = {"[ok]  ", "[warn]", "[FAIL]", "[skip]"};
  static const char *const colors[] = {CLI_GREEN, CLI_YELLOW, CLI_RED, ""};
  for (size_t i = 0; i < d->n; i++) {
    const doctor_result_t *r = &d->results[i];
    printf("%s%s%s %s: %s\n", cli_color(c, colors[r->status]), c->color ? marks[r->status] : ascii[r->status],
           cli_color(c, CLI_RESET), r->name, r->message);
    if (r->remedy[0]) printf("    fix: %s\n", r->remedy);
  }
}

static void print_json(const doctor_t *d, int failed) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", !failed);
  cJSON *arr = cJSON_AddArrayToObject(o, "checks");
  for (size_t i = 0; i < d->n; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", d->results[i].name);
    cJSON_AddStringToObject(r, "status", status_words[d->results[i].status]);
    cJSON_AddStringToObject(r, "message", d->results[i].message);
    cJSON_AddStringToObject(r, "remedy", d->results[i].remedy);
    cJSON_AddItemToArray(arr, r);
  }
  char *text = cJSON_PrintUnformatted(o);
  printf("%s\n", text);
  free(text);
  cJSON_Delete(o);
}

static int run_doctor(cli_ctx_t *c, int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = 1;
    else {
      fprintf(stderr, "lanswarm doctor: unexpected argument '%s' (try lanswarm doctor --help)\n", argv[i]);
      return 2;
    }
  }
  static doctor_t d; /* the results are a few kilobytes */
  if (doctor_load(&d, c) != 0) return 2;
  void (*const checks[])(doctor_t *) = {
      doctor_check_interface, doctor_check_udp_port, doctor_check_tcp_port, doctor_check_udp_path,
      doctor_check_tcp_peers, doctor_check_isolation, doctor_check_key,     doctor_check_clock,
  };
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) checks[i](&d);
  int failed = 0;
  for (size_t i = 0; i < d.n; i++) failed |= d.results[i].status == DOCTOR_FAIL;
  if (json) print_json(&d, failed);
  else print_text(&d);
  free(d.peers);
  return failed ? 1 : 0;
}

const cli_command_t cli_cmd_doctor = {
    "doctor",
    "doctor [--json]",
    "check this machine and the LAN: why peers do not see each other",
    "Usage: lanswarm doctor [--json]\n\n"
    "Checks this machine and the LAN, changing nothing, and prints one line per\n"
    "check, with a remedy under each failure:\n"
    "  interface  an up interface reaches the broadcast targets (not only loopback,\n"
    "             a container bridge or a VPN adapter)\n"
    "  udp_port   the announcement port is free, or held by this peer's listener\n"
    "  tcp_port   the chunk port is free, or held by this peer's server\n"
    "  udp_path   a query sent to each broadcast target comes back to this peer's\n"
    "             own listener (a firewall dropping UDP fails it)\n"
    "  tcp_peers  each known peer's server accepts a TCP connection\n"
    "  isolation  no peer is heard only through a tracker or by hand (client\n"
    "             isolation, or a router between you and them)\n"
    "  key        no datagram fails the network key\n"
    "  clock      no peer's last_seen is far in the future (clocks apart)\n\n"
    "Statuses: ok, warn (works, but see the remedy), fail, skip (could not be\n"
    "checked: e.g. the listener is not running). --json prints\n"
    "{\"ok\":BOOL,\"checks\":[{\"name\",\"status\",\"message\",\"remedy\"}]}.\n"
    "Exit status: 0 when no check failed, 1 when one did, 2 on a usage error.\n"
    "It sends only to the configured broadcast targets and to known peers.\n",
    run_doctor,
    0,
};
