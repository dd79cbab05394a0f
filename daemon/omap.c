/*
 * omap.c: insertion-ordered hash map (see omap.h).
 *
 * Two arrays. entries[] holds the entries in insertion order; a deleted entry
 * leaves a hole (seq 0, key NULL) so that the others keep their position.
 * index[] is an open-addressing table (linear probing) of entry slot + 1,
 * with 0 for a free cell and OMAP_TOMB for a cell whose entry was deleted:
 * a tombstone keeps probe chains that pass through it intact.
 *
 * When entries[] is full, a new array is allocated holding only the live
 * entries, in the same order and with the same seq numbers (so scan cursors
 * stay valid), twice as large if more than half of it was live. Slot numbers
 * change, so the index is rebuilt at the same time, which also drops the
 * tombstones. The index is kept at most 3/4 full (live + tombstones) so
 * probe chains stay short.
 *
 * seq grows with the position in entries[] (appends only, compaction keeps
 * the order), which lets omap_seek binary search a cursor.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "omap.h"
#include "codec.h"

#define OMAP_TOMB UINT32_MAX
/* Smallest arrays allocated. */
#define OMAP_MIN_ENTRIES 8
#define OMAP_MIN_INDEX 16
/* Slot + 1 must stay below OMAP_TOMB. */
#define OMAP_MAX_ENTRIES ((size_t)UINT32_MAX - 2)
/* A map this small is never shrunk. */
#define OMAP_SHRINK_MIN 64

/* An empty map; allocates nothing until the first insert. */
void omap_init(struct omap *m)
{
	memset(m, 0, sizeof(*m));
	m->next_seq = 1;
}

static inline int omap_live(const struct omap_entry *e)
{
	return e->seq != 0;
}

/* Index cell where slot's entry (hash h) is referenced. The entry must be indexed. */
static size_t omap_cell_of(const struct omap *m, uint64_t h, size_t slot)
{
	size_t mask = m->index_cap - 1;
	size_t i = (size_t)h & mask;
	while (m->index[i] != slot + 1)
		i = (i + 1) & mask;
	return i;
}

/* Smallest power of two index for n live entries at most half full. */
static size_t omap_index_cap_for(size_t n)
{
	size_t cap = OMAP_MIN_INDEX;
	while (cap / 2 < n)
		cap *= 2;
	return cap;
}

/*
 * Replace both arrays: entries[] compacted into ecap slots (ecap >= count),
 * index rebuilt with icap cells. On allocation failure nothing changes.
 */
static int omap_rebuild(struct omap *m, size_t ecap, size_t icap)
{
	struct omap_entry *entries = malloc(ecap * sizeof(*entries));
	uint32_t *index = calloc(icap, sizeof(*index));
	if (!entries || !index) {
		free(entries);
		free(index);
		return -1;
	}
	size_t n = 0, mask = icap - 1;
	for (size_t s = 0; s < m->n_entries; s++) {
		if (!omap_live(&m->entries[s]))
			continue;
		entries[n] = m->entries[s];
		size_t i = (size_t)entries[n].hash & mask;
		while (index[i])
			i = (i + 1) & mask;
		index[i] = (uint32_t)(n + 1);
		n++;
	}
	free(m->entries);
	free(m->index);
	m->entries = entries;
	m->n_entries = n;
	m->cap_entries = ecap;
	m->index = index;
	m->index_cap = icap;
	m->index_tombs = 0;
	return 0;
}

/* Rebuild only the index (same entry slots) with icap cells; drops tombstones. */
static int omap_reindex(struct omap *m, size_t icap)
{
	uint32_t *index = calloc(icap, sizeof(*index));
	if (!index)
		return -1;
	size_t mask = icap - 1;
	for (size_t s = 0; s < m->n_entries; s++) {
		if (!omap_live(&m->entries[s]))
			continue;
		size_t i = (size_t)m->entries[s].hash & mask;
		while (index[i])
			i = (i + 1) & mask;
		index[i] = (uint32_t)(s + 1);
	}
	free(m->index);
	m->index = index;
	m->index_cap = icap;
	m->index_tombs = 0;
	return 0;
}

enum omap_growth { OMAP_FITS, OMAP_REBUILD, OMAP_REINDEX, OMAP_FULL };

/* What one more entry takes: nothing, new arrays of *ecap entries and *icap
 * cells, a new index, or more than the map may hold. */
static enum omap_growth omap_growth_for_one(const struct omap *m, size_t *ecap, size_t *icap)
{
	*ecap = m->cap_entries;
	*icap = m->index_cap;
	if (m->n_entries == m->cap_entries) {
		*ecap = m->cap_entries ? m->cap_entries : OMAP_MIN_ENTRIES;
		if (m->count + 1 > *ecap / 2)
			*ecap *= 2;
		if (*ecap > OMAP_MAX_ENTRIES || m->count + 1 > OMAP_MAX_ENTRIES)
			return OMAP_FULL;
		*icap = omap_index_cap_for(m->count + 1);
		return OMAP_REBUILD;
	}
	if ((m->count + m->index_tombs + 1) * 4 > m->index_cap * 3) {
		*icap = omap_index_cap_for(m->count + 1);
		return OMAP_REINDEX;
	}
	return OMAP_FITS;
}

void omap_caps_after_insert(const struct omap *m, size_t *ecap, size_t *icap)
{
	omap_growth_for_one(m, ecap, icap);
}

/* Make room for one more entry in both arrays. 0 or -1. */
static int omap_room_for_one(struct omap *m)
{
	size_t ecap, icap;
	switch (omap_growth_for_one(m, &ecap, &icap)) {
	case OMAP_REBUILD:
		return omap_rebuild(m, ecap, icap);
	case OMAP_REINDEX:
		return omap_reindex(m, icap);
	case OMAP_FULL:
		return -1;
	default:
		return 0;
	}
}

/* Give memory back when few entries are left; failing to is harmless. */
static void omap_maybe_shrink(struct omap *m)
{
	if (m->cap_entries < OMAP_SHRINK_MIN || m->count > m->cap_entries / 8)
		return;
	size_t ecap = m->cap_entries;
	while (ecap > OMAP_MIN_ENTRIES && m->count <= ecap / 4)
		ecap /= 2;
	(void)omap_rebuild(m, ecap, omap_index_cap_for(m->count));
}

/* Free every key and value and every array, keep next_seq. */
static void omap_release(struct omap *m, void (*free_val)(void *))
{
	for (size_t s = 0; s < m->n_entries; s++) {
		struct omap_entry *e = &m->entries[s];
		if (!omap_live(e))
			continue;
		if (free_val)
			free_val(e->val);
		free(e->key);
	}
	free(m->entries);
	free(m->index);
	uint64_t seq = m->next_seq;
	omap_init(m);
	m->next_seq = seq;
}

/* Free keys, values (through free_val) and arrays; NULL is fine. */
void omap_free(struct omap *m, void (*free_val)(void *))
{
	if (!m)
		return;
	omap_release(m, free_val);
}

/* Same as omap_free, but the map stays usable and seqs keep growing. */
void omap_clear(struct omap *m, void (*free_val)(void *))
{
	omap_release(m, free_val);
}

/* Probe from the key's hash until its entry or a free cell. */
struct omap_entry *omap_find(const struct omap *m, const void *key, size_t len)
{
	if (m->count == 0)
		return NULL;
	uint64_t h = codec_hash(key, len);
	size_t mask = m->index_cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t c = m->index[i];
		if (c == 0)
			return NULL;
		if (c == OMAP_TOMB)
			continue;
		struct omap_entry *e = &m->entries[c - 1];
		if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
}

/* Find key, or append a new entry for it (key copied before anything changes). */
struct omap_entry *omap_upsert(struct omap *m, const void *key, size_t len, int *created)
{
	struct omap_entry *e = omap_find(m, key, len);
	*created = 0;
	if (e)
		return e;
	if (len > UINT32_MAX)
		return NULL;
	char *k = malloc(len ? len : 1);
	if (!k)
		return NULL;
	if (omap_room_for_one(m) < 0) {
		free(k);
		return NULL;
	}
	memcpy(k, key, len);
	uint64_t h = codec_hash(key, len);
	size_t mask = m->index_cap - 1, i = (size_t)h & mask;
	while (m->index[i] != 0 && m->index[i] != OMAP_TOMB)
		i = (i + 1) & mask;
	if (m->index[i] == OMAP_TOMB)
		m->index_tombs--;
	size_t slot = m->n_entries++;
	m->index[i] = (uint32_t)(slot + 1);
	e = &m->entries[slot];
	if (m->next_seq == 0)   /* a zeroed map that skipped omap_init: 0 means hole */
		m->next_seq = 1;
	e->seq = m->next_seq++;
	e->hash = h;
	e->key = k;
	e->key_len = (uint32_t)len;
	e->val = NULL;
	m->count++;
	*created = 1;
	return e;
}

/* Tombstone e's index cell and turn its slot into a hole. */
void *omap_remove(struct omap *m, struct omap_entry *e)
{
	size_t slot = (size_t)(e - m->entries);
	void *val = e->val;
	m->index[omap_cell_of(m, e->hash, slot)] = OMAP_TOMB;
	m->index_tombs++;
	free(e->key);
	memset(e, 0, sizeof(*e));
	m->count--;
	/* Trailing holes are dropped so that omap_last and appends stay cheap. */
	while (m->n_entries > 0 && !omap_live(&m->entries[m->n_entries - 1]))
		m->n_entries--;
	omap_maybe_shrink(m);
	return val;
}

/* Newest live entry: trailing holes are trimmed, so usually the last slot. */
struct omap_entry *omap_last(const struct omap *m)
{
	for (size_t s = m->n_entries; s > 0; s--)
		if (omap_live(&m->entries[s - 1]))
			return &m->entries[s - 1];
	return NULL;
}

/* First live entry at slot s or after, or NULL. */
static struct omap_entry *omap_live_from(const struct omap *m, size_t s)
{
	for (; s < m->n_entries; s++)
		if (omap_live(&m->entries[s]))
			return &m->entries[s];
	return NULL;
}

/*
 * Binary search over live entries, whose seq increases with the slot. Holes
 * have no seq: a probe landing on one looks at the next live entry before hi.
 * Invariant: live entries before lo have seq < cursor; the first live entry
 * at or after hi, if any, has seq >= cursor.
 */
struct omap_entry *omap_seek(const struct omap *m, uint64_t cursor)
{
	size_t lo = 0, hi = m->n_entries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, j = mid;
		while (j < hi && !omap_live(&m->entries[j]))
			j++;
		if (j == hi || m->entries[j].seq >= cursor)
			hi = mid;
		else
			lo = j + 1;
	}
	return omap_live_from(m, lo);
}

/* Live entry after e in insertion order, or NULL. */
struct omap_entry *omap_next(const struct omap *m, const struct omap_entry *e)
{
	return omap_live_from(m, (size_t)(e - m->entries) + 1);
}
