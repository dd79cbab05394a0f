/*
 * ipcctl_args.c: command-line words to the msgpack arguments of an op.
 *
 * Each word is converted by the op's signature letter (proto/ops.def): names
 * and attribute names stay strings, values are read as JSON (json.h) or
 * taken as a string, numbers and timeouts must be numbers. ipcctl always
 * sends the timeout of an op that has one: the TIMEOUT word, else
 * --timeout/--wait, else 0 (do not wait).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "proto.h"
#include "buf.h"
#include "ipcd.h"
#include "json.h"
#include "ipcctl.h"

/* Word i of an op's usage string ("NAME VALUE [TIMEOUT]"), brackets removed. */
static void arg_label(const char *usage, size_t i, char *out, size_t size)
{
	const char *p = usage;
	for (; i > 0 && p; i--)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p || !*p) {
		snprintf(out, size, "argument");
		return;
	}
	size_t n = 0;
	for (; *p && *p != ' ' && n + 1 < size; p++)
		if (*p != '[' && *p != ']')
			out[n++] = *p;
	out[n] = '\0';
}

/* What a signature letter expects, for messages. */
static const char *arg_expect(char letter)
{
	switch (letter) {
	case 'm': case 'o': return "a JSON object";
	case 'a': return "a JSON array";
	case 'i': return "an integer";
	case 'I': return "an integer or null";
	case 'u': return "a non-negative integer";
	case 'n': return "a number";
	case 't': return "a number of seconds (negative or null: forever)";
	}
	return "a value";
}

/* Pack the timeout as ipcctl means it: seconds, negative = forever. */
static void arg_pack_timeout(msgpack_packer *pk, double secs)
{
	if (secs < 0 || isinf(secs))
		msgpack_pack_nil(pk);
	else
		msgpack_pack_double(pk, secs);
}

/* True if text starts the way a JSON value does ({, [, ", a digit, -DIGIT,
 * or the word true, false or null): such text must parse as JSON. */
static int arg_looks_like_json(const char *text)
{
	text += strspn(text, " \t\n\r");
	if (strchr("{[\"0123456789", *text) && *text)
		return 1;
	if (text[0] == '-')
		return text[1] >= '0' && text[1] <= '9';
	static const char *const words[] = { "true", "false", "null" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);
		if (strncmp(text, words[i], n) == 0 && !((text[n] >= 'a' && text[n] <= 'z') ||
		                                         (text[n] >= 'A' && text[n] <= 'Z') || text[n] == '_'))
			return 1;
	}
	return 0;
}

/*
 * Pack command-line text as argument i of op (signature letter letter).
 * 0, or EX_USAGE with a message.
 */
static int arg_pack(const struct cli *x, size_t i, char letter, const char *text, msgpack_packer *pk)
{
	const struct cmd *cmd = x->cmd;
	char label[32], path[64];
	if (letter == 'N' || letter == 'S' || letter == 's' || (x->o.string && (letter == 'v' || letter == 'k'))) {
		msgpack_pack_str_with_body(pk, text, strlen(text));
		return 0;
	}
	struct buf one;
	msgpack_packer opk;
	buf_init(&one);
	msgpack_packer_init(&opk, &one, cli_buf_write);
	char why[JSON_ERROR_SIZE] = "";
	int is_json = json_to_msgpack(text, &opk, why, sizeof(why)) == 0;
	if (!is_json && (letter == 'v' || letter == 'k')) {
		buf_free(&one);
		if (arg_looks_like_json(text)) {
			arg_label(cmd->usage, i, label, sizeof(label));
			return cli_error(EX_USAGE, "%s: %s looks like JSON but is not valid (%s); --string takes it as a "
			                 "string: %s", cmd_path(cmd, path, sizeof(path)), label, why, text);
		}
		msgpack_pack_str_with_body(pk, text, strlen(text));
		return 0;
	}
	msgpack_zone zone;
	msgpack_object o = { .type = MSGPACK_OBJECT_NIL };
	size_t off = 0;
	if (!msgpack_zone_init(&zone, 1024))
		cli_oom();
	int parsed = is_json && msgpack_unpack(one.data, one.len, &off, &zone, &o) == MSGPACK_UNPACK_SUCCESS;
	int ok = parsed;
	double secs;
	if (ok && letter == 't' && o.type != MSGPACK_OBJECT_NIL && ipcd_obj_double(&o, &secs) == IPCD_OK) {
		arg_pack_timeout(pk, secs);   /* negative: forever, as for --timeout */
	} else if ((ok = ok && proto_arg_fits(letter, &o))) {
		cli_buf_write(pk->data, buf_head(&one), buf_used(&one));
	}
	msgpack_zone_destroy(&zone);
	buf_free(&one);
	if (ok)
		return 0;
	arg_label(cmd->usage, i, label, sizeof(label));
	if (is_json && !parsed)
		return cli_error(EX_USAGE, "%s: %s is nested too deeply", cmd_path(cmd, path, sizeof(path)), label);
	if (!is_json)
		return cli_error(EX_USAGE, "%s: %s must be %s; not valid JSON (%s): %s", cmd_path(cmd, path, sizeof(path)),
		                 label, arg_expect(letter), why, text);
	return cli_error(EX_USAGE, "%s: %s must be %s, not %s", cmd_path(cmd, path, sizeof(path)), label,
	                 arg_expect(letter), text);
}

/* The OPTIONS map of a put from --priority and --delay. */
static void arg_pack_put_flags(const struct cli_opts *o, msgpack_packer *pk)
{
	msgpack_pack_map(pk, (uint32_t)(o->have_priority + o->have_delay));
	if (o->have_priority) {
		msgpack_pack_str_with_body(pk, "priority", 8);
		msgpack_pack_int64(pk, o->priority);
	}
	if (o->have_delay) {
		msgpack_pack_str_with_body(pk, "delay", 5);
		msgpack_pack_double(pk, o->delay);
	}
}

int args_pack(const struct cli *x, int argc, char **argv, struct buf *out)
{
	const struct cmd *cmd = x->cmd;
	const struct proto_op_info *op = cmd->op;
	char letters[32];
	const char *word[32] = { NULL };
	size_t nl = 0;
	for (const char *s = op->sig; *s && nl < sizeof(letters); s++)
		if (*s != '|')
			letters[nl++] = *s;
	const char *t = memchr(letters, 't', nl), *opts = t ? memchr(t, 'o', nl - (size_t)(t - letters)) : NULL;
	size_t ti = t ? (size_t)(t - letters) : SIZE_MAX, n = (size_t)argc, total = n;
	size_t oi = opts ? (size_t)(opts - letters) : SIZE_MAX;
	int flags = x->o.have_priority || x->o.have_delay;
	if (n > nl)
		return cmd_usage(x, "too many arguments");
	if (n < op->min_args)
		return cmd_usage(x, "missing arguments");
	for (size_t i = 0; i < n; i++)
		word[i] = argv[i];
	/* NAME VALUE {...}: a JSON object where TIMEOUT would be is the OPTIONS. */
	if (oi == ti + 1 && n == oi && argv[ti][strspn(argv[ti], " \t\n\r")] == '{')
		word[oi] = word[ti], word[ti] = NULL, n = total = oi + 1;
	if (x->o.have_timeout && ti == SIZE_MAX)
		return cmd_usage(x, "this op does not wait: --timeout/--wait do not apply");
	if (x->o.have_timeout && ti < n && word[ti])
		return cmd_usage(x, "TIMEOUT given both as an argument and as --timeout/--wait");
	if (flags && oi < n && word[oi])
		return cmd_usage(x, "OPTIONS given both as an argument and as --priority/--delay");
	if (ti != SIZE_MAX && total <= ti)
		total = ti + 1;    /* ipcctl always sends the timeout: 0 unless told */
	if (flags && total <= oi)
		total = oi + 1;

	msgpack_packer pk;
	msgpack_packer_init(&pk, out, cli_buf_write);
	msgpack_pack_array(&pk, (uint32_t)total);
	int st = 0;
	for (size_t i = 0; i < total && !st; i++) {
		msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
		if (word[i])
			st = arg_pack(x, i, letters[i], word[i], &pk);
		else if (i == ti)
			arg_pack_timeout(&pk, x->o.have_timeout ? x->o.timeout : 0);
		else if (i == oi && flags)
			arg_pack_put_flags(&x->o, &pk);
		else if (proto_arg_fits(letters[i], &nil))
			msgpack_pack_nil(&pk);
		else
			st = cmd_usage(x, "missing arguments before TIMEOUT");
	}
	return st;
}
