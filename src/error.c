/* error.c - filling and formatting caffeopt_error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "caffeopt/error.h"

int
caffeopt_fail(caffeopt_error *e, const char *file, int line, int col,
              const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	snprintf(e->file, sizeof e->file, "%s", file ? file : "");
	e->line = line;
	e->col = col;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

char *
caffeopt_error_text(const caffeopt_error *e, char *buf, size_t n)
{
	if (e->file[0] && e->line > 0 && e->col > 0)
		snprintf(buf, n, "%s:%d:%d: %s", e->file, e->line, e->col, e->msg);
	else if (e->file[0] && e->line > 0)
		snprintf(buf, n, "%s:%d: %s", e->file, e->line, e->msg);
	else if (e->file[0])
		snprintf(buf, n, "%s: %s", e->file, e->msg);
	else
		snprintf(buf, n, "%s", e->msg);
	return buf;
}
