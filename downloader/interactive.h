/* interactive: the downloader's shell, with no NAME on a terminal (ls_shell):
 * fetch NAME, list, quit. A fetch is download_run, whose own loop runs while
 * the shell's waits. */
#ifndef INTERACTIVE_H
#define INTERACTIVE_H

#include "download.h"

/* Runs the shell until quit or end of input; returns the exit status
 * (EXIT_USAGE when standard input is not a terminal). */
int interactive_run(const download_opts_t *o);

#endif
