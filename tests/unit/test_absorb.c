/* test_absorb.c - model_absorb: folded layers follow their absorber. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "absorb.h"

/* The names absorbed into `into`, joined with commas. */
static const char *
list(const caffeopt_model *m, const char *into)
{
	static char buf[256];
	const struct absorbed *a[8];
	size_t n = model_absorbed(m, into, a, 8), k;

	buf[0] = '\0';
	for (k = 0; k < n && k < 8; k++) {
		strcat(buf, k ? "," : "");
		strcat(buf, a[k]->name);
	}
	return buf;
}

static void
test_empty(void **state)
{
	caffeopt_model m = {0};

	(void)state;
	assert_int_equal(model_absorbed(&m, "conv1", NULL, 0), 0);
	absorb_free(m.absorbed);
}

static void
test_fold_and_order(void **state)
{
	caffeopt_model m = {0};
	const struct absorbed *a[1];

	(void)state;
	assert_int_equal(model_absorb(&m, "conv1", "bn1", "BatchNorm"), 0);
	assert_int_equal(model_absorb(&m, "conv1", "scale1", "Scale"), 0);
	assert_int_equal(model_absorb(&m, "conv2", "bn2", "BatchNorm"), 0);
	assert_string_equal(list(&m, "conv1"), "bn1,scale1");
	assert_string_equal(list(&m, "conv2"), "bn2");
	/* max bounds what is written, not what is counted. */
	assert_int_equal(model_absorbed(&m, "conv1", a, 1), 2);
	assert_string_equal(a[0]->type, "BatchNorm");
	absorb_free(m.absorbed);
}

/* A layer that had absorbed others is folded in turn: its list moves. */
static void
test_chain_moves(void **state)
{
	caffeopt_model m = {0};

	(void)state;
	assert_int_equal(model_absorb(&m, "merged", "bn1", "BatchNorm"), 0);
	assert_int_equal(model_absorb(&m, "merged", "scale1", "Scale"), 0);
	assert_int_equal(model_absorb(&m, "conv1", "merged", "Scale"), 0);
	assert_string_equal(list(&m, "merged"), "");
	assert_string_equal(list(&m, "conv1"), "bn1,scale1,merged");
	absorb_free(m.absorbed);
}

/* A new layer that took the name of one it replaced keeps its list. */
static void
test_same_name(void **state)
{
	caffeopt_model m = {0};

	(void)state;
	assert_int_equal(model_absorb(&m, "bn1", "bn1", "BatchNorm"), 0);
	assert_int_equal(model_absorb(&m, "bn1", "scale1", "Scale"), 0);
	assert_string_equal(list(&m, "bn1"), "bn1,scale1");
	absorb_free(m.absorbed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fold_and_order),
		cmocka_unit_test(test_chain_moves),
		cmocka_unit_test(test_same_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
