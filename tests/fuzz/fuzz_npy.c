/* fuzz_npy.c - .npy arrays: npy_read, and what it reads encodes again. */
#include "fuzz.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npy a;
	caffeopt_error err;
	const char *path = fuzz_file(0, "in.npy", data, size);
	unsigned char *bytes;
	size_t len;

	if (npy_read(&a, path, &err) == 0) {
		bytes = npy_encode(a.data, a.ndim, a.shape, &len, &err);
		if (!bytes && a.count < ((size_t)1 << 28))
			abort();  /* what was read must encode */
		free(bytes);
		npy_free(&a);
	}
	unlink(path);
	return 0;
}
