/* fuzz.h: the server fuzz target, shared by the libFuzzer build and the replay test. */
#ifndef IPCD_FUZZ_H
#define IPCD_FUZZ_H
#include <stddef.h>
#include <stdint.h>
int fuzz_one(const uint8_t *data, size_t size);
#endif
