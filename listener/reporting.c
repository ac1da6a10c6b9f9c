#include "reporting.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_announce.h"
#include "ls_auth.h"
#include "ls_log.h"
#include "ls_util.h"

static void write_now(reporting_t *r) {
  r->st.updated = ls_unix_now();
  r->st.datagrams = *r->datagrams;
  r->st.rejected = *r->rejected;
  r->st.answers = *r->answers;
  char *text;
  size_t len;
  if (ls_lstatus_encode(&r->st, &text, &len) != 0) return;
  int rc = ls_write_file_atomic(r->path, text, len, 0);
  if (rc != 0) ls_debug("cannot write %s: %s", r->path, uv_strerror(rc));
  free(text);
  r->dirty = 0;
}

static void timer_cb(uv_timer_t *t) {
  reporting_t *r = t->data;
  if (r->dirty) write_now(r);
}

void reporting_init(reporting_t *r, uv_loop_t *loop, const ls_config_t *cfg, const unsigned long *datagrams,
                    const unsigned long *rejected, const unsigned long *answers) {
  memset(r, 0, sizeof *r);
  ls_lstatus_path(cfg->dir, r->path, sizeof r->path);
  r->st.pid = (int64_t)getpid();
  r->st.udp_port = (uint16_t)cfg->udp_port;
  r->datagrams = datagrams;
  r->rejected = rejected;
  r->answers = answers;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
}

void reporting_start(reporting_t *r) {
  char run_dir[PATH_MAX + 32];
  snprintf(run_dir, sizeof run_dir, "%s", r->path);
  char *slash = strrchr(run_dir, '/');
  if (slash != NULL) *slash = '\0';
  ls_mkdir_p(run_dir);
  write_now(r);
  uv_timer_start(&r->timer, timer_cb, REPORTING_MS, REPORTING_MS);
}

void reporting_query(reporting_t *r, const char *tag) {
  r->st.queries++;
  snprintf(r->st.query_tags[r->next_query], LS_TAG_MAX + 1, "%s", tag);
  r->next_query = (r->next_query + 1) % LS_LSTATUS_RECENT;
  if (r->st.nquery_tags < LS_LSTATUS_RECENT) r->st.nquery_tags++;
  r->dirty = 1;
}

/* The tag a datagram claims, sealed or not: unchecked, for a person to read. */
static void claimed_tag(const char *data, size_t len, char *tag, size_t cap) {
  tag[0] = '\0';
  size_t seal = ls_auth_seal_len(data, len);
  data += seal;
  len -= seal;
  ls_announce_t a;
  const char *why;
  if (ls_announce_decode(&a, data, len, &why) != 0) return;
  snprintf(tag, cap, "%s", a.tag);
  ls_announce_free(&a);
}

void reporting_key_failure(reporting_t *r, const char *addr, const char *data, size_t len) {
  r->st.rejected_key++;
  ls_lstatus_source_t s;
  snprintf(s.addr, sizeof s.addr, "%s", addr);
  claimed_tag(data, len, s.tag, sizeof s.tag);
  for (size_t i = 0; i < r->st.nkey_failures; i++)
    if (strcmp(r->st.key_failures[i].addr, s.addr) == 0 && strcmp(r->st.key_failures[i].tag, s.tag) == 0) {
      r->dirty = 1;
      return;
    }
  r->st.key_failures[r->next_key] = s;
  r->next_key = (r->next_key + 1) % LS_LSTATUS_RECENT;
  if (r->st.nkey_failures < LS_LSTATUS_RECENT) r->st.nkey_failures++;
  r->dirty = 1;
}

void reporting_touch(reporting_t *r) {
  r->dirty = 1;
}

void reporting_close(reporting_t *r) {
  if (r->dirty) write_now(r);
  uv_close((uv_handle_t *)&r->timer, NULL);
}
