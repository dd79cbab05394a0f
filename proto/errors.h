/*
 * errors.h: the error codes of errors.def as C constants, one spelling for
 * the daemon, libipcd and its users: IPCD_OK = 0 and IPCD_E<NAME> for every
 * other line (IPCD_ENOTFOUND, IPCD_EEMPTY, IPCD_EIO, ...). Installed beside
 * ipcd.h, which includes it.
 */
#ifndef IPCD_ERRORS_H
#define IPCD_ERRORS_H

/* errors.def's OK line pastes to IPCD_EOK; this makes it IPCD_OK. */
#define IPCD_EOK IPCD_OK
enum ipcd_error {
#define IPCD_ERR(ident, code, wire, closes, msg) IPCD_E##ident = code,
#include "errors.def"
#undef IPCD_ERR
};
#undef IPCD_EOK

#endif
