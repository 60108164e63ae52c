/* fileio.h - whole-file reads, mapped reads, large buffers and atomic
 * writes. */
#ifndef CAFFEOPT_FILEIO_H
#define CAFFEOPT_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include "caffeopt/error.h"

/* Read the whole of path into a malloc'd buffer (NUL-terminated, the NUL
 * not counted in *len).  Returns NULL with err naming the file. */
char *file_read(const char *path, size_t *len, caffeopt_error *err);

/* A regular file opened for reading, its bytes mapped read-only. */
struct filemap {
	const unsigned char *p;  /* len bytes, NULL when len is 0 or unmapped */
	size_t len;
	int fd;
	int heap;                /* p was read into malloc'd memory (no mmap) */
};

/* Open and map path.  0, or -1 with err naming the file (the messages of
 * file_read: cannot open, not a regular file). */
int file_map(struct filemap *f, const char *path, caffeopt_error *err);

/* Drop the mapping, keep the descriptor for file_pread. */
void file_unmap(struct filemap *f);

/* Read n bytes at offset off into dst.  0 or -1 with err naming path. */
int file_pread(const struct filemap *f, uint64_t off, void *dst, size_t n,
               const char *path, caffeopt_error *err);

/* Unmap and close. */
void file_close(struct filemap *f);

/* A large, page-aligned, zero-filled buffer for weights, backed by
 * transparent huge pages where the kernel offers them (one fault per 2 MiB
 * instead of per 4 KiB).  NULL when out of memory; n may be 0. */
void *bigbuf_alloc(size_t n);
void bigbuf_free(void *p, size_t n);

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

enum { OUTSTREAM_BUF = 1 << 16 };

/* A staged file written piece by piece: small pieces gather in a buffer,
 * large ones go to the file straight from the caller's memory. */
struct outstream {
	struct outfile *o;
	int fd;
	int errnum;          /* errno of the first failed write, 0 */
	uint64_t written;    /* bytes handed to the kernel */
	uint64_t synced;     /* of them, bytes whose writeback was started */
	unsigned char *buf;  /* OUTSTREAM_BUF bytes */
	size_t used;
};

/* Create the temporary file beside path and fill o and s.  0 or -1 (nothing
 * left behind).  Safe from several threads at once. */
int file_stage_open(struct outfile *o, struct outstream *s, const char *path,
                    caffeopt_error *err);

/* Append n bytes.  Never fails by itself: an error is kept in s and
 * reported by file_stage_close. */
void outstream_write(struct outstream *s, const void *p, size_t n);

/* Whether staged files are made durable before they are renamed into
 * place (the default, 1) or only atomic (0).  Process-wide.  Either way no
 * reader ever sees a partial file at a target path, also when the process
 * is killed; without fsync a crash of the machine (power loss, kernel
 * panic) within the file system's commit interval can leave a target
 * empty or partial.  Without it no writeback is started while writing
 * either: the kernel writes the files back when it sees fit, as `cp`
 * leaves them. */
void file_set_durable(int on);

/* Flush, make durable (fsync, unless file_set_durable(0)) and close.  0,
 * or -1 with the temporary file removed and o's strings freed. */
int file_stage_close(struct outstream *s, caffeopt_error *err);

/* Drop a stream opened with file_stage_open: close and remove it. */
void file_stage_discard(struct outstream *s);

/* Rename every staged file into place, o[n-1] first and o[0] last.
 * Returns 0 or -1. */
int file_commit(struct outfile *o, size_t n, caffeopt_error *err);

/* Remove every staged temporary file and free o's strings. */
void file_abort(struct outfile *o, size_t n);

#endif
