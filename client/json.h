/*
 * json.h: JSON <-> msgpack for ipcctl.
 *
 * Mapping, both ways: null/nil, true/false, integers (int64 range on input,
 * any msgpack integer on output), floats (float64; NaN and infinities print
 * as null), strings/str, arrays, objects/maps. Binary and extension values,
 * which JSON lacks, are objects of one reserved key:
 *   bin                {"$bin": "<base64>"}
 *   ext type T         {"$ext": [T, "<base64>"]}
 * and the same objects on input make bin and ext values. Map keys that are
 * not strings print as the JSON text of the key, as a string ({"1": ...}).
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
