/* cli_run.c - `caffeopt run`, `verify` and `bench`: the engine on the
 * command line.  Exit codes: 0 ok, 1 error (one line on stderr), 2 usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "caffeopt/caffeopt.h"
#include "caffeopt/runtime.h"
#include "cli.h"
#include "cli_run.h"
#include "engine.h"
#include "fileio.h"
#include "netbuild.h"
#include "npy.h"

static const char *argv0 = "caffeopt";

static const char usage_run[] =
	"usage: caffeopt run -m X.prototxt -w X.caffemodel --input [NAME=]in.npy ...\n"
	"                    [-o out.npy | --output-dir DIR] [--blob NAME]...\n"
	"\n"
	"Run the model's forward pass in caffeopt's engine (float32, NCHW).\n"
	"\n"
	"  -m, --model FILE         deploy prototxt (Input layer or input: fields)\n"
	"  -w, --weights FILE       caffemodel\n"
	"  -i, --input [NAME=]FILE  .npy array for input NAME, or for the next input\n"
	"                           (float32; float64, integer and bool are converted)\n"
	"  -o, --output FILE        write the one output as .npy\n"
	"      --output-dir DIR     write every output as DIR/NAME.npy (DIR is made)\n"
	"  -b, --blob NAME          output blob NAME instead of the network outputs\n"
	"                           (repeatable); only the layers it needs run\n"
	"      --threads T          GEMM threads (default 1)\n"
	"  -q, --quiet              print errors only\n"
	"  -h, --help               this text\n"
	"\n"
	"Without -o or --output-dir, prints each output's shape and statistics.\n"
	"A DetectionOutput is written with one row per detection.\n";

static const char usage_verify[] =
	"usage: caffeopt verify -m A.prototxt -w A.caffemodel -M B.prototxt -W B.caffemodel\n"
	"                       [--input [NAME=]in.npy]... [--mean B,G,R] [--input-scale S]\n"
	"                       [--samples N] [--tol T]\n"
	"\n"
	"Run A (the reference) and B on the same inputs and compare every network\n"
	"output of A with B's output of the same name.\n"
	"\n"
	"  -m, --model FILE         reference prototxt\n"
	"  -w, --weights FILE       reference caffemodel\n"
	"  -M, --model-b FILE       prototxt to check\n"
	"  -W, --weights-b FILE     caffemodel to check\n"
	"  -i, --input [NAME=]FILE  also compare on this .npy input (B's raw input)\n"
	"      --mean B,G,R         B folds this input mean: A gets x - mean\n"
	"      --input-scale S      B folds this scale: A gets (x - mean) * S\n"
	"      --samples N          seeded random inputs (default 3): uniform in [-2, 2),\n"
	"                           or [0, 255) with --mean/--input-scale\n"
	"      --tol T              largest error allowed, relative to max |A's output|\n"
	"                           (default 1e-4)\n"
	"      --threads T          GEMM threads (default 1)\n"
	"  -q, --quiet              print errors and failures only\n"
	"  -h, --help               this text\n"
	"\n"
	"Exit 0 when every output is within the tolerance, 1 otherwise.\n";

static const char usage_bench[] =
	"usage: caffeopt bench -m A.prototxt -w A.caffemodel [-M B.prototxt -W B.caffemodel]\n"
	"                      [--runs N] [--warmup N] [--threads T]\n"
	"\n"
	"Time the forward pass of one model, or of two and their ratio.\n"
	"\n"
	"  -m, --model FILE         prototxt\n"
	"  -w, --weights FILE       caffemodel\n"
	"  -M, --model-b FILE       second prototxt (e.g. the optimized one)\n"
	"  -W, --weights-b FILE     second caffemodel\n"
	"      --runs N             timed forwards per net (default 20)\n"
	"      --warmup N           untimed forwards first (default 3)\n"
	"      --threads T          GEMM threads (default 1)\n"
	"  -h, --help               this text\n";

enum {
	OPT_OUTPUT_DIR = 256, OPT_THREADS, OPT_MEAN, OPT_INPUT_SCALE, OPT_SAMPLES, OPT_TOL,
	OPT_RUNS, OPT_WARMUP
};

enum { MAX_LIST = 64 };

/* A positive integer option; -1 when bad. */
static long
positive(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > max)
		return -1;
	return v;
}

static caffeopt_model *
load(const char *prototxt, const char *caffemodel, caffeopt_error *err)
{
	struct caffeopt_load_options lo = {0};

	lo.prototxt = prototxt;
	lo.caffemodel = caffemodel;
	lo.warn = cli_warn;
	return caffeopt_model_load(&lo, err);
}

/* The --input arguments read as arrays: "NAME=FILE" names input NAME when
 * the net has an input NAME, else the whole argument is the file. */
struct inputs {
	struct npy a[MAX_LIST];
	struct engine_input in[MAX_LIST];
	size_t n;
};

static int
read_inputs(struct inputs *x, const cr_net *net, char **args, size_t n, caffeopt_error *err)
{
	size_t i;
	uint32_t k;

	for (i = 0; i < n; i++) {
		const char *path = args[i], *eq = strchr(args[i], '=');
		x->in[i].name = NULL;
		for (k = 0; eq && net && k < net->ninput; k++) {
			const char *name = net->blob[net->input[k]].name;
			if (strlen(name) == (size_t)(eq - args[i]) && strncmp(name, args[i], strlen(name)) == 0) {
				x->in[i].name = name;
				path = eq + 1;
				break;
			}
		}
		x->in[i].path = path;
		if (npy_read(&x->a[i], path, err) < 0)
			return -1;
		x->in[i].a = &x->a[i];
		x->n = i + 1;
	}
	return 0;
}

static void
free_inputs(struct inputs *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		npy_free(&x->a[i]);
	x->n = 0;
}

/* "a/b" -> "a_b": a blob name as a file name. */
static void
file_name(char *dst, size_t n, const char *dir, const char *name)
{
	size_t at = (size_t)snprintf(dst, n, "%s/", dir), i;

	for (i = 0; name[i] && at + 5 < n; i++)
		dst[at++] = name[i] == '/' || name[i] == '\\' ? '_' : name[i];
	snprintf(dst + at, n - at, ".npy");
}

static void
summary(const cr_net *net, float *arena, uint32_t b)
{
	const cr_blob *bl = &net->blob[b];
	const float *y = cr_blob_data(net, arena, b);
	uint32_t n = engine_output_count(net, b, arena), i, arg = 0;
	double mn = INFINITY, mx = -INFINITY, sum = 0;
	char sh[128];

	for (i = 0; i < n; i++) {
		if (y[i] < mn)
			mn = y[i];
		if (y[i] > mx) {
			mx = y[i];
			arg = i;
		}
		sum += y[i];
	}
	if (n != bl->count)
		snprintf(sh, sizeof sh, "1x1x%ux7", n / 7);
	else
		engine_shape(bl, sh, sizeof sh);
	printf("  %-24s %-16s min %-11.6g max %-11.6g mean %-11.6g argmax %u\n", bl->name, sh, mn, mx,
	       n ? sum / n : 0.0, arg);
}

/* Stage output b as .npy at path. */
static int
stage_output(struct outfile *o, const char *path, const cr_net *net, float *arena, uint32_t b,
             caffeopt_error *err)
{
	const cr_blob *bl = &net->blob[b];
	int64_t shape[CR_MAX_DIMS];
	uint32_t n = engine_output_count(net, b, arena);
	unsigned char *bytes;
	size_t len;
	int k, rc;

	for (k = 0; k < bl->ndim; k++)
		shape[k] = bl->shape[k];
	if (n != bl->count)
		shape[bl->ndim - 2] = n / 7;   /* DetectionOutput rows */
	if (!(bytes = npy_encode(cr_blob_data(net, arena, b), bl->ndim, shape, &len, err)))
		return -1;
	rc = file_stage(o, path, bytes, len, err);
	free(bytes);
	return rc;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"input", required_argument, 0, 'i'},
		{"output", required_argument, 0, 'o'},
		{"output-dir", required_argument, 0, OPT_OUTPUT_DIR},
		{"blob", required_argument, 0, 'b'},
		{"threads", required_argument, 0, OPT_THREADS},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *prototxt = NULL, *caffemodel = NULL, *out = NULL, *dir = NULL;
	char *inargs[MAX_LIST];
	const char *blobs[MAX_LIST];
	size_t nin = 0, nblobs = 0, k;
	long threads = 1;
	struct inputs *x = NULL;
	struct outfile *files = NULL;
	size_t nfiles = 0;
	caffeopt_model *m = NULL;
	const cr_net *net = NULL;
	float *arena = NULL;
	caffeopt_error err;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "m:w:i:o:b:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm': prototxt = optarg; break;
		case 'w': caffemodel = optarg; break;
		case 'i':
			if (nin == MAX_LIST)
				return cli_usage("run", "too many --input options");
			inargs[nin++] = optarg;
			break;
		case 'o': out = optarg; break;
		case OPT_OUTPUT_DIR: dir = optarg; break;
		case 'b':
			if (nblobs == MAX_LIST)
				return cli_usage("run", "too many --blob options");
			blobs[nblobs++] = optarg;
			break;
		case OPT_THREADS:
			if ((threads = positive(optarg, 1024)) < 0)
				return cli_usage("run", "--threads wants a positive integer, got '%s'", optarg);
			break;
		case 'q': cli_quiet = 1; break;
		case 'h': fputs(usage_run, stdout); return 0;
		default: return cli_usage("run", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage("run", "unexpected argument '%s'", argv[optind]);
	if (!prototxt)
		return cli_usage("run", "no prototxt: give -m");
	if (out && dir)
		return cli_usage("run", "give -o or --output-dir, not both");
	cr_set_threads((int)threads);

	if (!(m = load(prototxt, caffemodel, &err)) || !(net = netbuild(m, blobs, nblobs, 0, &err))) {
		rc = cli_fail(&err);
		goto done;
	}
	if (out && net->noutput != 1) {
		rc = cli_usage("run", "-o writes one output and the net has %u; use --output-dir or --blob",
		                 net->noutput);
		goto done;
	}
	if (!(x = calloc(1, sizeof *x)) || !(files = calloc(net->noutput + 1, sizeof *files)) ||
	    !(arena = netbuild_arena(net))) {
		fprintf(stderr, "%s: out of memory\n", argv0);
		goto done;
	}
	if (nin < net->ninput && !cli_quiet)
		fprintf(stderr, "%s: warning: %u of the net's inputs get no array and are zero\n", argv0,
		        net->ninput - (uint32_t)nin);
	if (read_inputs(x, net, inargs, nin, &err) < 0 ||
	    engine_set_inputs(net, arena, x->in, x->n, &err) < 0) {
		rc = cli_fail(&err);
		goto done;
	}
	if (cr_forward(net, arena) < 0) {
		fprintf(stderr, "%s: %s: forward failed\n", argv0, prototxt);
		goto done;
	}
	if (dir && mkdir(dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s: cannot create the output folder: %s\n", argv0, dir, strerror(errno));
		goto done;
	}
	if (out || dir) {
		for (k = 0; k < net->noutput; k++) {
			char path[4096];
			if (out)
				snprintf(path, sizeof path, "%s", out);
			else
				file_name(path, sizeof path, dir, net->blob[net->output[k]].name);
			if (stage_output(&files[nfiles], path, net, arena, net->output[k], &err) < 0) {
				file_abort(files, nfiles);
				rc = cli_fail(&err);
				goto done;
			}
			nfiles++;
		}
		if (file_commit(files, nfiles, &err) < 0) {
			rc = cli_fail(&err);
			goto done;
		}
		if (!cli_quiet)
			for (k = 0; k < nfiles; k++)
				printf("  wrote %s (%s)\n", files[k].path, net->blob[net->output[k]].name);
		file_abort(files, nfiles);   /* frees the strings; nothing left to remove */
	} else {
		for (k = 0; k < net->noutput; k++)
			summary(net, arena, net->output[k]);
	}
	rc = 0;
done:
	if (x)
		free_inputs(x);
	free(x);
	free(files);
	free(arena);
	netbuild_free(net);
	caffeopt_model_free(m);
	return rc;
}

/* "104,117,123" -> v[]; -1 unless 1 to max finite numbers. */
static int
parse_numbers(const char *s, double *v, size_t max, size_t *n)
{
	char *end;

	*n = 0;
	while (*n < max) {
		errno = 0;
		v[*n] = strtod(s, &end);
		if (errno || end == s || !isfinite(v[*n]))
			return -1;
		(*n)++;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
	return -1;
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"model-b", required_argument, 0, 'M'},
		{"weights-b", required_argument, 0, 'W'},
		{"input", required_argument, 0, 'i'},
		{"mean", required_argument, 0, OPT_MEAN},
		{"input-scale", required_argument, 0, OPT_INPUT_SCALE},
		{"samples", required_argument, 0, OPT_SAMPLES},
		{"tol", required_argument, 0, OPT_TOL},
		{"threads", required_argument, 0, OPT_THREADS},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *pa = NULL, *wa = NULL, *pb = NULL, *wb = NULL;
	char *inargs[MAX_LIST];
	size_t nin = 0;
	double mean[64];
	long threads = 1, samples = 3;
	struct engine_verify o = {0};
	struct inputs *x = NULL;
	caffeopt_model *ma = NULL, *mb = NULL;
	const cr_net *nb = NULL;
	caffeopt_error err;
	int c, rc = 1;

	o.tol = 1e-4;
	while ((c = getopt_long(argc, argv, "m:w:M:W:i:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm': pa = optarg; break;
		case 'w': wa = optarg; break;
		case 'M': pb = optarg; break;
		case 'W': wb = optarg; break;
		case 'i':
			if (nin == MAX_LIST)
				return cli_usage("verify", "too many --input options");
			inargs[nin++] = optarg;
			break;
		case OPT_MEAN:
			if (parse_numbers(optarg, mean, 64, &o.nmean) < 0)
				return cli_usage("verify", "--mean wants per-channel values B,G,R, got '%s'", optarg);
			o.mean = mean;
			break;
		case OPT_INPUT_SCALE: {
			char *end;
			o.input_scale = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(o.input_scale) || o.input_scale == 0)
				return cli_usage("verify", "--input-scale wants a non-zero number, got '%s'", optarg);
			o.has_input_scale = 1;
			break;
		}
		case OPT_SAMPLES:
			if (strcmp(optarg, "0") == 0)
				samples = 0;
			else if ((samples = positive(optarg, 1000000)) < 0)
				return cli_usage("verify", "--samples wants an integer >= 0, got '%s'", optarg);
			break;
		case OPT_TOL: {
			char *end;
			o.tol = strtod(optarg, &end);
			if (end == optarg || *end || !(o.tol >= 0))
				return cli_usage("verify", "--tol wants a number >= 0, got '%s'", optarg);
			break;
		}
		case OPT_THREADS:
			if ((threads = positive(optarg, 1024)) < 0)
				return cli_usage("verify", "--threads wants a positive integer, got '%s'", optarg);
			break;
		case 'q': cli_quiet = 1; break;
		case 'h': fputs(usage_verify, stdout); return 0;
		default: return cli_usage("verify", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage("verify", "unexpected argument '%s'", argv[optind]);
	if (!pa || !pb)
		return cli_usage("verify", "give both models: -m A.prototxt and -M B.prototxt");
	if (samples == 0 && nin == 0)
		return cli_usage("verify", "--samples 0 and no --input: nothing to compare");
	o.samples = (unsigned)samples;
	cr_set_threads((int)threads);

	if (!(ma = load(pa, wa, &err)) || !(mb = load(pb, wb, &err))) {
		rc = cli_fail(&err);
		goto done;
	}
	if (nin) {
		/* Input names are B's (the raw input). */
		if (!(nb = netbuild(mb, NULL, 0, 0, &err))) {
			rc = cli_fail(&err);
			goto done;
		}
		if (!(x = calloc(1, sizeof *x))) {
			fprintf(stderr, "%s: out of memory\n", argv0);
			goto done;
		}
		if (read_inputs(x, nb, inargs, nin, &err) < 0) {
			rc = cli_fail(&err);
			goto done;
		}
		o.inputs = x->in;
		o.ninputs = x->n;
	}
	if (!cli_quiet)
		printf("caffeopt verify\n  reference %s%s%s\n  checked   %s%s%s\n", pa, wa ? " + " : "",
		       wa ? wa : "", pb, wb ? " + " : "", wb ? wb : "");
	o.out = cli_quiet ? NULL : stdout;
	switch (engine_verify(ma, mb, &o, &err)) {
	case 0: rc = 0; break;
	case 1:
		fprintf(stderr, "%s: verify: %s differs from %s beyond the tolerance %g\n", argv0, pb, pa, o.tol);
		rc = 1;
		break;
	default: rc = cli_fail(&err); break;
	}
done:
	if (x)
		free_inputs(x);
	free(x);
	netbuild_free(nb);
	caffeopt_model_free(ma);
	caffeopt_model_free(mb);
	return rc;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct timing {
	double median, min;        /* milliseconds */
	size_t arena, naive;       /* bytes */
	uint64_t macs;
};

/* Time one model: warm-up runs, then runs timed forwards (inputs written
 * again before each, outside the timing). */
static int
time_model(const char *prototxt, const char *caffemodel, long warmup, long runs,
           struct timing *t, caffeopt_error *err)
{
	caffeopt_model *m = load(prototxt, caffemodel, err);
	const cr_net *net = m ? netbuild(m, NULL, 0, 0, err) : NULL;
	float *arena = net ? netbuild_arena(net) : NULL;
	double *ms = calloc((size_t)runs, sizeof *ms);
	long r;
	uint32_t k;
	int rc = -1;

	if (!net)
		goto out;
	if (!arena || !ms) {
		caffeopt_fail(err, NULL, 0, 0, "out of memory");
		goto out;
	}
	t->macs = 0;
	for (k = 0; k < net->nlayer; k++)
		t->macs += cr_layer_macs(net, k);
	for (r = -warmup; r < runs; r++) {
		double t0;
		for (k = 0; k < net->ninput; k++)
			engine_random_input(net, arena, net->input[k], 7 + k, -1, 1);
		t0 = now();
		cr_forward(net, arena);
		if (r >= 0)
			ms[r] = (now() - t0) * 1e3;
	}
	qsort(ms, (size_t)runs, sizeof *ms, by_value);
	t->min = ms[0];
	t->median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
	t->arena = cr_arena_bytes(net);
	t->naive = (size_t)net->naive_floats * sizeof(float);
	rc = 0;
out:
	free(ms);
	free(arena);
	netbuild_free(net);
	caffeopt_model_free(m);
	return rc;
}

static void
print_timing(const char *label, const char *prototxt, const struct timing *t)
{
	printf("  %s %s\n", label, prototxt);
	printf("    forward   median %.3f ms, min %.3f ms\n", t->median, t->min);
	printf("    MACs      %.3f G\n", (double)t->macs * 1e-9);
	printf("    arena     %zu bytes planned, %zu naive (%.1f%%)\n", t->arena, t->naive,
	       t->naive ? 100.0 * (double)t->arena / (double)t->naive : 0.0);
}

int
cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"model-b", required_argument, 0, 'M'},
		{"weights-b", required_argument, 0, 'W'},
		{"runs", required_argument, 0, OPT_RUNS},
		{"warmup", required_argument, 0, OPT_WARMUP},
		{"threads", required_argument, 0, OPT_THREADS},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	const char *pa = NULL, *wa = NULL, *pb = NULL, *wb = NULL;
	long runs = 20, warmup = 3, threads = 1;
	struct timing ta, tb;
	caffeopt_error err;
	int c;

	while ((c = getopt_long(argc, argv, "m:w:M:W:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm': pa = optarg; break;
		case 'w': wa = optarg; break;
		case 'M': pb = optarg; break;
		case 'W': wb = optarg; break;
		case OPT_RUNS:
			if ((runs = positive(optarg, 1000000)) < 0)
				return cli_usage("bench", "--runs wants a positive integer, got '%s'", optarg);
			break;
		case OPT_WARMUP:
			if (strcmp(optarg, "0") == 0)
				warmup = 0;
			else if ((warmup = positive(optarg, 1000000)) < 0)
				return cli_usage("bench", "--warmup wants an integer >= 0, got '%s'", optarg);
			break;
		case OPT_THREADS:
			if ((threads = positive(optarg, 1024)) < 0)
				return cli_usage("bench", "--threads wants a positive integer, got '%s'", optarg);
			break;
		case 'q': cli_quiet = 1; break;
		case 'h': fputs(usage_bench, stdout); return 0;
		default: return cli_usage("bench", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage("bench", "unexpected argument '%s'", argv[optind]);
	if (!pa)
		return cli_usage("bench", "no prototxt: give -m");
	if (wb && !pb)
		return cli_usage("bench", "-W needs -M");
	cr_set_threads((int)threads);
	if (time_model(pa, wa, warmup, runs, &ta, &err) < 0)
		return cli_fail(&err);
	if (pb && time_model(pb, wb, warmup, runs, &tb, &err) < 0)
		return cli_fail(&err);
	printf("caffeopt bench: %ld runs after %ld warm-up, %ld thread%s, GEMM %s\n", runs, warmup,
	       threads, threads == 1 ? "" : "s", cr_gemm_name());
	print_timing("A", pa, &ta);
	if (pb) {
		print_timing("B", pb, &tb);
		printf("  ratio     A/B median %.3fx, min %.3fx\n", ta.median / tb.median, ta.min / tb.min);
	}
	return 0;
}
