/* config_keys: prints ls_config's table, one key a line, tab-separated:
 *   name flag alias type default min max programs
 * for tests/integration/test_config_docs.py, which holds the docs to it.
 * alias is "-" when none; min and max are "-" for keys without bounds. */
#include <stdio.h>

#include "ls_config.h"

static const char *type_name(ls_config_type_t t) {
  switch (t) {
    case LS_CFG_STRING: return "string";
    case LS_CFG_PATH: return "path";
    case LS_CFG_UINT: return "uint";
    case LS_CFG_SIZE: return "size";
    case LS_CFG_LEVEL: return "level";
  }
  return "?";
}

int main(void) {
  static const char *programs[] = {"announcer", "listener", "server", "downloader", "tracker", "client", "web", "cli"};
  size_t n;
  const ls_config_key_t *keys = ls_config_keys(&n);
  for (size_t i = 0; i < n; i++) {
    const ls_config_key_t *k = &keys[i];
    char flag[64];
    ls_config_flag_name(k, flag, sizeof flag);
    printf("%s\t%s\t%s\t%s\t%s\t", k->name, flag, k->alias ? k->alias : "-", type_name(k->type),
           ls_config_key_default(k));
    if (k->type == LS_CFG_UINT || k->type == LS_CFG_SIZE)
      printf("%llu\t%llu\t", (unsigned long long)k->min, (unsigned long long)k->max);
    else printf("-\t-\t");
    const char *sep = "";
    for (size_t p = 0; p < sizeof programs / sizeof programs[0]; p++)
      if (k->programs & (1u << p)) {
        printf("%s%s", sep, programs[p]);
        sep = ",";
      }
    printf("\n");
  }
  return 0;
}
