#include "progress.h"

#include "ls_util.h"

/* The end of the bar: the size and the time it took, and the mean rate (a
 * tiny file too: "12 B in 0.01 s"). */
static void draw_finished(progress_t *pg, const fetch_progress_t *p, const char *bar) {
  char total[32], rate[32];
  ls_format_bytes((double)p->total_bytes, total, sizeof total);
  double secs = p->seconds > 0.001 ? p->seconds : 0.001;
  ls_format_bytes((double)p->total_bytes / secs, rate, sizeof rate);
  fprintf(pg->out, "\r100%% [%s] %s in %.2f s (%s/s)\033[K", bar, total, p->seconds, rate);
}

/* "from a b +2": the peers in use, by name. */
static void peer_names(const fetch_progress_t *p, char *buf, size_t len) {
  size_t used = (size_t)snprintf(buf, len, "%s", p->npeers ? "  from" : "  waiting for peers");
  for (size_t i = 0; i < p->npeers && i < 3 && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, " %s", p->peer_tags[i]);
  if (p->npeers > 3 && used < len) snprintf(buf + used, len - used, " +%zu", p->npeers - 3);
}

void progress_draw(void *ud, const fetch_progress_t *p) {
  progress_t *pg = ud;
  if (p->total_bytes == 0 && !p->finished) return;
  double frac = p->total_bytes ? (double)p->done_bytes / (double)p->total_bytes : 1.0;
  char bar[26];
  int filled = p->finished ? 24 : (int)(frac * 24);
  for (int i = 0; i < 24; i++) bar[i] = i < filled ? '#' : '.';
  bar[24] = '\0';
  pg->drawn = 1;
  if (p->finished) {
    draw_finished(pg, p, bar);
    fflush(pg->out);
    return;
  }
  char done[32], total[32], rate[32], eta[32] = "--:--", peers[128];
  ls_format_bytes((double)p->done_bytes, done, sizeof done);
  ls_format_bytes((double)p->total_bytes, total, sizeof total);
  if (p->rate > 1) ls_format_bytes(p->rate, rate, sizeof rate);
  else snprintf(rate, sizeof rate, "--");
  if (p->rate > 1 && p->total_bytes > p->done_bytes) {
    unsigned long s = (unsigned long)((double)(p->total_bytes - p->done_bytes) / p->rate);
    snprintf(eta, sizeof eta, "%lu:%02lu", s / 60, s % 60);
  }
  peer_names(p, peers, sizeof peers);
  fprintf(pg->out, "\r%3d%% [%s] %s / %s  %s/s  ETA %s%s\033[K", (int)(frac * 100), bar, done, total, rate, eta,
          peers);
  fflush(pg->out);
}

void progress_end(progress_t *pg) {
  if (pg->drawn) fputc('\n', pg->out);
  pg->drawn = 0;
}
