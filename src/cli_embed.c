/* cli_embed.c - `caffeopt embed` and optimize's --emit-c options: parse,
 * find the templates, call embed_write.  Exit codes as main.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_embed.h"
#include "model.h"

/* Where `caffeopt` finds its default templates: beside an installed
 * binary (CAFFEOPT_TEMPLATE_REL, relative to the binary's folder), else
 * the source tree it was built from. */
#ifndef CAFFEOPT_TEMPLATE_DIR
#define CAFFEOPT_TEMPLATE_DIR "templates"
#endif
#ifndef CAFFEOPT_TEMPLATE_REL
#define CAFFEOPT_TEMPLATE_REL "../share/caffeopt/templates"
#endif

const char cli_embed_usage_optimize[] =
	"      --emit-c DIR         also write C sources of the result to DIR\n"
	"                           (see caffeopt embed --help); with:\n"
	"      --name NAME          C symbol prefix (required with --emit-c)\n"
	"      --mode blob|weights|net  --format literal|array|incbin\n"
	"      --align N  --section NAME  --template DIR\n"
	"      --depfile F          write the files this run read, in Make syntax\n"
	"      --stamp F            rewrite F after every successful run (for builds)\n";

static const char usage_embed[] =
	"usage: caffeopt embed -m X.prototxt -w X.caffemodel --name NAME -o OUT_DIR\n"
	"                      [--mode blob|weights|net] [--format literal|array|incbin]\n"
	"                      [--align N] [--section NAME] [--template DIR]\n"
	"                      [--depfile F] [--stamp F]\n"
	"\n"
	"Write the model as C sources: OUT_DIR/SYM.h (extern declarations, sizes,\n"
	"enums), SYM.c (definitions; none for blob + incbin), SYM.S (incbin), and\n"
	"the model files SYM.prototxt, SYM.caffemodel (and SYM.weights for incbin\n"
	"in weights/net mode).  SYM is NAME made a C identifier.  Unchanged files\n"
	"are left untouched.\n"
	"\n"
	"  -m, --model FILE         prototxt (usually caffeopt optimize's output)\n"
	"  -w, --weights FILE       caffemodel\n"
	"  -o, --output DIR         the folder to write (created when missing)\n"
	"      --name NAME          C symbol prefix: NAME_caffemodel, NAME_layers, ...\n"
	"      --mode MODE          blob: the caffemodel and prototxt bytes (default)\n"
	"                           weights: one float pool, a weight and a layer table\n"
	"                           net: the runtime's tables, for cr_forward\n"
	"      --format FORMAT      literal: chunked string literals (default; C)\n"
	"                           array: brace lists (C and C++, MSVC)\n"
	"                           incbin: a .S with .incbin (GNU as, ELF); the build\n"
	"                           must put OUT_DIR on the include path\n"
	"      --align N            data alignment in bytes, a power of two (default 16)\n"
	"      --section NAME       put the data in this linker section\n"
	"      --template DIR       the templates to use (model.h.in, model.c.in, model.S.in)\n"
	"      --depfile F          write the files read, in Make syntax\n"
	"      --stamp F            rewrite F after every successful run (for builds)\n"
	"  -q, --quiet              print errors only\n"
	"  -h, --help               this text\n";

static int
is_template_dir(const char *dir)
{
	char path[4096];
	struct stat st;

	if ((size_t)snprintf(path, sizeof path, "%s/model.h.in", dir) >= sizeof path)
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The default template folder (static storage). */
static const char *
default_templates(void)
{
	static char dir[4096];
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';
			if ((size_t)snprintf(dir, sizeof dir, "%s/%s", exe, CAFFEOPT_TEMPLATE_REL) < sizeof dir &&
			    is_template_dir(dir)) {
				char *real = realpath(dir, NULL);  /* no "bin/.." in depfiles */
				if (real && strlen(real) < sizeof dir)
					strcpy(dir, real);
				free(real);
				return dir;
			}
		}
	}
	return CAFFEOPT_TEMPLATE_DIR;
}

void
cli_embed_init(struct cli_embed *e)
{
	memset(e, 0, sizeof *e);
	e->o.mode = EMBED_BLOB;
	e->o.format = EMBED_LITERAL;
	e->o.align = 16;
	e->o.inputs = e->inputs;
}

int
cli_embed_option(struct cli_embed *e, const char *cmd, int c, const char *arg)
{
	char *end;

	if (c < CLI_EMBED_OPT_EMIT_C || c > CLI_EMBED_OPT_STAMP)
		return 0;
	if (c != CLI_EMBED_OPT_EMIT_C && c != CLI_EMBED_OPT_DEPFILE && c != CLI_EMBED_OPT_STAMP)
		e->has_emit_option = 1;
	switch (c) {
	case CLI_EMBED_OPT_EMIT_C: e->o.out_dir = arg; break;
	case CLI_EMBED_OPT_NAME: e->o.name = arg; break;
	case CLI_EMBED_OPT_MODE:
		if (embed_mode_parse(arg, &e->o.mode) < 0)
			return cli_usage(cmd, "--mode wants blob, weights or net, got '%s'", arg);
		break;
	case CLI_EMBED_OPT_FORMAT:
		if (embed_format_parse(arg, &e->o.format) < 0)
			return cli_usage(cmd, "--format wants literal, array or incbin, got '%s'", arg);
		break;
	case CLI_EMBED_OPT_ALIGN:
		errno = 0;
		e->o.align = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || e->o.align == 0 || e->o.align > 4096 ||
		    (e->o.align & (e->o.align - 1)))
			return cli_usage(cmd, "--align wants a power of two from 1 to 4096, got '%s'", arg);
		break;
	case CLI_EMBED_OPT_SECTION: e->o.section = arg; break;
	case CLI_EMBED_OPT_TEMPLATE: e->o.template_dir = arg; break;
	case CLI_EMBED_OPT_DEPFILE: e->o.depfile = arg; break;
	case CLI_EMBED_OPT_STAMP: e->o.stamp = arg; break;
	}
	return 1;
}

int
cli_embed_check(struct cli_embed *e, const char *cmd)
{
	caffeopt_error err;
	char *sym;

	if (!e->o.out_dir) {
		if (e->has_emit_option)
			return cli_usage(cmd, "--name, --mode, --format, --align, --section and --template "
			                   "go with --emit-c DIR");
		return 0;
	}
	if (!e->o.name)
		return cli_usage(cmd, "no --name: it names the C symbols (NAME_caffemodel, ...)");
	if (!(sym = embed_symbol(e->o.name, &err)))
		return cli_usage(cmd, "%s", err.msg);
	free(sym);
	if (e->o.section && (!e->o.section[0] || strpbrk(e->o.section, "\"\\\n, \t")))
		return cli_usage(cmd, "--section '%s' is not a plain section name", e->o.section);
	if (!e->o.template_dir)
		e->o.template_dir = default_templates();
	else if (!is_template_dir(e->o.template_dir))
		return cli_usage(cmd, "--template %s: no model.h.in there", e->o.template_dir);
	return 0;
}

void
cli_embed_input(struct cli_embed *e, const char *path)
{
	size_t i;

	if (!path || e->o.ninputs == CLI_EMBED_MAX_INPUTS)
		return;
	for (i = 0; i < e->o.ninputs; i++)
		if (strcmp(e->inputs[i], path) == 0)
			return;
	e->inputs[e->o.ninputs++] = path;
}

int
cli_embed_write(struct cli_embed *e, caffeopt_model *m, const struct caffeopt_save_options *so,
                caffeopt_error *err)
{
	e->o.out_prototxt = so ? so->prototxt : NULL;
	e->o.out_caffemodel = so ? so->caffemodel : NULL;
	e->o.keep_layer_params = so ? so->keep_layer_params : 0;
	/* embed reads every weight: none stays in the file. */
	if (model_load_weights(m, err) < 0)
		return -1;
	return embed_write(m, &e->o, &e->res, err);
}

int
cli_embed_active(const struct cli_embed *e)
{
	return e->o.out_dir || e->o.depfile || e->o.stamp;
}

void
cli_embed_print(const struct cli_embed *e, FILE *out)
{
	static const char *const modes[] = {"blob", "weights", "net"};
	static const char *const formats[] = {"literal", "array", "incbin"};
	char *sym;

	if (!e->o.out_dir)
		return;
	sym = embed_symbol(e->o.name, NULL);
	fprintf(out, "  emitted   %s/%s.h (%s, %s; %zu written, %zu unchanged)\n", e->o.out_dir,
	        sym ? sym : e->o.name, modes[e->o.mode], formats[e->o.format], e->res.written,
	        e->res.unchanged);
	free(sym);
}

int
cmd_embed(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"weights", required_argument, 0, 'w'},
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		CLI_EMBED_OPTIONS,
		{0, 0, 0, 0}};
	struct caffeopt_load_options lo = {0};
	struct cli_embed e;
	caffeopt_model *m;
	caffeopt_error err;
	int c, k, rc;

	cli_embed_init(&e);
	while ((c = getopt_long(argc, argv, "m:w:o:qh", opts, NULL)) != -1) {
		if (c == CLI_EMBED_OPT_EMIT_C)
			return cli_usage("embed", "--emit-c is optimize's; embed writes to -o DIR");
		if ((k = cli_embed_option(&e, "embed", c, optarg)) != 0) {
			if (k == 2)
				return 2;
			continue;
		}
		switch (c) {
		case 'm': lo.prototxt = optarg; break;
		case 'w': lo.caffemodel = optarg; break;
		case 'o': e.o.out_dir = optarg; break;
		case 'q': cli_quiet = 1; break;
		case 'h': fputs(usage_embed, stdout); return 0;
		default: return cli_usage("embed", "bad option");
		}
	}
	if (optind < argc)
		return cli_usage("embed", "unexpected argument '%s'", argv[optind]);
	if (!lo.prototxt)
		return cli_usage("embed", "no prototxt: give -m");
	if (!lo.caffemodel)
		return cli_usage("embed", "no caffemodel: give -w (embedding needs the weights)");
	if (!e.o.out_dir)
		return cli_usage("embed", "no output folder: give -o DIR");
	e.has_emit_option = 0;
	if ((rc = cli_embed_check(&e, "embed")) != 0)
		return rc;
	cli_embed_input(&e, lo.prototxt);
	cli_embed_input(&e, lo.caffemodel);
	lo.warn = cli_warn;
	if (!(m = caffeopt_model_load(&lo, &err)))
		return cli_fail(&err);
	rc = 0;
	if (cli_embed_write(&e, m, NULL, &err) < 0)
		rc = cli_fail(&err);
	else if (!cli_quiet)
		cli_embed_print(&e, stdout);
	caffeopt_model_free(m);
	return rc;
}
