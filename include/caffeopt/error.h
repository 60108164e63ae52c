/* error.h - where and why a caffeopt library call failed.
 *
 * Every library function that can fail takes a caffeopt_error * (may be
 * NULL) and returns -1 or NULL after filling it.  The library never exits
 * and never prints; the CLI formats the error with caffeopt_error_text.
 */
#ifndef CAFFEOPT_ERROR_H
#define CAFFEOPT_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct caffeopt_error {
	char file[1024];  /* file the error is in; "" when none */
	int line;         /* 1-based line, 0 when unknown */
	int col;          /* 1-based column, 0 when unknown */
	char msg[1024];   /* one line, no trailing newline */
} caffeopt_error;

/* Fill e (when not NULL) and return -1, so callers can
 * `return caffeopt_fail(err, path, line, col, "bad %s", x);`.
 * file may be NULL. */
int caffeopt_fail(caffeopt_error *e, const char *file, int line, int col,
                  const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 5, 6)))
#endif
	;

/* Write "file:line:col: msg" (parts that are unknown are left out) into
 * buf of size n; returns buf. */
char *caffeopt_error_text(const caffeopt_error *e, char *buf, size_t n);

#ifdef __cplusplus
}
#endif

#endif
