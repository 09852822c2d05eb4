/*
 * Hashing for tables keyed by input from outside (item names of an upload, channel names of a
 * batch, anything a client chooses). An unkeyed hash such as FNV-1a lets a client pick keys that
 * all land in one bucket and turn every lookup into a scan of the table (hash flooding); a keyed
 * one does not, as long as the key stays secret. This is Redis's answer (SipHash in its dict).
 */
#ifndef STRATA_HASH_H
#define STRATA_HASH_H

#include "strata/core.h"

/*
 * SipHash-2-4 (libsodium's crypto_shorthash) of the n bytes at data under a process-wide key
 * drawn from the system's random source on first use. Thread-safe; never fails. The values
 * differ from one process to the next: never store them or send them anywhere.
 */
uint64_t st_hash_keyed(const void *data, size_t n);

#endif
