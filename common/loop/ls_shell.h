/* ls_shell: an interactive command shell on standard input (a terminal or a
 * pipe), over ls_lines: a table of commands, the line split into arguments,
 * a prompt on a terminal, `help`, a usage line for anything else, and end of
 * input. Used by the downloader's, the client shell's and the tracker's
 * admin shell. Output goes to stdout, flushed after every line handled. */
#ifndef LS_SHELL_H
#define LS_SHELL_H

#include "ls_lines.h"

#define LS_SHELL_MAX_ARGS 8

typedef struct ls_shell_s ls_shell_t;

/* What a command's handler returns: LS_SHELL_DONE, the shell prompts again;
 * LS_SHELL_LATER, the answer comes later and the handler's owner calls
 * ls_shell_prompt() then. */
enum { LS_SHELL_DONE = 0, LS_SHELL_LATER = 1 };

typedef int (*ls_shell_fn)(ls_shell_t *sh, int argc, char **argv);

typedef struct {
  const char *name;
  const char *synopsis; /* "<host>", or "" */
  const char *help;     /* one line for `help`; NULL: an alias, left out of help and usage */
  int min_args, max_args;
  int rest;             /* the last argument is the rest of the line (a name with spaces) */
  ls_shell_fn run;
} ls_shell_cmd_t;

/* The line that answers ls_shell_ask's question, whole. */
typedef void (*ls_shell_answer_fn)(ls_shell_t *sh, char *line);

struct ls_shell_s {
  ls_lines_t in;
  const ls_shell_cmd_t *cmds;
  size_t ncmds;
  const char *prompt;          /* shown on a terminal only */
  void (*on_end)(ls_shell_t *sh); /* end of input; may be NULL */
  ls_shell_answer_fn answer;   /* set: the next line answers a question */
  int paused;
  void *data;
};

/* Starts reading commands (sh->data is kept). UV_ENOTSUP when stdin is
 * neither a terminal nor a pipe. */
int ls_shell_start(uv_loop_t *loop, ls_shell_t *sh, const ls_shell_cmd_t *cmds, size_t ncmds, const char *prompt,
                   void (*on_end)(ls_shell_t *sh));
/* "TITLE: cmd syn, cmd syn, ..." */
void ls_shell_greet(ls_shell_t *sh, const char *title);
/* "usage: cmd syn | cmd syn | ..." */
void ls_shell_usage(ls_shell_t *sh);
/* The prompt, on a terminal, when the shell is open and not paused. */
void ls_shell_prompt(ls_shell_t *sh);
/* Prints question (no newline) and hands the next line to fn. */
void ls_shell_ask(ls_shell_t *sh, const char *question, ls_shell_answer_fn fn);
/* Runs one line as a command (what each line read goes through). */
void ls_shell_run_line(ls_shell_t *sh, char *line);
/* Stops reading while a command runs (no prompt); resume prompts. */
void ls_shell_pause(ls_shell_t *sh);
void ls_shell_resume(ls_shell_t *sh);
int ls_shell_is_open(const ls_shell_t *sh);
void ls_shell_close(ls_shell_t *sh);

#endif
