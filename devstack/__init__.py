"""The local stack on one machine: Kafka and Postgres scripts driven, databases provisioned,
service processes started and stopped, and the mail catcher. Used by `rcm up|down|status` and the
test harness; no service imports it."""
