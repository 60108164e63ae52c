/* fuzz_ini.c - config.ini through inih and config_read. */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	caffeopt_error err;
	const char *path = fuzz_file(0, "config.ini", data, size);

	config_read(&cfg, path, &err);
	config_free(&cfg);
	unlink(path);
	return 0;
}
