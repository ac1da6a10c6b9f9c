#include "helpers.h"
#include "ls_config.h"
#include "ls_util.h"

static const ls_config_program_t prog = {"lanswarm-test", "[OPTIONS]", "test", NULL, NULL, NULL, NULL};

static int parse(ls_config_t *cfg, char **argv, char *err, size_t errlen) {
  int argc = 0;
  while (argv[argc] != NULL) argc++;
  return ls_config_from_args(cfg, &prog, argc, argv, err, errlen);
}

static void file_then_flags(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/lanswarm.conf", dir);
  const char *text = "# a peer\n"
                     "tag = kitchen   # trailing comment\n"
                     "\n"
                     "udp_port = 5000\n"
                     "tcp_port=5001\n"
                     "interval = 5\n"
                     "chunk_size = 64K\n"
                     "rate_limit = 25M\n";
  write_bytes(path, text, strlen(text));
  /* Every flag of the table, so none collides with a short option. */
  char *argv[] = {"prog", "--dir", dir, "--udp-port", "6000", "--temp", "/x/t", "--tags", "/x/tags",
                  "--tracker", "127.0.0.1:9", "--fsync", "0", "NAME", NULL};
  ls_config_t cfg;
  char err[256];
  int first = ls_config_from_args(&cfg, &prog, 14, argv, err, sizeof err);
  assert_int_equal(first, 13);
  assert_string_equal(cfg.temp_dir, "/x/t");
  assert_string_equal(cfg.tags_path, "/x/tags");
  assert_string_equal(cfg.tracker, "127.0.0.1:9");
  assert_int_equal(cfg.fsync, 0);
  assert_string_equal(cfg.tag, "kitchen");
  assert_int_equal(cfg.udp_port, 6000); /* the flag wins */
  assert_int_equal(cfg.tcp_port, 5001);
  assert_int_equal(cfg.interval, 5);
  assert_int_equal(cfg.chunk_size, 65536);
  assert_int_equal(cfg.rate_limit, 25u << 20);
  char want[400];
  snprintf(want, sizeof want, "%s/client.log", dir);
  assert_string_equal(cfg.client_log, want);
  snprintf(want, sizeof want, "%s/share", dir);
  assert_string_equal(cfg.share_dir, want);
  rm_tree(dir);
}

static void bad_values(void **state) {
  (void)state;
  ls_config_t cfg;
  char err[256];
  ls_config_defaults(&cfg);
  assert_int_not_equal(ls_config_set(&cfg, "udp_port", "70000", err, sizeof err), 0);
  assert_non_null(strstr(err, "udp_port"));
  assert_int_not_equal(ls_config_set(&cfg, "udp_port", "-1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "interval", "0", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "chunk_size", "1G", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tag", "has space", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "nonsense", "1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "log_level", "loud", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tracker", "tracker.lan", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tracker", "1.2.3.4:0", err, sizeof err), 0);
  /* multicast, multicast6, peers: only what they can mean. */
  assert_int_equal(ls_config_set(&cfg, "multicast", "239.255.41.70, 239.1.1.1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "multicast", "198.18.0.1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "multicast6", "fd00::1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "multicast6", "ff12::1,ff12::2", err, sizeof err), 0);
  assert_int_equal(ls_config_set(&cfg, "peers", "a.lan, 198.18.0.2:5, [fd00::2]:7", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "peers", "a,b,c,d,e,f,g,h,i", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "peers", "host:0", err, sizeof err), 0);
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/c.conf", dir);
  write_bytes(path, "tag = ok\nno equals sign\n", 24);
  assert_int_not_equal(ls_config_load_file(&cfg, path, err, sizeof err), 0);
  assert_non_null(strstr(err, ":2:"));
  write_bytes(path, "tag = ok\0x", 10);
  assert_int_not_equal(ls_config_load_file(&cfg, path, err, sizeof err), 0);
  rm_tree(dir);
}

/* A value each key takes that is not its default; NULL if the test lacks one. */
static const char *sample(const ls_config_key_t *k, char *buf, size_t len) {
  static const char *strings[][2] = {{"tag", "kitchen"},           {"broadcast", "127.255.255.255"},
                                     {"tracker", "127.0.0.1:9"},   {"listen_addr", "127.0.0.1"},
                                     {"web_addr", "127.0.0.2"},    {"web_token", "abcdefghijklmnop"},
                                     {"multicast", "239.1.2.3"},   {"multicast6", "ff12::1"},
                                     {"peers", "198.18.0.2:9"}};
  switch (k->type) {
    case LS_CFG_UINT: snprintf(buf, len, "%llu", (unsigned long long)k->max); return buf;
    case LS_CFG_SIZE: snprintf(buf, len, "%llu", (unsigned long long)(k->min ? k->min * 2 : 3000)); return buf;
    case LS_CFG_PATH: snprintf(buf, len, "/x/%s", k->name); return buf;
    case LS_CFG_LEVEL: return "debug";
    case LS_CFG_STRING:
      for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (strcmp(strings[i][0], k->name) == 0) return strings[i][1];
  }
  return NULL;
}

/* Every key of the table, from the file and from its flag, reads back as set. */
static void every_key_by_file_and_flag(void **state) {
  (void)state;
  char dir[256], path[300], value[64], flag[64], got[PATH_MAX], err[256];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/lanswarm.conf", dir);
  size_t n;
  const ls_config_key_t *keys = ls_config_keys(&n);
  assert_true(n >= 25);
  for (size_t i = 0; i < n; i++) {
    const ls_config_key_t *k = &keys[i];
    if (strcmp(k->name, "dir") == 0) continue; /* where the file is: below */
    const char *v = sample(k, value, sizeof value);
    if (v == NULL) fail_msg("no sample value for key %s", k->name);
    char line[200];
    int len = snprintf(line, sizeof line, "%s = %s\n", k->name, v);
    write_bytes(path, line, (size_t)len);
    ls_config_t cfg;
    char *by_file[] = {"prog", "--dir", dir, NULL};
    assert_int_equal(parse(&cfg, by_file, err, sizeof err), 3);
    assert_int_equal(ls_config_format(&cfg, k, got, sizeof got), 0);
    assert_string_equal(got, v);
    unlink(path);
    ls_config_flag_name(k, flag + 2, sizeof flag - 2);
    flag[0] = flag[1] = '-';
    char *by_flag[] = {"prog", "--dir", dir, flag, (char *)v, NULL};
    assert_int_equal(parse(&cfg, by_flag, err, sizeof err), 5);
    assert_int_equal(ls_config_format(&cfg, k, got, sizeof got), 0);
    assert_string_equal(got, v);
  }
  rm_tree(dir);
}

/* Numbers out of bounds are refused with the key and the bounds in the reason. */
static void bounds_refused_with_reason(void **state) {
  (void)state;
  size_t n;
  const ls_config_key_t *keys = ls_config_keys(&n);
  ls_config_t cfg;
  ls_config_defaults(&cfg);
  for (size_t i = 0; i < n; i++) {
    const ls_config_key_t *k = &keys[i];
    if (k->type != LS_CFG_UINT && !(k->type == LS_CFG_SIZE && k->max != UINT64_MAX)) continue;
    char value[32], err[256], want[64];
    snprintf(value, sizeof value, "%llu", (unsigned long long)k->max + 1);
    assert_int_equal(ls_config_set(&cfg, k->name, value, err, sizeof err), -EINVAL);
    assert_true(strncmp(err, k->name, strlen(k->name)) == 0);
    if (k->type == LS_CFG_UINT) {
      snprintf(want, sizeof want, "from %llu to %llu", (unsigned long long)k->min, (unsigned long long)k->max);
      assert_non_null(strstr(err, want));
    }
    if (k->min > 0) {
      snprintf(value, sizeof value, "%llu", (unsigned long long)k->min - 1);
      assert_int_equal(ls_config_set(&cfg, k->name, value, err, sizeof err), -EINVAL);
    }
  }
  char err[256];
  /* The limits a user could set to nothing: 0 is refused for each. */
  const char *no_zero[] = {"max_conns", "max_conns_per_ip", "idle_timeout", "stall_timeout", "interval", "rescan"};
  for (size_t i = 0; i < sizeof no_zero / sizeof no_zero[0]; i++) {
    if (ls_config_set(&cfg, no_zero[i], "0", err, sizeof err) != -EINVAL) fail_msg("%s = 0 accepted", no_zero[i]);
    assert_int_equal(ls_config_set(&cfg, no_zero[i], "1", err, sizeof err), 0);
  }
  assert_int_equal(ls_config_set(&cfg, "chunk_size", "17M", err, sizeof err), -EINVAL);
  assert_int_equal(ls_config_set(&cfg, "chunk_size", "512", err, sizeof err), -EINVAL);
  assert_int_equal(ls_config_set(&cfg, "web_token", "short", err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "web_token: 16 to 128"));
}

static int help_offers(const char *help, const char *flag) {
  char a[80], b[80];
  snprintf(a, sizeof a, "  --%s ", flag);
  snprintf(b, sizeof b, "  --%s,", flag);
  return strstr(help, a) != NULL || strstr(help, b) != NULL;
}

/* The --help of a program that reads these keys; the caller frees it. */
static char *help_text(unsigned reads) {
  ls_config_program_t pr = prog;
  pr.reads = reads;
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  ls_config_help(&pr, out);
  fclose(out);
  return text;
}

/* --help shows a program the keys it reads, and only those. */
static void help_lists_only_the_program_keys(void **state) {
  (void)state;
  unsigned programs[] = {LS_PROG_ANNOUNCER, LS_PROG_LISTENER, LS_PROG_SERVER, LS_PROG_DOWNLOADER,
                         LS_PROG_TRACKER,   LS_PROG_CLIENT,   LS_PROG_WEB};
  size_t n;
  const ls_config_key_t *keys = ls_config_keys(&n);
  for (size_t p = 0; p < sizeof programs / sizeof programs[0]; p++) {
    char *text = help_text(programs[p]);
    assert_non_null(strstr(text, "Usage: lanswarm-test [OPTIONS]"));
    assert_true(strstr(text, "--config FILE") != NULL && help_offers(text, "version"));
    for (size_t i = 0; i < n; i++) {
      char flag[64];
      ls_config_flag_name(&keys[i], flag, sizeof flag);
      if (help_offers(text, flag) != ((keys[i].programs & programs[p]) != 0))
        fail_msg("program bit %u: --%s shown=%d", programs[p], flag, help_offers(text, flag));
    }
    free(text);
  }
  char *text = help_text(LS_PROG_ANNOUNCER);
  assert_null(strstr(text, "--web-token"));
  assert_non_null(strstr(text, "--udp-port N"));
  free(text);
}

/* Old flags stay as aliases; --help and --version are answers, not output. */
static void aliases_help_version_and_errors(void **state) {
  (void)state;
  ls_config_t cfg;
  char err[256];
  char *port[] = {"prog", "--dir", "/nonexistent", "--port", "4242", NULL};
  assert_int_equal(parse(&cfg, port, err, sizeof err), 5);
  assert_int_equal(cfg.tcp_port, 4242);
  char *tcp[] = {"prog", "--dir", "/nonexistent", "--tcp-port=4343", NULL};
  assert_int_equal(parse(&cfg, tcp, err, sizeof err), 4);
  assert_int_equal(cfg.tcp_port, 4343);
  char *bad_alias[] = {"prog", "--dir", "/nonexistent", "--port", "70000", NULL};
  assert_int_equal(parse(&cfg, bad_alias, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "--port: tcp_port: expected a whole number from 0 to 65535"));
  char *help[] = {"prog", "--udp-port", "1", "--help", NULL};
  assert_int_equal(parse(&cfg, help, err, sizeof err), LS_CONFIG_HELP);
  char *version[] = {"prog", "--version", NULL};
  assert_int_equal(parse(&cfg, version, err, sizeof err), LS_CONFIG_VERSION);
  assert_true(strlen(ls_version()) > 0);
  char *unknown[] = {"prog", "--dir", "/nonexistent", "--no-such-flag", NULL};
  assert_int_equal(parse(&cfg, unknown, err, sizeof err), -EINVAL);
  assert_string_equal(err, "unknown option '--no-such-flag' (try --help)");
  char *missing[] = {"prog", "--dir", "/nonexistent", "--interval", NULL};
  assert_int_equal(parse(&cfg, missing, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "'--interval' needs a value"));
  char *no_file[] = {"prog", "--config", "/nonexistent/lanswarm.conf", NULL};
  assert_int_equal(parse(&cfg, no_file, err, sizeof err), -ENOENT);
  assert_non_null(strstr(err, "/nonexistent/lanswarm.conf"));
}

/* Defaults come from the table, through the same parser as the file. */
/* `tracker` is a list of up to LS_MAX_TRACKERS, parsed strictly. */
static void tracker_lists(void **state) {
  (void)state;
  char addrs[LS_MAX_TRACKERS][LS_TRACKER_ADDR_LEN];
  size_t n = 99;
  const char *why;
  assert_int_equal(ls_config_tracker_list("", addrs, &n, &why), 0);
  assert_int_equal(n, 0);
  assert_int_equal(ls_config_tracker_list("127.0.0.1:9", addrs, &n, &why), 0);
  assert_int_equal(n, 1);
  assert_string_equal(addrs[0], "127.0.0.1:9");
  assert_int_equal(ls_config_tracker_list(" 10.0.0.1:41772 ,10.0.0.2:1,  192.168.1.20:65535 ", addrs, &n, &why), 0);
  assert_int_equal(n, 3);
  assert_string_equal(addrs[0], "10.0.0.1:41772");
  assert_string_equal(addrs[1], "10.0.0.2:1");
  assert_string_equal(addrs[2], "192.168.1.20:65535");
  const char *eight = "1.0.0.1:1,1.0.0.2:1,1.0.0.3:1,1.0.0.4:1,1.0.0.5:1,1.0.0.6:1,1.0.0.7:1,1.0.0.8:1";
  assert_int_equal(ls_config_tracker_list(eight, addrs, &n, &why), 0);
  assert_int_equal(n, 8);
  char nine[256];
  snprintf(nine, sizeof nine, "%s,1.0.0.9:1", eight);
  assert_int_equal(ls_config_tracker_list(nine, addrs, &n, &why), -EINVAL);
  assert_non_null(strstr(why, "at most 8"));
  const char *bad[] = {"1.2.3.4:1,", ",1.2.3.4:1", "1.2.3.4:1,,5.6.7.8:1", "1.2.3.4:1 5.6.7.8:2", "tracker.lan:1",
                       "1.2.3.4", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:1;5.6.7.8:1", "1.2.3.4:1,1.2.3.4:1", " "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ls_config_tracker_list(bad[i], addrs, &n, &why) == 0) fail_msg("accepted: '%s'", bad[i]);
  /* Through the key: one line naming it. */
  ls_config_t cfg;
  char err[256];
  ls_config_defaults(&cfg);
  assert_int_equal(ls_config_set(&cfg, "tracker", "127.0.0.1:9, 127.0.0.2:9", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tracker", nine, err, sizeof err), 0);
  assert_true(strncmp(err, "tracker: ", 9) == 0);
  assert_null(strchr(err, '\n'));
}

static void defaults_from_the_table(void **state) {
  (void)state;
  ls_config_t cfg;
  ls_config_defaults(&cfg);
  size_t n;
  const ls_config_key_t *keys = ls_config_keys(&n);
  for (size_t i = 0; i < n; i++) {
    char got[PATH_MAX], want[64];
    if (keys[i].def == NULL) continue;
    assert_int_equal(ls_config_format(&cfg, &keys[i], got, sizeof got), 0);
    uint64_t v;
    if (keys[i].type == LS_CFG_SIZE && ls_parse_size(keys[i].def, &v) == 0) {
      snprintf(want, sizeof want, "%llu", (unsigned long long)v);
      assert_string_equal(got, want);
    } else {
      assert_string_equal(got, keys[i].def);
    }
  }
  assert_int_equal(cfg.udp_port, LS_DEFAULT_UDP_PORT);
  assert_int_equal(cfg.tcp_port, LS_DEFAULT_TCP_PORT);
  assert_int_equal(cfg.web_port, LS_DEFAULT_WEB_PORT);
  assert_int_equal(cfg.chunk_size, 1u << 20);
  assert_int_equal(cfg.log_level, LS_LOG_INFO);
  assert_true(cfg.tag[0] != '\0');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(file_then_flags),
      cmocka_unit_test(bad_values),
      cmocka_unit_test(every_key_by_file_and_flag),
      cmocka_unit_test(bounds_refused_with_reason),
      cmocka_unit_test(help_lists_only_the_program_keys),
      cmocka_unit_test(aliases_help_version_and_errors),
      cmocka_unit_test(defaults_from_the_table),
      cmocka_unit_test(tracker_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
