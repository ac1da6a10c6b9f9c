#include "ls_shell.h"

#include <stdio.h>
#include <string.h>

#define SPACES " \t"

static void on_line(ls_lines_t *in, char *line);

int ls_shell_start(uv_loop_t *loop, ls_shell_t *sh, const ls_shell_cmd_t *cmds, size_t ncmds, const char *prompt,
                   void (*on_end)(ls_shell_t *sh)) {
  void *data = sh->data;
  memset(sh, 0, sizeof *sh);
  sh->data = data;
  sh->cmds = cmds;
  sh->ncmds = ncmds;
  sh->prompt = prompt;
  sh->on_end = on_end;
  sh->in.data = sh;
  return ls_lines_start(loop, &sh->in, on_line);
}

/* Each visible command as "name synopsis", joined by sep. */
static void print_commands(const ls_shell_t *sh, const char *sep) {
  const char *before = "";
  for (size_t i = 0; i < sh->ncmds; i++) {
    const ls_shell_cmd_t *c = &sh->cmds[i];
    if (c->help == NULL) continue;
    printf("%s%s%s%s", before, c->name, c->synopsis[0] ? " " : "", c->synopsis);
    before = sep;
  }
  printf("\n");
}

void ls_shell_greet(ls_shell_t *sh, const char *title) {
  printf("%s: ", title);
  print_commands(sh, ", ");
  fflush(stdout);
}

void ls_shell_usage(ls_shell_t *sh) {
  printf("usage: ");
  print_commands(sh, " | ");
}

static void help(const ls_shell_t *sh) {
  for (size_t i = 0; i < sh->ncmds; i++) {
    const ls_shell_cmd_t *c = &sh->cmds[i];
    if (c->help == NULL) continue;
    char head[128];
    snprintf(head, sizeof head, "%s%s%s", c->name, c->synopsis[0] ? " " : "", c->synopsis);
    printf("  %-30s %s\n", head, c->help);
  }
  printf("  %-30s %s\n", "help", "this list");
}

void ls_shell_prompt(ls_shell_t *sh) {
  if (sh->in.open && sh->in.is_tty && !sh->paused && sh->answer == NULL) printf("%s", sh->prompt);
  fflush(stdout);
}

void ls_shell_ask(ls_shell_t *sh, const char *question, ls_shell_answer_fn fn) {
  printf("%s", question);
  fflush(stdout);
  sh->answer = fn;
}

static const ls_shell_cmd_t *find(const ls_shell_t *sh, const char *name) {
  for (size_t i = 0; i < sh->ncmds; i++)
    if (strcmp(sh->cmds[i].name, name) == 0) return &sh->cmds[i];
  return NULL;
}

/* Splits what follows the command into argv; -1 when the count does not
 * fit the command. A `rest` command's last argument is the rest of the line. */
static int split_args(const ls_shell_cmd_t *c, char *p, char **argv) {
  int argc = 0;
  for (;;) {
    p += strspn(p, SPACES);
    if (*p == '\0') break;
    if (argc == c->max_args || argc == LS_SHELL_MAX_ARGS) return -1;
    argv[argc++] = p;
    if (c->rest && argc == c->max_args) break;
    p += strcspn(p, SPACES);
    if (*p != '\0') *p++ = '\0';
  }
  argv[argc] = NULL;
  return argc < c->min_args ? -1 : argc;
}

/* LS_SHELL_DONE or LS_SHELL_LATER, as the command's handler says. */
static int run(ls_shell_t *sh, char *line) {
  char *p = line + strspn(line, SPACES);
  if (*p == '\0') return LS_SHELL_DONE;
  char *name = p;
  p += strcspn(p, SPACES);
  if (*p != '\0') *p++ = '\0';
  const ls_shell_cmd_t *c = find(sh, name);
  char *argv[LS_SHELL_MAX_ARGS + 1];
  int argc = c ? split_args(c, p, argv) : -1;
  if (argc >= 0) return c->run(sh, argc, argv);
  if (c == NULL && strcmp(name, "help") == 0 && p[strspn(p, SPACES)] == '\0') help(sh);
  else ls_shell_usage(sh);
  return LS_SHELL_DONE;
}

void ls_shell_run_line(ls_shell_t *sh, char *line) {
  ls_shell_answer_fn answer = sh->answer;
  sh->answer = NULL;
  if (answer) answer(sh, line);
  else if (run(sh, line) == LS_SHELL_DONE) ls_shell_prompt(sh);
  fflush(stdout);
}

static void on_line(ls_lines_t *in, char *line) {
  ls_shell_t *sh = in->data;
  if (line != NULL) ls_shell_run_line(sh, line);
  else if (sh->on_end) sh->on_end(sh);
}

void ls_shell_pause(ls_shell_t *sh) {
  sh->paused = 1;
  ls_lines_pause(&sh->in);
}

void ls_shell_resume(ls_shell_t *sh) {
  sh->paused = 0;
  ls_lines_resume(&sh->in);
  ls_shell_prompt(sh);
}

int ls_shell_is_open(const ls_shell_t *sh) {
  return sh->in.open;
}

void ls_shell_close(ls_shell_t *sh) {
  ls_lines_close(&sh->in);
}
