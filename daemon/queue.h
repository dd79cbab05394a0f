/*
 * queue.h: a queue's insides, shared by queue.c (the ready items, put/get,
 * join, snapshots) and delivery.c (acknowledged gets: pending deliveries,
 * leases, redelivery); object.h holds a struct queue in its union.
 *
 * An item is in exactly one place at a time:
 *   ready    items (queue_store.h; priority 0, FIFO) or ext->ready (a heap
 *            by priority then seq; priority != 0)
 *   delayed  ext->delayed, a heap by due time; moved to ready by one timer
 *   pending  ext->pending (id -> item) and, when it has a lease,
 *            ext->leases (a heap by deadline, one timer); also on its
 *            consumer's list while the consumer is connected
 * A plain item (never delivered in ack mode, priority 0, no delay) is a bare
 * value or a packed one in the store; any other item is a struct qitem.
 */
#ifndef IPCD_QUEUE_H
#define IPCD_QUEUE_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <event2/event_struct.h>
#include <event2/util.h>
#include "heap.h"
#include "omap.h"
#include "queue_store.h"
#include "server.h"
#include "waiters.h"

struct object;
struct queue_ext;
struct reply;

/*
 * queue: FIFO of values, optionally bounded, with parked getters, putters
 * and joiners. Plain items live in the store; everything else (priorities,
 * delays, pending deliveries) lives in ext, allocated on first use.
 */
struct queue {
	struct qstore items;        /* ready items of priority 0 */
	uint64_t maxsize;           /* 0 = unbounded */
	uint64_t lease_ms;          /* option lease: default lease of an acknowledged get, 0 = none */
	uint64_t max_deliveries;    /* option max_deliveries: 0 = redeliver forever */
	char *dead_letter;          /* option dead_letter, NULL = NAME.dead */
	struct waitq getters;       /* queue.get / get_many / get_ack waiting for items */
	struct waitq putters;       /* queue.put / put_many waiting for room */
	struct waitq joiners;       /* queue.join waiting for unfinished to reach 0 */
	uint64_t unfinished;        /* tasks put and not yet done (task_done, ack) */
	uint64_t total_put, total_got, total_acked, total_nacked, total_redelivered, total_dead;
	uint64_t dead_letter_failed;  /* items that could not go to the dead-letter queue and stayed */
	struct queue_ext *ext;      /* NULL until a priority, delay or acknowledged get is used */
	struct object *obj;         /* the object holding this queue */
};

struct client;

struct qitem {
	struct value *v;            /* owned */
	struct queue *q;
	int64_t priority;           /* lower first */
	int64_t seq;                /* FIFO within a priority; negative = put back at the head */
	uint64_t put_ms;            /* coarse monotonic time of the first put, for ages */
	uint64_t due_ms;            /* delayed: when it becomes ready; pending: lease deadline */
	size_t pos;                 /* in ext->ready, ext->delayed or ext->leases; HEAP_NONE */
	uint32_t deliveries;        /* times handed to an acknowledged get */
	unsigned to_head : 1;       /* delayed by nack: goes back to the head when due */
	unsigned explicit_lease : 1;/* pending: the get asked for its lease; survives a disconnect */
	/* pending only */
	uint64_t id;                /* delivery id, unique within the queue */
	uint64_t lease_ms;          /* lease length for touch, 0 = none (held until ack or disconnect) */
	struct client *consumer;    /* NULL once it disconnected */
	pid_t pid;                  /* consumer's pid, kept for queue.pending */
	struct hold hold;           /* on its consumer's holds while the consumer is connected */
};

struct queue_ext {
	struct heap ready;          /* qitem, priority != 0 */
	struct heap delayed;        /* qitem by due_ms, seq */
	struct heap leases;         /* pending qitem with a lease, by due_ms, id */
	struct omap pending;        /* delivery id (8 bytes) -> qitem, in delivery order */
	struct event delay_timer, lease_timer;
	int64_t seq_tail, seq_head; /* next seq at the tail (counts up), at the head (counts down) */
	uint64_t next_id;
};

/* ---- queue.c ---- */
/* The queue's ext, made on first use; NULL on ENOMEM. */
struct queue_ext *queue_ext(struct queue *q);
/* Ready items: what a get could take now. */
size_t queue_ready(const struct queue *q);
/* Take the next ready item (queue_ready > 0): the item as a qitem, made if
 * it was a bare value; NULL on ENOMEM with the item left in place. */
struct qitem *queue_take_item(struct queue *q);
/* Put it (not in any structure) back at the head of the ready items, or
 * after delay_ms at the head, or to the dead-letter queue if it used up its
 * deliveries. Serves waiting getters. */
void queue_return(struct queue *q, struct qitem *it, uint64_t delay_ms);
/* n tasks are done; joiners wake when none are left. */
void queue_tasks_done(struct queue *q, uint64_t n);
/* Length of the value the next take would give (queue_ready > 0). */
size_t queue_next_len(const struct queue *q);
/* True if len more bytes keep reply r within max_output, so that a reply of
 * many items stops short rather than be refused as TOOBIG with its items
 * taken. A replay takes what the log says, whatever max_output is now. */
int queue_reply_has_room(const struct reply *r, size_t len);
/* q changed: parked putters and getters take their turn, oldest first,
 * until neither can progress. */
void queue_wake(struct queue *q);
void qitem_free(struct qitem *it);

/* ---- delivery.c ---- */
/* Hand the next ready item to the acknowledged get of client c (request
 * id) with lease_ms (-1 = the queue's default), replying {id, value,
 * deliveries}. 0, or -1 on ENOMEM (replied NOMEM, nothing taken). */
int delivery_give(struct queue *q, struct client *c, uint64_t id, int64_t lease_ms);
/* Free every pending delivery of q (the queue is being deleted). */
void delivery_free_all(struct queue *q);
/* Pending deliveries of q. */
size_t delivery_count(const struct queue *q);
/* End the n earliest leases of q. */
void delivery_lease_end(struct queue *q, size_t n);
/* Entries of heap h (of qitems) due by now. */
size_t queue_heap_due(const struct heap *h, uint64_t now);
/* Timer of q's lease deadlines (set up by queue_ext). */
void delivery_on_lease_end(evutil_socket_t fd, short what, void *arg);
/* A closing consumer held delivery h of queue o: it goes back to the head
 * of its queue, unless its get asked for an explicit lease (object_type's
 * release). */
void delivery_release(struct object *o, struct hold *h);

#endif
