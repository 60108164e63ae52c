/* fileio.h - whole-file reads and atomic writes. */
#ifndef CAFFEOPT_FILEIO_H
#define CAFFEOPT_FILEIO_H

#include <stddef.h>
#include "caffeopt/error.h"

/* Read the whole of path into a malloc'd buffer (NUL-terminated, the NUL
 * not counted in *len).  Returns NULL with err naming the file. */
char *file_read(const char *path, size_t *len, caffeopt_error *err);

/* A set of output files committed together: each write goes to a
 * temporary file in the target's folder; file_commit renames them all into
 * place, file_abort removes them.  Nothing is visible at a target path until
 * commit. */
struct outfile {
	char *path;  /* final path */
	char *tmp;   /* temporary path, NULL once committed or aborted */
};

/* Write len bytes to a temporary file beside path; fill o.  Returns 0 or -1
 * (nothing left behind on failure). */
int file_stage(struct outfile *o, const char *path, const void *data, size_t len,
               caffeopt_error *err);

/* Rename every staged file into place.  Returns 0 or -1. */
int file_commit(struct outfile *o, size_t n, caffeopt_error *err);

/* Remove every staged temporary file and free o's strings. */
void file_abort(struct outfile *o, size_t n);

#endif
