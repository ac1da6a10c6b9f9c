#include "ls_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ls_json_has_nul_escape(const char *text, size_t len) {
  for (size_t i = 0; i + 1 < len; i++) {
    if (text[i] != '\\') continue;
    /* A backslash escapes the next character: "\\u0000" is a backslash and text. */
    if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) return 1;
    i++;
  }
  return 0;
}

cJSON *ls_json_parse_object(const char *text, size_t len, size_t max) {
  if (len == 0 || len > max || memchr(text, '\0', len) != NULL || ls_json_has_nul_escape(text, len)) return NULL;
  char *copy = malloc(len + 1);
  if (copy == NULL) return NULL;
  memcpy(copy, text, len);
  copy[len] = '\0';
  cJSON *o = cJSON_ParseWithOpts(copy, NULL, 1);
  free(copy);
  if (!cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *ls_json_add_uint(cJSON *o, const char *key, uint64_t v) {
  /* cJSON prints "%1.15g": every integer below 10^15 as its plain digits. */
  if (v >= 1000000000000000ULL) return cJSON_AddNumberToObject(o, key, (double)v);
  char text[24];
  snprintf(text, sizeof text, "%" PRIu64, v);
  cJSON *it = cJSON_CreateRaw(text);
  if (it == NULL || !cJSON_AddItemToObjectCS(o, key, it)) {
    cJSON_Delete(it);
    return NULL;
  }
  return it;
}

cJSON *ls_json_add_str(cJSON *o, const char *key, const char *text) {
  cJSON *it = cJSON_CreateString(text);
  if (it == NULL || !cJSON_AddItemToObjectCS(o, key, it)) {
    cJSON_Delete(it);
    return NULL;
  }
  return it;
}

int ls_json_uint(const cJSON *o, const char *key, double max, uint64_t *out) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= max) ||
      it->valuedouble != (double)(uint64_t)it->valuedouble)
    return -EINVAL;
  *out = (uint64_t)it->valuedouble;
  return 0;
}

int ls_json_print_line(cJSON *o, char **out, size_t *len) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (s == NULL) return -ENOMEM;
  size_t n = strlen(s);
  char *text = realloc(s, n + 2);
  if (text == NULL) {
    free(s);
    return -ENOMEM;
  }
  memcpy(text + n, "\n", 2);
  *out = text;
  *len = n + 1;
  return 0;
}
