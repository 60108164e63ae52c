/* fuzz_meanfile.c - mean files: .npy and .binaryproto (BlobProto) as
 * per-channel means. */
#include "fuzz.h"
#include "meanfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meanfile mf;
	caffeopt_error err;
	const char *path = fuzz_file(0, "mean.binaryproto", data, size);

	if (meanfile_read(&mf, path, &err) == 0)
		meanfile_free(&mf);
	unlink(path);
	return 0;
}
