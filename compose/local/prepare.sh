# shellcheck shell=bash
# What the suite needs once its servers run and before its services start, shared by up.sh and
# test.sh: the database migrations and the Kafka topics. Sourced after env.sh and lib.sh; run
# from the repository root.

# prepare_schema_and_topics BINDIR: applies migrations/ (strata-migrate reads DATABASE_URL) and
# creates the missing topics of proto/topics/topics.conf (strata-kafka-topics reads
# KAFKA_BROKERS). Both are idempotent.
prepare_schema_and_topics() {
	local bindir="$1" tool
	for tool in migrate kafka-topics; do
		[[ -x "$bindir/strata-$tool" ]] || die "$bindir/strata-$tool is missing: run make build"
	done
	"$bindir/strata-migrate" ||
		die "strata-migrate failed (above): the database schema is not up to date"
	"$bindir/strata-kafka-topics" proto/topics/topics.conf ||
		die "strata-kafka-topics failed (above): the Kafka topics are not all there"
}
