/* test_npy.c - npy_read and the writers against files numpy wrote.
 *
 * The fixtures in tests/data/npy/ come from make.py beside them; golden_*
 * are numpy.save's own bytes, which our writers must reproduce exactly.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "npy.h"

#ifndef TEST_DATA_DIR
#error "build with -DTEST_DATA_DIR=\"/path/to/tests/data\""
#endif

#define DIR TEST_DATA_DIR "/npy/"

static struct npy a;
static caffeopt_error err;

static int
reset(void **state)
{
	(void)state;
	memset(&a, 0, sizeof a);
	memset(&err, 0, sizeof err);
	return 0;
}

static int
release(void **state)
{
	(void)state;
	npy_free(&a);
	return 0;
}

static void
read_ok(const char *name)
{
	memset(&a, 0xff, sizeof a);  /* npy_read must overwrite all of it */
	if (npy_read(&a, name, &err) != 0)
		fail_msg("%s: %s", err.file, err.msg);
}

/* a has this shape and exactly these values. */
static void
expect_array(int ndim, const int64_t *shape, const float *want, size_t n)
{
	size_t i;
	int k;

	assert_int_equal(a.ndim, ndim);
	for (k = 0; k < ndim; k++)
		assert_int_equal(a.shape[k], shape[k]);
	assert_int_equal(a.count, n);
	for (i = 0; i < n; i++)
		if (!(a.data[i] == want[i]))
			fail_msg("value %zu: got %.9g, want %.9g", i, a.data[i],
			         want[i]);
}

static void
expect_error(const char *path, const char *msg)
{
	memset(&a, 0xff, sizeof a);
	assert_int_equal(npy_read(&a, path, &err), -1);
	assert_string_equal(err.file, path);
	assert_string_equal(err.msg, msg);
	assert_null(a.data);  /* on failure a owns nothing */
	assert_int_equal(a.count, 0);
}

static const int64_t shape_2x3[] = { 2, 3 };
static const float f4_2x3[] = { -1, -0.5f, 0, 0.5f, 1, 1.5f };

static void
test_reads_f4(void **state)
{
	(void)state;
	read_ok(DIR "f4_2x3.npy");
	expect_array(2, shape_2x3, f4_2x3, 6);
}

static void
test_reads_f8_as_float(void **state)
{
	static const int64_t shape[] = { 3 };
	static const float want[] = { 1.5f, -2.25f, (float)1e-3 };

	(void)state;
	read_ok(DIR "f8_3.npy");
	expect_array(1, shape, want, 3);
}

static void
test_reads_a_mean_image_like_cifar10s(void **state)
{
	static const int64_t shape[] = { 3, 4, 4 };
	float want[48];
	int i;

	(void)state;
	for (i = 0; i < 48; i++)
		want[i] = (float)i + 100.25f;
	read_ok(DIR "mean_f8_3x4x4.npy");
	expect_array(3, shape, want, 48);
}

static void
test_reads_u1(void **state)
{
	static const int64_t shape[] = { 2, 2 };
	static const float want[] = { 0, 255, 7, 128 };

	(void)state;
	read_ok(DIR "u1_2x2.npy");
	expect_array(2, shape, want, 4);
}

static void
test_reads_big_endian_i2(void **state)
{
	static const int64_t shape[] = { 3 };
	static const float want[] = { -2, 300, -32768 };

	(void)state;
	read_ok(DIR "i2_be_3.npy");
	expect_array(1, shape, want, 3);
}

static void
test_reads_big_endian_f4(void **state)
{
	static const int64_t shape[] = { 3 };
	static const float want[] = { 1, -0.5f, 3.25f };

	(void)state;
	read_ok(DIR "f4_be_3.npy");
	expect_array(1, shape, want, 3);
}

static void
test_reads_f2(void **state)
{
	static const int64_t shape[] = { 3 };
	static const float want[] = { 1, -0.5f, 65504 };

	(void)state;
	read_ok(DIR "f2_3.npy");
	expect_array(1, shape, want, 3);
}

static void
test_reads_bool(void **state)
{
	static const int64_t shape[] = { 3 };
	static const float want[] = { 1, 0, 1 };

	(void)state;
	read_ok(DIR "b1_3.npy");
	expect_array(1, shape, want, 3);
}

static void
test_reads_version_2_header(void **state)
{
	(void)state;
	read_ok(DIR "v2_f4_2x3.npy");
	expect_array(2, shape_2x3, f4_2x3, 6);
}

static void
test_reads_version_3_header(void **state)
{
	(void)state;
	read_ok(DIR "v3_f4_2x3.npy");
	expect_array(2, shape_2x3, f4_2x3, 6);
}

static void
test_fortran_order_is_transposed_to_c_order(void **state)
{
	(void)state;
	read_ok(DIR "fortran_f4_2x3.npy");
	expect_array(2, shape_2x3, f4_2x3, 6);
}

static void
test_header_keys_in_any_order_and_spacing_with_python2_longs(void **state)
{
	(void)state;
	read_ok(DIR "header_reordered.npy");
	expect_array(2, shape_2x3, f4_2x3, 6);
}

static void
test_scalar_has_no_dimensions_and_one_value(void **state)
{
	static const float want[] = { 3.5f };

	(void)state;
	read_ok(DIR "scalar_f4.npy");
	expect_array(0, NULL, want, 1);
}

static void
test_empty_array_has_no_data(void **state)
{
	(void)state;
	read_ok(DIR "empty_f4.npy");
	assert_int_equal(a.ndim, 1);
	assert_int_equal(a.shape[0], 0);
	assert_int_equal(a.count, 0);
	assert_null(a.data);
}

static void
test_complex_dtype_is_refused(void **state)
{
	(void)state;
	expect_error(DIR "c8_2.npy", "dtype '<c8' not supported: caffeopt reads "
	             "bool, integer and float arrays ('<f4', '<f8', '|u1', ...)");
}

static void
test_structured_dtype_is_refused(void **state)
{
	(void)state;
	expect_error(DIR "structured_2.npy", "structured dtype not supported: "
	             "caffeopt reads plain numeric arrays");
}

static void
test_f8_beyond_float_range_is_an_error(void **state)
{
	(void)state;
	expect_error(DIR "f8_too_big.npy",
	             "value 1 of the '<f8' data is beyond float range");
}

static void
test_truncated_data_is_found_before_reading(void **state)
{
	(void)state;
	expect_error(DIR "truncated_f4_2x3.npy", "truncated: shape (2, 3) of "
	             "'<f4' needs 24 bytes of data, the file has 20");
}

static void
test_bytes_after_the_data_are_refused(void **state)
{
	(void)state;
	expect_error(DIR "trailing_f4_2x3.npy", "4 bytes after the data of "
	             "shape (2, 3) of '<f4' (more than one array?)");
}

static void
test_truncated_header(void **state)
{
	(void)state;
	expect_error(DIR "truncated_header.npy", "truncated or corrupt: a header "
	             "of 118 bytes claimed, the file has 40");
}

static void
test_not_an_npy_file(void **state)
{
	(void)state;
	expect_error(DIR "not_npy.npy",
	             "not a .npy file (it does not start with \\x93NUMPY)");
}

static void
test_unknown_format_version(void **state)
{
	(void)state;
	expect_error(DIR "version_9.npy", "unsupported .npy format version 9.0 "
	             "(caffeopt reads 1.0, 2.0, 3.0)");
}

static void
test_missing_file_says_why(void **state)
{
	(void)state;
	expect_error(DIR "no_such.npy", "cannot open: No such file or directory");
}

/* Bytes of a whole file; the caller frees. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* npy_encode, npy_write_file and npy_write all give golden's bytes. */
static void
expect_golden(const char *golden, const float *data, int ndim,
              const int64_t *shape)
{
	char path[] = "/tmp/test_npy_XXXXXX";
	unsigned char *want, *got;
	size_t want_len, got_len;
	FILE *f;
	int fd;

	want = slurp(golden, &want_len);

	got = npy_encode(data, ndim, shape, &got_len, &err);
	assert_non_null(got);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(npy_write_file(f, path, data, ndim, shape, &err), 0);
	fclose(f);
	got = slurp(path, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);

	assert_int_equal(npy_write(path, data, ndim, shape, &err), 0);
	got = slurp(path, &got_len);
	unlink(path);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
	free(want);
}

static void
test_write_2x3_is_numpys_bytes(void **state)
{
	(void)state;
	expect_golden(DIR "golden_2x3.npy", f4_2x3, 2, shape_2x3);
}

static void
test_write_scalar_is_numpys_bytes(void **state)
{
	static const float data[] = { -7.125f };

	(void)state;
	expect_golden(DIR "golden_scalar.npy", data, 0, NULL);
}

static void
test_write_1d_is_numpys_bytes(void **state)
{
	static const int64_t shape[] = { 5 };
	static const float data[] = { 0.1f, 0.2f, 0.3f, 1e-8f, -3e38f };

	(void)state;
	expect_golden(DIR "golden_1d_5.npy", data, 1, shape);
}

static void
test_write_4d_is_numpys_bytes(void **state)
{
	static const int64_t shape[] = { 3, 1, 2, 2 };
	float data[12];
	int i;

	(void)state;
	for (i = 0; i < 12; i++)
		data[i] = (float)i / 7;  /* numpy divides float32 by 7 in float32 */
	expect_golden(DIR "golden_3x1x2x2.npy", data, 4, shape);
}

static void
test_write_pads_for_a_long_first_dimension_like_numpy(void **state)
{
	static const int64_t shape[] = { 12345, 0 };

	(void)state;
	expect_golden(DIR "golden_12345x0.npy", NULL, 2, shape);
}

static void
test_written_file_reads_back(void **state)
{
	char path[] = "/tmp/test_npy_XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(npy_write(path, f4_2x3, 2, shape_2x3, &err), 0);
	read_ok(path);
	unlink(path);
	expect_array(2, shape_2x3, f4_2x3, 6);
}

static void
test_write_refuses_negative_dimension(void **state)
{
	static const int64_t shape[] = { 2, -3 };
	size_t len;

	(void)state;
	assert_null(npy_encode(f4_2x3, 2, shape, &len, &err));
	assert_string_equal(err.msg, "negative dimension -3");
}

static void
test_write_refuses_overflowing_shape(void **state)
{
	static const int64_t shape[] = { INT64_MAX, INT64_MAX };
	size_t len;

	(void)state;
	assert_null(npy_encode(f4_2x3, 2, shape, &len, &err));
	assert_string_equal(err.msg, "shape too large");
}

static void
test_write_refuses_too_many_dimensions(void **state)
{
	static const int64_t shape[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	size_t len;

	(void)state;
	assert_null(npy_encode(f4_2x3, 9, shape, &len, &err));
	assert_string_equal(err.msg, "cannot write 9 dimensions (at most 8)");
}

static void
test_write_to_a_missing_folder_says_why(void **state)
{
	const char *path = DIR "no_such_dir/out.npy";

	(void)state;
	assert_int_equal(npy_write(path, f4_2x3, 2, shape_2x3, &err), -1);
	assert_string_equal(err.file, path);
	assert_string_equal(err.msg, "cannot create: No such file or directory");
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, reset, release)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(test_reads_f4),
		CASE(test_reads_f8_as_float),
		CASE(test_reads_a_mean_image_like_cifar10s),
		CASE(test_reads_u1),
		CASE(test_reads_big_endian_i2),
		CASE(test_reads_big_endian_f4),
		CASE(test_reads_f2),
		CASE(test_reads_bool),
		CASE(test_reads_version_2_header),
		CASE(test_reads_version_3_header),
		CASE(test_fortran_order_is_transposed_to_c_order),
		CASE(test_header_keys_in_any_order_and_spacing_with_python2_longs),
		CASE(test_scalar_has_no_dimensions_and_one_value),
		CASE(test_empty_array_has_no_data),
		CASE(test_complex_dtype_is_refused),
		CASE(test_structured_dtype_is_refused),
		CASE(test_f8_beyond_float_range_is_an_error),
		CASE(test_truncated_data_is_found_before_reading),
		CASE(test_bytes_after_the_data_are_refused),
		CASE(test_truncated_header),
		CASE(test_not_an_npy_file),
		CASE(test_unknown_format_version),
		CASE(test_missing_file_says_why),
		CASE(test_write_2x3_is_numpys_bytes),
		CASE(test_write_scalar_is_numpys_bytes),
		CASE(test_write_1d_is_numpys_bytes),
		CASE(test_write_4d_is_numpys_bytes),
		CASE(test_write_pads_for_a_long_first_dimension_like_numpy),
		CASE(test_written_file_reads_back),
		CASE(test_write_refuses_negative_dimension),
		CASE(test_write_refuses_overflowing_shape),
		CASE(test_write_refuses_too_many_dimensions),
		CASE(test_write_to_a_missing_folder_says_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
