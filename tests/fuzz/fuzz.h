/* fuzz.h - what the libFuzzer targets share: the input as a file.
 *
 * The readers under test take paths (they check claimed sizes against the
 * file), so each input is written to a file of this process's own in
 * $TMPDIR (default /tmp) and read back through the library.  Warnings are
 * swallowed; errors are the expected outcome for most inputs.
 */
#ifndef CAFFEOPT_FUZZ_H
#define CAFFEOPT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Write data to a per-process file named after tag (e.g. "a.prototxt") and
 * return its path (a static buffer per tag slot 0..3). */
static inline const char *
fuzz_file(int slot, const char *tag, const uint8_t *data, size_t size)
{
	static char path[4][512];
	const char *dir = getenv("TMPDIR");
	FILE *f;

	snprintf(path[slot], sizeof path[slot], "%s/caffeopt-fuzz-%ld-%s",
	         dir && *dir ? dir : "/tmp", (long)getpid(), tag);
	f = fopen(path[slot], "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	return path[slot];
}

static inline void
fuzz_quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

#endif
