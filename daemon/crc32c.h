/*
 * crc32c.h: CRC-32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41,
 * reflected), the checksum of every record persist.c writes. Uses the SSE4.2
 * crc32 instruction when the CPU has it, a slicing table otherwise; both give
 * the same value (crc32c("123456789") == 0xE3069283).
 */
#ifndef IPCD_CRC32C_H
#define IPCD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) over len bytes at buf. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable table version, for tests that compare both paths. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
