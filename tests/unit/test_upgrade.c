/* test_upgrade.c - what upgrade_net (src/upgrade.c) does, one behaviour
 * per test.
 *
 * Fixtures are in tests/data/upgrade: NAME.prototxt is a net,
 * NAME.expected.prototxt the net Caffe's upgrade makes of it, and regen.sh
 * encodes both to .bin with Google's protoc.  A case unpacks NAME.bin,
 * upgrades it and compares its protobuf-c encoding byte for byte with
 * protoc's encoding of the expected net, so neither side goes through our
 * own text parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upgrade.h"

#ifndef TEST_DATA_DIR
#error "build with -DTEST_DATA_DIR=\"<repo>/tests/data\""
#endif

#define FIXTURE_DIR TEST_DATA_DIR "/upgrade/"

struct warnings {
	int n;
	char last[2048];
};

static void
record_warning(void *ctx, const char *msg)
{
	struct warnings *w = ctx;

	w->n++;
	snprintf(w->last, sizeof w->last, "%s", msg);
}

/* The bytes of FIXTURE_DIR/name.bin. */
static uint8_t *
read_fixture(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	uint8_t *buf;
	long n;

	snprintf(path, sizeof path, FIXTURE_DIR "%s.bin", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run tests/data/upgrade/regen.sh)", path);
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

static Caffe__NetParameter *
load(const char *name)
{
	size_t len;
	uint8_t *buf = read_fixture(name, &len);
	Caffe__NetParameter *net = caffe__net_parameter__unpack(NULL, len, buf);

	free(buf);
	if (!net)
		fail_msg("%s.bin does not decode as a NetParameter", name);
	return net;
}

static uint8_t *
pack(const Caffe__NetParameter *net, size_t *len)
{
	uint8_t *buf;

	*len = caffe__net_parameter__get_packed_size(net);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(caffe__net_parameter__pack(net, buf), *len);
	return buf;
}

/* net encodes exactly as protoc encodes fixture `expected`.  On a
 * mismatch the encoding is left in /tmp for `protoc --decode`. */
static void
assert_net_is(const Caffe__NetParameter *net, const char *expected)
{
	size_t got_len, want_len, i;
	uint8_t *got = pack(net, &got_len), *want = read_fixture(expected, &want_len);

	if (got_len != want_len || memcmp(got, want, got_len) != 0) {
		char path[1024];
		FILE *f;

		for (i = 0; i < got_len && i < want_len && got[i] == want[i]; i++)
			;
		snprintf(path, sizeof path, "/tmp/test_upgrade.%s.got.bin", expected);
		f = fopen(path, "wb");
		if (f) {
			fwrite(got, 1, got_len, f);
			fclose(f);
		}
		print_error("upgraded net differs from %s.bin at byte %zu (%zu vs %zu bytes); "
		            "see protoc --decode=caffe.NetParameter < %s\n",
		            expected, i, got_len, want_len, path);
	}
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, got_len);
	free(got);
	free(want);
}

/* Upgrading fixture `name` returns 1, warns once and gives `expected`. */
static void
check_upgrade(const char *name, const char *expected, const char *warning)
{
	Caffe__NetParameter *net = load(name);
	struct warnings w = {0};
	caffeopt_error err = {0};

	assert_int_equal(upgrade_net(net, name, record_warning, &w, &err), 1);
	assert_net_is(net, expected);
	assert_int_equal(w.n, 1);
	if (warning)
		assert_string_equal(w.last, warning);
	caffe__net_parameter__free_unpacked(net, NULL);
}

/* upgrade_net rejects net (owned) with an error naming path and containing
 * `what`, leaves it unchanged and warns nothing. */
static void
check_rejected(Caffe__NetParameter *net, const char *path, const char *what)
{
	struct warnings w = {0};
	caffeopt_error err = {0};
	size_t before_len, after_len;
	uint8_t *before = pack(net, &before_len), *after;

	assert_int_equal(upgrade_net(net, path, record_warning, &w, &err), -1);
	if (!strstr(err.msg, what))
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, what);
	assert_string_equal(err.file, path);
	assert_int_equal(w.n, 0);
	after = pack(net, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(before);
	free(after);
	caffe__net_parameter__free_unpacked(net, NULL);
}

static uint8_t *
heap_bytes(const char *s, size_t n)
{
	uint8_t *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static Caffe__V1LayerParameter *
v1_layer_named(Caffe__NetParameter *net, const char *name)
{
	size_t i;

	for (i = 0; i < net->n_layers; i++)
		if (net->layers[i]->name && strcmp(net->layers[i]->name, name) == 0)
			return net->layers[i];
	fail_msg("no V1 layer '%s'", name);
	return NULL;
}

static Caffe__V0LayerParameter *
v0_layer_named(Caffe__NetParameter *net, const char *name)
{
	size_t i;

	for (i = 0; i < net->n_layers; i++)
		if (net->layers[i]->layer && strcmp(net->layers[i]->layer->name, name) == 0)
			return net->layers[i]->layer;
	fail_msg("no V0 layer '%s'", name);
	return NULL;
}

/* ---- V1 ---- */

static void
v1_layers_become_v2_layers(void **state)
{
	(void)state;
	check_upgrade("v1_lenet", "v1_lenet.expected", NULL);
}

static void
v1_upgrade_warns_once_with_the_layer_count(void **state)
{
	(void)state;
	check_upgrade("v1_lenet", "v1_lenet.expected", "v1_lenet: upgraded from V1 layers (11 layers)");
}

static void
v1_types_become_caffe_type_strings(void **state)
{
	(void)state;
	check_upgrade("v1_types", "v1_types.expected", NULL);
}

static void
v1_param_names_share_modes_blobs_lr_and_weight_decay_become_param_specs(void **state)
{
	(void)state;
	check_upgrade("v1_param_specs", "v1_param_specs.expected", NULL);
}

static void
v1_data_layer_transformation_fields_move_to_transform_param(void **state)
{
	(void)state;
	check_upgrade("v1_data_transform", "v1_data_transform.expected", NULL);
}

static void
v1_caffemodel_blobs_move_into_v2_layers(void **state)
{
	(void)state;
	check_upgrade("v1_caffemodel", "v1_caffemodel.expected", NULL);
}

/* Text our parser keeps for unknown names travels with its layer; an
 * unknown entry numbered like a LayerParameter field would be misread
 * there and is dropped. */
static void
v1_unknown_fields_move_with_their_layer_unless_their_number_is_taken(void **state)
{
	Caffe__NetParameter *net = load("v1_lenet");
	Caffe__V1LayerParameter *l = v1_layer_named(net, "relu1");
	ProtobufCMessageUnknownField *u = calloc(2, sizeof *u);
	caffeopt_error err = {0};
	size_t i;

	(void)state;
	assert_non_null(u);
	u[0].tag = 19000;
	u[0].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	u[0].len = 3;
	u[0].data = heap_bytes("abc", 3);
	u[1].tag = 6;  /* LayerParameter.param */
	u[1].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	u[1].len = 3;
	u[1].data = heap_bytes("xyz", 3);
	l->base.n_unknown_fields = 2;
	l->base.unknown_fields = u;

	assert_int_equal(upgrade_net(net, "v1_lenet", NULL, NULL, &err), 1);
	for (i = 0; i < net->n_layer; i++)
		if (strcmp(net->layer[i]->name, "relu1") == 0)
			break;
	assert_true(i < net->n_layer);
	assert_int_equal(net->layer[i]->base.n_unknown_fields, 1);
	assert_int_equal(net->layer[i]->base.unknown_fields[0].tag, 19000);
	assert_memory_equal(net->layer[i]->base.unknown_fields[0].data, "abc", 3);
	caffe__net_parameter__free_unpacked(net, NULL);
}

/* ---- V0 ---- */

static void
v0_padding_layers_fold_into_the_pad_of_conv_and_pool(void **state)
{
	(void)state;
	check_upgrade("v0_padding", "v0_padding.expected",
	              "v0_padding: upgraded from V0 layers (7 layers, 2 padding layers folded)");
}

static void
v0_fields_move_into_typed_parameter_messages(void **state)
{
	(void)state;
	check_upgrade("v0_data", "v0_data.expected", "v0_data: upgraded from V0 layers (7 layers)");
}

static void
v0_caffemodel_blobs_move_into_v2_layers(void **state)
{
	(void)state;
	check_upgrade("v0_caffemodel", "v0_caffemodel.expected", NULL);
}

/* ---- BatchNorm ---- */

static void
batchnorm_specs_that_would_train_statistics_get_lr_and_decay_0(void **state)
{
	(void)state;
	check_upgrade("batchnorm", "batchnorm.expected",
	              "batchnorm: upgraded BatchNorm param specs to lr_mult 0, decay_mult 0 (2 layers)");
}

/* ---- current nets ---- */

static void
a_current_net_is_left_as_it_is(void **state)
{
	static const char *const current[] = {
		"v1_lenet.expected", "batchnorm.expected", "v0_padding.expected", "v1_types.expected",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof current / sizeof current[0]; i++) {
		Caffe__NetParameter *net = load(current[i]);
		struct warnings w = {0};
		caffeopt_error err = {0};

		assert_int_equal(upgrade_net(net, current[i], record_warning, &w, &err), 0);
		assert_int_equal(w.n, 0);
		assert_net_is(net, current[i]);
		caffe__net_parameter__free_unpacked(net, NULL);
	}
}

static void
an_upgraded_net_needs_no_second_upgrade(void **state)
{
	Caffe__NetParameter *net = load("v0_padding");
	caffeopt_error err = {0};

	(void)state;
	assert_int_equal(upgrade_net(net, "v0_padding", NULL, NULL, &err), 1);
	assert_int_equal(upgrade_net(net, "v0_padding", NULL, NULL, &err), 0);
	assert_net_is(net, "v0_padding.expected");
	caffe__net_parameter__free_unpacked(net, NULL);
}

static void
path_and_warn_may_be_null(void **state)
{
	Caffe__NetParameter *net = load("v1_lenet");

	(void)state;
	assert_int_equal(upgrade_net(net, NULL, NULL, NULL, NULL), 1);
	assert_net_is(net, "v1_lenet.expected");
	caffe__net_parameter__free_unpacked(net, NULL);
}

/* ---- errors: the net is left unchanged ---- */

static void
a_net_with_both_layer_and_layers_is_rejected(void **state)
{
	(void)state;
	check_rejected(load("err_layer_and_layers"), "err_layer_and_layers",
	               "both 'layer' (1) and legacy 'layers' (1)");
}

static void
an_unknown_v1_type_is_rejected(void **state)
{
	Caffe__NetParameter *net = load("v1_lenet");

	(void)state;
	v1_layer_named(net, "relu1")->type = 99;
	check_rejected(net, "v1_lenet", "V1 layer 'relu1' (#8): unknown type 99");
}

static void
an_unknown_blob_share_mode_is_rejected(void **state)
{
	Caffe__NetParameter *net = load("v1_param_specs");

	(void)state;
	v1_layer_named(net, "fc_b")->blob_share_mode[1] = 5;
	check_rejected(net, "v1_param_specs", "V1 layer 'fc_b' (#2): unknown blob_share_mode 5");
}

static void
an_unknown_v0_type_is_rejected(void **state)
{
	(void)state;
	check_rejected(load("err_v0_unknown_type"), "err_v0_unknown_type",
	               "V0 layer 'magic' (#1): unknown type 'magic'");
}

static void
a_v0_field_with_no_place_in_its_layer_type_is_rejected(void **state)
{
	(void)state;
	check_rejected(load("err_v0_misplaced_field"), "err_v0_misplaced_field",
	               "V0 layer 'relu' (#1): field 'num_output' has no place in a 'relu' layer");
}

static void
an_unknown_v0_pool_method_is_rejected(void **state)
{
	Caffe__NetParameter *net = load("v0_padding");

	(void)state;
	v0_layer_named(net, "pool1")->pool = 7;
	check_rejected(net, "v0_padding", "V0 layer 'pool1' (#5): unknown pool value 7");
}

static void
a_padding_layer_feeding_other_than_conv_or_pool_is_rejected(void **state)
{
	(void)state;
	check_rejected(load("err_v0_padding_into_relu"), "err_v0_padding_into_relu",
	               "padding layer 'pad' feeds 'relu', a 'relu' layer");
}

static void
a_v0_bottom_nothing_produces_is_rejected(void **state)
{
	(void)state;
	check_rejected(load("err_v0_unknown_bottom"), "err_v0_unknown_bottom",
	               "bottom 'nowhere' is neither a net input nor a top of an earlier layer");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v1_layers_become_v2_layers),
		cmocka_unit_test(v1_upgrade_warns_once_with_the_layer_count),
		cmocka_unit_test(v1_types_become_caffe_type_strings),
		cmocka_unit_test(v1_param_names_share_modes_blobs_lr_and_weight_decay_become_param_specs),
		cmocka_unit_test(v1_data_layer_transformation_fields_move_to_transform_param),
		cmocka_unit_test(v1_caffemodel_blobs_move_into_v2_layers),
		cmocka_unit_test(v1_unknown_fields_move_with_their_layer_unless_their_number_is_taken),
		cmocka_unit_test(v0_padding_layers_fold_into_the_pad_of_conv_and_pool),
		cmocka_unit_test(v0_fields_move_into_typed_parameter_messages),
		cmocka_unit_test(v0_caffemodel_blobs_move_into_v2_layers),
		cmocka_unit_test(batchnorm_specs_that_would_train_statistics_get_lr_and_decay_0),
		cmocka_unit_test(a_current_net_is_left_as_it_is),
		cmocka_unit_test(an_upgraded_net_needs_no_second_upgrade),
		cmocka_unit_test(path_and_warn_may_be_null),
		cmocka_unit_test(a_net_with_both_layer_and_layers_is_rejected),
		cmocka_unit_test(an_unknown_v1_type_is_rejected),
		cmocka_unit_test(an_unknown_blob_share_mode_is_rejected),
		cmocka_unit_test(an_unknown_v0_type_is_rejected),
		cmocka_unit_test(a_v0_field_with_no_place_in_its_layer_type_is_rejected),
		cmocka_unit_test(an_unknown_v0_pool_method_is_rejected),
		cmocka_unit_test(a_padding_layer_feeding_other_than_conv_or_pool_is_rejected),
		cmocka_unit_test(a_v0_bottom_nothing_produces_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
