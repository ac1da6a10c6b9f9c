/* progress: the terminal progress bar. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdio.h>

#include "fetch.h"

typedef struct {
  FILE *out;
  int drawn;
} progress_t;

/* fetch_progress_cb: draws one line, rewritten in place. */
void progress_draw(void *ud, const fetch_progress_t *p);
/* Ends the line if one was drawn. */
void progress_end(progress_t *pg);

#endif
