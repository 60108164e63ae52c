/* cli_embed.h - `caffeopt embed`, and the emit options `caffeopt optimize
 * --emit-c OUT_DIR` shares with it, so one run optimizes and emits.
 *
 * How cmd_optimize uses it (see the comments on each function):
 *	struct cli_embed emb;  cli_embed_init(&emb);
 *	long options: add CLI_EMBED_OPTIONS to the table;
 *	in the getopt loop, before the switch:
 *		if ((k = cli_embed_option(&emb, "optimize", c, optarg)) != 0)
 *			{ if (k == 2) return 2; continue; }
 *	after parsing: cli_embed_check(&emb, "optimize"), and the files read
 *	with cli_embed_input (prototxt, caffemodel, ini, mean file);
 *	instead of caffeopt_model_save when cli_embed_active(&emb):
 *		cli_embed_write(&emb, m, &so, &err), then cli_embed_print.
 */
#ifndef CAFFEOPT_CLI_EMBED_H
#define CAFFEOPT_CLI_EMBED_H

#include <getopt.h>
#include <stdio.h>

#include "caffeopt/caffeopt.h"
#include "embed.h"

/* caffeopt embed -m X.prototxt -w X.caffemodel --name NAME -o OUT_DIR [..]
 * argv[0] is the subcommand ("caffeopt embed").  0, 1 error, 2 usage. */
int cmd_embed(int argc, char **argv);

/* getopt_long codes of the shared options; far above any other command's. */
enum {
	CLI_EMBED_OPT_EMIT_C = 0x1000, CLI_EMBED_OPT_NAME, CLI_EMBED_OPT_MODE,
	CLI_EMBED_OPT_FORMAT, CLI_EMBED_OPT_ALIGN, CLI_EMBED_OPT_SECTION,
	CLI_EMBED_OPT_TEMPLATE, CLI_EMBED_OPT_DEPFILE, CLI_EMBED_OPT_STAMP
};

/* struct option rows for optimize (embed has its own table). */
#define CLI_EMBED_OPTIONS \
	{"emit-c", required_argument, 0, CLI_EMBED_OPT_EMIT_C}, \
	{"name", required_argument, 0, CLI_EMBED_OPT_NAME}, \
	{"mode", required_argument, 0, CLI_EMBED_OPT_MODE}, \
	{"format", required_argument, 0, CLI_EMBED_OPT_FORMAT}, \
	{"align", required_argument, 0, CLI_EMBED_OPT_ALIGN}, \
	{"section", required_argument, 0, CLI_EMBED_OPT_SECTION}, \
	{"template", required_argument, 0, CLI_EMBED_OPT_TEMPLATE}, \
	{"depfile", required_argument, 0, CLI_EMBED_OPT_DEPFILE}, \
	{"stamp", required_argument, 0, CLI_EMBED_OPT_STAMP}

/* The --help lines of those options, for optimize's usage text. */
extern const char cli_embed_usage_optimize[];

enum { CLI_EMBED_MAX_INPUTS = 16 };

struct cli_embed {
	struct embed_options o;       /* o.out_dir set: emit */
	const char *inputs[CLI_EMBED_MAX_INPUTS];
	struct embed_result res;
	int has_emit_option;          /* an option that needs --emit-c was given */
};

void cli_embed_init(struct cli_embed *e);

/* Take getopt_long's code c (argument arg) when it is one of
 * CLI_EMBED_OPTIONS: 1 taken, 0 not ours, 2 after printing a usage error
 * for command cmd ("optimize"). */
int cli_embed_option(struct cli_embed *e, const char *cmd, int c, const char *arg);

/* After the options: 0, or 2 after printing a usage error (--name, --mode,
 * .. without --emit-c; --emit-c without --name).  --depfile and --stamp
 * need no --emit-c: they describe a plain optimize run as well. */
int cli_embed_check(struct cli_embed *e, const char *cmd);

/* Record a file the run read (NULL is ignored), for --depfile. */
void cli_embed_input(struct cli_embed *e, const char *path);

/* 1 when the run must be written by cli_embed_write: --emit-c, --depfile
 * or --stamp was given. */
int cli_embed_active(const struct cli_embed *e);

/* Save and emit in one commit: so's prototxt and caffemodel (may be NULL)
 * and every output of embed_write; unchanged files are left untouched.
 * Replaces caffeopt_model_save when cli_embed_active.  0 or -1 (err
 * filled; nothing written). */
int cli_embed_write(struct cli_embed *e, caffeopt_model *m,
                    const struct caffeopt_save_options *so, caffeopt_error *err);

/* One report line ("  emitted   DIR/SYM.h (weights, literal; 2 written,
 * 3 unchanged)") after cli_embed_write; nothing without --emit-c. */
void cli_embed_print(const struct cli_embed *e, FILE *out);

#endif
