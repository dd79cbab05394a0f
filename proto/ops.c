/*
 * ops.c: the op and error tables built from ops.def and errors.def, and the
 * signature check every request passes before any handler runs.
 */
#include <string.h>
#include <math.h>
#include "proto.h"

/* As written in ops.def; arity is derived from the signature at first use. */
static const struct proto_op_info ops_def[] = {
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) \
	{ code, wire, PROTO_T_##type, flags, sig, usage, help, 0, 0 },
#include "ops.def"
#undef IPCD_OP
};
const size_t proto_ops_count = sizeof(ops_def) / sizeof(ops_def[0]);

/* Arity from a signature: letters before '|' are required. */
static void sig_counts(const char *sig, unsigned *min, unsigned *max)
{
	const char *bar = strchr(sig, '|');
	*max = (unsigned)(strlen(sig) - (bar ? 1 : 0));
	*min = bar ? (unsigned)(bar - sig) : *max;
}

/* Index by code, built once; ops.def codes are small and unique. */
static const struct proto_op_info *by_code[PROTO_OP_MAX];
static struct proto_op_info ops_rw[sizeof(ops_def) / sizeof(ops_def[0])];
static int tables_ready;

static void tables_init(void)
{
	if (tables_ready)
		return;
	for (size_t i = 0; i < proto_ops_count; i++) {
		ops_rw[i] = ops_def[i];
		sig_counts(ops_rw[i].sig, &ops_rw[i].min_args, &ops_rw[i].max_args);
		by_code[ops_rw[i].code] = &ops_rw[i];
	}
	tables_ready = 1;
}

const struct proto_op_info *proto_op_at(size_t i)
{
	tables_init();
	return i < proto_ops_count ? &ops_rw[i] : NULL;
}

const struct proto_op_info *proto_op_by_code(uint64_t code)
{
	tables_init();
	return code < PROTO_OP_MAX ? by_code[code] : NULL;
}

const struct proto_op_info *proto_op_by_name(const char *name, size_t len)
{
	tables_init();
	for (size_t i = 0; i < proto_ops_count; i++)
		if (strlen(ops_rw[i].name) == len && memcmp(ops_rw[i].name, name, len) == 0)
			return &ops_rw[i];
	return NULL;
}

static const char *const type_names[PROTO_T_COUNT] = {
	[PROTO_T_ANY] = "any", [PROTO_T_QUEUE] = "queue", [PROTO_T_LIST] = "list",
	[PROTO_T_DICT] = "dict", [PROTO_T_NS] = "ns",
	[PROTO_T_VALUE] = "value", [PROTO_T_ARRAY] = "array",
	[PROTO_T_LOCK] = "lock", [PROTO_T_SEMAPHORE] = "semaphore", [PROTO_T_EVENT] = "event",
	[PROTO_T_CONDITION] = "condition", [PROTO_T_BARRIER] = "barrier",
};

const char *proto_type_name(enum proto_type t)
{
	return (unsigned)t < PROTO_T_COUNT ? type_names[t] : "?";
}

enum proto_type proto_type_by_name(const char *name, size_t len)
{
	for (int t = PROTO_T_QUEUE; t < PROTO_T_COUNT; t++)
		if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0)
			return (enum proto_type)t;
	return PROTO_T_ANY;
}

struct err_info { int code; const char *name, *msg; int closes; };
static const struct err_info errs[] = {
#define IPCD_ERR(ident, code, wire, closes, msg) { code, wire, msg, closes },
#include "errors.def"
#undef IPCD_ERR
};

static const struct err_info *err_find(int code)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].code == code)
			return &errs[i];
	return NULL;
}

const char *proto_error_name(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->name : "UNKNOWN";
}

const char *proto_error_message(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->msg : "unknown error";
}

int proto_error_closes(int code)
{
	const struct err_info *e = err_find(code);
	return e ? e->closes : 0;
}

int proto_error_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (strlen(errs[i].name) == len && memcmp(errs[i].name, name, len) == 0)
			return errs[i].code;
	return -1;
}

static int is_int(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static int is_float(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

int proto_arg_fits(char letter, const msgpack_object *o)
{
	switch (letter) {
	case 'N': case 'S': return o->type == MSGPACK_OBJECT_STR;
	case 's': return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_NIL;
	case 'v': case 'k': return 1;
	case 'm': case 'o': return o->type == MSGPACK_OBJECT_MAP;
	case 'a': return o->type == MSGPACK_OBJECT_ARRAY;
	case 'i': return is_int(o);
	case 'I': return is_int(o) || o->type == MSGPACK_OBJECT_NIL;
	case 'u': return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
	case 'n': return is_int(o) || (is_float(o) && isfinite(o->via.f64));
	case 't':
		if (o->type == MSGPACK_OBJECT_NIL || o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			return 1;
		return is_float(o) && o->via.f64 >= 0 && !isnan(o->via.f64);
	}
	return 0;
}

static const char *letter_what(char letter)
{
	switch (letter) {
	case 'N': return "an object name (string)";
	case 'S': return "a string";
	case 's': return "a string or nil";
	case 'm': case 'o': return "a map";
	case 'a': return "an array";
	case 'i': return "an integer";
	case 'I': return "an integer or nil";
	case 'u': return "a non-negative integer";
	case 'n': return "a finite number";
	case 't': return "a timeout (nil or seconds >= 0)";
	}
	return "a value";
}

int proto_check_args(const struct proto_op_info *op, const msgpack_object *args,
                     uint32_t n, size_t max_name, const char **why)
{
	static __thread char msg[128];
	if (n < op->min_args || n > op->max_args) {
		snprintf(msg, sizeof(msg), "%s takes %u to %u arguments, got %u (usage: %s %s)",
		         op->name, op->min_args, op->max_args, n, op->name, op->usage);
		*why = msg;
		return IPCD_EBADARG;
	}
	const char *s = op->sig;
	for (uint32_t i = 0; i < n; i++, s++) {
		if (*s == '|')
			s++;
		if (*s == 'N' && args[i].type != MSGPACK_OBJECT_STR) {
			snprintf(msg, sizeof(msg), "%s: argument %u must be an object name (string) (usage: %s %s)",
			         op->name, i + 1, op->name, op->usage);
			*why = msg;
			return IPCD_EBADNAME;
		}
		if (!proto_arg_fits(*s, &args[i])) {
			snprintf(msg, sizeof(msg), "%s: argument %u must be %s (usage: %s %s)",
			         op->name, i + 1, letter_what(*s), op->name, op->usage);
			*why = msg;
			return IPCD_EBADARG;
		}
		if (*s == 'N' && (args[i].via.str.size == 0 || args[i].via.str.size > max_name ||
		                  memchr(args[i].via.str.ptr, 0, args[i].via.str.size))) {
			snprintf(msg, sizeof(msg), "object name must be 1 to %zu bytes without NUL, got %u bytes",
			         max_name, args[i].via.str.size);
			*why = msg;
			return IPCD_EBADNAME;
		}
	}
	return 0;
}

int64_t proto_duration_ms(const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 <= PROTO_MAX_SECONDS ? (int64_t)o->via.u64 * 1000 : -1;
	if (!is_float(o) || !(o->via.f64 >= 0 && o->via.f64 <= PROTO_MAX_SECONDS))   /* NaN fails too */
		return -1;
	return (int64_t)ceil(o->via.f64 * 1000.0);
}

int64_t proto_timeout_ms(const msgpack_object *o)
{
	if (!o || o->type == MSGPACK_OBJECT_NIL)
		return -1;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 > INT64_MAX / 1000 ? INT64_MAX / 1000 : (int64_t)o->via.u64 * 1000;
	double ms = ceil(o->via.f64 * 1000.0);
	return ms > (double)(INT64_MAX / 1000) ? INT64_MAX / 1000 : (int64_t)ms;
}
