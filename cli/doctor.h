/* doctor: `lanswarm doctor`'s checks. Each check is a function that looks at
 * this machine or the LAN, changes nothing on it, and adds one result: a
 * status, a line saying what it found and, when it failed, a one-line
 * remedy. doctor.c runs them in order and prints the report;
 * doctor_checks.c holds those of this machine, doctor_lan.c those of the LAN.
 * Nothing is sent but a query to the configured broadcast targets and a TCP
 * connection to each known peer. */
#ifndef DOCTOR_H
#define DOCTOR_H

#include "cli.h"
#include "ls_auth.h"
#include "ls_lstatus.h"

typedef enum { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL, DOCTOR_SKIP } doctor_status_t;

#define DOCTOR_MAX_RESULTS 16
#define DOCTOR_TEXT 512

typedef struct {
  const char *name; /* the check's name in --json: "interface", "udp_port", ... */
  doctor_status_t status;
  char message[DOCTOR_TEXT];
  char remedy[DOCTOR_TEXT]; /* empty unless it failed or warns */
} doctor_result_t;

typedef struct {
  const cli_ctx_t *c;
  ls_key_t key;          /* key.set: the network key is configured */
  ls_lstatus_t listener; /* DIR/run/listener.status */
  long listener_pid;     /* its pid if that listener runs, else 0 */
  ls_tagsq_known_t *peers;
  size_t npeers;
  doctor_result_t results[DOCTOR_MAX_RESULTS];
  size_t n;
} doctor_t;

/* Adds a result; remedy may be NULL. The message is printf-like. */
void doctor_add(doctor_t *d, const char *name, doctor_status_t status, const char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The checks, in the order they run. */
void doctor_check_interface(doctor_t *d);
void doctor_check_udp_port(doctor_t *d);
void doctor_check_tcp_port(doctor_t *d);
void doctor_check_udp_path(doctor_t *d);
void doctor_check_tcp_peers(doctor_t *d);
void doctor_check_isolation(doctor_t *d);
void doctor_check_key(doctor_t *d);
void doctor_check_clock(doctor_t *d);

#endif
