/*
 * omap.h: an insertion-ordered hash map from byte-string keys to pointers,
 * the structure behind the registry, dicts and namespaces.
 *
 * Entries live in an array in insertion order (like Python's dict); an open
 * addressing index maps hashes to array slots. Each entry carries a sequence
 * number that only grows, so a scan cursor ("the next seq to return") stays
 * valid across inserts, deletes and compaction: an entry present for a whole
 * scan is returned exactly once. Updating an existing key keeps its place;
 * deleting and re-inserting moves it to the end.
 *
 * Keys are copied into the map; values are opaque pointers the caller owns
 * (omap_free takes a hook to free them).
 */
#ifndef IPCD_OMAP_H
#define IPCD_OMAP_H

#include <stddef.h>
#include <stdint.h>

struct omap_entry {
	uint64_t seq;      /* 0 = deleted slot */
	uint64_t hash;
	char *key;
	uint32_t key_len;
	void *val;
};

struct omap {
	struct omap_entry *entries; /* insertion order, with holes */
	size_t n_entries;           /* used slots, holes included */
	size_t cap_entries;
	size_t count;               /* live entries */
	uint32_t *index;            /* entry slot + 1, 0 = empty, UINT32_MAX = tombstone */
	size_t index_cap;           /* power of two */
	size_t index_tombs;
	uint64_t next_seq;
};

void omap_init(struct omap *m);
/* Free everything; free_val(val) for each value if non-NULL. */
void omap_free(struct omap *m, void (*free_val)(void *));
static inline size_t omap_count(const struct omap *m) { return m->count; }

/* Entry for key, or NULL. */
struct omap_entry *omap_find(const struct omap *m, const void *key, size_t len);
/*
 * Entry for key, inserting it with val NULL if missing (*created = 1).
 * Returns NULL on allocation failure. The pointer is valid until the next
 * insert or delete.
 */
struct omap_entry *omap_upsert(struct omap *m, const void *key, size_t len, int *created);
/* Remove the entry (from omap_find/omap_upsert); returns its value. */
void *omap_remove(struct omap *m, struct omap_entry *e);
/* The capacities (cap_entries, index_cap) the arrays will have once one new
 * key is inserted, for a caller that charges memory before it inserts. */
void omap_caps_after_insert(const struct omap *m, size_t *ecap, size_t *icap);
/* Last inserted live entry, or NULL (dict.popitem). */
struct omap_entry *omap_last(const struct omap *m);
/* Remove everything; free_val for each value if non-NULL. */
void omap_clear(struct omap *m, void (*free_val)(void *));

/*
 * Scan: first live entry with seq >= cursor (cursor 0 = start), or NULL at the
 * end. Visit entries with omap_next. The cursor to resume from after entry e
 * is e->seq + 1; a finished scan reports cursor 0.
 */
struct omap_entry *omap_seek(const struct omap *m, uint64_t cursor);
struct omap_entry *omap_next(const struct omap *m, const struct omap_entry *e);

#endif
