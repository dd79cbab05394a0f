/*
 * utf8.h: checking UTF-8, one rule for the daemon's log escaping and
 * ipcctl's exact JSON.
 */
#ifndef IPCD_UTF8_H
#define IPCD_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (n > 0 bytes there), 0 if it is
 * not one: no overlong forms, no surrogates, nothing past U+10FFFF. */
size_t utf8_len(const unsigned char *p, size_t n);

#endif
