#include "progress.h"

#include "ls_util.h"

void progress_draw(void *ud, const fetch_progress_t *p) {
  progress_t *pg = ud;
  if (p->total_bytes == 0 && !p->finished) return;
  double frac = p->total_bytes ? (double)p->done_bytes / (double)p->total_bytes : 1.0;
  char done[32], total[32], rate[32], eta[32] = "--:--";
  ls_format_bytes((double)p->done_bytes, done, sizeof done);
  ls_format_bytes((double)p->total_bytes, total, sizeof total);
  ls_format_bytes(p->rate, rate, sizeof rate);
  if (p->rate > 1 && p->total_bytes > p->done_bytes) {
    unsigned long s = (unsigned long)((double)(p->total_bytes - p->done_bytes) / p->rate);
    snprintf(eta, sizeof eta, "%lu:%02lu", s / 60, s % 60);
  } else if (p->finished || p->done_bytes == p->total_bytes) {
    snprintf(eta, sizeof eta, "0:00");
  }
  char bar[26];
  int filled = (int)(frac * 24);
  for (int i = 0; i < 24; i++) bar[i] = i < filled ? '#' : '.';
  bar[24] = '\0';
  fprintf(pg->out, "\r%3d%% [%s] %s / %s  %s/s  ETA %s  peers %u\033[K", (int)(frac * 100), bar, done, total, rate, eta,
          p->peers_active);
  fflush(pg->out);
  pg->drawn = 1;
}

void progress_end(progress_t *pg) {
  if (pg->drawn) fputc('\n', pg->out);
  pg->drawn = 0;
}
