/*
 * array.c: libipcd's side of values and arrays in shared memory: mapping
 * the descriptor a map reply brings (conn.c keeps it) and the C11 atomics on
 * elements, seq_cst like the daemon's own accesses (shared_array.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "conn.h"
#include "elem.h"

/* The reply's map {typecode, itemsize, length, size, writable} into m. */
static int array_read_reply(const msgpack_object *r, struct ipcd_array_map *m)
{
	if (r->type != MSGPACK_OBJECT_MAP)
		return -1;
	uint64_t itemsize = 0, size = 0;
	for (uint32_t i = 0; i < r->via.map.size; i++) {
		const msgpack_object *k = &r->via.map.ptr[i].key, *v = &r->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		const char *p = k->via.str.ptr;
		size_t n = k->via.str.size;
		if (n == 8 && !memcmp(p, "typecode", 8) && v->type == MSGPACK_OBJECT_STR && v->via.str.size == 1)
			m->typecode = v->via.str.ptr[0];
		else if (n == 8 && !memcmp(p, "itemsize", 8) && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			itemsize = v->via.u64;
		else if (n == 6 && !memcmp(p, "length", 6) && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			m->length = v->via.u64;
		else if (n == 4 && !memcmp(p, "size", 4) && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			size = v->via.u64;
		else if (n == 8 && !memcmp(p, "writable", 8) && v->type == MSGPACK_OBJECT_BOOLEAN)
			m->writable = v->via.boolean;
	}
	if ((itemsize != 1 && itemsize != 2 && itemsize != 4 && itemsize != 8) || !m->typecode || !m->length ||
	    size != m->length * itemsize)
		return -1;
	m->itemsize = (unsigned)itemsize;
	m->size = (size_t)size;
	return 0;
}

IPCD_EXPORT int ipcd_array_map(ipcd *c, const char *name, int writable, struct ipcd_array_map *m)
{
	if (!m)
		return c ? conn_fail(c, IPCD_EINVAL, "ipcd_array_map: m is NULL") : IPCD_EINVAL;
	memset(m, 0, sizeof(*m));
	const char *mode = writable ? "rw" : "r";
	struct ipcd_result res;
	int rc = ipcd_call(c, IPCD_OP_ARRAY_MAP, &res, 2, name, mode);
	if (rc == IPCD_EWRONGTYPE)   /* a value maps the same way */
		rc = ipcd_call(c, IPCD_OP_VALUE_MAP, &res, 2, name, mode);
	if (rc)
		return rc;
	int fd = conn_take_fd(c);
	if (fd < 0)
		return conn_fail(c, IPCD_EREPLY, "%s: no descriptor came with the reply", name);
	if (array_read_reply(&res.value, m) < 0 || m->writable != !!writable) {
		close(fd);
		memset(m, 0, sizeof(*m));
		return conn_fail(c, IPCD_EREPLY, "%s: malformed map reply", name);
	}
	void *p = mmap(NULL, m->size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		memset(m, 0, sizeof(*m));
		return conn_fail(c, IPCD_EREPLY, "%s: mmap of the shared memory: %s", name, strerror(errno));
	}
	m->data = p;
	return IPCD_OK;
}

IPCD_EXPORT void ipcd_array_unmap(struct ipcd_array_map *m)
{
	if (!m || !m->data)
		return;
	munmap(m->data, m->size);
	memset(m, 0, sizeof(*m));
}

/* ---- element atomics ---- */

static int array_is_int(char tc)
{
	return tc && strchr("bBhHiIlLqQ", tc) != NULL;
}

/* Element i's address if m is mapped, i is in range and the typecode is an
 * integer one (want_int) or f/d; for a change, m must be writable. */
static void *array_elem(const struct ipcd_array_map *m, uint64_t i, int want_int, int change)
{
	if (!m || !m->data || i >= m->length || (change && !m->writable))
		return NULL;
	if (want_int ? !array_is_int(m->typecode) : !(m->typecode == 'f' || m->typecode == 'd'))
		return NULL;
	return (char *)m->data + i * m->itemsize;
}

/* The element's bits as int64: sign-extended for the signed typecodes. */
static int64_t array_widen(char tc, unsigned size, uint64_t bits)
{
	return tc >= 'a' && size < 8 ? elem_signed(bits, size) : (int64_t)bits;   /* b h i: signed */
}

IPCD_EXPORT int ipcd_array_load(const struct ipcd_array_map *m, uint64_t i, int64_t *out)
{
	void *p = array_elem(m, i, 1, 0);
	if (!p || !out)
		return IPCD_EINVAL;
	*out = array_widen(m->typecode, m->itemsize, elem_load(p, m->itemsize));
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_array_store(const struct ipcd_array_map *m, uint64_t i, int64_t v)
{
	void *p = array_elem(m, i, 1, 1);
	if (!p)
		return IPCD_EINVAL;
	elem_store(p, m->itemsize, (uint64_t)v);
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_array_add(const struct ipcd_array_map *m, uint64_t i, int64_t delta, int64_t *out)
{
	void *p = array_elem(m, i, 1, 1);
	if (!p)
		return IPCD_EINVAL;
	uint64_t d = (uint64_t)delta, r;
	switch (m->itemsize) {   /* unsigned arithmetic: wraps, as C atomics do */
	case 1: r = __atomic_add_fetch((uint8_t *)p, (uint8_t)d, __ATOMIC_SEQ_CST); break;
	case 2: r = __atomic_add_fetch((uint16_t *)p, (uint16_t)d, __ATOMIC_SEQ_CST); break;
	case 4: r = __atomic_add_fetch((uint32_t *)p, (uint32_t)d, __ATOMIC_SEQ_CST); break;
	default: r = __atomic_add_fetch((uint64_t *)p, d, __ATOMIC_SEQ_CST); break;
	}
	if (out)
		*out = array_widen(m->typecode, m->itemsize, r);
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_array_cas(const struct ipcd_array_map *m, uint64_t i, int64_t *expected, int64_t desired,
                               int *swapped)
{
	void *p = array_elem(m, i, 1, 1);
	if (!p || !expected || !swapped)
		return IPCD_EINVAL;
	uint64_t e = (uint64_t)*expected;
	if (m->itemsize < 8)
		e &= ((uint64_t)1 << (8 * m->itemsize)) - 1;
	int ok = elem_cas(p, m->itemsize, &e, (uint64_t)desired);
	if (!ok)
		*expected = array_widen(m->typecode, m->itemsize, e);
	*swapped = ok;
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_array_load_double(const struct ipcd_array_map *m, uint64_t i, double *out)
{
	void *p = array_elem(m, i, 0, 0);
	if (!p || !out)
		return IPCD_EINVAL;
	*out = elem_bits_double(elem_load(p, m->itemsize), m->itemsize);
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_array_store_double(const struct ipcd_array_map *m, uint64_t i, double v)
{
	void *p = array_elem(m, i, 0, 1);
	if (!p)
		return IPCD_EINVAL;
	elem_store(p, m->itemsize, elem_double_bits(v, m->itemsize));
	return IPCD_OK;
}

IPCD_EXPORT int ipcd_array_add_double(const struct ipcd_array_map *m, uint64_t i, double delta, double *out)
{
	void *p = array_elem(m, i, 0, 1);
	if (!p)
		return IPCD_EINVAL;
	uint64_t cur = elem_load(p, m->itemsize), next;
	do
		next = elem_double_bits(elem_bits_double(cur, m->itemsize) + delta, m->itemsize);
	while (!elem_cas(p, m->itemsize, &cur, next));
	if (out)
		*out = elem_bits_double(next, m->itemsize);
	return IPCD_OK;
}
