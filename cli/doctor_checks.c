/* The checks of `lanswarm doctor` that look at this machine (doctor.h): an
 * interface to the broadcast targets, the two ports (bound for a moment with
 * SO_REUSEADDR, as the daemons bind them, to see whether they are free). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doctor.h"
#include "ls_announce.h"
#include "ls_net.h"
#include "ls_srvstatus.h"
#include "ls_util.h"

#define MAX_TARGETS 8 /* broadcast targets looked at */

/* ---------- (a) an interface ---------- */

static int name_starts(const char *name, const char *const *prefixes) {
  for (; *prefixes; prefixes++)
    if (strncmp(name, *prefixes, strlen(*prefixes)) == 0) return 1;
  return 0;
}

static const char *const container_ifs[] = {"docker", "br-", "veth", "virbr", "cni", "podman", "lxc", NULL};
static const char *const vpn_ifs[] = {"tun", "tap", "wg", "ppp", "tailscale", "zt", NULL};

/* With broadcast = auto: an up IPv4 interface with a broadcast address that
 * is neither a container bridge nor a VPN adapter; else what there is. */
static void check_auto_interface(doctor_t *d) {
  struct ifaddrs *ifs, *i;
  char other[128] = "only loopback";
  if (getifaddrs(&ifs) != 0) ifs = NULL;
  for (i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
      continue;
    if (name_starts(i->ifa_name, container_ifs)) snprintf(other, sizeof other, "only a container bridge (%s)", i->ifa_name);
    else if (name_starts(i->ifa_name, vpn_ifs)) snprintf(other, sizeof other, "only a VPN adapter (%s)", i->ifa_name);
    else if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr) {
      char b[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr, b, sizeof b);
      doctor_add(d, "interface", DOCTOR_OK, NULL, "%s is up, broadcast %s", i->ifa_name, b);
      freeifaddrs(ifs);
      return;
    }
  }
  if (ifs) freeifaddrs(ifs);
  doctor_add(d, "interface", DOCTOR_FAIL,
             "connect this machine to the LAN (Ethernet or Wi-Fi); peers behind a VPN need peers = HOST or a tracker",
             "no interface with a broadcast address is up: %s", other);
}

/* The up interface whose subnet holds target, into name; 0 or -1. */
static int interface_for(const struct sockaddr_in *target, char *name, size_t len) {
  struct ifaddrs *ifs, *i;
  if (getifaddrs(&ifs) != 0) return -1;
  int found = -1;
  for (i = ifs; i && found; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    uint32_t a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
    uint32_t m = ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr;
    if ((a & m) == (target->sin_addr.s_addr & m)) {
      snprintf(name, len, "%s", i->ifa_name);
      found = 0;
    }
  }
  freeifaddrs(ifs);
  return found;
}

void doctor_check_interface(doctor_t *d) {
  const ls_config_t *cfg = &d->c->cfg;
  if (strcmp(cfg->broadcast, "auto") == 0) {
    check_auto_interface(d);
    return;
  }
  struct sockaddr_in t[MAX_TARGETS];
  size_t n = 0;
  ls_net_broadcast_targets(cfg->broadcast, cfg->udp_port, t, MAX_TARGETS, &n);
  char ifname[IF_NAMESIZE + 1], addr[INET_ADDRSTRLEN];
  for (size_t i = 0; i < n; i++) {
    inet_ntop(AF_INET, &t[i].sin_addr, addr, sizeof addr);
    if (interface_for(&t[i], ifname, sizeof ifname) != 0) {
      doctor_add(d, "interface", DOCTOR_FAIL,
                 "set broadcast = auto, or the LAN's broadcast address (`ip -4 addr` shows it after brd)",
                 "no up interface reaches the broadcast target %s", addr);
      return;
    }
  }
  if (n == 0) doctor_add(d, "interface", DOCTOR_FAIL, "set broadcast = auto or an IPv4 address", "no broadcast target");
  else doctor_add(d, "interface", DOCTOR_OK, NULL, "broadcast %s goes out of %s%s", cfg->broadcast, ifname,
                  n > 1 ? " (and the others of an up interface)" : "");
}

/* ---------- (b) the ports ---------- */

/* Binds type on addr:port for a moment, with SO_REUSEADDR as the daemons do.
 * 0 (free) or a negative errno. */
static int bind_probe(int type, const char *addr, int port) {
  struct sockaddr_in sa;
  if (ls_net_ipv4(addr, port, &sa) != 0) return -EINVAL;
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1, rc = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) rc = -errno;
  close(fd);
  return rc;
}

/* " under lanswarm up (pid N)" when a supervisor runs, else "". */
static void under_up(const doctor_t *d, char *buf, size_t len) {
  long sup = cli_supervisor_pid(d->c);
  if (sup) snprintf(buf, len, ", under lanswarm up (pid %ld)", sup);
  else buf[0] = '\0';
}

static void port_result(doctor_t *d, const char *name, const char *kind, int port, long ours, const char *daemon) {
  char up[64], remedy[DOCTOR_TEXT];
  under_up(d, up, sizeof up);
  if (ours) {
    doctor_add(d, name, DOCTOR_OK, NULL, "%s port %d: this peer's %s (pid %ld%s)", kind, port, daemon, ours, up);
    return;
  }
  int rc = bind_probe(strcmp(kind, "UDP") == 0 ? SOCK_DGRAM : SOCK_STREAM, d->c->cfg.listen_addr, port);
  if (rc == 0) {
    doctor_add(d, name, DOCTOR_OK, NULL, "%s port %d is free (this peer's %s is not running)", kind, port, daemon);
  } else if (rc == -EADDRINUSE) {
    snprintf(remedy, sizeof remedy, "stop that program (`ss -%slpn 'sport = :%d'` names it) or set %s = another "
             "port in lanswarm.conf%s", kind[0] == 'U' ? "u" : "t", port, kind[0] == 'U' ? "udp_port" : "tcp_port",
             kind[0] == 'U' ? ", the same on every peer" : "");
    doctor_add(d, name, DOCTOR_FAIL, remedy, "%s port %d is taken by another program", kind, port);
  } else {
    doctor_add(d, name, DOCTOR_FAIL, "check listen_addr in lanswarm.conf", "%s port %d on %s cannot be bound: %s",
               kind, port, d->c->cfg.listen_addr, strerror(-rc));
  }
}

void doctor_check_udp_port(doctor_t *d) {
  long ours = d->listener_pid && d->listener.udp_port == d->c->cfg.udp_port ? d->listener_pid : 0;
  port_result(d, "udp_port", "UDP", d->c->cfg.udp_port, ours, "listener");
}

/* This peer's server from server.status: its pid if it runs on port. */
static long our_server(const cli_ctx_t *c) {
  uint8_t *data;
  size_t len;
  ls_srvstatus_t st;
  long pid = 0;
  if (ls_read_file(c->cfg.server_status, LS_SRVSTATUS_MAX_BYTES, &data, &len) != 0) return 0;
  if (ls_srvstatus_decode((const char *)data, len, &st) == 0) {
    if (st.running && st.port == c->cfg.tcp_port && st.pid > 0 && kill((pid_t)st.pid, 0) == 0) pid = (long)st.pid;
    ls_srvstatus_free(&st);
  }
  free(data);
  return pid;
}

void doctor_check_tcp_port(doctor_t *d) {
  port_result(d, "tcp_port", "TCP", d->c->cfg.tcp_port, our_server(d->c), "server");
}
