/* test_textfmt.c - the text-format lexer, parser and printer, as a
 * specification.  Schema: textfmt_test.proto (package t).  Goldens in
 * tests/data/textfmt/ are protoc 3.21's own output (regen.sh), so the
 * printer is checked against Google's implementation, not against itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"
#include "textfmt_test.pb-c.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ---- helpers ---- */

static char *
slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/textfmt/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static ProtobufCMessage *
parse_as(const ProtobufCMessageDescriptor *d, const char *text)
{
	caffeopt_error err;
	char msg[2048];
	ProtobufCMessage *m = textfmt_parse(d, text, strlen(text), "in.pbtxt", &err, NULL, NULL);

	if (!m)
		fail_msg("unexpected error: %s", caffeopt_error_text(&err, msg, sizeof msg));
	return m;
}

static T__All *
parse_all(const char *text)
{
	return (T__All *)parse_as(&t__all__descriptor, text);
}

static void
free_msg(void *m)
{
	protobuf_c_message_free_unpacked(m, NULL);
}

/* Parsing len bytes of text as d fails with exactly want
 * ("file:line:col: message"). */
static void
assert_error_n(const ProtobufCMessageDescriptor *d, const char *text, size_t len,
               const char *want)
{
	caffeopt_error err;
	char got[2048];
	ProtobufCMessage *m = textfmt_parse(d, text, len, "in.pbtxt", &err, NULL, NULL);

	if (m) {
		free_msg(m);
		fail_msg("parsed, but expected error: %s\n  input: %s", want, text);
	}
	caffeopt_error_text(&err, got, sizeof got);
	if (strcmp(got, want) != 0)
		fail_msg("input: %s\n  want: %s\n  got:  %s", text, want, got);
}

static void
assert_error_as(const ProtobufCMessageDescriptor *d, const char *text, const char *want)
{
	assert_error_n(d, text, strlen(text), want);
}

static void
assert_error(const char *text, const char *want)
{
	assert_error_as(&t__all__descriptor, text, want);
}

/* text parsed as t.All prints as want. */
static void
assert_prints(const char *text, const char *want)
{
	T__All *m = parse_all(text);
	char *got = textfmt_print(&m->base, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	free_msg(m);
}

/* ---- the lexer ---- */

static const char *
kind_name(enum textlex_kind k)
{
	static const char *names[] = { "eof", "id", "int", "float", "str", "sym" };

	return names[k];
}

/* Every token of text as "kind:text@line:col", space separated. */
static void
lex_all(const char *text, char *out, size_t n)
{
	struct textlex lx;
	caffeopt_error err;
	size_t used = 0;

	assert_int_equal(textlex_init(&lx, text, strlen(text), "in", &err), 0);
	for (;;) {
		used += (size_t)snprintf(out + used, n - used, "%s%s:%.*s@%d:%d", used ? " " : "",
		                         kind_name(lx.tok.kind), (int)lx.tok.len, lx.tok.p,
		                         lx.tok.line, lx.tok.col);
		assert_true(used < n);
		if (lx.tok.kind == TEXTLEX_EOF)
			break;
		assert_int_equal(textlex_next(&lx), 0);
	}
}

static void
lexer_splits_tokens_and_counts_lines_and_byte_columns(void **state)
{
	char got[1024];

	(void)state;
	lex_all("name: 'x' # comment \"not a string\n"
	        "  12 0x1F 017 1.5 .5 1e3 2f -3 {}<>[],;\n"
	        "\tinf nan_2 \"a\\\"b\"", got, sizeof got);
	assert_string_equal(got,
	        "id:name@1:1 sym::@1:5 str:'x'@1:7 "
	        "int:12@2:3 int:0x1F@2:6 int:017@2:11 float:1.5@2:15 float:.5@2:19 "
	        "float:1e3@2:22 float:2f@2:26 sym:-@2:29 int:3@2:30 sym:{@2:32 sym:}@2:33 "
	        "sym:<@2:34 sym:>@2:35 sym:[@2:36 sym:]@2:37 sym:,@2:38 sym:;@2:39 "
	        "id:inf@3:2 id:nan_2@3:6 str:\"a\\\"b\"@3:12 eof:@3:18");
}

static void
lexer_reads_numbers_as_protoc_does(void **state)
{
	char got[512];

	(void)state;
	/* A trailing f makes a float; 0 alone is decimal; 0. is a float. */
	lex_all("1f 0 0.5 0. 1E+5 1e-5F 0xAbC 00", got, sizeof got);
	assert_string_equal(got,
	        "float:1f@1:1 int:0@1:4 float:0.5@1:6 float:0.@1:10 float:1E+5@1:13 "
	        "float:1e-5F@1:18 int:0xAbC@1:24 int:00@1:30 eof:@1:32");
}

static void
lexer_rejects_malformed_numbers(void **state)
{
	(void)state;
	assert_error("f_int32: 0x", "in.pbtxt:1:12: \"0x\" must be followed by hex digits");
	assert_error("f_int32: 08", "in.pbtxt:1:11: numbers starting with 0 must be octal");
	assert_error("f_float: 1e", "in.pbtxt:1:12: \"e\" must be followed by an exponent");
	assert_error("f_float: 1e+", "in.pbtxt:1:13: \"e\" must be followed by an exponent");
	assert_error("f_float: 1.5.2", "in.pbtxt:1:13: already saw decimal point or exponent");
	assert_error("f_int32: 0x1.5", "in.pbtxt:1:13: hex and octal numbers must be integers");
	assert_error("f_int32: 12abc", "in.pbtxt:1:12: need space between number and identifier");
	assert_error("f_float: 1.5fx", "in.pbtxt:1:14: need space between number and identifier");
}

static void
lexer_rejects_malformed_strings(void **state)
{
	(void)state;
	assert_error("f_string: \"abc", "in.pbtxt:1:11: unterminated string");
	assert_error("f_string: 'abc\"", "in.pbtxt:1:11: unterminated string");
	assert_error("f_string: \"ab\nc\"", "in.pbtxt:1:11: unterminated string");
	assert_error("f_string: \"ab\\", "in.pbtxt:1:11: unterminated string");
	assert_error("f_string: \"a\\qb\"", "in.pbtxt:1:13: invalid escape sequence in string");
	assert_error("f_string: \"a\\xg\"", "in.pbtxt:1:13: expected hex digits after \\x");
	assert_error("f_string: \"\\u12\"", "in.pbtxt:1:12: expected 4 hex digits after \\u");
	assert_error("f_string: \"\\U00110000\"", "in.pbtxt:1:12: \\U escape beyond 10ffff");
}

static void
lexer_rejects_stray_bytes(void **state)
{
	(void)state;
	assert_error("f_int32: 1\n\x01", "in.pbtxt:2:1: unexpected byte 0x01");
	assert_error("f_string: \"\xc3\xa9\" \xc3\xa9", "in.pbtxt:1:16: unexpected byte 0xc3");
	/* A NUL in the text is just a bad byte. */
	assert_error_n(&t__all__descriptor, "f_int32: 1\0f_int64: 2", 22,
	               "in.pbtxt:1:11: unexpected byte 0x00");
}

static void
lexer_decodes_every_escape(void **state)
{
	static const char src[] =
	        "'\\a\\b\\f\\n\\r\\t\\v\\\\\\?\\'\\\"|\\0|\\101\\1012|\\x41\\x4g|\\u00e9|\\U0001F600|"
	        "\\ud83d\\ude00|raw\xc3\xa9'";
	static const char want[] =
	        "\a\b\f\n\r\t\v\\?'\"|\0|AA2|A\x04g|\xc3\xa9|\xf0\x9f\x98\x80|"
	        "\xf0\x9f\x98\x80|raw\xc3\xa9";
	struct textlex lx;
	caffeopt_error err;
	char *buf = NULL;
	size_t n = 0;

	(void)state;
	/* \x4g: \x takes one or two hex digits. */
	assert_int_equal(textlex_init(&lx, src, strlen(src), "in", &err), 0);
	assert_int_equal(lx.tok.kind, TEXTLEX_STRING);
	assert_int_equal(textlex_unquote(&lx.tok, &buf, &n), 0);
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(buf, want, n);
	assert_int_equal(buf[n], '\0');
	free(buf);
}

static void
lexer_reads_integers_up_to_64_bits(void **state)
{
	static const struct {
		const char *text;
		int rc;
		uint64_t value;
	} cases[] = {
		{ "0", 0, 0 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "0x10000000000000000", -1, 0 },
		{ "01777777777777777777777", 0, UINT64_MAX },
		{ "02000000000000000000000", -1, 0 },
		{ "0777", 0, 511 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct textlex_token t = { TEXTLEX_INT, cases[i].text, strlen(cases[i].text), 1, 1 };
		uint64_t v = 0;

		assert_int_equal(textlex_uint(&t, &v), cases[i].rc);
		if (cases[i].rc == 0)
			assert_true(v == cases[i].value);
	}
}

/* ---- the parser: values ---- */

static void
parser_fills_every_scalar_type_and_has_flags(void **state)
{
	T__All *m = parse_all(
	        "f_int32: -5 f_int64: -6 f_uint32: 7 f_uint64: 8 f_sint32: -9 f_sint64: -10\n"
	        "f_fixed32: 11 f_fixed64: 12 f_sfixed32: -13 f_sfixed64: -14\n"
	        "f_float: 1.5 f_double: -2.25 f_bool: true f_string: \"s\" f_bytes: \"b\\000\"\n"
	        "f_enum: BLUE");

	(void)state;
	assert_true(m->has_f_int32 && m->f_int32 == -5);
	assert_true(m->has_f_int64 && m->f_int64 == -6);
	assert_true(m->has_f_uint32 && m->f_uint32 == 7);
	assert_true(m->has_f_uint64 && m->f_uint64 == 8);
	assert_true(m->has_f_sint32 && m->f_sint32 == -9);
	assert_true(m->has_f_sint64 && m->f_sint64 == -10);
	assert_true(m->has_f_fixed32 && m->f_fixed32 == 11);
	assert_true(m->has_f_fixed64 && m->f_fixed64 == 12);
	assert_true(m->has_f_sfixed32 && m->f_sfixed32 == -13);
	assert_true(m->has_f_sfixed64 && m->f_sfixed64 == -14);
	assert_true(m->has_f_float && m->f_float == 1.5f);
	assert_true(m->has_f_double && m->f_double == -2.25);
	assert_true(m->has_f_bool && m->f_bool);
	assert_string_equal(m->f_string, "s");
	assert_true(m->has_f_bytes && m->f_bytes.len == 2);
	assert_memory_equal(m->f_bytes.data, "b\0", 2);
	assert_true(m->has_f_enum && m->f_enum == T__COLOR__BLUE);
	/* Untouched fields keep their defaults and stay unset. */
	assert_false(m->has_d_int);
	assert_int_equal(m->d_int, 42);
	assert_ptr_equal(m->d_string, t__all__d_string__default_value);
	assert_null(m->f_inner);
	assert_int_equal(m->choice_case, T__ALL__CHOICE__NOT_SET);
	free_msg(m);
}

static void
parser_reads_integers_in_every_base_up_to_each_limit(void **state)
{
	T__All *m = parse_all(
	        "f_int32: -0x80000000 f_int64: -9223372036854775808 f_uint32: 0xFFFFFFFF\n"
	        "f_uint64: 18446744073709551615 f_sint32: 017 f_sint64: 9223372036854775807\n"
	        "f_sfixed32: -0 r_int32: [2147483647, -2147483648, 0x7fffffff, 010, 0]");

	(void)state;
	assert_int_equal(m->f_int32, INT32_MIN);
	assert_true(m->f_int64 == INT64_MIN);
	assert_true(m->f_uint32 == UINT32_MAX);
	assert_true(m->f_uint64 == UINT64_MAX);
	assert_int_equal(m->f_sint32, 15);
	assert_true(m->f_sint64 == INT64_MAX);
	assert_int_equal(m->f_sfixed32, 0);
	assert_int_equal(m->n_r_int32, 5);
	assert_int_equal(m->r_int32[0], INT32_MAX);
	assert_int_equal(m->r_int32[1], INT32_MIN);
	assert_int_equal(m->r_int32[2], INT32_MAX);
	assert_int_equal(m->r_int32[3], 8);
	free_msg(m);
}

static void
parser_range_checks_integers_per_type(void **state)
{
	(void)state;
	assert_error("f_int32: 2147483648", "in.pbtxt:1:10: integer out of range for field \"f_int32\"");
	assert_error("f_int32: -2147483649", "in.pbtxt:1:10: integer out of range for field \"f_int32\"");
	assert_error("f_sint32: 0x80000000", "in.pbtxt:1:11: integer out of range for field \"f_sint32\"");
	assert_error("f_sfixed32: 4294967295", "in.pbtxt:1:13: integer out of range for field \"f_sfixed32\"");
	assert_error("f_uint32: 4294967296", "in.pbtxt:1:11: integer out of range for field \"f_uint32\"");
	assert_error("f_fixed32: 0x100000000", "in.pbtxt:1:12: integer out of range for field \"f_fixed32\"");
	assert_error("f_int64: 9223372036854775808", "in.pbtxt:1:10: integer out of range for field \"f_int64\"");
	assert_error("f_sint64: -9223372036854775809", "in.pbtxt:1:11: integer out of range for field \"f_sint64\"");
	assert_error("f_uint64: 18446744073709551616", "in.pbtxt:1:11: integer out of range for field \"f_uint64\"");
	assert_error("f_fixed64: -1", "in.pbtxt:1:12: negative value for unsigned field \"f_fixed64\"");
	assert_error("f_uint32: -0", "in.pbtxt:1:11: negative value for unsigned field \"f_uint32\"");
	assert_error("f_int32: 1.0", "in.pbtxt:1:10: expected integer for field \"f_int32\", got \"1.0\"");
	assert_error("f_int32: \"1\"", "in.pbtxt:1:10: expected integer for field \"f_int32\", got a string");
	assert_error("f_int32: --1", "in.pbtxt:1:11: expected integer for field \"f_int32\", got \"-\"");
	assert_error("f_int32: ", "in.pbtxt:1:10: expected integer for field \"f_int32\", got end of file");
}

static void
parser_reads_floats_in_every_form(void **state)
{
	T__All *m = parse_all(
	        "r_float: [1, -2, 0.5, .5, 5., 1e3, 1E-3, 2f, 2.5F, 1e+2f, inf, -inf, Infinity, -INF,\n"
	        "          nan, -nan, -0, 3.4028236e38, 1e-50]\n"
	        "f_double: 0.1000000000000000055511151231257827");

	(void)state;
	assert_int_equal(m->n_r_float, 19);
	assert_true(m->r_float[0] == 1 && m->r_float[1] == -2 && m->r_float[2] == 0.5f);
	assert_true(m->r_float[3] == 0.5f && m->r_float[4] == 5 && m->r_float[5] == 1000);
	assert_true(m->r_float[6] == 1e-3f && m->r_float[7] == 2 && m->r_float[8] == 2.5f);
	assert_true(m->r_float[9] == 100);
	assert_true(isinf(m->r_float[10]) && m->r_float[10] > 0);
	assert_true(isinf(m->r_float[11]) && m->r_float[11] < 0);
	assert_true(isinf(m->r_float[12]) && m->r_float[12] > 0);
	assert_true(isinf(m->r_float[13]) && m->r_float[13] < 0);
	assert_true(isnan(m->r_float[14]) && !signbit(m->r_float[14]));
	assert_true(isnan(m->r_float[15]) && signbit(m->r_float[15]));
	assert_true(m->r_float[16] == 0 && signbit(m->r_float[16]));
	/* Through double, as protoc: past FLT_MAX's rounding edge is inf. */
	assert_true(isinf(m->r_float[17]));
	assert_true(m->r_float[18] == 0);
	assert_true(m->f_double == 0.1);
	free_msg(m);
}

static void
parser_rejects_non_decimal_integers_for_floats(void **state)
{
	(void)state;
	/* protoc: "Expect a decimal number". */
	assert_error("f_float: 0x10", "in.pbtxt:1:10: expected number for field \"f_float\", got \"0x10\"");
	assert_error("f_double: 010", "in.pbtxt:1:11: expected number for field \"f_double\", got \"010\"");
	assert_error("f_float: infinite", "in.pbtxt:1:10: expected number for field \"f_float\", got \"infinite\"");
	assert_error("f_float: 'one'", "in.pbtxt:1:10: expected number for field \"f_float\", got a string");
}

static void
parser_reads_bools_as_protoc_does(void **state)
{
	T__All *m = parse_all("r_bool: [true, True, t, 1, false, False, f, 0, 0x1]");

	(void)state;
	assert_int_equal(m->n_r_bool, 9);
	for (int i = 0; i < 9; i++)
		assert_int_equal(m->r_bool[i], i < 4 || i == 8);
	free_msg(m);
	assert_error("f_bool: TRUE", "in.pbtxt:1:9: expected true or false for field \"f_bool\", got \"TRUE\"");
	assert_error("f_bool: 2", "in.pbtxt:1:9: expected true or false for field \"f_bool\", got \"2\"");
	assert_error("f_bool: yes", "in.pbtxt:1:9: expected true or false for field \"f_bool\", got \"yes\"");
}

static void
parser_reads_enums_by_name_and_number(void **state)
{
	T__All *m = parse_all("r_enum: [GREEN, 2, -1, 0] f_enum: NEG");

	(void)state;
	assert_int_equal(m->n_r_enum, 4);
	assert_int_equal(m->r_enum[0], T__COLOR__GREEN);
	assert_int_equal(m->r_enum[1], T__COLOR__BLUE);
	assert_int_equal(m->r_enum[2], T__COLOR__NEG);
	assert_int_equal(m->r_enum[3], T__COLOR__RED);
	assert_int_equal(m->f_enum, T__COLOR__NEG);
	free_msg(m);
	assert_error("f_enum: FOO", "in.pbtxt:1:9: unknown enum value \"FOO\" for field \"f_enum\"");
	assert_error("f_enum: green", "in.pbtxt:1:9: unknown enum value \"green\" for field \"f_enum\"");
	assert_error("f_enum: 7", "in.pbtxt:1:9: unknown enum value 7 for field \"f_enum\"");
	assert_error("f_enum: -2", "in.pbtxt:1:9: unknown enum value -2 for field \"f_enum\"");
	assert_error("f_enum: 99999999999", "in.pbtxt:1:9: unknown enum value 99999999999 for field \"f_enum\"");
	assert_error("f_enum: -BLUE", "in.pbtxt:1:10: expected enum value for field \"f_enum\", got \"BLUE\"");
	assert_error("f_enum: \"BLUE\"", "in.pbtxt:1:9: expected enum value for field \"f_enum\", got a string");
}

static void
parser_reads_strings_and_bytes(void **state)
{
	T__All *m = parse_all(
	        "f_string: 'single \"quoted\"' \" and double\" 'concatenated'\n"
	        "f_bytes: \"\\000\\xff\" '\\n'\n"
	        "r_bytes: ['', \"\"]\n"
	        "r_string: ['', \"\\u00e9\"]");

	(void)state;
	assert_string_equal(m->f_string, "single \"quoted\" and doubleconcatenated");
	assert_int_equal(m->f_bytes.len, 3);
	assert_memory_equal(m->f_bytes.data, "\0\xff\n", 3);
	/* Empty bytes are NULL data, as protobuf-c's own unpack leaves them. */
	assert_int_equal(m->n_r_bytes, 2);
	assert_true(m->r_bytes[0].len == 0 && m->r_bytes[0].data == NULL);
	assert_string_equal(m->r_string[0], "");
	assert_string_equal(m->r_string[1], "\xc3\xa9");
	free_msg(m);
	/* protobuf-c strings end at NUL, so one inside cannot be kept. */
	assert_error("f_string: 'a\\0b'", "in.pbtxt:1:11: string field \"f_string\" cannot hold a NUL byte");
	assert_error("f_string: 5", "in.pbtxt:1:11: expected string for field \"f_string\", got \"5\"");
	assert_error("f_bytes: x", "in.pbtxt:1:10: expected string for field \"f_bytes\", got \"x\"");
}

static void
parser_sets_a_string_equal_to_its_default(void **state)
{
	T__All *m = parse_all("d_string: 'hello' d_bytes: 'raw' d_int: 42");

	(void)state;
	/* Set, though equal to the default: a fresh string, printed and packed. */
	assert_ptr_not_equal(m->d_string, t__all__d_string__default_value);
	assert_string_equal(m->d_string, "hello");
	assert_true(m->has_d_bytes && m->has_d_int);
	free_msg(m);
	assert_prints("d_string: 'hello' d_bytes: 'raw' d_int: 42",
	              "d_int: 42\nd_string: \"hello\"\nd_bytes: \"raw\"\n");
}

/* ---- the parser: structure ---- */

static void
parser_accepts_every_message_delimiter(void **state)
{
	T__All *m = parse_all(
	        "r_inner { a: 1 }\n"
	        "r_inner: { a: 2 }\n"
	        "r_inner < a: 3 >\n"
	        "r_inner: < a: 4 >\n"
	        "r_inner {}\n"
	        "f_inner { child { child < s: 'deep' > } }");

	(void)state;
	assert_int_equal(m->n_r_inner, 5);
	for (int i = 0; i < 4; i++)
		assert_true(m->r_inner[i]->has_a && m->r_inner[i]->a == i + 1);
	assert_false(m->r_inner[4]->has_a);
	assert_string_equal(m->f_inner->child[0]->child[0]->s, "deep");
	free_msg(m);
	assert_error("f_inner < a: 1 }", "in.pbtxt:1:16: expected field name or '>', got \"}\"");
	assert_error("f_inner { a: 1 >", "in.pbtxt:1:16: expected field name or '}', got \">\"");
	assert_error("f_inner { a: 1", "in.pbtxt:1:15: unexpected end of file, expected '}'");
	assert_error("f_inner <\n", "in.pbtxt:2:1: unexpected end of file, expected '>'");
	assert_error("f_inner 1", "in.pbtxt:1:9: expected ':' or '{' after field name \"f_inner\"");
	assert_error("f_inner: 1", "in.pbtxt:1:10: expected '{' for message field \"f_inner\", got \"1\"");
	assert_error("}", "in.pbtxt:1:1: expected field name, got \"}\"");
}

static void
parser_needs_a_colon_before_scalar_values(void **state)
{
	(void)state;
	assert_error("f_int32 1", "in.pbtxt:1:9: expected ':' after field name \"f_int32\"");
	assert_error("f_int32 { }", "in.pbtxt:1:9: expected ':' after field name \"f_int32\"");
	assert_error("r_int32 [1]", "in.pbtxt:1:9: expected ':' after field name \"r_int32\"");
	assert_error("f_int32:", "in.pbtxt:1:9: expected integer for field \"f_int32\", got end of file");
	assert_error("1: 2", "in.pbtxt:1:1: expected field name, got \"1\"");
	assert_error("[t.ext]: 2", "in.pbtxt:1:1: expected field name, got \"[\"");
}

static void
parser_accepts_list_syntax_for_repeated_fields(void **state)
{
	T__All *m = parse_all(
	        "r_int32: [1, 2] r_int32: 3 r_int32: []\n"
	        "r_string: ['a' 'b', \"c\"]\n"
	        "r_inner: [{a: 1}, <a: 2>] r_inner [{a: 3}]");

	(void)state;
	assert_int_equal(m->n_r_int32, 3);
	assert_int_equal(m->r_int32[2], 3);
	assert_int_equal(m->n_r_string, 2);
	assert_string_equal(m->r_string[0], "ab");
	assert_int_equal(m->n_r_inner, 3);
	assert_int_equal(m->r_inner[2]->a, 3);
	free_msg(m);
	assert_error("f_int32: [1]", "in.pbtxt:1:10: list value for non-repeated field \"f_int32\"");
	assert_error("f_inner [{}]", "in.pbtxt:1:9: list value for non-repeated field \"f_inner\"");
	assert_error("r_int32: [1,]", "in.pbtxt:1:13: expected integer for field \"r_int32\", got \"]\"");
	assert_error("r_int32: [1 2]", "in.pbtxt:1:13: expected ',' or ']' in list for field \"r_int32\", got \"2\"");
	assert_error("r_int32: [1", "in.pbtxt:1:12: expected ',' or ']' in list for field \"r_int32\", got end of file");
	assert_error("r_inner: [1]", "in.pbtxt:1:11: expected '{' for message field \"r_inner\", got \"1\"");
}

static void
parser_accepts_separators_and_comments(void **state)
{
	T__All *m = parse_all(
	        "# a comment line\n"
	        "f_int32: 1, f_int64: 2; # trailing comment\n"
	        "f_inner { a: 3; s: '#not a comment', }\n"
	        "r_int32: 4;r_int32: 5,\n"
	        "# the end, no newline");

	(void)state;
	assert_true(m->f_int32 == 1 && m->f_int64 == 2);
	assert_string_equal(m->f_inner->s, "#not a comment");
	assert_int_equal(m->n_r_int32, 2);
	free_msg(m);
	assert_error("f_int32: 1,, f_int64: 2", "in.pbtxt:1:12: expected field name, got \",\"");
	assert_error("f_int32: 1 ;;", "in.pbtxt:1:13: expected field name, got \";\"");
}

static void
parser_reads_text_that_is_not_nul_terminated(void **state)
{
	static const char text[] = "f_int32: 12345";
	caffeopt_error err;
	T__All *m;

	(void)state;
	m = (T__All *)textfmt_parse(&t__all__descriptor, text, 11, "in", &err, NULL, NULL);
	assert_non_null(m);
	assert_int_equal(m->f_int32, 12);
	free_msg(m);
}

static void
parser_forbids_setting_a_non_repeated_field_twice(void **state)
{
	(void)state;
	assert_error("f_int32: 1\nf_int32: 1",
	             "in.pbtxt:2:1: non-repeated field \"f_int32\" is specified multiple times");
	assert_error("f_string: 'a' f_string: 'b'",
	             "in.pbtxt:1:15: non-repeated field \"f_string\" is specified multiple times");
	assert_error("f_inner {} f_inner {}",
	             "in.pbtxt:1:12: non-repeated field \"f_inner\" is specified multiple times");
	assert_error("req { id: 1 name: '' id: 2 }",
	             "in.pbtxt:1:22: non-repeated field \"id\" is specified multiple times");
}

static void
parser_sets_one_member_of_a_oneof(void **state)
{
	T__All *m = parse_all("o_str: 'x'");

	(void)state;
	assert_int_equal(m->choice_case, T__ALL__CHOICE_O_STR);
	assert_string_equal(m->o_str, "x");
	free_msg(m);
	m = parse_all("o_msg { a: 1 }");
	assert_int_equal(m->choice_case, T__ALL__CHOICE_O_MSG);
	assert_int_equal(m->o_msg->a, 1);
	free_msg(m);
	assert_error("o_int: 1 o_str: 'x'", "in.pbtxt:1:10: field \"o_str\" is specified along with "
	             "field \"o_int\", another member of the same oneof");
	assert_error("o_msg {} o_msg {}", "in.pbtxt:1:10: non-repeated field \"o_msg\" is specified multiple times");
}

static void
parser_requires_required_fields(void **state)
{
	T__Req *r;

	(void)state;
	/* Top level: at the end of the text. */
	assert_error_as(&t__req__descriptor, "id: 1\n",
	                "in.pbtxt:2:1: message t.Req missing required fields: name");
	assert_error_as(&t__req__descriptor, "extra: 1",
	                "in.pbtxt:1:9: message t.Req missing required fields: id, name");
	/* Nested: where the message starts. */
	assert_error("f_int32: 1\nreq { id: 1 }",
	             "in.pbtxt:2:1: message t.Req missing required fields: name");
	assert_error("r_req: [{ id: 1, name: 'a' },\n {}]",
	             "in.pbtxt:2:2: message t.Req missing required fields: id, name");
	r = (T__Req *)parse_as(&t__req__descriptor, "name: '' id: 0");
	assert_int_equal(r->id, 0);
	free_msg(r);
}

static void
parser_bounds_nesting_depth(void **state)
{
	char text[2048];
	size_t n = 0;
	T__Inner *m;

	(void)state;
	/* 100 messages below the top one are fine, 101 are not. */
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "child {");
	for (int i = 0; i < 100; i++)
		text[n++] = '}';
	text[n] = '\0';
	m = (T__Inner *)parse_as(&t__inner__descriptor, text);
	free_msg(m);
	n = 0;
	for (int i = 0; i < 101; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "child {");
	text[n] = '\0';
	assert_error_as(&t__inner__descriptor, text, "in.pbtxt:1:707: nesting too deep");
	/* Unknown fields are bounded too. */
	n = (size_t)snprintf(text, sizeof text, "f_inner { ");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "x{");
	text[n] = '\0';
	assert_error(text, "in.pbtxt:1:210: nesting too deep");
}

/* ---- unknown fields ---- */

struct warnings {
	char text[1024];
	size_t used;
};

static void
record_warning(void *ctx, const char *file, int line, int col, const char *field)
{
	struct warnings *w = ctx;

	w->used += (size_t)snprintf(w->text + w->used, sizeof w->text - w->used,
	                            "%s:%d:%d: %s\n", file, line, col, field);
}

static void
unknown_fields_are_warned_once_per_name(void **state)
{
	static const char text[] =
	        "foo: 1\n"
	        "f_inner { foo: 2 bar { foo: 3 } }\n"
	        "bar: 'x'\n"
	        "baz < >\n";
	struct warnings w = { "", 0 };
	caffeopt_error err;
	ProtobufCMessage *m;

	(void)state;
	m = textfmt_parse(&t__all__descriptor, text, strlen(text), "in.pbtxt", &err, record_warning, &w);
	assert_non_null(m);
	/* Names inside an unknown field are its text, not fields. */
	assert_string_equal(w.text, "in.pbtxt:1:1: foo\nin.pbtxt:2:18: bar\nin.pbtxt:4:1: baz\n");
	free_msg(m);
}

static void
unknown_fields_are_kept_verbatim_and_printed_last(void **state)
{
	(void)state;
	/* Kept in order at the end of their message; continuation lines lose
	 * the indentation they share and take the message's. */
	assert_prints(
	        "foo: -1.5e3f\n"
	        "f_int32: 1\n"
	        "f_inner {\n"
	        "      interp_param {\n"
	        "          height: 3   # tall\n"
	        "          nested <\n"
	        "            x: [1, {y: 'a' \"b\"}]\n"
	        "          >\n"
	        "        }\n"
	        "  a: 2\n"
	        "}\n"
	        "list: [1, 2]\n"
	        "f_bool: true\n"
	        "empty {}, flag: inf;\n"
	        "word: BLUE\n",
	        "f_int32: 1\n"
	        "f_bool: true\n"
	        "f_inner {\n"
	        "  a: 2\n"
	        "  interp_param {\n"
	        "    height: 3   # tall\n"
	        "    nested <\n"
	        "      x: [1, {y: 'a' \"b\"}]\n"
	        "    >\n"
	        "  }\n"
	        "}\n"
	        "foo: -1.5e3f\n"
	        "list: [1, 2]\n"
	        "empty {}\n"
	        "flag: inf\n"
	        "word: BLUE\n");
}

static void
unknown_fields_survive_print_and_parse_unchanged(void **state)
{
	static const char text[] =
	        "f_inner { a: 1 bar { x: 1\n"
	        "\n"
	        "     y { z: 2 } }\n"
	        "}\n"
	        "foo <\r\n"
	        "  q: 'x'   \r\n"
	        ">";
	T__All *m = parse_all(text);
	char *once = textfmt_print(&m->base, NULL), *twice;
	T__All *again;

	(void)state;
	/* Blank lines stay empty; trailing blanks and CRs go. */
	assert_string_equal(once,
	        "f_inner {\n"
	        "  a: 1\n"
	        "  bar { x: 1\n"
	        "\n"
	        "  y { z: 2 } }\n"
	        "}\n"
	        "foo <\n"
	        "  q: 'x'\n"
	        ">\n");
	again = parse_all(once);
	twice = textfmt_print(&again->base, NULL);
	assert_string_equal(once, twice);
	free(once);
	free(twice);
	free_msg(m);
	free_msg(again);
}

static void
stripping_unknown_fields_leaves_what_pack_writes(void **state)
{
	T__All *m = parse_all("f_int32: 1 foo: 2 f_inner { a: 3 bar {} } r_inner { baz: 1 } "
	                      "o_msg { qux: 'x' } req { id: 1 name: 'n' quux: 1 }");
	T__All *plain = parse_all("f_int32: 1 f_inner { a: 3 } r_inner {} o_msg {} "
	                          "req { id: 1 name: 'n' }");
	uint8_t a[256], b[256];
	size_t na, nb;

	(void)state;
	assert_true(textfmt_has_unknown(&m->base));
	assert_false(textfmt_has_unknown(&plain->base));
	textfmt_strip_unknown(&m->base);
	assert_false(textfmt_has_unknown(&m->base));
	assert_int_equal(m->base.n_unknown_fields, 0);
	assert_null(m->base.unknown_fields);
	na = protobuf_c_message_get_packed_size(&m->base);
	nb = protobuf_c_message_get_packed_size(&plain->base);
	assert_int_equal(na, nb);
	assert_true(na <= sizeof a);
	protobuf_c_message_pack(&m->base, a);
	protobuf_c_message_pack(&plain->base, b);
	assert_memory_equal(a, b, na);
	free_msg(m);
	free_msg(plain);
}

static void
unknown_fields_must_still_be_well_formed(void **state)
{
	(void)state;
	assert_error("foo 1", "in.pbtxt:1:5: expected ':' or '{' after field name \"foo\"");
	assert_error("foo: }", "in.pbtxt:1:6: expected value for field \"foo\", got \"}\"");
	assert_error("foo: -'x'", "in.pbtxt:1:7: expected value for field \"foo\", got a string");
	assert_error("foo { x: 1", "in.pbtxt:1:11: unexpected end of file, expected '}'");
	assert_error("foo < x: 1 }", "in.pbtxt:1:12: expected field name or '>', got \"}\"");
	assert_error("foo { x 1 }", "in.pbtxt:1:9: expected ':' or '{' after field name \"x\"");
	assert_error("foo: [1 2]", "in.pbtxt:1:9: expected ',' or ']' in list for field \"foo\", got \"2\"");
	assert_error("foo: 'abc", "in.pbtxt:1:6: unterminated string");
}

/* ---- the printer, against protoc ---- */

static void
printer_writes_nothing_for_an_empty_message(void **state)
{
	size_t len = 99;
	T__All *m = parse_all("");
	char *s = textfmt_print(&m->base, &len);

	(void)state;
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	free_msg(m);
}

static void
printer_follows_field_numbers_not_text_order(void **state)
{
	(void)state;
	/* f_int64 (2) is declared before f_int32 (1); protoc sorts by number. */
	assert_prints("o_int: 5 r_int32: 3 f_int64: 2 f_int32: 1",
	              "f_int32: 1\nf_int64: 2\nr_int32: 3\no_int: 5\n");
}

/* Parse source as t.All, print: byte for byte the protoc golden, which
 * itself prints unchanged. */
static void
assert_matches_golden(const char *source, const char *golden)
{
	size_t slen, glen, plen;
	char *src = slurp(source, &slen), *want = slurp(golden, &glen), *got;
	caffeopt_error err;
	ProtobufCMessage *m;

	m = textfmt_parse(&t__all__descriptor, src, slen, source, &err, NULL, NULL);
	assert_non_null(m);
	got = textfmt_print(m, &plen);
	assert_int_equal(plen, glen);
	assert_string_equal(got, want);
	free(got);
	free_msg(m);
	m = textfmt_parse(&t__all__descriptor, want, glen, golden, &err, NULL, NULL);
	assert_non_null(m);
	got = textfmt_print(m, NULL);
	assert_string_equal(got, want);
	free(got);
	free_msg(m);
	free(src);
	free(want);
}

static void
printer_matches_protoc_on_every_form(void **state)
{
	(void)state;
	assert_matches_golden("all_forms.pbtxt", "all_forms.decoded.pbtxt");
}

static void
printer_matches_protoc_on_floats_and_doubles(void **state)
{
	(void)state;
	assert_matches_golden("floats.pbtxt", "floats.decoded.pbtxt");
}

static void
printer_matches_protoc_on_binary_unknown_fields(void **state)
{
	size_t blen, glen;
	char *bin = slurp("few.bin", &blen), *want = slurp("few.decoded.pbtxt", &glen), *got;
	ProtobufCMessage *m;

	(void)state;
	m = protobuf_c_message_unpack(&t__few__descriptor, NULL, blen, (const uint8_t *)bin);
	assert_non_null(m);
	assert_false(textfmt_has_unknown(m));
	got = textfmt_print(m, NULL);
	assert_string_equal(got, want);
	free(got);
	free_msg(m);
	free(bin);
	free(want);
}

static void
printer_escapes_strings_as_protoc(void **state)
{
	(void)state;
	/* CEscape: \n \r \t \" \' \\ by name, other bytes outside
	 * printable ASCII in three-digit octal, UTF-8 included. */
	assert_prints("f_string: '\\a\\x1f \\'\\\"\\\\ ~\\x7f\\u00e9\\n\\r\\t'",
	              "f_string: \"\\007\\037 \\'\\\"\\\\ ~\\177\\303\\251\\n\\r\\t\"\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lexer_splits_tokens_and_counts_lines_and_byte_columns),
		cmocka_unit_test(lexer_reads_numbers_as_protoc_does),
		cmocka_unit_test(lexer_rejects_malformed_numbers),
		cmocka_unit_test(lexer_rejects_malformed_strings),
		cmocka_unit_test(lexer_rejects_stray_bytes),
		cmocka_unit_test(lexer_decodes_every_escape),
		cmocka_unit_test(lexer_reads_integers_up_to_64_bits),
		cmocka_unit_test(parser_fills_every_scalar_type_and_has_flags),
		cmocka_unit_test(parser_reads_integers_in_every_base_up_to_each_limit),
		cmocka_unit_test(parser_range_checks_integers_per_type),
		cmocka_unit_test(parser_reads_floats_in_every_form),
		cmocka_unit_test(parser_rejects_non_decimal_integers_for_floats),
		cmocka_unit_test(parser_reads_bools_as_protoc_does),
		cmocka_unit_test(parser_reads_enums_by_name_and_number),
		cmocka_unit_test(parser_reads_strings_and_bytes),
		cmocka_unit_test(parser_sets_a_string_equal_to_its_default),
		cmocka_unit_test(parser_accepts_every_message_delimiter),
		cmocka_unit_test(parser_needs_a_colon_before_scalar_values),
		cmocka_unit_test(parser_accepts_list_syntax_for_repeated_fields),
		cmocka_unit_test(parser_accepts_separators_and_comments),
		cmocka_unit_test(parser_reads_text_that_is_not_nul_terminated),
		cmocka_unit_test(parser_forbids_setting_a_non_repeated_field_twice),
		cmocka_unit_test(parser_sets_one_member_of_a_oneof),
		cmocka_unit_test(parser_requires_required_fields),
		cmocka_unit_test(parser_bounds_nesting_depth),
		cmocka_unit_test(unknown_fields_are_warned_once_per_name),
		cmocka_unit_test(unknown_fields_are_kept_verbatim_and_printed_last),
		cmocka_unit_test(unknown_fields_survive_print_and_parse_unchanged),
		cmocka_unit_test(stripping_unknown_fields_leaves_what_pack_writes),
		cmocka_unit_test(unknown_fields_must_still_be_well_formed),
		cmocka_unit_test(printer_writes_nothing_for_an_empty_message),
		cmocka_unit_test(printer_follows_field_numbers_not_text_order),
		cmocka_unit_test(printer_matches_protoc_on_every_form),
		cmocka_unit_test(printer_matches_protoc_on_floats_and_doubles),
		cmocka_unit_test(printer_matches_protoc_on_binary_unknown_fields),
		cmocka_unit_test(printer_escapes_strings_as_protoc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
