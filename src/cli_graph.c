#define _GNU_SOURCE
/* cli_graph.c - `caffeopt graph`: load a model, optionally run the passes,
 * draw it with Graphviz (graphviz.c) and write the picture atomically.
 * Exit codes as main.c: 0 ok, 1 error (one line on stderr), 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caffeopt/caffeopt.h"
#include "cli.h"
#include "cli_graph.h"
#include "fileio.h"
#include "graphviz.h"

static const char usage_graph[] =
	"usage: caffeopt graph -m X.prototxt [-w X.caffemodel] -o OUT.svg|OUT.png|OUT.dot\n"
	"                      [--optimized] [--passes P,..] [OPTIONS]\n"
	"\n"
	"Draw the network with Graphviz: layers as nodes (type, name, key parameters,\n"
	"output shape), blobs as edges labelled with their names.\n"
	"\n"
	"  -m, --model FILE         prototxt\n"
	"  -w, --weights FILE       caffemodel (passes that rewrite weights need it)\n"
	"  -o, --output FILE        the picture; its extension picks the format:\n"
	"                           .svg, .png, .dot or .gv (the graph source)\n"
	"      --format F           svg, png, dot or another Graphviz format, whatever\n"
	"                           the extension of -o\n"
	"      --optimized          draw the net after the passes; each folded layer is\n"
	"                           listed inside the layer that absorbed it\n"
	"      --passes P,..|all    the passes --optimized runs (default: those on by\n"
	"                           default, see 'caffeopt optimize --help'); implies\n"
	"                           --optimized\n"
	"      --deploy             data layers -> Input, loss/accuracy layers removed\n"
	"      --input-shape N,C,H,W  input shape for --deploy\n"
	"      --phase test|train   the phase to filter layers for (default test)\n"
	"      --title TEXT         the picture's title (default: the net's name)\n"
	"  -q, --quiet              print errors only\n"
	"  -h, --help               this text\n";

enum { OPT_OPTIMIZED = 256, OPT_PASSES, OPT_DEPLOY, OPT_INPUT_SHAPE, OPT_PHASE, OPT_FORMAT, OPT_TITLE };


/* The format -o's extension names; NULL when it names none we know. */
static const char *
format_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return NULL;
	if (strcmp(dot, ".svg") == 0)
		return "svg";
	if (strcmp(dot, ".png") == 0)
		return "png";
	if (strcmp(dot, ".dot") == 0 || strcmp(dot, ".gv") == 0)
		return "dot";
	return NULL;
}

int
cmd_graph(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"output", required_argument, 0, 'o'},
		{"format", required_argument, 0, OPT_FORMAT},
		{"optimized", no_argument, 0, OPT_OPTIMIZED},
		{"passes", required_argument, 0, OPT_PASSES},
		{"deploy", no_argument, 0, OPT_DEPLOY},
		{"input-shape", required_argument, 0, OPT_INPUT_SHAPE},
		{"phase", required_argument, 0, OPT_PHASE},
		{"title", required_argument, 0, OPT_TITLE},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	struct caffeopt_load_options lo = {0};
	struct caffeopt_optimize_options oo = {0};
	struct graphviz_options go = {0};
	struct caffeopt_stats before, after;
	struct outfile of = {0};
	const char *output = NULL, *passes = NULL;
	size_t npasses = caffeopt_pass_count(), i, len = 0;
	int *enabled = NULL, optimized = 0, c, rc;
	caffeopt_model *m = NULL;
	caffeopt_report *rep = NULL;
	caffeopt_error err;
	char *pic = NULL;

	while ((c = getopt_long(argc, argv, "m:w:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm': lo.prototxt = optarg; break;
		case 'w': lo.caffemodel = optarg; break;
		case 'o': output = optarg; break;
		case OPT_FORMAT: go.format = optarg; break;
		case OPT_OPTIMIZED: optimized = 1; break;
		case OPT_PASSES: passes = optarg; optimized = 1; break;
		case OPT_DEPLOY: lo.deploy = 1; break;
		case OPT_INPUT_SHAPE:
			if (cli_parse_shape(optarg, lo.input_shape) < 0)
				return cli_usage("graph", "--input-shape wants N,C,H,W with positive integers, got '%s'", optarg);
			lo.has_input_shape = 1;
			break;
		case OPT_PHASE:
			if (strcmp(optarg, "test") == 0 || strcmp(optarg, "TEST") == 0)
				lo.train = 0;
			else if (strcmp(optarg, "train") == 0 || strcmp(optarg, "TRAIN") == 0)
				lo.train = 1;
			else
				return cli_usage("graph", "--phase wants test or train, got '%s'", optarg);
			break;
		case OPT_TITLE: go.title = optarg; break;
		case 'q': cli_quiet = 1; break;
		case 'h':
			fputs(usage_graph, stdout);
			return 0;
		default: return cli_usage("graph", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage("graph", "unexpected argument '%s'", argv[optind]);
	if (!lo.prototxt)
		return cli_usage("graph", "no prototxt: give -m");
	if (!output)
		return cli_usage("graph", "no output: give -o OUT.svg, OUT.png or OUT.dot");
	if (!go.format && !(go.format = format_of(output)))
		return cli_usage("graph", "cannot tell the format of '%s': name it .svg, .png or .dot, or give --format",
		                   output);
	if (!(enabled = calloc(npasses + 1, sizeof *enabled)))
		return 1;
	/* --passes names exactly the passes to run; else the default set. */
	for (i = 0; i < npasses; i++)
		enabled[i] = passes ? 0 : caffeopt_pass_default(i);
	if (passes && (rc = cli_select_passes("graph", passes, 1, enabled)) != 0)
		goto out;

	rc = 1;
	lo.warn = cli_warn;
	if (!(m = caffeopt_model_load(&lo, &err))) {
		rc = cli_fail(&err);
		goto out;
	}
	if (optimized) {
		oo.enabled = enabled;
		if (caffeopt_optimize(m, &oo, &rep, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
	}
	if (graphviz_render(m, &go, &pic, &len, &err) < 0 || file_stage(&of, output, pic, len, &err) < 0
	    || file_commit(&of, 1, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	rc = 0;
	if (!cli_quiet) {
		if (rep) {
			caffeopt_report_stats(rep, &before, &after);
			printf("caffeopt graph: wrote %s (%s, %zu layers after the passes, %zu before)\n", output,
			       go.format, after.layers, before.layers);
		} else {
			caffeopt_model_stats(m, &before);
			printf("caffeopt graph: wrote %s (%s, %zu layers)\n", output, go.format, before.layers);
		}
	}
out:
	free(pic);
	caffeopt_report_free(rep);
	caffeopt_model_free(m);
	free(enabled);
	return rc;
}
