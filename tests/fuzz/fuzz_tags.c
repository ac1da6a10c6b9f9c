/* libFuzzer: tags.txt lines; what parses is formatted and must parse again
 * to the same entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ls_tag_entry_t e;
  if (ls_tags_parse_line((const char *)data, size, &e) == 0) {
    char line[4096];
    int n = ls_tags_format_line(&e, line, sizeof line);
    if (n <= 0) abort();
    ls_tag_entry_t back;
    if (ls_tags_parse_line(line, (size_t)n - 1, &back) != 0) abort();
    if (strcmp(back.name, e.name) != 0 || strcmp(back.addr, e.addr) != 0 || back.size != e.size || back.port != e.port) abort();
    free(back.name);
  }
  free(e.name);
  return 0;
}
