/* cli.h - what every caffeopt subcommand shares: messages, exit codes and
 * the small option parsers.  Exit codes: 0 ok, 1 error, 2 usage. */
#ifndef CAFFEOPT_CLI_H
#define CAFFEOPT_CLI_H

#include "caffeopt/caffeopt.h"

/* Set by -q: warnings and notes are not printed. */
extern int cli_quiet;

/* caffeopt_warn_fn printing "caffeopt: warning: msg" unless quiet. */
void cli_warn(void *ctx, const char *msg);

/* Print "caffeopt: <error>"; returns 1. */
int cli_fail(const caffeopt_error *e);

/* Print "caffeopt: CMD: <msg>" and a --help hint; returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* "1,3,32,32" (or 1x3x32x32) -> shape; -1 unless four positive integers. */
int cli_parse_shape(const char *s, long shape[4]);

/* "test"/"train" -> *train; -1 otherwise. */
int cli_parse_phase(const char *s, int *train);

/* Set enabled[k] = value for each pass of the comma list ("all": every
 * pass).  0, or 2 after a usage error naming the unknown pass. */
int cli_select_passes(const char *cmd, const char *list, int value, int *enabled);

#endif
