/* test_template.c - the template engine: each case is a template, the
 * values it sees, and the exact text (or the exact error) it must give. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static struct tdata *d;

static int
setup(void **state)
{
	struct tval *root, *l, *m, *sh;
	static const unsigned char bytes[] = {'a', '"', 0, '1', 0x7f, '?', '?', '=', '\n', 0xff};
	static const unsigned char floats[] = {0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0xbf, 0xcd, 0xcc, 0xcc, 0x3d, 0, 0, 0, 0x80};
	static const char text[] = "line one\nline \"two\"\nthree";
	int i;

	(void)state;
	d = tdata_new();
	root = tdata_root(d);
	assert_non_null(tv_str(d, tv_add(d, root, "sym"), "cifar10"));
	assert_non_null(tv_str(d, tv_add(d, root, "format"), "literal"));
	assert_non_null(tv_str(d, tv_add(d, root, "empty"), ""));
	assert_non_null(tv_int(tv_add(d, root, "align"), 16));
	assert_non_null(tv_bytes(tv_add(d, root, "blob"), bytes, sizeof bytes));
	assert_non_null(tv_bytes(tv_add(d, root, "fl"), floats, sizeof floats));
	assert_non_null(tv_bytes(tv_add(d, root, "text"), text, sizeof text - 1));
	assert_non_null(tv_str(d, tv_add(d, root, "odd"), "a*/b/*c\\"));
	l = tv_list(tv_add(d, root, "layers"));
	for (i = 0; i < 3; i++) {
		char name[16];
		int k;
		snprintf(name, sizeof name, "conv%d", i + 1);
		m = tv_map(tv_add(d, l, NULL));
		assert_non_null(tv_str(d, tv_add(d, m, "name"), name));
		sh = tv_list(tv_add(d, m, "shape"));
		for (k = 0; k <= i; k++)
			assert_non_null(tv_int(tv_add(d, sh, NULL), 10 * (i + 1) + k));
	}
	assert_non_null(tv_list(tv_add(d, root, "none")));
	m = tv_map(tv_add(d, root, "net"));
	assert_non_null(tv_str(d, tv_add(d, m, "name"), "CIFAR10_quick"));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tdata_free(d);
	return 0;
}

static void
expect_text(const char *tpl, const char *want)
{
	caffeopt_error err = {0};
	struct tpl *t = tpl_parse("t.in", tpl, strlen(tpl), &err);
	struct tbuf out = {0};

	if (!t)
		fail_msg("parse: %d:%d: %s", err.line, err.col, err.msg);
	if (tpl_render(t, tdata_root(d), &out, &err) < 0)
		fail_msg("render: %d:%d: %s", err.line, err.col, err.msg);
	tbuf_put(&out, "", 1);
	tbuf_put(&out, "\0", 1);
	if (strcmp(out.p, want) != 0)
		fail_msg("template\n%s\ngave\n[%s]\nwanted\n[%s]", tpl, out.p, want);
	tbuf_free(&out);
	tpl_free(t);
}

static void
expect_error(const char *tpl, int line, int col, const char *sub)
{
	caffeopt_error err = {0};
	struct tpl *t = tpl_parse("t.in", tpl, strlen(tpl), &err);
	struct tbuf out = {0};

	if (t && tpl_render(t, tdata_root(d), &out, &err) == 0)
		fail_msg("template\n%s\nrendered; wanted an error containing '%s'", tpl, sub);
	if (strcmp(err.file, "t.in") != 0 || err.line != line || err.col != col || !strstr(err.msg, sub))
		fail_msg("template\n%s\ngave %s:%d:%d: %s\nwanted t.in:%d:%d: ...%s...", tpl, err.file,
		         err.line, err.col, err.msg, line, col, sub);
	tbuf_free(&out);
	tpl_free(t);
}

static void
variables(void **state)
{
	(void)state;
	expect_text("x {{sym}} {{ sym | upper }}_H {{align}}", "x cifar10 CIFAR10_H 16");
	expect_text("{{net.name|lower}}", "cifar10_quick");
	expect_text("{{\"{{\"}} {{\"a\\\"b\"}} {{42}}", "{{ a\"b 42");
	expect_text("/* {{odd|comment}} */", "/* a* /b/ *c\\  */");
	expect_text("{{! a comment }}x{{!another}}", "x");
	expect_text("{{@root.sym}}", "cifar10");
}

static void
conditionals(void **state)
{
	(void)state;
	expect_text("{{#if format == \"literal\"}}L{{#elif format == \"array\"}}A{{#else}}I{{/if}}", "L");
	expect_text("{{#if format != \"literal\"}}L{{#elif align == 16}}A{{#else}}I{{/if}}", "A");
	expect_text("{{#if empty}}e{{#else}}n{{/if}}{{#if not none}}!{{/if}}{{#if layers}}l{{/if}}", "n!l");
	expect_text("{{#if align == \"16\"}}y{{/if}}", "y");
}

static void
loops(void **state)
{
	(void)state;
	expect_text("{{#each layers}}{{@index}}:{{name}}[{{#each shape}}{{this}}{{#if not @last}},{{/if}}{{/each}}]"
	            "{{#if @first}}F{{/if}}/{{@count}} {{sym}}\n{{/each}}",
	            "0:conv1[10]F/3 cifar10\n1:conv2[20,21]/3 cifar10\n2:conv3[30,31,32]/3 cifar10\n");
	expect_text("{{#each none}}x{{/each}}.", ".");
	expect_text("{{#chunks blob 4}}\"{{chunk|cstring}}\"{{#if not @last}} {{/if}}{{/chunks}}",
	            "\"a\\\"\\0001\" \"\\177\\?\\?=\" \"\\n\\377\"");
	expect_text("{{#chunks blob 3}}{{@offset}}{{/chunks}}", "0369");
	expect_text("{{#chunks blob 100}}{{chunk|hexbytes}}{{/chunks}}",
	            "0x61,0x22,0x00,0x31,0x7f,0x3f,0x3f,0x3d,0x0a,0xff,");
	expect_text("{{#chunks blob 100}}{{chunk|chars}}{{/chunks}}",
	            "'a','\"','\\000','1','\\177','?','?','=','\\n','\\377',");
	expect_text("{{\"it's\\\\\"|chars}}", "'i','t','\\'','s','\\\\',");
	expect_text("{{#chunks fl 8}}{{chunk|floats}}\n{{/chunks}}", "1.0f,-1.5f,\n0.100000001f,-0.0f,\n");
	expect_text("{{#chunks fl 4}}{{chunk|float}} {{/chunks}}", "1.0f -1.5f 0.100000001f -0.0f ");
	expect_text("{{#lines text}}\"{{line|cstring}}\"\n{{/lines}}",
	            "\"line one\\n\"\n\"line \\\"two\\\"\\n\"\n\"three\"\n");
}

/* A line that holds only a block tag vanishes, newline and all. */
static void
standalone_lines(void **state)
{
	(void)state;
	expect_text("a\n  {{#if align}}\n  b\n  {{/if}}\nc\n", "a\n  b\nc\n");
	expect_text("a\n{{#each layers}}\n{{name}}\n{{/each}}\n", "a\nconv1\nconv2\nconv3\n");
	expect_text("{{! header }}\nx {{#if align}}y{{/if}}\n", "x y\n");
	expect_text("x\n{{sym}}\n", "x\ncifar10\n");
}

static void
errors(void **state)
{
	(void)state;
	expect_error("a\n  {{nope}}", 2, 3, "unknown name 'nope'");
	expect_error("{{sym|shout}}", 1, 7, "unknown filter 'shout'");
	expect_error("x\n{{#if sym}}\n", 2, 1, "{{#if}} is not closed by {{/if}}");
	expect_error("{{#each layers}}{{/if}}", 1, 1, "{{#each}} is not closed by {{/each}}");
	expect_error("ok {{/each}}", 1, 4, "{{/each}} without its opening tag");
	expect_error("{{#loop x}}", 1, 4, "unknown block '#loop'");
	expect_error("{{sym", 1, 1, "'{{' is not closed");
	expect_error("{{#each sym}}{{/each}}", 1, 1, "#each wants a list");
	expect_error("{{layers}}", 1, 1, "cannot print a list");
	expect_error("{{#chunks blob 0}}{{/chunks}}", 1, 1, "positive chunk size");
	expect_error("{{net.nope}}", 1, 1, "no field 'nope'");
	expect_error("{{sym sym}}", 1, 7, "unexpected 'sym' in tag");
	expect_error("{{#chunks blob 3}}{{chunk|floats}}{{/chunks}}", 1, 19, "not a whole number of float32");
	expect_error("{{#chunks fl 8}}{{chunk|float}}{{/chunks}}", 1, 17, "8 bytes are not one float32");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(variables),
		cmocka_unit_test(conditionals),
		cmocka_unit_test(loops),
		cmocka_unit_test(standalone_lines),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
