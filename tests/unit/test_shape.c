/* test_shape.c - shape_infer and shape_weights follow Caffe's Reshape().
 *
 * Real nets first (ResNet-50, MobileNet v1, the example project's CIFAR-10
 * net as a deploy copy in tests/data/shape/), then one small net per rule.
 * Every expected shape here was also checked against OpenCV DNN, which
 * implements the same rules, by running the nets with random weights
 * shaped by shape_weights.
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

#include "graph.h"
#include "shape.h"

#ifndef TEST_DATA_DIR
#error "build with -DTEST_DATA_DIR=\"/path/to/tests/data\""
#endif
#ifndef EXAMPLE_DIR
#error "build with -DEXAMPLE_DIR=\"/path/to/example-project\""
#endif

static caffeopt_model *m;
static struct graph *g;
static struct shape *s;
static caffeopt_error err;

static int
release(void **state)
{
	(void)state;
	free(s);
	graph_free(g);
	caffeopt_model_free(m);
	s = NULL;
	g = NULL;
	m = NULL;
	memset(&err, 0, sizeof err);
	return 0;
}

/* Load a prototxt (and weights) and infer; 0, or -1 with err. */
static int
load_file(const char *path, const char *weights)
{
	struct caffeopt_load_options o;

	release(NULL);
	memset(&o, 0, sizeof o);
	o.prototxt = path;
	o.caffemodel = weights;
	/* The load itself runs shape_check: geometry Caffe rejects stops it. */
	if (!(m = caffeopt_model_load(&o, &err)))
		return -1;
	if (!(g = graph_build(m, NULL, 0, &err)))
		fail_msg("%s: %s", path, err.msg);
	s = shape_infer(g, &err);
	return s ? 0 : -1;
}

static int
load_text(const char *text)
{
	char path[] = "/tmp/test_shape_XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f;

	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	rc = load_file(path, NULL);
	unlink(path);
	return rc;
}

/* The net in text infers without error. */
static void
infer_ok(const char *text)
{
	if (load_text(text) < 0)
		fail_msg("%s", err.msg);
}

/* The net in text is refused, with a message holding want. */
static void
infer_fails(const char *text, const char *want)
{
	assert_int_equal(load_text(text), -1);
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
}

/* The shape of the last version of blob name, as text ("?" unknown). */
static const char *
shape_of(const char *name)
{
	static char buf[128];
	int v = graph_lookup(g, name, (int)g->nlayer);

	if (v < 0)
		fail_msg("no blob '%s'", name);
	return shape_format(&s[v], buf, sizeof buf);
}

static int
layer_index(const char *name)
{
	size_t i;

	for (i = 0; i < m->nlayers; i++)
		if (strcmp(m->layers[i].p->name, name) == 0)
			return (int)i;
	fail_msg("no layer '%s'", name);
	return -1;
}

/* The weight shapes of layer name, as "64x3x7x7 64" ("?" unknown). */
static const char *
weights_of(const char *name)
{
	static char buf[512];
	struct shape w[8];
	int n = shape_weights(g, s, layer_index(name), w, 8), k;
	size_t at = 0;

	if (n < 0)
		return "unknown blobs";
	buf[0] = 0;
	for (k = 0; k < n; k++) {
		char one[128];
		at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", k ? " " : "",
		                       shape_format(&w[k], one, sizeof one));
	}
	return buf;
}

#define IN4(n, c, h, w)                                                                              \
	"layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: " #n " dim: " #c \
	" dim: " #h " dim: " #w " } } }\n"

/* ---- Real nets ---- */

static void
resnet50_pools_with_caffe_ceil_rule(void **state)
{
	(void)state;
	if (load_file(TEST_DATA_DIR "/arch/resnet50_deploy.prototxt", NULL) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(shape_of("data"), "1x3x224x224");
	assert_string_equal(shape_of("conv1"), "1x64x112x112");
	/* (112 - 3) / 2 rounded up, + 1: floor would give 55. */
	assert_string_equal(shape_of("pool1"), "1x64x56x56");
	assert_string_equal(shape_of("res2a"), "1x256x56x56");
	assert_string_equal(shape_of("res5c"), "1x2048x7x7");
	assert_string_equal(shape_of("pool5"), "1x2048x1x1");  /* fc1000's input */
	assert_string_equal(shape_of("fc1000"), "1x1000");
	assert_string_equal(shape_of("prob"), "1x1000");
	assert_string_equal(weights_of("conv1"), "64x3x7x7 64");
	assert_string_equal(weights_of("bn_conv1"), "64 64 1");
	assert_string_equal(weights_of("scale_conv1"), "64 64");
	assert_string_equal(weights_of("res2a_branch2b"), "64x64x3x3");
	assert_string_equal(weights_of("fc1000"), "1000x2048 1000");
}

static void
mobilenet_v1_has_grouped_weights(void **state)
{
	(void)state;
	if (load_file(TEST_DATA_DIR "/arch/mobilenet_v1_deploy.prototxt", NULL) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(shape_of("conv1"), "1x32x112x112");
	assert_string_equal(weights_of("conv2_1/dw"), "32x1x3x3");
	assert_string_equal(shape_of("conv2_2/dw"), "1x64x56x56");
	assert_string_equal(weights_of("conv6/sep"), "1024x1024x1x1");
	assert_string_equal(shape_of("pool6"), "1x1024x1x1");
	assert_string_equal(weights_of("fc7"), "1000x1024x1x1 1000");
	assert_string_equal(shape_of("prob"), "1x1000x1x1");
}

static void
cifar10_bound_weights_have_the_expected_shapes(void **state)
{
	size_t i;
	int k, n;

	(void)state;
	if (load_file(TEST_DATA_DIR "/shape/cifar10_quick_deploy.prototxt", EXAMPLE_DIR "/model/cifar10.caffemodel") < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(shape_of("conv1"), "1x32x28x28");
	assert_string_equal(shape_of("pool2"), "1x32x14x14");     /* 28, k3 s2: ceil(12.5) + 1 */
	assert_string_equal(shape_of("pool4"), "1x64x1x1");       /* global */
	assert_string_equal(shape_of("ip0"), "1x64");
	assert_string_equal(shape_of("conv_scale5"), "1x64x14x14"); /* Scale by a second input, axis 0 */
	assert_string_equal(shape_of("pool3"), "1x64x7x7");
	assert_string_equal(weights_of("ip1"), "64x3136 64");
	assert_string_equal(shape_of("ip2_scale"), "1x10");
	for (i = 0; i < m->nlayers; i++) {
		struct shape w[8];
		n = shape_weights(g, s, (int)i, w, 8);
		assert_int_equal(n, (int)m->layers[i].nblobs);
		for (k = 0; k < n; k++) {
			const struct wblob *b = &m->layers[i].blobs[k];
			struct shape bs = {1, b->ndim, {0}};
			memcpy(bs.d, b->shape, sizeof bs.d);
			if (!shape_equal(&w[k], &bs))
				fail_msg("layer %s blob %d", m->layers[i].p->name, k);
		}
	}
}

/* ---- Inputs ---- */

static void
inputs_come_from_input_layers_and_net_fields(void **state)
{
	(void)state;
	infer_ok("input: 'a' input_shape { dim: 2 dim: 5 }\n"
	         "input: 'b' input_shape { dim: 7 }\n"
	         "layer { name: 'in' type: 'Input' top: 'c' top: 'd' input_param { shape { dim: 1 dim: 3 } } }\n"
	         "layer { name: 'in2' type: 'Input' top: 'e' top: 'f' input_param { shape { dim: 4 } shape { dim: 5 dim: 6 } } }\n");
	assert_string_equal(shape_of("a"), "2x5");
	assert_string_equal(shape_of("b"), "7");
	assert_string_equal(shape_of("c"), "1x3");  /* one shape for every top */
	assert_string_equal(shape_of("d"), "1x3");
	assert_string_equal(shape_of("e"), "4");
	assert_string_equal(shape_of("f"), "5x6");
	infer_ok("input: 'a' input_dim: 1 input_dim: 3 input_dim: 5 input_dim: 6\n");
	assert_string_equal(shape_of("a"), "1x3x5x6");
}

static void
data_and_unknown_layers_are_unknown_downstream(void **state)
{
	(void)state;
	infer_ok("layer { name: 'd' type: 'Data' top: 'x' top: 'label' }\n"
	         "layer { name: 'c' type: 'Convolution' bottom: 'x' top: 'c' convolution_param { num_output: 2 kernel_size: 1 } }\n"
	         IN4(1, 3, 4, 4)
	         "layer { name: 'f' type: 'SomeForkLayer' bottom: 'data' top: 'f' }\n"
	         "layer { name: 'r' type: 'ReLU' bottom: 'f' top: 'r' }\n"
	         "layer { name: 'dd' type: 'DummyData' top: 'dd' dummy_data_param { shape { dim: 2 dim: 3 } } }\n");
	assert_string_equal(shape_of("x"), "?");
	assert_string_equal(shape_of("c"), "?");
	assert_string_equal(weights_of("c"), "? ?");
	assert_string_equal(shape_of("f"), "?");
	assert_string_equal(shape_of("r"), "?");
	assert_string_equal(weights_of("f"), "unknown blobs");
	assert_string_equal(shape_of("dd"), "2x3");
}

/* ---- Convolution ---- */

static void
convolution_stride_pad_dilation(void **state)
{
	(void)state;
	infer_ok(IN4(1, 4, 13, 11)
	         "layer { name: 'c' type: 'Convolution' bottom: 'data' top: 'c' convolution_param {"
	         " num_output: 6 kernel_size: 3 stride: 2 pad: 1 dilation: 2 } }\n"
	         "layer { name: 'hw' type: 'Convolution' bottom: 'data' top: 'hw' convolution_param {"
	         " num_output: 8 kernel_h: 3 kernel_w: 1 stride_h: 2 stride_w: 1 pad_h: 0 pad_w: 2 group: 2 bias_term: false } }\n"
	         "layer { name: 'per_axis' type: 'Convolution' bottom: 'data' top: 'pa' convolution_param {"
	         " num_output: 4 kernel_size: 3 kernel_size: 2 stride: 1 stride: 3 pad: 2 pad: 0 } }\n");
	/* (13 + 2 - (2*2 + 1)) / 2 + 1 = 6; (11 + 2 - 5) / 2 + 1 = 5 */
	assert_string_equal(shape_of("c"), "1x6x6x5");
	assert_string_equal(weights_of("c"), "6x4x3x3 6");
	assert_string_equal(shape_of("hw"), "1x8x6x15");
	assert_string_equal(weights_of("hw"), "8x2x3x1");
	assert_string_equal(shape_of("pa"), "1x4x15x4");
}

static void
convolution_in_three_dims_and_on_another_axis(void **state)
{
	(void)state;
	infer_ok("input: 'v' input_shape { dim: 1 dim: 2 dim: 5 dim: 6 dim: 7 }\n"
	         "layer { name: 'c3' type: 'Convolution' bottom: 'v' top: 'c3' convolution_param {"
	         " num_output: 4 kernel_size: 3 kernel_size: 1 kernel_size: 2 } }\n"
	         "layer { name: 'ax' type: 'Convolution' bottom: 'v' top: 'ax' convolution_param {"
	         " num_output: 3 kernel_size: 2 axis: 2 } }\n");
	assert_string_equal(shape_of("c3"), "1x4x3x6x6");
	assert_string_equal(weights_of("c3"), "4x2x3x1x2 4");
	assert_string_equal(shape_of("ax"), "1x2x3x5x6");  /* channels on axis 2 */
	assert_string_equal(weights_of("ax"), "3x5x2x2 3");
}

static void
deconvolution_grows_and_transposes_its_filters(void **state)
{
	(void)state;
	infer_ok(IN4(1, 4, 13, 11)
	         "layer { name: 'd' type: 'Deconvolution' bottom: 'data' top: 'd' convolution_param {"
	         " num_output: 6 kernel_size: 4 stride: 2 pad: 1 group: 2 } }\n");
	/* 2 * (13 - 1) + 4 - 2 = 26; 2 * 10 + 4 - 2 = 22 */
	assert_string_equal(shape_of("d"), "1x6x26x22");
	assert_string_equal(weights_of("d"), "4x3x4x4 6");
}

static void
depthwise_kinds_have_one_filter_per_channel(void **state)
{
	(void)state;
	infer_ok(IN4(1, 8, 10, 10)
	         "layer { name: 'dw' type: 'ConvolutionDepthwise' bottom: 'data' top: 'dw' convolution_param {"
	         " num_output: 8 kernel_size: 3 stride: 2 pad: 1 } }\n"
	         "layer { name: 'dw2' type: 'DepthwiseConvolution' bottom: 'data' top: 'dw2' convolution_param {"
	         " kernel_size: 3 bias_term: false } }\n"
	         "layer { name: 'odd' type: 'ConvolutionDepthwise' bottom: 'data' top: 'odd' convolution_param {"
	         " num_output: 16 kernel_size: 3 } }\n");
	assert_string_equal(shape_of("dw"), "1x8x5x5");
	assert_string_equal(weights_of("dw"), "8x1x3x3 8");
	assert_string_equal(shape_of("dw2"), "1x8x8x8");
	assert_string_equal(weights_of("dw2"), "8x1x3x3");
	/* The forks disagree on a num_output other than the channels. */
	assert_string_equal(shape_of("odd"), "?");
}

static void
convolution_geometry_caffe_rejects(void **state)
{
	(void)state;
	infer_fails(IN4(1, 3, 4, 4)
	            "layer { name: 'big' type: 'Convolution' bottom: 'data' top: 'c' convolution_param {"
	            " num_output: 2 kernel_size: 7 pad: 1 } }\n",
	            "layer 'big' (Convolution): kernel extent 7 larger than padded input 6");
	infer_fails(IN4(1, 3, 4, 4)
	            "layer { name: 'g' type: 'Convolution' bottom: 'data' top: 'c' convolution_param {"
	            " num_output: 4 kernel_size: 1 group: 2 } }\n",
	            "layer 'g' (Convolution): 3 input channels not divisible by group 2");
	infer_fails(IN4(1, 4, 4, 4)
	            "layer { name: 'g' type: 'Convolution' bottom: 'data' top: 'c' convolution_param {"
	            " num_output: 3 kernel_size: 1 group: 2 } }\n",
	            "num_output 3 not divisible by group 2");
	infer_fails(IN4(1, 4, 4, 4)
	            "layer { name: 'k' type: 'Convolution' bottom: 'data' top: 'c' convolution_param {"
	            " num_output: 3 kernel_size: 1 kernel_size: 2 kernel_size: 3 } }\n",
	            "3 kernel values for 2 spatial axes");
	infer_fails(IN4(1, 4, 4, 4)
	            "layer { name: 'k' type: 'Convolution' bottom: 'data' top: 'c' convolution_param { num_output: 3 } }\n",
	            "no kernel_size");
}

/* ---- Pooling ---- */

static void
pooling_rounds_up_unless_round_mode_floor(void **state)
{
	(void)state;
	infer_ok(IN4(1, 2, 6, 6)
	         "layer { name: 'ceil' type: 'Pooling' bottom: 'data' top: 'ceil' pooling_param { kernel_size: 3 stride: 2 } }\n"
	         "layer { name: 'floor' type: 'Pooling' bottom: 'data' top: 'floor' pooling_param {"
	         " kernel_size: 3 stride: 2 round_mode: FLOOR } }\n");
	assert_string_equal(shape_of("ceil"), "1x2x3x3");   /* ceil(3 / 2) + 1 */
	assert_string_equal(shape_of("floor"), "1x2x2x2");  /* floor(3 / 2) + 1 */
}

static void
pooling_last_window_starts_inside_the_image(void **state)
{
	(void)state;
	infer_ok(IN4(1, 1, 3, 3)
	         "layer { name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param { kernel_size: 2 stride: 2 pad: 1 } }\n"
	         "layer { name: 'q' type: 'Pooling' bottom: 'data' top: 'q' pooling_param {"
	         " pool: AVE kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0 } }\n");
	/* ceil((3 + 2 - 2) / 2) + 1 = 3, but window 3 would start at 4 >= 3 + 1. */
	assert_string_equal(shape_of("p"), "1x1x2x2");
	assert_string_equal(shape_of("q"), "1x1x4x1");
}

static void
global_pooling_covers_the_input(void **state)
{
	(void)state;
	infer_ok(IN4(2, 5, 7, 3)
	         "layer { name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param { pool: AVE global_pooling: true } }\n");
	assert_string_equal(shape_of("p"), "2x5x1x1");
}

static void
pooling_geometry_caffe_rejects(void **state)
{
	(void)state;
	infer_fails(IN4(1, 1, 3, 3)
	            "layer { name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param { kernel_size: 5 } }\n",
	            "layer 'p' (Pooling): kernel 5x5 larger than padded input 3x3");
	infer_fails(IN4(1, 1, 3, 3)
	            "layer { name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param { kernel_size: 2 pad: 2 } }\n",
	            "pad must be smaller than the kernel");
	infer_fails(IN4(1, 1, 3, 3)
	            "layer { name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param { global_pooling: true kernel_size: 2 } }\n",
	            "global_pooling takes no kernel size");
	infer_fails("input: 'x' input_shape { dim: 1 dim: 3 dim: 3 }\n"
	            "layer { name: 'p' type: 'Pooling' bottom: 'x' top: 'p' pooling_param { kernel_size: 2 } }\n",
	            "input must have 4 axes, it has 3");
}

/* ---- Layers that keep the shape, and their weights ---- */

static void
elementwise_layers_keep_the_shape(void **state)
{
	(void)state;
	infer_ok(IN4(1, 6, 4, 5)
	         "layer { name: 'relu' type: 'ReLU' bottom: 'data' top: 'data' }\n"
	         "layer { name: 'bn' type: 'BatchNorm' bottom: 'data' top: 'bn' }\n"
	         "layer { name: 'sc' type: 'Scale' bottom: 'bn' top: 'sc' scale_param { bias_term: true } }\n"
	         "layer { name: 'sc2' type: 'Scale' bottom: 'sc' top: 'sc2' scale_param { axis: 1 num_axes: -1 } }\n"
	         "layer { name: 'bias' type: 'Bias' bottom: 'sc2' top: 'bias' bias_param { axis: 2 num_axes: 2 } }\n"
	         "layer { name: 'pr' type: 'PReLU' bottom: 'bias' top: 'pr' }\n"
	         "layer { name: 'prs' type: 'PReLU' bottom: 'pr' top: 'prs' prelu_param { channel_shared: true } }\n"
	         "layer { name: 'nm' type: 'Normalize' bottom: 'prs' top: 'nm' }\n"
	         "layer { name: 'sm' type: 'Softmax' bottom: 'nm' top: 'sm' softmax_param { axis: -1 } }\n"
	         "layer { name: 'lrn' type: 'LRN' bottom: 'sm' top: 'lrn' }\n"
	         "layer { name: 'dr' type: 'Dropout' bottom: 'lrn' top: 'out' }\n");
	assert_string_equal(shape_of("data"), "1x6x4x5");
	assert_string_equal(shape_of("out"), "1x6x4x5");
	assert_string_equal(weights_of("bn"), "6 6 1");
	assert_string_equal(weights_of("sc"), "6 6");
	assert_string_equal(weights_of("sc2"), "6x4x5");
	assert_string_equal(weights_of("bias"), "4x5");
	assert_string_equal(weights_of("pr"), "6");
	assert_string_equal(weights_of("prs"), "scalar");  /* Caffe's shared slope has 0 axes */
	assert_string_equal(weights_of("nm"), "1");        /* channel_shared by default */
	assert_string_equal(weights_of("relu"), "");
}

static void
scale_by_a_second_input_must_match_it(void **state)
{
	(void)state;
	infer_ok(IN4(2, 3, 4, 5)
	         "input: 'v' input_shape { dim: 3 dim: 4 }\n"
	         "layer { name: 'sc' type: 'Scale' bottom: 'data' bottom: 'v' top: 'sc' scale_param { bias_term: true } }\n");
	assert_string_equal(shape_of("sc"), "2x3x4x5");
	assert_string_equal(weights_of("sc"), "3x4");  /* only the bias is a blob */
	infer_fails(IN4(2, 3, 4, 5)
	            "input: 'v' input_shape { dim: 3 dim: 5 }\n"
	            "layer { name: 'sc' type: 'Scale' bottom: 'data' bottom: 'v' top: 'sc' }\n",
	            "layer 'sc' (Scale): second input's dim 1 is 5, the first input's dim 2 is 4");
}

/* ---- Combining and splitting ---- */

static void
eltwise_inputs_must_be_equal(void **state)
{
	(void)state;
	infer_ok(IN4(1, 3, 4, 4)
	         "layer { name: 'e' type: 'Eltwise' bottom: 'data' bottom: 'data' top: 'e' }\n");
	assert_string_equal(shape_of("e"), "1x3x4x4");
	infer_fails(IN4(1, 3, 4, 4)
	            "layer { name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param { kernel_size: 2 stride: 2 } }\n"
	            "layer { name: 'e' type: 'Eltwise' bottom: 'data' bottom: 'p' top: 'e' }\n",
	            "layer 'e' (Eltwise): input 'data' is 1x3x4x4 but input 'p' is 1x3x2x2");
}

static void
concat_sums_its_axis(void **state)
{
	(void)state;
	infer_ok(IN4(1, 3, 4, 4)
	         "input: 'b' input_shape { dim: 1 dim: 5 dim: 4 dim: 4 }\n"
	         "layer { name: 'c' type: 'Concat' bottom: 'data' bottom: 'b' top: 'c' }\n"
	         "layer { name: 'h' type: 'Concat' bottom: 'data' bottom: 'data' top: 'h' concat_param { axis: -2 } }\n"
	         "layer { name: 'n' type: 'Concat' bottom: 'data' bottom: 'data' top: 'n' concat_param { concat_dim: 0 } }\n"
	         "layer { name: 'one' type: 'Concat' bottom: 'b' top: 'one' }\n");
	assert_string_equal(shape_of("c"), "1x8x4x4");
	assert_string_equal(shape_of("h"), "1x3x8x4");
	assert_string_equal(shape_of("n"), "2x3x4x4");
	assert_string_equal(shape_of("one"), "1x5x4x4");
	infer_fails(IN4(1, 3, 4, 4)
	            "input: 'b' input_shape { dim: 1 dim: 5 dim: 4 dim: 3 }\n"
	            "layer { name: 'c' type: 'Concat' bottom: 'data' bottom: 'b' top: 'c' }\n",
	            "layer 'c' (Concat): input 'b' has dim 3 = 3, input 'data' has 4 (only axis 1 may differ)");
	infer_fails(IN4(1, 3, 4, 4)
	            "layer { name: 'c' type: 'Concat' bottom: 'data' top: 'c' concat_param { axis: 1 concat_dim: 1 } }\n",
	            "give axis or concat_dim, not both");
}

static void
slice_and_split(void **state)
{
	(void)state;
	infer_ok(IN4(1, 6, 10, 4)
	         "layer { name: 's' type: 'Slice' bottom: 'data' top: 'a' top: 'b' top: 'c' slice_param {"
	         " axis: 2 slice_point: 3 slice_point: 9 } }\n"
	         "layer { name: 'eq' type: 'Slice' bottom: 'data' top: 'x' top: 'y' top: 'z' }\n"
	         "layer { name: 'old' type: 'Slice' bottom: 'data' top: 'u' top: 'w' slice_param { slice_dim: 3 } }\n"
	         "layer { name: 'sp' type: 'Split' bottom: 'data' top: 's1' top: 's2' }\n");
	assert_string_equal(shape_of("a"), "1x6x3x4");
	assert_string_equal(shape_of("b"), "1x6x6x4");
	assert_string_equal(shape_of("c"), "1x6x1x4");
	assert_string_equal(shape_of("z"), "1x2x10x4");
	assert_string_equal(shape_of("w"), "1x6x10x2");
	assert_string_equal(shape_of("s2"), "1x6x10x4");
	infer_fails(IN4(1, 6, 10, 4)
	            "layer { name: 's' type: 'Slice' bottom: 'data' top: 'a' top: 'b' top: 'c' slice_param { slice_point: 2 slice_point: 7 } }\n",
	            "slice points must increase inside the axis of 6");
	infer_fails(IN4(1, 6, 10, 4)
	            "layer { name: 's' type: 'Slice' bottom: 'data' top: 'a' top: 'b' top: 'c' top: 'd' }\n",
	            "axis of 6 does not split into 4 equal tops");
}

static void
crop_takes_the_second_inputs_shape_from_axis(void **state)
{
	(void)state;
	infer_ok(IN4(1, 3, 10, 12)
	         "input: 'ref' input_shape { dim: 5 dim: 5 dim: 4 dim: 6 }\n"
	         "layer { name: 'cr' type: 'Crop' bottom: 'data' bottom: 'ref' top: 'cr' crop_param { offset: 2 } }\n");
	assert_string_equal(shape_of("cr"), "1x3x4x6");
	infer_fails(IN4(1, 3, 10, 12)
	            "input: 'ref' input_shape { dim: 1 dim: 3 dim: 4 dim: 6 }\n"
	            "layer { name: 'cr' type: 'Crop' bottom: 'data' bottom: 'ref' top: 'cr' crop_param { offset: 1 offset: 7 } }\n",
	            "crop of 6 at offset 7 runs past dim 3 of 12");
}

/* ---- Rearranging ---- */

static void
flatten_between_axes(void **state)
{
	(void)state;
	infer_ok(IN4(2, 3, 4, 5)
	         "layer { name: 'f' type: 'Flatten' bottom: 'data' top: 'f' }\n"
	         "layer { name: 'f2' type: 'Flatten' bottom: 'data' top: 'f2' flatten_param { axis: 1 end_axis: 2 } }\n"
	         "layer { name: 'f3' type: 'Flatten' bottom: 'data' top: 'f3' flatten_param { axis: 0 end_axis: -2 } }\n");
	assert_string_equal(shape_of("f"), "2x60");
	assert_string_equal(shape_of("f2"), "2x12x5");
	assert_string_equal(shape_of("f3"), "24x5");
}

static void
reshape_copies_zero_and_infers_minus_one(void **state)
{
	(void)state;
	infer_ok(IN4(2, 3, 4, 5)
	         "layer { name: 'r' type: 'Reshape' bottom: 'data' top: 'r' reshape_param { shape { dim: 0 dim: -1 dim: 5 } } }\n"
	         "layer { name: 'part' type: 'Reshape' bottom: 'data' top: 'part' reshape_param {"
	         " shape { dim: 2 dim: 2 } axis: 2 num_axes: 1 } }\n"
	         "layer { name: 'tail' type: 'Reshape' bottom: 'data' top: 'tail' reshape_param {"
	         " shape { dim: -1 } axis: -3 } }\n"
	         "layer { name: 'same' type: 'Reshape' bottom: 'data' top: 'same' reshape_param {"
	         " shape { dim: 0 dim: 0 dim: 0 dim: 0 } } }\n");
	assert_string_equal(shape_of("r"), "2x12x5");
	assert_string_equal(shape_of("part"), "2x3x2x2x5");
	assert_string_equal(shape_of("tail"), "2x3x20");
	assert_string_equal(shape_of("same"), "2x3x4x5");
	infer_fails(IN4(2, 3, 4, 5)
	            "layer { name: 'r' type: 'Reshape' bottom: 'data' top: 'r' reshape_param { shape { dim: 2 dim: 59 } } }\n",
	            "layer 'r' (Reshape): new shape has 118 values, the input has 120");
	infer_fails(IN4(2, 3, 4, 5)
	            "layer { name: 'r' type: 'Reshape' bottom: 'data' top: 'r' reshape_param { shape { dim: 7 dim: -1 } } }\n",
	            "cannot infer the -1 dim");
	infer_fails(IN4(2, 3, 4, 5)
	            "layer { name: 'r' type: 'Reshape' bottom: 'data' top: 'r' reshape_param { shape { dim: -1 dim: -1 } } }\n",
	            "more than one -1");
}

static void
permute_reorders_axes(void **state)
{
	(void)state;
	infer_ok(IN4(2, 3, 4, 5)
	         "layer { name: 'p' type: 'Permute' bottom: 'data' top: 'p' permute_param { order: 0 order: 2 order: 3 order: 1 } }\n"
	         "layer { name: 'q' type: 'Permute' bottom: 'data' top: 'q' permute_param { order: 3 } }\n");
	assert_string_equal(shape_of("p"), "2x4x5x3");
	assert_string_equal(shape_of("q"), "5x2x3x4");  /* the rest keep their order */
	infer_fails(IN4(2, 3, 4, 5)
	            "layer { name: 'p' type: 'Permute' bottom: 'data' top: 'p' permute_param { order: 1 order: 1 } }\n",
	            "order 1 given twice");
}

/* ---- Own output shapes ---- */

static void
inner_product_flattens_from_its_axis(void **state)
{
	(void)state;
	infer_ok(IN4(2, 3, 4, 5)
	         "layer { name: 'ip' type: 'InnerProduct' bottom: 'data' top: 'ip' inner_product_param { num_output: 7 } }\n"
	         "layer { name: 'ip2' type: 'InnerProduct' bottom: 'data' top: 'ip2' inner_product_param {"
	         " num_output: 6 axis: 2 transpose: true bias_term: false } }\n");
	assert_string_equal(shape_of("ip"), "2x7");
	assert_string_equal(weights_of("ip"), "7x60 7");
	assert_string_equal(shape_of("ip2"), "2x3x6");
	assert_string_equal(weights_of("ip2"), "20x6");
}

static void
prior_box_counts_ratios_flips_and_max_sizes(void **state)
{
	(void)state;
	/* Ratios 1, 2, 1/2, 3, 1/3 per min_size, plus one box for the max_size:
	 * 6 priors at each of 19x19 places, 4 coordinates each. */
	infer_ok(IN4(1, 512, 19, 19)
	         "input: 'image' input_shape { dim: 1 dim: 3 dim: 300 dim: 300 }\n"
	         "layer { name: 'pb' type: 'PriorBox' bottom: 'data' bottom: 'image' top: 'pb' prior_box_param {"
	         " min_size: 60 max_size: 111 aspect_ratio: 2 aspect_ratio: 3 flip: true } }\n"
	         "layer { name: 'pb2' type: 'PriorBox' bottom: 'data' bottom: 'image' top: 'pb2' prior_box_param {"
	         " min_size: 30 aspect_ratio: 2 aspect_ratio: 0.5 aspect_ratio: 1 flip: true } }\n"
	         "layer { name: 'det' type: 'DetectionOutput' bottom: 'pb' bottom: 'pb' bottom: 'pb' top: 'det' }\n");
	assert_string_equal(shape_of("pb"), "1x2x8664");
	assert_string_equal(shape_of("pb2"), "1x2x4332");  /* 1, 2, 1/2: repeats are dropped */
	assert_string_equal(shape_of("det"), "?");          /* as many rows as boxes survive */
}

static void
argmax_reduction_tile_and_losses(void **state)
{
	(void)state;
	infer_ok(IN4(2, 10, 3, 3)
	         "input: 'label' input_shape { dim: 2 }\n"
	         "layer { name: 'am' type: 'ArgMax' bottom: 'data' top: 'am' argmax_param { top_k: 3 out_max_val: true } }\n"
	         "layer { name: 'am1' type: 'ArgMax' bottom: 'data' top: 'am1' argmax_param { axis: 1 } }\n"
	         "layer { name: 'red' type: 'Reduction' bottom: 'data' top: 'red' reduction_param { axis: 2 } }\n"
	         "layer { name: 'all' type: 'Reduction' bottom: 'data' top: 'all' }\n"
	         "layer { name: 'tile' type: 'Tile' bottom: 'data' top: 'tile' tile_param { axis: -1 tiles: 4 } }\n"
	         "layer { name: 'f' type: 'Flatten' bottom: 'data' top: 'f' }\n"
	         "layer { name: 'loss' type: 'SoftmaxWithLoss' bottom: 'f' bottom: 'label' top: 'loss' top: 'prob' }\n"
	         "layer { name: 'acc' type: 'Accuracy' bottom: 'f' bottom: 'label' top: 'acc' top: 'per_class' }\n"
	         "layer { name: 'sil' type: 'Silence' bottom: 'am' }\n");
	assert_string_equal(shape_of("am"), "2x2x3x1");  /* at least 3 axes, as many as the input */
	assert_string_equal(shape_of("am1"), "2x1x3x3");
	assert_string_equal(shape_of("red"), "2x10");
	assert_string_equal(shape_of("all"), "scalar");
	assert_string_equal(shape_of("tile"), "2x10x3x12");
	assert_string_equal(shape_of("loss"), "scalar");
	assert_string_equal(shape_of("prob"), "2x90");
	assert_string_equal(shape_of("acc"), "scalar");
	assert_string_equal(shape_of("per_class"), "90");
}

/* ---- Limits ---- */

static void
blobs_over_caffes_int_limit_are_refused(void **state)
{
	(void)state;
	infer_fails("layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 65536 dim: 65536 } } }\n",
	            "layer 'in' (Input): top 'x' would have more than 2147483647 values");
	infer_fails(IN4(1, 1, 1024, 1024)
	            "layer { name: 't' type: 'Tile' bottom: 'data' top: 't' tile_param { axis: 1 tiles: 4096 } }\n",
	            "layer 't' (Tile): top 't' would have more than 2147483647 values");
}

static void
count_equal_and_format(void **state)
{
	struct shape a = {1, 3, {2, 3, 4}}, b = {1, 3, {2, 3, 4}}, u = {0, 0, {0}};
	struct shape big = {1, 3, {INT64_MAX / 2, 2, 2}}, scalar = {1, 0, {0}};
	char buf[64];

	(void)state;
	assert_int_equal(shape_count(&a), 24);
	assert_int_equal(shape_count(&scalar), 1);
	assert_int_equal(shape_count(&u), -1);
	assert_int_equal(shape_count(&big), -1);
	assert_true(shape_equal(&a, &b));
	b.d[2] = 5;
	assert_false(shape_equal(&a, &b));
	assert_false(shape_equal(&u, &u));
	assert_string_equal(shape_format(&a, buf, sizeof buf), "2x3x4");
	assert_string_equal(shape_format(&u, buf, sizeof buf), "?");
	assert_string_equal(shape_format(&scalar, buf, sizeof buf), "scalar");
	assert_string_equal(shape_format(&a, buf, 4), "2x3");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(resnet50_pools_with_caffe_ceil_rule, release),
		cmocka_unit_test_teardown(mobilenet_v1_has_grouped_weights, release),
		cmocka_unit_test_teardown(cifar10_bound_weights_have_the_expected_shapes, release),
		cmocka_unit_test_teardown(inputs_come_from_input_layers_and_net_fields, release),
		cmocka_unit_test_teardown(data_and_unknown_layers_are_unknown_downstream, release),
		cmocka_unit_test_teardown(convolution_stride_pad_dilation, release),
		cmocka_unit_test_teardown(convolution_in_three_dims_and_on_another_axis, release),
		cmocka_unit_test_teardown(deconvolution_grows_and_transposes_its_filters, release),
		cmocka_unit_test_teardown(depthwise_kinds_have_one_filter_per_channel, release),
		cmocka_unit_test_teardown(convolution_geometry_caffe_rejects, release),
		cmocka_unit_test_teardown(pooling_rounds_up_unless_round_mode_floor, release),
		cmocka_unit_test_teardown(pooling_last_window_starts_inside_the_image, release),
		cmocka_unit_test_teardown(global_pooling_covers_the_input, release),
		cmocka_unit_test_teardown(pooling_geometry_caffe_rejects, release),
		cmocka_unit_test_teardown(elementwise_layers_keep_the_shape, release),
		cmocka_unit_test_teardown(scale_by_a_second_input_must_match_it, release),
		cmocka_unit_test_teardown(eltwise_inputs_must_be_equal, release),
		cmocka_unit_test_teardown(concat_sums_its_axis, release),
		cmocka_unit_test_teardown(slice_and_split, release),
		cmocka_unit_test_teardown(crop_takes_the_second_inputs_shape_from_axis, release),
		cmocka_unit_test_teardown(flatten_between_axes, release),
		cmocka_unit_test_teardown(reshape_copies_zero_and_infers_minus_one, release),
		cmocka_unit_test_teardown(permute_reorders_axes, release),
		cmocka_unit_test_teardown(inner_product_flattens_from_its_axis, release),
		cmocka_unit_test_teardown(prior_box_counts_ratios_flips_and_max_sizes, release),
		cmocka_unit_test_teardown(argmax_reduction_tile_and_losses, release),
		cmocka_unit_test_teardown(blobs_over_caffes_int_limit_are_refused, release),
		cmocka_unit_test(count_equal_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
