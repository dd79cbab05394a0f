/*
 * json.c: JSON <-> msgpack for ipcctl; the mapping is in json.h. Input is
 * parsed with jansson; output is written here directly, so that every
 * msgpack integer (uint64 included) prints exactly and floats print in
 * their shortest form that reads back to the same double.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "utf8.h"

static const char json_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of base64 digit ch, or -1. */
static int json_b64_digit(unsigned char ch)
{
	const char *p = ch ? strchr(json_b64, ch) : NULL;
	return p ? (int)(p - json_b64) : -1;
}

/* Decode base64 s[0..n) (padding optional) into a malloc'd *out, *outlen.
 * 0, or -1 if s is not base64. */
static int json_b64_decode(const char *s, size_t n, char **out, size_t *outlen)
{
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	char *d = malloc(n / 4 * 3 + 3);
	if (!d)
		abort();
	size_t len = 0;
	uint32_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		int v = json_b64_digit((unsigned char)s[i]);
		if (v < 0) {
			free(d);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			d[len++] = (char)(acc >> 16);
			d[len++] = (char)(acc >> 8);
			d[len++] = (char)acc;
			acc = 0;
		}
	}
	if (n % 4 == 2)
		d[len++] = (char)(acc >> 4);
	else if (n % 4 == 3) {
		d[len++] = (char)(acc >> 10);
		d[len++] = (char)(acc >> 2);
	}
	*out = d;
	*outlen = len;
	return 0;
}

/* Print p[0..n) as base64 with padding. */
static void json_b64_print(FILE *f, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		putc(json_b64[v >> 18 & 63], f);
		putc(json_b64[v >> 12 & 63], f);
		putc(i + 1 < n ? json_b64[v >> 6 & 63] : '=', f);
		putc(i + 2 < n ? json_b64[v & 63] : '=', f);
	}
}

/* ---- input --------------------------------------------------------------- */

static void json_pack_any(json_t *j, msgpack_packer *pk);

/* If obj is {"$map": [[K, V], ...]} (each pair an array of two), pack that
 * map and return 1. */
static int json_pack_map_form(json_t *pairs, msgpack_packer *pk)
{
	if (!json_is_array(pairs))
		return 0;
	for (size_t i = 0; i < json_array_size(pairs); i++) {
		json_t *kv = json_array_get(pairs, i);
		if (!json_is_array(kv) || json_array_size(kv) != 2)
			return 0;
	}
	msgpack_pack_map(pk, (uint32_t)json_array_size(pairs));
	for (size_t i = 0; i < json_array_size(pairs); i++) {
		json_pack_any(json_array_get(json_array_get(pairs, i), 0), pk);
		json_pack_any(json_array_get(json_array_get(pairs, i), 1), pk);
	}
	return 1;
}

/* If s is {"$uint": "DIGITS"} with DIGITS a uint64 in decimal, pack it and
 * return 1. */
static int json_pack_uint_form(json_t *s, msgpack_packer *pk)
{
	const char *p = json_string_value(s);
	if (!p || !*p || json_string_length(s) > 20 || strspn(p, "0123456789") != json_string_length(s))
		return 0;
	errno = 0;
	unsigned long long u = strtoull(p, NULL, 10);
	if (errno)
		return 0;
	msgpack_pack_uint64(pk, u);
	return 1;
}

/* If obj is one of the reserved forms of json.h ($bin, $ext, $uint, $map),
 * pack the value it stands for and return 1. */
static int json_pack_special(json_t *obj, msgpack_packer *pk)
{
	if (json_object_size(obj) != 1)
		return 0;
	const char *key = json_object_iter_key(json_object_iter(obj));
	json_t *v = json_object_iter_value(json_object_iter(obj));
	json_t *data = NULL, *type = NULL;
	int is_str = 0;
	if (strcmp(key, "$map") == 0)
		return json_pack_map_form(v, pk);
	if (strcmp(key, "$uint") == 0)
		return json_pack_uint_form(v, pk);
	if (strcmp(key, "$bin") == 0)
		data = v;
	else if (strcmp(key, "$str") == 0)
		data = v, is_str = 1;
	else if (strcmp(key, "$ext") == 0 && json_is_array(v) && json_array_size(v) == 2) {
		type = json_array_get(v, 0);
		data = json_array_get(v, 1);
		if (!json_is_integer(type) || json_integer_value(type) < -128 || json_integer_value(type) > 127)
			return 0;
	}
	char *bytes;
	size_t n;
	if (!json_is_string(data) || json_b64_decode(json_string_value(data), json_string_length(data), &bytes, &n))
		return 0;
	if (type) {
		msgpack_pack_ext(pk, n, (int8_t)json_integer_value(type));
		msgpack_pack_ext_body(pk, bytes, n);
	} else if (is_str) {
		msgpack_pack_str_with_body(pk, bytes, n);
	} else {
		msgpack_pack_bin_with_body(pk, bytes, n);
	}
	free(bytes);
	return 1;
}

/* Pack parsed JSON j. */
static void json_pack_any(json_t *j, msgpack_packer *pk)
{
	switch (json_typeof(j)) {
	case JSON_NULL: msgpack_pack_nil(pk); break;
	case JSON_TRUE: msgpack_pack_true(pk); break;
	case JSON_FALSE: msgpack_pack_false(pk); break;
	case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(j)); break;
	case JSON_REAL: msgpack_pack_double(pk, json_real_value(j)); break;
	case JSON_STRING: msgpack_pack_str_with_body(pk, json_string_value(j), json_string_length(j)); break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, (uint32_t)json_array_size(j));
		for (size_t i = 0; i < json_array_size(j); i++)
			json_pack_any(json_array_get(j, i), pk);
		break;
	case JSON_OBJECT: {
		if (json_pack_special(j, pk))
			break;
		const char *k;
		json_t *v;
		msgpack_pack_map(pk, (uint32_t)json_object_size(j));
		json_object_foreach(j, k, v) {
			msgpack_pack_str_with_body(pk, k, strlen(k));
			json_pack_any(v, pk);
		}
		break;
	}
	}
}

int json_to_msgpack(const char *text, msgpack_packer *pk, char *err, size_t size)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!j) {
		if (err)
			snprintf(err, size, "%s at character %d", e.text, e.position);
		return -1;
	}
	json_pack_any(j, pk);
	json_decref(j);
	return 0;
}

/* ---- output -------------------------------------------------------------- */


/* True if s[0..n) is valid UTF-8, so that a JSON string can hold it. */
static int json_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, len; i < n; i += len)
		if (!(len = utf8_len(p + i, n - i)))
			return 0;
	return 1;
}

/* Print s[0..n) as a JSON string; invalid UTF-8 bytes become U+FFFD (json_emit
 * prints such a str as {"$str": ...} instead: only help text lands here). */
static void json_print_str(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	putc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char ch = p[i];
		if (ch == '"' || ch == '\\') {
			putc('\\', f);
			putc(ch, f);
		} else if (ch == '\n') {
			fputs("\\n", f);
		} else if (ch == '\t') {
			fputs("\\t", f);
		} else if (ch == '\r') {
			fputs("\\r", f);
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\u%04x", ch);
		} else {
			size_t len = utf8_len(p + i, n - i);
			if (!len) {
				fputs("\\ufffd", f);
				i++;
				continue;
			}
			fwrite(p + i, 1, len, f);
			i += len;
			continue;
		}
		i++;
	}
	putc('"', f);
}

/* Print d in the shortest form that reads back the same, always with a
 * fraction or exponent so that it reads back as a float. */
static void json_print_double(FILE *f, double d)
{
	if (!isfinite(d)) {
		fputs("null", f);
		return;
	}
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, f);
	if (!strpbrk(buf, ".eE"))
		fputs(".0", f);
}

static void json_emit(FILE *f, const msgpack_object *o, int pretty, int depth);

/* Newline and indentation for depth when pretty. */
static void json_indent(FILE *f, int pretty, int depth)
{
	if (pretty)
		fprintf(f, "\n%*s", depth * 2, "");
}

/*
 * True if map m prints as a JSON object: every key a str without a NUL byte
 * (JSON has other keys, and jansson cuts keys at NUL), and not a single key
 * starting with '$', which would read back as a reserved form.
 */
static int json_map_is_object(const msgpack_object *m)
{
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR || (k->via.str.size && memchr(k->via.str.ptr, 0, k->via.str.size)) ||
		    !json_utf8_valid(k->via.str.ptr, k->via.str.size))
			return 0;
	}
	const msgpack_object *k = &m->via.map.ptr[0].key;
	return !(m->via.map.size == 1 && k->via.str.size && k->via.str.ptr[0] == '$');
}

/* Print map m as {"$map": [[K, V], ...]}. */
static void json_print_map_form(FILE *f, const msgpack_object *m, int pretty, int depth)
{
	fputs(pretty ? "{\"$map\": [" : "{\"$map\":[", f);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		if (i)
			putc(',', f);
		json_indent(f, pretty, depth + 1);
		putc('[', f);
		json_emit(f, &m->via.map.ptr[i].key, pretty, depth + 1);
		fputs(pretty ? ", " : ",", f);
		json_emit(f, &m->via.map.ptr[i].val, pretty, depth + 1);
		putc(']', f);
	}
	json_indent(f, pretty, depth);
	fputs("]}", f);
}

/* Print o at nesting depth. */
static void json_emit(FILE *f, const msgpack_object *o, int pretty, int depth)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", f); break;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		/* Past int64, JSON readers (jansson among them) lose or refuse it. */
		if (o->via.u64 > INT64_MAX)
			fprintf(f, pretty ? "{\"$uint\": \"%llu\"}" : "{\"$uint\":\"%llu\"}",
			        (unsigned long long)o->via.u64);
		else
			fprintf(f, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%lld", (long long)o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: json_print_double(f, o->via.f64); break;
	case MSGPACK_OBJECT_STR:
		if (json_utf8_valid(o->via.str.ptr, o->via.str.size)) {
			json_print_str(f, o->via.str.ptr, o->via.str.size);
			break;
		}
		/* JSON cannot hold these bytes: the exact form, as for bin. */
		fputs(pretty ? "{\"$str\": \"" : "{\"$str\":\"", f);
		json_b64_print(f, (const unsigned char *)o->via.str.ptr, o->via.str.size);
		fputs("\"}", f);
		break;
	case MSGPACK_OBJECT_BIN:
		fputs(pretty ? "{\"$bin\": \"" : "{\"$bin\":\"", f);
		json_b64_print(f, (const unsigned char *)o->via.bin.ptr, o->via.bin.size);
		fputs("\"}", f);
		break;
	case MSGPACK_OBJECT_EXT:
		fprintf(f, pretty ? "{\"$ext\": [%d, \"" : "{\"$ext\":[%d,\"", o->via.ext.type);
		json_b64_print(f, (const unsigned char *)o->via.ext.ptr, o->via.ext.size);
		fputs("\"]}", f);
		break;
	case MSGPACK_OBJECT_ARRAY:
		if (!o->via.array.size) {
			fputs("[]", f);
			break;
		}
		putc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putc(',', f);
			json_indent(f, pretty, depth + 1);
			json_emit(f, &o->via.array.ptr[i], pretty, depth + 1);
		}
		json_indent(f, pretty, depth);
		putc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		if (!o->via.map.size) {
			fputs("{}", f);
			break;
		}
		if (!json_map_is_object(o)) {
			json_print_map_form(f, o, pretty, depth);
			break;
		}
		putc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i)
				putc(',', f);
			json_indent(f, pretty, depth + 1);
			json_print_str(f, o->via.map.ptr[i].key.via.str.ptr, o->via.map.ptr[i].key.via.str.size);
			fputs(pretty ? ": " : ":", f);
			json_emit(f, &o->via.map.ptr[i].val, pretty, depth + 1);
		}
		json_indent(f, pretty, depth);
		putc('}', f);
		break;
	default:
		fputs("null", f);
	}
}

void json_print(FILE *f, const msgpack_object *o, int pretty)
{
	json_emit(f, o, pretty, 0);
}
