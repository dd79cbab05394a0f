/*
 * json.h: JSON <-> msgpack for ipcctl.
 *
 * Mapping, both ways, exact for every msgpack value but NaN and the
 * infinities (so that ipcctl dump | ipcctl load restores an object bit for
 * bit in the daemon's canonical encoding): null/nil, true/false, strings/str,
 * arrays, integers (int64 range as plain
 * numbers), floats (float64, always printed with a fraction or an exponent,
 * 1.0 not 1, in the shortest form that reads back to the same double, so
 * that they read back as floats; NaN and infinities print as null), and
 * objects/maps whose keys are all strings. What JSON lacks is an object of
 * one reserved key:
 *   bin                      {"$bin": "<base64>"}
 *   str that is not UTF-8    {"$str": "<base64>"}
 *   ext type T               {"$ext": [T, "<base64>"]}
 *   uint above INT64_MAX     {"$uint": "<decimal digits>"}
 *   map with a key that is not a str (or holds a NUL byte), and a map of
 *   one key starting with '$' (which would read as one of these forms)
 *                            {"$map": [[KEY, VALUE], ...]}, in map order
 * and the same objects on input make those values ({"$uint": "5"} too).
 * An object of one such key whose value does not fit its form (say
 * {"$bin": 5}) reads as a plain map.
 */
#ifndef IPCD_JSON_H
#define IPCD_JSON_H

#include <stdio.h>
#include <msgpack.h>

/* Room for json_to_msgpack's reason. */
#define JSON_ERROR_SIZE 200

/*
 * Parse text as one JSON value (any type, not only objects and arrays) and
 * pack it into pk. 0, or -1 if text is not valid JSON (nothing packed; the
 * reason in err[0..size) unless err is NULL).
 */
int json_to_msgpack(const char *text, msgpack_packer *pk, char *err, size_t size);

/* Print o as JSON to f: on one line (pretty = 0) or indented by two spaces. */
void json_print(FILE *f, const msgpack_object *o, int pretty);

#endif
