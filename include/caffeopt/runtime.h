/* runtime.h - caffeopt's forward engine: float32 NCHW inference over a
 * network described by plain tables.
 *
 * A network (cr_net) is a layer table, a blob table and input/output lists.
 * Every table is fixed-size data with no pointers but const pointers to
 * const data (names, index lists, weights, Eltwise coefficients), so a net
 * can be written out as `const` C initializers and run from flash; the tool
 * builds one from a Caffe model (src/netbuild.c).
 *
 * Memory: every activation and every layer's scratch space lives at a fixed
 * offset in one arena of cr_arena_bytes(net) bytes that the caller owns and
 * hands to cr_forward.  cr_forward never allocates, never prints and never
 * exits.  Weights are read, never written; the net does not own them.
 *
 * Use:
 *	float *arena = aligned_alloc(64, round_up(cr_arena_bytes(net), 64));
 *	memcpy(cr_blob_data(net, arena, net->input[0]), image, bytes);
 *	cr_forward(net, arena);
 *	y = cr_blob_data(net, arena, net->output[0]);
 * Inputs are consumed: layers may overwrite an input's storage, so write
 * the inputs again before every forward.  Output blobs are never
 * overwritten by a later layer and stay valid until the next forward.
 */
#ifndef CAFFEOPT_RUNTIME_H
#define CAFFEOPT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_MAX_DIMS 8
#define CR_PRIOR_MAX 16      /* PriorBox sizes and aspect ratios per layer */
#define CR_ALIGN 16          /* blob offsets are multiples of this many floats */

/* The operators.  A Caffe type maps to one of these (Input layers become
 * entries of cr_net.input and have no layer). */
enum cr_op {
	CR_OP_CONV,          /* Convolution; depthwise when group == channels */
	CR_OP_DECONV,        /* Deconvolution */
	CR_OP_INNER_PRODUCT,
	CR_OP_POOL,
	CR_OP_RELU,          /* a: negative_slope */
	CR_OP_PRELU,         /* weight 0: slopes, 1 or C values */
	CR_OP_ELU,           /* a: alpha */
	CR_OP_SIGMOID,
	CR_OP_TANH,
	CR_OP_ABSVAL,
	CR_OP_POWER,         /* (b + c*x)^a: a power, b shift, c scale */
	CR_OP_BNLL,
	CR_OP_CLIP,          /* a: min, b: max */
	CR_OP_SOFTMAX,
	CR_OP_LRN,
	CR_OP_BATCHNORM,     /* weights: mean, variance, factor */
	CR_OP_SCALE,
	CR_OP_BIAS,
	CR_OP_ELTWISE,
	CR_OP_CONCAT,
	CR_OP_SLICE,
	CR_OP_SPLIT,         /* views: tops share the bottom's storage */
	CR_OP_FLATTEN,       /* view */
	CR_OP_RESHAPE,       /* view */
	CR_OP_DROPOUT,       /* view: the identity at inference */
	CR_OP_PERMUTE,
	CR_OP_CROP,
	CR_OP_NORMALIZE,     /* SSD; weight 0: scale, 1 or C values */
	CR_OP_PRIORBOX,      /* SSD */
	CR_OP_DETECTION_OUTPUT, /* SSD */
	CR_OP_COUNT
};

enum cr_pool_method { CR_POOL_MAX, CR_POOL_AVE };
enum cr_eltwise_op { CR_ELTWISE_PROD, CR_ELTWISE_SUM, CR_ELTWISE_MAX };
enum cr_lrn_region { CR_LRN_ACROSS, CR_LRN_WITHIN };
enum cr_code_type { CR_CODE_CORNER = 1, CR_CODE_CENTER_SIZE = 2, CR_CODE_CORNER_SIZE = 3 };

/* Convolution and Deconvolution, 2-D.  Weights: [OC, C/group, kh, kw]
 * (Deconvolution: [C, OC/group, kh, kw]), then the bias [OC] when bias. */
struct cr_conv {
	int32_t kh, kw, sh, sw, ph, pw, dh, dw;
	int32_t group;
	int32_t bias;
};

/* InnerProduct: y[M,N] = x[M,K] W^T (+ b); x is the bottom seen as
 * [count(0,axis), count(axis)].  transpose: W is [K,N] instead of [N,K]. */
struct cr_inner_product {
	int32_t axis, transpose, bias;
};

/* Pooling with global pooling resolved into the kernel size.  The top's
 * shape in the blob table carries Caffe's ceil/floor output size. */
struct cr_pool {
	int32_t method;      /* enum cr_pool_method */
	int32_t kh, kw, sh, sw, ph, pw;
};

struct cr_lrn {
	int32_t size, region;  /* region: enum cr_lrn_region */
	float alpha, beta, k;
};

/* Scale and Bias: bottom 0 times (plus) a factor broadcast over the axes
 * [axis, axis + ndim(factor)).  The factor is bottom 1 when two_bottoms,
 * else weight 0; a Scale's bias, when bias, is the next weight. */
struct cr_scale {
	int32_t axis, two_bottoms, bias;
};

struct cr_eltwise {
	int32_t op;            /* enum cr_eltwise_op */
	const float *coeff;    /* one per bottom for SUM; NULL: all 1 */
};

struct cr_permute {
	int32_t order[CR_MAX_DIMS];  /* top axis i is bottom axis order[i] */
};

struct cr_crop {
	int32_t offset[CR_MAX_DIMS]; /* per bottom axis; 0 below the crop axis */
};

struct cr_normalize {
	int32_t across_spatial, channel_shared;
	float eps;
};

/* PriorBox with Caffe-SSD's rules resolved: ar[] starts with 1 and holds
 * the flipped ratios; image size and steps are final. */
struct cr_priorbox {
	int32_t nmin, nmax, nar, nvariance, clip;
	float min_size[CR_PRIOR_MAX], max_size[CR_PRIOR_MAX], ar[CR_PRIOR_MAX];
	float variance[4];
	float img_w, img_h, step_w, step_h, offset;
};

/* DetectionOutput: bottoms loc [N, P*L*4], conf [N, P*classes], priors
 * [1, 2, P*4].  The top is [1, 1, rows, 7] with a fixed number of rows;
 * rows past the last detection have image id -1 (see cr_detections). */
struct cr_detection_output {
	int32_t num_classes, share_location, background_label_id, code_type;
	int32_t variance_encoded_in_target, keep_top_k, top_k;
	float confidence_threshold, nms_threshold, eta;
};

union cr_params {
	struct cr_conv conv;
	struct cr_inner_product ip;
	struct cr_pool pool;
	struct { float a, b, c; } act;   /* ReLU, ELU, Power, Clip */
	struct { int32_t axis; } axis;   /* Softmax, Concat, Slice */
	struct { int32_t channel_shared; } prelu;
	struct { float eps; } batchnorm;
	struct cr_lrn lrn;
	struct cr_scale scale;
	struct cr_eltwise eltwise;
	struct cr_permute permute;
	struct cr_crop crop;
	struct cr_normalize normalize;
	struct cr_priorbox priorbox;
	struct cr_detection_output detection;
};

/* A weight blob: count floats in C order, shape as in the caffemodel. */
typedef struct cr_weight {
	const float *data;
	uint32_t count;
	int32_t ndim;
	int32_t shape[4];          /* the first min(ndim, 4) dims */
} cr_weight;

/* An activation: one version of a Caffe blob (an in-place layer makes a
 * new version of the same name).  Its floats are arena[offset ...]. */
typedef struct cr_blob {
	const char *name;
	int32_t ndim;
	int32_t shape[CR_MAX_DIMS];
	uint32_t count;            /* product of shape */
	uint32_t offset;           /* in floats from the arena's start */
} cr_blob;

typedef struct cr_layer {
	const char *name;          /* the Caffe layer name, for messages */
	int32_t op;                /* enum cr_op */
	uint32_t nbottom, ntop, nweight;
	const uint32_t *bottom;    /* blob indices */
	const uint32_t *top;
	const cr_weight *weight;
	uint32_t scratch;          /* offset (floats) of the layer's scratch space */
	uint32_t nscratch;         /* its size in floats; 0: none */
	union cr_params p;
} cr_layer;

typedef struct cr_net {
	const char *name;
	uint32_t nlayer, nblob, ninput, noutput;
	const cr_layer *layer;     /* in execution order */
	const cr_blob *blob;
	const uint32_t *input;     /* blob indices the caller fills */
	const uint32_t *output;    /* blob indices valid after cr_forward */
	uint32_t arena_floats;     /* the arena, in floats (see cr_plan) */
	uint32_t naive_floats;     /* for reports: one buffer per blob name plus
	                              the largest scratch, as Caffe allocates */
} cr_net;

/* Bytes of arena cr_forward needs. */
size_t cr_arena_bytes(const cr_net *net);

/* Where blob b lives in arena. */
float *cr_blob_data(const cr_net *net, float *arena, uint32_t b);

/* The index of the last blob named name (the value Caffe shows under that
 * name after a forward), or -1. */
int cr_find_blob(const cr_net *net, const char *name);

/* Run every layer in order over arena (cr_arena_bytes(net) bytes, aligned
 * to at least 16 bytes; 64 is best).  No allocation.  Returns 0, or -1 when
 * a layer's op is unknown to this build (a corrupt table). */
int cr_forward(const cr_net *net, float *arena);

/* Run layers [from, to) only. */
int cr_forward_range(const cr_net *net, float *arena, uint32_t from, uint32_t to);

/* DetectionOutput tops have a fixed number of rows: the number of rows
 * that hold detections (>= 0) in blob b's data y, [1,1,rows,7]. */
uint32_t cr_detections(const cr_blob *b, const float *y);

/* Multiply-accumulates of layer i (convolution, deconvolution, inner
 * product; one per output element for Scale, Bias, BatchNorm, Eltwise). */
uint64_t cr_layer_macs(const cr_net *net, uint32_t i);

/* The Caffe type an op runs ("Convolution"), for messages. */
const char *cr_op_name(int op);

/* Threads the GEMM may use (OpenBLAS builds); a no-op for the portable
 * GEMM.  The engine's own kernels are single-threaded. */
void cr_set_threads(int n);

/* "openblas" or "portable": the GEMM this build runs. */
const char *cr_gemm_name(void);

/* The two GEMMs, row-major: C[M,N] = alpha op(A) op(B) + beta C, where
 * op(A) is [M,K] (A^T when ta), op(B) is [K,N] (B^T when tb).  cr_sgemm is
 * the one the kernels call (cblas_sgemm when built with CR_USE_CBLAS);
 * cr_sgemm_portable is plain C, always built. */
void cr_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
void cr_sgemm_portable(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* --- Building a net (host side; these may allocate). --- */

/* The storage rule of op: CR_VIEW ops make tops that share their bottom's
 * storage (no compute); CR_INPLACE ops may write top 0 over bottom 0 when
 * nothing reads that storage later. */
enum { CR_VIEW = 1, CR_INPLACE = 2 };
int cr_op_flags(int op);

/* Static memory plan.  Given layers in execution order (bottom, top,
 * nscratch filled) and blobs (shape and count filled), assign every blob's
 * offset and every layer's scratch offset in one arena: a storage buffer
 * lives from the layer that makes it to the last layer that reads it (to
 * the end for outputs, from the start for inputs); views share their
 * bottom's buffer; an in-place capable layer writes over its bottom when
 * that buffer dies there; buffers are placed greedily by size, largest
 * first, each in the best-fitting gap among those alive at the same time.
 * Sets *arena_floats.  Returns 0, or -1 when out of memory or when the
 * arena would pass 2^32 floats. */
int cr_plan(cr_layer *layer, uint32_t nlayer, cr_blob *blob, uint32_t nblob,
            const uint32_t *input, uint32_t ninput, const uint32_t *output, uint32_t noutput,
            uint32_t *arena_floats);

#ifdef __cplusplus
}
#endif

#endif
