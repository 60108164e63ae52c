/* main.c - the caffeopt command line: a thin layer over the library.
 * Exit codes: 0 ok, 1 error (one line on stderr), 2 usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caffeopt/caffeopt.h"
#include "cli_graph.h"
#include "cli.h"
#include "cli_run.h"
#include "engine.h"
#include "config.h"
#include "cli_embed.h"
#include "json.h"
#include "fileio.h"
#include "meanfile.h"
#include "report_html.h"

static const char *argv0 = "caffeopt";

static const char usage_main[] =
	"usage: caffeopt COMMAND [OPTIONS]\n"
	"\n"
	"Turn a trained Caffe model into an equivalent, faster, smaller one.\n"
	"\n"
	"commands:\n"
	"  optimize   load, upgrade, filter, bind, rewrite and write a model\n"
	"  convert    convert a NetParameter between text and binary\n"
	"  info       print layers, blobs, weight shapes and parameter counts\n"
	"  graph      draw the network (SVG, PNG, dot), before or after the passes\n"
	"  run        run a model's forward pass (.npy in and out)\n"
	"  verify     check that two models compute the same outputs\n"
	"  bench      time one or two models' forward passes\n"
	"\n"
	"  caffeopt COMMAND --help   options of one command\n"
	"  caffeopt --version        the version\n";

static const char usage_optimize[] =
	"usage: caffeopt optimize -m IN.prototxt [-w IN.caffemodel] -o OUT.prototxt\n"
	"                         [-W OUT.caffemodel] [OPTIONS]\n"
	"\n"
	"  -m, --model FILE         input prototxt (ini: original_prototxt_path)\n"
	"  -w, --weights FILE       input caffemodel (ini: original_model_path)\n"
	"  -o, --output FILE        output prototxt (ini: optimized_prototxt_path)\n"
	"  -W, --output-weights FILE output caffemodel (ini: optimized_model_path)\n"
	"  -c, --config FILE        the original project's config.ini; flags override it\n"
	"      --enable P,..        run these passes too\n"
	"      --disable P,..|all   do not run these passes\n"
	"      --deploy             data layers -> Input, loss/accuracy layers removed\n"
	"      --input-shape N,C,H,W  input shape for --deploy (ini: H, W, C; batch 1)\n"
	"      --input-layer        write input:/input_dim fields as an Input layer\n"
	"      --phase test|train   the phase to filter layers for (default test)\n"
	"      --level N            the NetState level for include/exclude rules\n"
	"      --stage NAME         a NetState stage (repeatable)\n"
	"      --keep-layer-params  the caffemodel keeps every layer field, not only weights\n"
	"      --keep-blob NAME     keep blob NAME as a network output (repeatable)\n"
	"      --mean B,G,R|FILE    input mean to fold: values, or a .npy/.binaryproto\n"
	"                           averaged per channel (fold-input; ini: mean_*)\n"
	"      --input-scale S      input scale to fold (fold-input; ini: input_scale)\n"
	"      --report FILE.json   write the report as JSON too\n"
	"      --verify             run source and result in the engine on seeded inputs;\n"
	"                           write nothing when an output differs beyond --tol\n"
	"      --tol T              --verify's tolerance, relative to max |output| (1e-4)\n"
	"      --report-html FILE.html  one page: pictures before and after, totals, passes\n"
	"      --no-fsync           outputs are renamed into place without fsync: still\n"
	"                           atomic (never partial, also when killed), not durable\n"
	"                           across a power loss or kernel crash\n"
	"  -q, --quiet              print errors only\n"
	"  -v, --verbose            print the layer table of the result\n"
	"  -h, --help               this text\n";

static const char usage_convert[] =
	"usage: caffeopt convert IN OUT [--to text|binary]\n"
	"\n"
	"Formats follow the extensions: .prototxt, .pbtxt are text; .caffemodel and\n"
	".binaryproto (a BlobProto such as a mean file) are binary.  Legacy V0/V1\n"
	"nets are upgraded.\n"
	"\n"
	"      --to text|binary     output format, whatever OUT's extension\n"
	"  -h, --help               this text\n";

static const char usage_info[] =
	"usage: caffeopt info -m X.prototxt [-w X.caffemodel] [--phase test|train]\n"
	"\n"
	"  -m, --model FILE         prototxt\n"
	"  -w, --weights FILE       caffemodel (weight shapes and parameter counts)\n"
	"      --phase test|train   the phase to filter layers for (default test)\n"
	"  -h, --help               this text\n";

enum {
	OPT_ENABLE = 256, OPT_DISABLE, OPT_DEPLOY, OPT_INPUT_SHAPE, OPT_INPUT_LAYER,
	OPT_PHASE, OPT_LEVEL, OPT_STAGE, OPT_KEEP_PARAMS, OPT_REPORT, OPT_TO,
	OPT_KEEP_BLOB, OPT_MEAN, OPT_INPUT_SCALE, OPT_REPORT_HTML, OPT_VERIFY, OPT_TOL,
	OPT_NO_FSYNC
};

/* An ini switch (-1 unset, 0 no, 1 yes) applied to the named passes. */
static void
ini_switch(int value, const char *const *names, int *enabled)
{
	int k;

	for (; value >= 0 && *names; names++)
		if ((k = caffeopt_pass_index(*names)) >= 0)
			enabled[k] = value;
}

/* "104,117,123" -> mean[]; -1 unless 1 to 16 finite numbers. */
static int
parse_numbers(const char *s, double *v, size_t max, size_t *n)
{
	char *end;

	*n = 0;
	while (*n < max) {
		errno = 0;
		v[*n] = strtod(s, &end);
		if (errno || end == s || v[*n] != v[*n])
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

struct run {
	const char *prototxt, *caffemodel, *out_prototxt, *out_caffemodel;
	int deploy;
	long shape[4];
	int has_shape;
};

static int
write_report(const char *path, const struct run *r, const caffeopt_report *rep)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "%s: %s: cannot write report: %s\n", argv0, path, strerror(errno));
		return 1;
	}
	fputs("{\n\"prototxt\": ", f);
	json_string(f, r->prototxt);
	fputs(",\n\"caffemodel\": ", f);
	json_string(f, r->caffemodel);
	fputs(",\n\"output_prototxt\": ", f);
	json_string(f, r->out_prototxt);
	fputs(",\n\"output_caffemodel\": ", f);
	json_string(f, r->out_caffemodel);
	fprintf(f, ",\n\"deploy\": %s,\n\"optimize\": ", r->deploy ? "true" : "false");
	caffeopt_report_json(rep, f);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: %s: cannot write report: %s\n", argv0, path, strerror(errno));
		return 1;
	}
	return 0;
}

enum { MAX_LIST = 64 };

/* optimize --verify: the source as loaded, against the optimized m, in the
 * engine on seeded inputs (preprocessed for the source when the input fold
 * ran).  0 when within tol, else 1 after a message: nothing is written. */
/* One --verify figure per output into the HTML report. */
static void
verify_figure(void *ctx, const char *output, const char *shape, double maxa, double abs, double rel,
              int ok)
{
	char v[256];

	snprintf(v, sizeof v, "%s: max |output| %.5g, max abs error %.3g, max relative error %.3g (%s)",
	         shape, maxa, abs, rel, ok ? "ok" : "FAIL");
	if (report_html_verify_row(ctx, output, v) < 0)
		cli_warn(NULL, "--report-html: out of memory for a --verify figure");
}

static int
verify_optimized(const struct caffeopt_load_options *lo, caffeopt_model *m,
                 const struct caffeopt_optimize_options *oo, double tol, struct report_html *html)
{
	struct caffeopt_load_options again = *lo;
	struct engine_verify vo = {0};
	char summary[160];
	caffeopt_model *src;
	caffeopt_error err;
	int k = caffeopt_pass_index("fold-input"), rc;

	again.warn = NULL;  /* its warnings were printed at the first load */
	if (!(src = caffeopt_model_load(&again, &err)))
		return cli_fail(&err);
	vo.samples = 3;
	vo.tol = tol;
	vo.out = cli_quiet ? NULL : stdout;
	if (k >= 0 && oo->enabled[k]) {
		vo.mean = oo->mean;
		vo.nmean = oo->nmean;
		vo.has_input_scale = oo->has_input_scale;
		vo.input_scale = oo->input_scale;
	}
	if (html) {
		vo.figure = verify_figure;
		vo.figure_ctx = html;
	}
	cr_set_threads(1);
	if (!cli_quiet)
		printf("caffeopt optimize --verify (tolerance %g of max |output|)\n", tol);
	rc = engine_verify(src, m, &vo, &err);
	caffeopt_model_free(src);
	if (rc < 0)
		return cli_fail(&err);
	if (html) {
		snprintf(summary, sizeof summary,
		         "the engine ran the source and the optimized model on %u seeded inputs; every output "
		         "within %g of its max |output|", vo.samples, tol);
		report_html_verify_verdict(html, rc == 0, summary);
	}
	if (rc > 0) {
		fprintf(stderr, "caffeopt: optimize: --verify: the optimized model differs from %s beyond %g; "
		        "nothing written\n", lo->prototxt, tol);
		return 1;
	}
	return 0;
}

static int
cmd_optimize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"output", required_argument, 0, 'o'},
		{"output-weights", required_argument, 0, 'W'},
		{"config", required_argument, 0, 'c'},
		{"enable", required_argument, 0, OPT_ENABLE},
		{"disable", required_argument, 0, OPT_DISABLE},
		{"deploy", no_argument, 0, OPT_DEPLOY},
		{"input-shape", required_argument, 0, OPT_INPUT_SHAPE},
		{"input-layer", no_argument, 0, OPT_INPUT_LAYER},
		{"phase", required_argument, 0, OPT_PHASE},
		{"level", required_argument, 0, OPT_LEVEL},
		{"stage", required_argument, 0, OPT_STAGE},
		{"keep-layer-params", no_argument, 0, OPT_KEEP_PARAMS},
		{"keep-blob", required_argument, 0, OPT_KEEP_BLOB},
		{"mean", required_argument, 0, OPT_MEAN},
		{"input-scale", required_argument, 0, OPT_INPUT_SCALE},
		{"report", required_argument, 0, OPT_REPORT},
		CLI_EMBED_OPTIONS,
		{"report-html", required_argument, 0, OPT_REPORT_HTML},
		{"verify", no_argument, 0, OPT_VERIFY},
		{"tol", required_argument, 0, OPT_TOL},
		{"no-fsync", no_argument, 0, OPT_NO_FSYNC},
		{"quiet", no_argument, 0, 'q'},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	struct caffeopt_load_options lo = {0};
	struct caffeopt_save_options so = {0};
	struct caffeopt_optimize_options oo = {0};
	struct caffeopt_stats before, after;
	struct config cfg = {0};
	struct run r = {0};
	const char *config_path = NULL, *report = NULL, *mean_path = NULL;
	const char *stages[MAX_LIST], *keep[MAX_LIST], *enable[MAX_LIST], *disable[MAX_LIST];
	size_t nstages = 0, nkeep = 0, nenable = 0, ndisable = 0, npasses = caffeopt_pass_count(), i;
	int *enabled = NULL;
	double mean[16], scale = 0;
	size_t nmean = 0;
	int has_scale = 0;
	caffeopt_model *m = NULL;
	caffeopt_report *rep = NULL;
	const char *report_html = NULL;
	struct report_html *html = NULL;
	caffeopt_error err;
	int c, verbose = 0, verify = 0, rc = 1;
	struct cli_embed emb;
	int k;
	double tol = 1e-4;

	cli_embed_init(&emb);
#define PUSH(list, n, what) do { \
		if ((n) == MAX_LIST) \
			return cli_usage("optimize", "too many %s options", what); \
		(list)[(n)++] = optarg; \
	} while (0)
	while ((c = getopt_long(argc, argv, "m:w:o:W:c:qvh", opts, NULL)) != -1) {
		if ((k = cli_embed_option(&emb, "optimize", c, optarg)) != 0) {
			if (k == 2)
				return 2;
			continue;
		}
		switch (c) {
		case 'm': r.prototxt = optarg; break;
		case 'w': r.caffemodel = optarg; break;
		case 'o': r.out_prototxt = optarg; break;
		case 'W': r.out_caffemodel = optarg; break;
		case 'c': config_path = optarg; break;
		case OPT_ENABLE: PUSH(enable, nenable, "--enable"); break;
		case OPT_DISABLE: PUSH(disable, ndisable, "--disable"); break;
		case OPT_DEPLOY: r.deploy = 1; break;
		case OPT_INPUT_SHAPE:
			if (cli_parse_shape(optarg, r.shape) < 0)
				return cli_usage("optimize", "--input-shape wants N,C,H,W with positive integers, got '%s'", optarg);
			r.has_shape = 1;
			break;
		case OPT_INPUT_LAYER: lo.input_layer = 1; break;
		case OPT_PHASE:
			if (cli_parse_phase(optarg, &lo.train) < 0)
				return cli_usage("optimize", "--phase wants test or train, got '%s'", optarg);
			break;
		case OPT_LEVEL: lo.level = atoi(optarg); break;
		case OPT_STAGE: PUSH(stages, nstages, "--stage"); break;
		case OPT_KEEP_BLOB: PUSH(keep, nkeep, "--keep-blob"); break;
		case OPT_KEEP_PARAMS: so.keep_layer_params = 1; break;
		case OPT_MEAN:
			/* Numbers B,G,R, or a mean file (.npy or .binaryproto). */
			if (parse_numbers(optarg, mean, 16, &nmean) < 0)
				mean_path = optarg;
			break;
		case OPT_VERIFY: verify = 1; break;
		case OPT_NO_FSYNC: file_set_durable(0); break;
		case OPT_TOL: {
			char *end;
			tol = strtod(optarg, &end);
			if (end == optarg || *end || !(tol > 0))
				return cli_usage("optimize", "--tol wants a positive number, got '%s'", optarg);
			break;
		}
		case OPT_INPUT_SCALE: {
			char *end;
			scale = strtod(optarg, &end);
			if (end == optarg || *end || !(scale == scale) || scale == 0)
				return cli_usage("optimize", "--input-scale wants a non-zero number, got '%s'", optarg);
			has_scale = 1;
			break;
		}
		case OPT_REPORT: report = optarg; break;
		case OPT_REPORT_HTML: report_html = optarg; break;
		case 'q': cli_quiet = 1; break;
		case 'v': verbose = 1; break;
		case 'h':
			fputs(usage_optimize, stdout);
			fputs(cli_embed_usage_optimize, stdout);
			printf("\npasses, in the order they run (* on by default):\n");
			for (i = 0; i < npasses; i++)
				printf("  %c %-16s %s\n", caffeopt_pass_default(i) ? '*' : ' ',
				       caffeopt_pass_name(i), caffeopt_pass_summary(i));
			return 0;
		default: return cli_usage("optimize", "bad option");
		}
	}
#undef PUSH
	if (optind < argc)
		return cli_usage("optimize", "unexpected argument '%s'", argv[optind]);
	if (!(enabled = calloc(npasses + 1, sizeof *enabled)))
		return 1;
	for (i = 0; i < npasses; i++)
		enabled[i] = caffeopt_pass_default(i);
	if (config_path) {
		if (config_read(&cfg, config_path, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		for (i = 0; i < cfg.nwarnings; i++)
			cli_warn(NULL, cfg.warnings[i]);
		if (cfg.saw_pycaffe && !cli_quiet)
			fprintf(stderr, "%s: note: %s: pycaffe_path is ignored; caffeopt needs no Caffe\n",
			        argv0, config_path);
		if (!r.prototxt) r.prototxt = cfg.prototxt;
		if (!r.caffemodel) r.caffemodel = cfg.model;
		/* With --emit-c the outputs are OUT_DIR/NAME.*: a build declares
		 * every file it makes, so the ini's output paths are not used. */
		if (!r.out_prototxt && !emb.o.out_dir) r.out_prototxt = cfg.out_prototxt;
		if (!r.out_caffemodel && !emb.o.out_dir) r.out_caffemodel = cfg.out_model;
		if (!r.has_shape && cfg.h > 0 && cfg.w > 0) {
			r.shape[0] = 1;
			r.shape[1] = cfg.c > 0 ? cfg.c : 3;
			r.shape[2] = cfg.h;
			r.shape[3] = cfg.w;
			r.has_shape = 1;
		}
		{
			static const char *const affine[] = {"fold-affine", "merge-affine", NULL};
			static const char *const dropout[] = {"remove-dropout", NULL};
			static const char *const inplace[] = {"inplace", NULL};
			ini_switch(cfg.merge_bn_scale, affine, enabled);
			ini_switch(cfg.merge_dropout, dropout, enabled);
			ini_switch(cfg.merge_inplace_memory, inplace, enabled);
		}
		if (cfg.merge_input_mean == 1 && nmean == 0 && !mean_path && cfg.mean_path &&
		    access(cfg.mean_path, F_OK) == 0) {
			mean_path = cfg.mean_path;
		} else if (cfg.merge_input_mean == 1 && nmean == 0 && !mean_path && cfg.has_mean_rgb) {
			if (cfg.mean_path && !cli_quiet)
				fprintf(stderr, "%s: note: %s: mean file %s does not exist; using mean_B, mean_G, mean_R\n",
				        argv0, config_path, cfg.mean_path);
			/* Caffe's channel order is B, G, R. */
			mean[0] = cfg.mean_b;
			mean[1] = cfg.mean_g;
			mean[2] = cfg.mean_r;
			nmean = 3;
		}
		if (cfg.merge_input_scale == 1 && !has_scale && cfg.has_input_scale) {
			scale = cfg.input_scale;
			has_scale = 1;
		}
		{
			static const char *const input[] = {"fold-input", NULL};
			ini_switch(cfg.merge_input_mean == 1 || cfg.merge_input_scale == 1 ? 1 : -1, input, enabled);
		}
	}
	for (i = 0; i < ndisable; i++)
		if ((rc = cli_select_passes("optimize", disable[i], 0, enabled)))
			goto out;
	for (i = 0; i < nenable; i++)
		if ((rc = cli_select_passes("optimize", enable[i], 1, enabled)))
			goto out;
	if (mean_path) {
		struct meanfile mf;
		if (meanfile_read(&mf, mean_path, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		if (mf.channels > 16) {
			fprintf(stderr, "%s: %s: %zu channels; at most 16 can be folded\n", argv0, mean_path, mf.channels);
			meanfile_free(&mf);
			rc = 1;
			goto out;
		}
		for (i = 0; i < mf.channels; i++)
			mean[i] = mf.mean[i];
		nmean = mf.channels;
		if (!mf.constant && !cli_quiet)
			fprintf(stderr, "%s: warning: %s: the mean image is not constant per channel (off by up to %g); "
			        "its per-channel average is folded\n", argv0, mean_path, mf.max_dev);
		meanfile_free(&mf);
	}
	rc = 2;
	if (!r.prototxt) {
		cli_usage("optimize", "no input prototxt: give -m or a config with original_prototxt_path");
		goto out;
	}
	if (cli_embed_check(&emb, "optimize") != 0)
		goto out;
	if (emb.o.out_dir && !r.caffemodel) {
		cli_usage("optimize", "--emit-c needs an input caffemodel (-w)");
		goto out;
	}
	if (!r.out_prototxt && !r.out_caffemodel && !emb.o.out_dir) {
		cli_usage("optimize", "no output: give -o and/or -W (or optimized_*_path in the config)");
		goto out;
	}
	if (r.out_caffemodel && !r.caffemodel) {
		cli_usage("optimize", "-W needs an input caffemodel (-w)");
		goto out;
	}
	rc = 1;

	lo.prototxt = r.prototxt;
	lo.caffemodel = r.caffemodel;
	lo.stages = stages;
	lo.nstages = nstages;
	lo.warn = cli_warn;
	lo.deploy = r.deploy;
	lo.has_input_shape = r.has_shape;
	memcpy(lo.input_shape, r.shape, sizeof r.shape);
	if (!(m = caffeopt_model_load(&lo, &err))) {
		rc = cli_fail(&err);
		goto out;
	}
	oo.enabled = enabled;
	oo.keep_blobs = keep;
	oo.nkeep_blobs = nkeep;
	oo.mean = mean;
	oo.nmean = nmean;
	oo.has_input_scale = has_scale;
	oo.input_scale = scale;
	/* The HTML report pictures the net before the passes rewrite it. */
	if (report_html && !(html = report_html_begin(m, r.prototxt, &err))) {
		rc = cli_fail(&err);
		goto out;
	}
	if (caffeopt_optimize(m, &oo, &rep, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (verify && (rc = verify_optimized(&lo, m, &oo, tol, html)) != 0)
		goto out;
	rc = 1;
	so.prototxt = r.out_prototxt;
	so.caffemodel = r.out_caffemodel;
	/* The depfile lists every file this run read. */
	cli_embed_input(&emb, r.prototxt);
	cli_embed_input(&emb, r.caffemodel);
	cli_embed_input(&emb, config_path);
	cli_embed_input(&emb, mean_path);
	if ((cli_embed_active(&emb) ? cli_embed_write(&emb, m, &so, &err) : caffeopt_model_save(m, &so, &err)) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (html && report_html_write(html, m, rep, report_html, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	rc = 0;
	if (!cli_quiet) {
		caffeopt_report_stats(rep, &before, &after);
		printf("caffeopt optimize\n");
		printf("  input     %s%s%s\n", r.prototxt, r.caffemodel ? " + " : "", r.caffemodel ? r.caffemodel : "");
		printf("  phase     %s%s\n", lo.train ? "TRAIN" : "TEST", r.deploy ? ", deploy" : "");
		if (r.deploy && r.has_shape)
			printf("  shape     %ldx%ldx%ldx%ld\n", r.shape[0], r.shape[1], r.shape[2], r.shape[3]);
		caffeopt_report_print(rep, stdout, verbose);
		if (r.out_prototxt)
			printf("  wrote     %s\n", r.out_prototxt);
		if (r.out_caffemodel)
			printf("  wrote     %s\n", r.out_caffemodel);
		cli_embed_print(&emb, stdout);
		if (report_html)
			printf("  wrote     %s\n", report_html);
		if (verbose)
			caffeopt_model_info(m, stdout);
	}
	if (report)
		rc = write_report(report, &r, rep);
out:
	report_html_free(html);
	caffeopt_report_free(rep);
	caffeopt_model_free(m);
	config_free(&cfg);
	free(enabled);
	return rc;
}

static int
cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, 0, OPT_TO},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	enum caffeopt_format to = CAFFEOPT_AUTO;
	caffeopt_error err;
	int c;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TO:
			if (strcmp(optarg, "text") == 0)
				to = CAFFEOPT_TEXT;
			else if (strcmp(optarg, "binary") == 0)
				to = CAFFEOPT_BINARY;
			else
				return cli_usage("convert", "--to wants text or binary, got '%s'", optarg);
			break;
		case 'q': cli_quiet = 1; break;
		case 'h': fputs(usage_convert, stdout); return 0;
		default: return cli_usage("convert", "bad option");
		}
	}
	if (argc - optind != 2)
		return cli_usage("convert", "wants IN and OUT");
	if (caffeopt_convert(argv[optind], argv[optind + 1], to, cli_warn, NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}

static int
cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"phase", required_argument, 0, OPT_PHASE},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	struct caffeopt_load_options lo = {0};
	caffeopt_model *m;
	caffeopt_error err;
	int c, rc;

	while ((c = getopt_long(argc, argv, "m:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': lo.prototxt = optarg; break;
		case 'w': lo.caffemodel = optarg; break;
		case OPT_PHASE:
			if (cli_parse_phase(optarg, &lo.train) < 0)
				return cli_usage("info", "--phase wants test or train, got '%s'", optarg);
			break;
		case 'h': fputs(usage_info, stdout); return 0;
		default: return cli_usage("info", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage("info", "unexpected argument '%s'", argv[optind]);
	if (!lo.prototxt)
		return cli_usage("info", "no prototxt: give -m");
	lo.warn = cli_warn;
	if (!(m = caffeopt_model_load(&lo, &err)))
		return cli_fail(&err);
	rc = caffeopt_model_info(m, stdout) < 0;
	/* Shapes, MACs and the arena plan need a net the engine can build; a
	 * train_val net gets a note instead. */
	if (engine_info(m, stdout, &err) < 0) {
		char buf[2200];
		printf("engine: %s\n", caffeopt_error_text(&err, buf, sizeof buf));
	}
	caffeopt_model_free(m);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
		{"optimize", cmd_optimize},
		{"convert", cmd_convert},
		{"info", cmd_info},
		{"embed", cmd_embed},
		{"run", cmd_run},
		{"verify", cmd_verify},
		{"bench", cmd_bench},
		{"graph", cmd_graph},
	};
	size_t i;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("caffeopt %s\n", caffeopt_version());
		return 0;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			char prog[64];
			snprintf(prog, sizeof prog, "caffeopt %s", cmds[i].name);
			argv[1] = prog;
			return cmds[i].run(argc - 1, argv + 1);
		}
	fprintf(stderr, "%s: unknown command '%s'\n%s", argv0, argv[1], usage_main);
	return 2;
}
