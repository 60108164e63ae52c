/* cli.c - messages and option parsers shared by the subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_quiet;

void
cli_warn(void *ctx, const char *msg)
{
	(void)ctx;
	if (!cli_quiet)
		fprintf(stderr, "caffeopt: warning: %s\n", msg);
}

int
cli_fail(const caffeopt_error *e)
{
	char buf[2200];

	fprintf(stderr, "caffeopt: %s\n", caffeopt_error_text(e, buf, sizeof buf));
	return 1;
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "caffeopt: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ncaffeopt: try 'caffeopt %s --help'\n", cmd);
	return 2;
}

int
cli_parse_shape(const char *s, long shape[4])
{
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		errno = 0;
		shape[i] = strtol(s, &end, 10);
		if (errno || end == s || shape[i] <= 0 || shape[i] > 1L << 20)
			return -1;
		s = end;
		if (i < 3) {
			if (*s != ',' && *s != 'x')
				return -1;
			s++;
		}
	}
	return *s ? -1 : 0;
}

int
cli_parse_phase(const char *s, int *train)
{
	if (strcmp(s, "test") == 0 || strcmp(s, "TEST") == 0)
		*train = 0;
	else if (strcmp(s, "train") == 0 || strcmp(s, "TRAIN") == 0)
		*train = 1;
	else
		return -1;
	return 0;
}

int
cli_select_passes(const char *cmd, const char *list, int value, int *enabled)
{
	char *copy = strdup(list), *tok, *save = NULL;
	size_t n = caffeopt_pass_count(), i;
	int rc = 0;

	if (!copy)
		return 2;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = caffeopt_pass_index(tok);
		if (strcmp(tok, "all") == 0) {
			for (i = 0; i < n; i++)
				enabled[i] = value;
		} else if (k >= 0) {
			enabled[k] = value;
		} else {
			fprintf(stderr, "caffeopt: %s: unknown pass '%s'; passes:", cmd, tok);
			for (i = 0; i < n; i++)
				fprintf(stderr, " %s", caffeopt_pass_name(i));
			fputc('\n', stderr);
			rc = 2;
			break;
		}
	}
	free(copy);
	return rc;
}
