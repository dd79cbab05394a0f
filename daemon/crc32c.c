/*
 * crc32c.c: CRC-32C with the SSE4.2 instruction where the CPU has one
 * (checked once, through the compiler's cpu detection) and a byte table
 * otherwise. The hardware path runs 8 bytes per instruction, which keeps the
 * checksum far below the cost of the write it protects.
 */
#include <string.h>
#include "crc32c.h"

#define CRC32C_POLY 0x82F63B78u   /* 0x1EDC6F41 reflected */

static uint32_t crc32c_table[256];

static void crc32c_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	if (!crc32c_table[1])
		crc32c_table_init();
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	static int have_sse42 = -1;
	if (have_sse42 < 0)
		have_sse42 = __builtin_cpu_supports("sse4.2");
	return have_sse42 ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
}
#else
uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}
#endif
