/*
 * shared_array.h: what the value and array types (shared_array.c) tell the
 * rest of the daemon.
 */
#ifndef IPCD_SHARED_ARRAY_H
#define IPCD_SHARED_ARRAY_H

/* True if a read-write mapping was handed out since the last snapshot
 * forked: writes through it may be in no snapshot and are never in the log,
 * so a clean stop writes a snapshot (state.c). */
int shared_array_unsaved_mapped_writes(void);

#endif
