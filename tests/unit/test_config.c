/* test_config.c - what config_read makes of config.ini files.
 *
 * Each case reads one file of tests/data/config/ and states what must come
 * out: the values, or the error with its line and exact message.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#ifndef TEST_DATA_DIR
#error "build with -DTEST_DATA_DIR=\"/path/to/tests/data\""
#endif

#define DIR TEST_DATA_DIR "/config/"

static struct config cfg;
static caffeopt_error err;

static int
reset(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	memset(&err, 0, sizeof err);
	return 0;
}

static int
release(void **state)
{
	(void)state;
	config_free(&cfg);
	return 0;
}

/* config_read(DIR name) fails at line with exactly msg. */
static void
expect_error(const char *name, int line, const char *msg)
{
	char path[1024];

	snprintf(path, sizeof path, "%s%s", DIR, name);
	assert_int_equal(config_read(&cfg, path, &err), -1);
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, line);
	assert_string_equal(err.msg, msg);
	/* On failure cfg owns nothing. */
	assert_null(cfg.ini_path);
	assert_null(cfg.warnings);
}

static void
read_ok(const char *name)
{
	char path[1024];

	snprintf(path, sizeof path, "%s%s", DIR, name);
	if (config_read(&cfg, path, &err) != 0)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
}

static void
test_cifar10_ini_reads_as_the_original_did(void **state)
{
	(void)state;
	read_ok("cifar10.ini");
	assert_string_equal(cfg.prototxt, DIR "model/train_val.prototxt");
	assert_string_equal(cfg.model, DIR "model/cifar10.caffemodel");
	assert_string_equal(cfg.out_prototxt, DIR "model/opt_train_val.prototxt");
	assert_string_equal(cfg.out_model, DIR "model/opt_cifar10.caffemodel");
	/* "./data/mean.npy " with its trailing blank */
	assert_string_equal(cfg.mean_path, DIR "data/mean.npy");
	/* "merge_bn_scale = yes " with its trailing blank */
	assert_int_equal(cfg.merge_bn_scale, 1);
	assert_int_equal(cfg.merge_input_scale, 1);
	assert_int_equal(cfg.merge_input_mean, 1);
	assert_int_equal(cfg.merge_dropout, 1);
	assert_int_equal(cfg.merge_inplace_memory, 1);
	assert_true(cfg.has_mean_rgb);
	assert_true(cfg.mean_r == 123.0);
	assert_true(cfg.mean_g == 117.0);
	assert_true(cfg.mean_b == 104.0);
	assert_true(cfg.has_input_scale);
	assert_true(cfg.input_scale == 0.017);
	assert_int_equal(cfg.h, 224);
	assert_int_equal(cfg.w, 224);
	assert_int_equal(cfg.c, 3);
	assert_true(cfg.saw_pycaffe);
	assert_int_equal(cfg.nwarnings, 0);
}

static void
test_relative_paths_join_the_ini_folder_absolute_stay(void **state)
{
	(void)state;
	read_ok("relative.ini");
	assert_string_equal(cfg.prototxt, DIR "model/net.prototxt");
	assert_string_equal(cfg.model, DIR "model/net.caffemodel");
	assert_string_equal(cfg.out_prototxt, DIR "../out/opt.prototxt");
	assert_string_equal(cfg.out_model, "/abs/opt.caffemodel");
	/* an empty mean_proto_path means no file */
	assert_null(cfg.mean_path);
}

static void
test_ini_in_the_working_folder_keeps_paths_as_written(void **state)
{
	char *cwd = getcwd(NULL, 0);

	(void)state;
	assert_non_null(cwd);
	assert_int_equal(chdir(DIR), 0);
	assert_int_equal(config_read(&cfg, "relative.ini", &err), 0);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	assert_string_equal(cfg.prototxt, "model/net.prototxt");
	assert_string_equal(cfg.model, "./model/net.caffemodel");
}

static void
test_keys_not_given_stay_unset(void **state)
{
	(void)state;
	read_ok("relative.ini");
	assert_int_equal(cfg.merge_bn_scale, -1);
	assert_int_equal(cfg.merge_input_scale, -1);
	assert_int_equal(cfg.merge_input_mean, -1);
	assert_int_equal(cfg.merge_dropout, -1);
	assert_int_equal(cfg.merge_inplace_memory, -1);
	assert_false(cfg.has_mean_rgb);
	assert_false(cfg.has_input_scale);
	assert_int_equal(cfg.h, 0);
	assert_int_equal(cfg.w, 0);
	assert_int_equal(cfg.c, 0);
	assert_false(cfg.saw_pycaffe);
}

static void
test_booleans_take_configparser_words_in_any_case(void **state)
{
	(void)state;
	read_ok("bool_words.ini");
	assert_int_equal(cfg.merge_bn_scale, 1);        /* TRUE */
	assert_int_equal(cfg.merge_input_scale, 0);     /* off */
	assert_int_equal(cfg.merge_input_mean, 1);      /* 1 */
	assert_int_equal(cfg.merge_dropout, 0);         /* No */
	assert_int_equal(cfg.merge_inplace_memory, 1);  /* On */
}

static void
test_key_names_ignore_case_like_configparser(void **state)
{
	(void)state;
	read_ok("case.ini");
	assert_int_equal(cfg.merge_bn_scale, 0);
	assert_int_equal(cfg.h, 32);
	assert_int_equal(cfg.w, 48);
	assert_int_equal(cfg.c, 1);
	assert_true(cfg.has_mean_rgb);
	assert_true(cfg.mean_r == 1 && cfg.mean_g == 2 && cfg.mean_b == 3);
	assert_int_equal(cfg.nwarnings, 0);
}

static void
test_crlf_line_ends_read_like_lf(void **state)
{
	(void)state;
	read_ok("crlf.ini");
	assert_int_equal(cfg.merge_bn_scale, 1);
	assert_string_equal(cfg.model, DIR "m.caffemodel");
	assert_int_equal(cfg.h, 7);
}

static void
test_semicolon_after_a_blank_starts_a_comment(void **state)
{
	(void)state;
	/* Debian's inih is built with inline ';' comments. */
	read_ok("inline_comment.ini");
	assert_int_equal(cfg.merge_dropout, 1);
	assert_true(cfg.input_scale == 0.017);
}

static void
test_semicolon_right_after_a_value_is_part_of_it(void **state)
{
	(void)state;
	expect_error("semicolon_glued.ini", 2,
	             "input_scale: expected a number, got "
	             "'0.017;not a comment without a blank before it'");
}

static void
test_hash_after_a_value_is_not_a_comment(void **state)
{
	(void)state;
	expect_error("bad_bool_hash_comment.ini", 2,
	             "merge_dropout: expected yes or no, got 'yes # remove "
	             "Dropout' (comments after a value start with ';', not '#')");
}

static void
test_bad_boolean_names_its_line(void **state)
{
	(void)state;
	expect_error("bad_bool.ini", 4,
	             "merge_bn_scale: expected yes or no, got 'maybe'");
}

static void
test_number_must_use_the_whole_value(void **state)
{
	(void)state;
	expect_error("bad_number.ini", 3,
	             "mean_G: expected a number, got '117,0'");
}

static void
test_number_must_be_finite(void **state)
{
	(void)state;
	expect_error("bad_number_inf.ini", 2, "input_scale: expected a finite "
	             "number in double range, got '1e999'");
}

static void
test_nan_is_not_a_number_we_take(void **state)
{
	(void)state;
	expect_error("bad_number_nan.ini", 2, "input_scale: expected a finite "
	             "number in double range, got 'nan'");
}

static void
test_sizes_must_be_positive(void **state)
{
	(void)state;
	expect_error("bad_count_zero.ini", 2,
	             "H: expected a positive whole number, got '0'");
}

static void
test_sizes_must_be_whole(void **state)
{
	(void)state;
	expect_error("bad_count_fraction.ini", 4,
	             "C: expected a positive whole number, got '3.0'");
}

static void
test_empty_model_path_is_an_error(void **state)
{
	(void)state;
	expect_error("empty_path.ini", 2,
	             "original_model_path: expected a path, got ''");
}

static void
test_unknown_keys_and_sections_are_warnings(void **state)
{
	char want[1024];

	(void)state;
	read_ok("unknown_key.ini");
	assert_int_equal(cfg.merge_bn_scale, 1);
	/* keys of [extra] are not read */
	assert_int_equal(cfg.h, 0);
	assert_int_equal(cfg.nwarnings, 2);
	snprintf(want, sizeof want, "%s: unknown key 'merge_batchnorm' ignored",
	         DIR "unknown_key.ini:3");
	assert_string_equal(cfg.warnings[0], want);
	/* at the section's header */
	snprintf(want, sizeof want, "%s: section [extra] ignored: caffeopt "
	         "reads only [DEFAULT]", DIR "unknown_key.ini:4");
	assert_string_equal(cfg.warnings[1], want);
}

static void
test_mean_rgb_go_together(void **state)
{
	(void)state;
	expect_error("mean_partial.ini", 2, "mean_R, mean_G and mean_B go "
	             "together; missing mean_B");
}

static void
test_mean_rgb_error_lists_every_missing_key(void **state)
{
	(void)state;
	expect_error("mean_only_g.ini", 2, "mean_R, mean_G and mean_B go "
	             "together; missing mean_R and mean_B");
}

static void
test_a_key_given_twice_is_an_error(void **state)
{
	(void)state;
	expect_error("duplicate.ini", 4, "h: already set on line 2");
}

static void
test_indented_line_is_refused_not_read_as_a_continuation(void **state)
{
	(void)state;
	expect_error("indented.ini", 3, "line starts with blanks, which inih "
	             "reads as more of the value above; remove the indentation");
}

static void
test_line_without_equals_is_malformed(void **state)
{
	(void)state;
	expect_error("malformed.ini", 3,
	             "expected 'name = value', '[section]' or a comment");
}

static void
test_section_without_bracket_is_malformed(void **state)
{
	(void)state;
	expect_error("bad_section.ini", 1,
	             "expected 'name = value', '[section]' or a comment");
}

static void
test_line_of_198_characters_is_read_whole(void **state)
{
	(void)state;
	read_ok("long_198.ini");
	assert_int_equal((int)strlen(cfg.prototxt),
	                 (int)strlen(DIR) + 198 - 25);
	assert_int_equal(cfg.h, 1);
}

static void
test_line_of_199_characters_is_cut_by_inih(void **state)
{
	(void)state;
	expect_error("long_199.ini", 2, "line longer than 198 characters, which "
	             "Debian's inih cuts (this one has 199; inih reads lines "
	             "through a 200-byte buffer)");
}

static void
test_long_line_is_reported_at_its_own_line(void **state)
{
	(void)state;
	/* inih would count its cut-off tail as a line of its own */
	expect_error("long_250.ini", 3, "line longer than 198 characters, which "
	             "Debian's inih cuts (this one has 250; inih reads lines "
	             "through a 200-byte buffer)");
}

static void
test_long_line_counts_its_carriage_return(void **state)
{
	(void)state;
	expect_error("long_crlf_199.ini", 2, "line longer than 198 characters, "
	             "which Debian's inih cuts (this one has 199, counting its "
	             "carriage return; inih reads lines through a 200-byte "
	             "buffer)");
}

static void
test_long_last_line_without_newline_is_cut_too(void **state)
{
	(void)state;
	expect_error("long_eof_199.ini", 2, "line longer than 198 characters, "
	             "which Debian's inih cuts (this one has 199; inih reads "
	             "lines through a 200-byte buffer)");
}

static void
test_nul_byte_is_refused(void **state)
{
	char path[] = "/tmp/test_config_XXXXXX";
	static const char text[] = "[DEFAULT]\nH = 2\0 24\n";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof text - 1),
	                 (long)(sizeof text - 1));
	close(fd);
	assert_int_equal(config_read(&cfg, path, &err), -1);
	unlink(path);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "NUL byte in line");
}

static void
test_missing_file_says_why(void **state)
{
	(void)state;
	expect_error("no_such.ini", 0, "cannot open: No such file or directory");
}

static void
test_config_free_resets_to_unset(void **state)
{
	(void)state;
	read_ok("cifar10.ini");
	config_free(&cfg);
	assert_null(cfg.prototxt);
	assert_int_equal(cfg.merge_bn_scale, -1);
	assert_int_equal(cfg.nwarnings, 0);
	config_free(&cfg);  /* twice is harmless */
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, reset, release)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(test_cifar10_ini_reads_as_the_original_did),
		CASE(test_relative_paths_join_the_ini_folder_absolute_stay),
		CASE(test_ini_in_the_working_folder_keeps_paths_as_written),
		CASE(test_keys_not_given_stay_unset),
		CASE(test_booleans_take_configparser_words_in_any_case),
		CASE(test_key_names_ignore_case_like_configparser),
		CASE(test_crlf_line_ends_read_like_lf),
		CASE(test_semicolon_after_a_blank_starts_a_comment),
		CASE(test_semicolon_right_after_a_value_is_part_of_it),
		CASE(test_hash_after_a_value_is_not_a_comment),
		CASE(test_bad_boolean_names_its_line),
		CASE(test_number_must_use_the_whole_value),
		CASE(test_number_must_be_finite),
		CASE(test_nan_is_not_a_number_we_take),
		CASE(test_sizes_must_be_positive),
		CASE(test_sizes_must_be_whole),
		CASE(test_empty_model_path_is_an_error),
		CASE(test_unknown_keys_and_sections_are_warnings),
		CASE(test_mean_rgb_go_together),
		CASE(test_mean_rgb_error_lists_every_missing_key),
		CASE(test_a_key_given_twice_is_an_error),
		CASE(test_indented_line_is_refused_not_read_as_a_continuation),
		CASE(test_line_without_equals_is_malformed),
		CASE(test_section_without_bracket_is_malformed),
		CASE(test_line_of_198_characters_is_read_whole),
		CASE(test_line_of_199_characters_is_cut_by_inih),
		CASE(test_long_line_is_reported_at_its_own_line),
		CASE(test_long_line_counts_its_carriage_return),
		CASE(test_long_last_line_without_newline_is_cut_too),
		CASE(test_nul_byte_is_refused),
		CASE(test_missing_file_says_why),
		CASE(test_config_free_resets_to_unset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
