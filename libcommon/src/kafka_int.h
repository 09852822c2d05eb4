/*
 * What the Kafka files share and nobody else sees: building a librdkafka configuration with
 * Strata's log and error callbacks installed, and mapping librdkafka's error codes onto
 * enum st_err. Defined in kafka.c.
 */
#ifndef STRATA_KAFKA_INT_H
#define STRATA_KAFKA_INT_H

#include <librdkafka/rdkafka.h>

#include "strata/kafka.h"

/*
 * A new librdkafka configuration with bootstrap.servers, client.id (NULL for "strata"), and the
 * log and error callbacks routed to st_log. The caller owns it (rd_kafka_conf_destroy, or
 * hands it to rd_kafka_new). ST_ERR_INVALID, logged, when a value is refused.
 */
enum st_err kafka_conf_new(const char *brokers, const char *client_id, rd_kafka_conf_t **out);

/* rd_kafka_new with *conf, which it takes over (*conf NULL then); logs librdkafka's reason
 * ("consumer: ..." or "producer: ...") and returns ST_ERR_INVALID when it fails, *conf left
 * to the caller. */
enum st_err kafka_new(rd_kafka_type_t type, rd_kafka_conf_t **conf, rd_kafka_t **out);

/* Sets one property; logs the property and librdkafka's reason and returns ST_ERR_INVALID
 * when it is refused. */
enum st_err kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value);

/* The same for an integer value. */
enum st_err kafka_conf_set_int(rd_kafka_conf_t *conf, const char *name, long value);

/* Maps a librdkafka error code (delivery report, API result) onto the one error type. */
enum st_err kafka_err_map(rd_kafka_resp_err_t err);

#endif
