/* ls_json: the checks every strict JSON decoder here starts with (cJSON). */
#ifndef LS_JSON_H
#define LS_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define LS_JSON_INT_MAX 9007199254740992.0 /* 2^53: integers a double holds exactly */

/* 1 if text holds the escape \u0000 (cJSON would decode it into a NUL that
 * cuts a string short: "ok.txt\u0000/../x" would read as "ok.txt"), else 0.
 * Every decoder of network or file input refuses such text whole. */
int ls_json_has_nul_escape(const char *text, size_t len);
/* Parses text (len bytes, at most max, no NUL byte or NUL escape) as one JSON object with
 * nothing but whitespace after it. NULL if it is not; cJSON_Delete it. */
cJSON *ls_json_parse_object(const char *text, size_t len, size_t max);
/* o's key as an integer in [0, max] into *out. 0, or -EINVAL if missing or not one. */
int ls_json_uint(const cJSON *o, const char *key, double max, uint64_t *out);
/* Adds key: v to o, the same text cJSON_AddNumberToObject would print, but
 * without its floating-point print and read-back (a large share of a tracker
 * answer's cost). key must be a string constant: it is not copied. Returns
 * the item, or NULL out of memory. */
cJSON *ls_json_add_uint(cJSON *o, const char *key, uint64_t v);
/* Adds key: "text" to o; key must be a string constant (not copied). */
cJSON *ls_json_add_str(cJSON *o, const char *key, const char *text);

/* o printed unformatted with a newline, malloc'ed into *out (a status
 * file's text); o is deleted. 0 or -ENOMEM. */
int ls_json_print_line(cJSON *o, char **out, size_t *len);

#endif
