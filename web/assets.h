/* assets: the page (web/assets/), embedded at build time by
 * scripts/embed-assets.sh into the generated assets.c. */
#ifndef ASSETS_H
#define ASSETS_H

#include <stddef.h>

typedef struct {
  const char *path;  /* "/app.js" */
  const char *type;  /* Content-Type */
  const unsigned char *data;
  size_t len;
} web_asset_t;

extern const web_asset_t web_assets[];
extern const size_t web_nassets;

#endif
