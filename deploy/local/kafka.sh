#!/usr/bin/env bash
# Local Apache Kafka 4.x (KRaft, one combined broker+controller on 127.0.0.1) from Maven jars.
# Usage: deploy/local/kafka.sh fetch|start|stop|status|logs
# State: $RCM_STATE_DIR/kafka (wipe it to start over). Jars: $RCM_CACHE_DIR/kafka-<version>.
# RCM_LOCAL_KAFKA_SECURE=1 (`rcm up --secure`): SASL_SSL with SCRAM-SHA-512 and ACLs instead of
# PLAINTEXT, state in $RCM_STATE_DIR/kafka-secure, whose TLS material, credentials and security
# properties devstack/secure_kafka.py generated first (docs/security.md).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/kafka/pom.xml")"
LIBS="$RCM_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
SECURE="${RCM_LOCAL_KAFKA_SECURE:-0}"
if [ "$SECURE" = 1 ]; then DIR="$RCM_STATE_DIR/kafka-secure"; else DIR="$RCM_STATE_DIR/kafka"; fi
PIDFILE="$DIR/kafka.pid"

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v java >/dev/null || die "java not found: install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  mvn -B -q -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >&2 || die "maven could not fetch the Kafka jars"
  rm -rf "$LIBS"; mv "$tmp" "$LIBS"; touch "$LIBS/.complete"
}

listeners_config() {
  local proto=PLAINTEXT controller=PLAINTEXT
  if [ "$SECURE" = 1 ]; then
    [ -f "$DIR/security.properties" ] && [ -f "$DIR/scram.args" ] \
      || die "$DIR has no security.properties: run 'rcm up --secure' (it generates them)"
    # The controller listener is TLS with client certificates: only the broker's own key gets in.
    proto=SASL_SSL; controller=SSL
  fi
  cat <<PROPS
listeners=$proto://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$proto://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=$proto:$proto,CONTROLLER:$controller
inter.broker.listener.name=$proto
PROPS
  if [ "$SECURE" = 1 ]; then cat "$DIR/security.properties"; fi
}

write_config() {
  mkdir -p "$DIR/data" "$DIR/logs"
  # 0600: in secure mode it holds the broker's own SCRAM password.
  ( umask 077; listeners_config > "$DIR/server.properties" )
  cat >> "$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
log.dirs=$DIR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
log.retention.check.interval.ms=300000
PROPS
  cat > "$DIR/log4j2.properties" <<'PROPS'
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
PROPS
}

JAVA_OPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
  "-Dkafka.logs.dir=$DIR/logs" "-Dlog4j2.configurationFile=$DIR/log4j2.properties" -cp "$LIBS/*")

java_cmd() { java "${JAVA_OPTS[@]}" "$@"; }

start() {
  if pid_alive "$PIDFILE"; then log "kafka already running (pid $(cat "$PIDFILE"))"; return 0; fi
  if port_open "$KAFKA_PORT"; then die "port $KAFKA_PORT is taken by another process: stop it or set RCM_KAFKA_BOOTSTRAP"; fi
  fetch
  write_config
  if [ ! -f "$DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    local scram=()
    if [ "$SECURE" = 1 ]; then
      # KRaft: the SCRAM credentials go into the metadata log at format time (the super user
      # must exist before anyone can log in to add more).
      while IFS= read -r line; do [ -n "$line" ] && scram+=(--add-scram "$line"); done < "$DIR/scram.args"
    fi
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$DIR/server.properties" "${scram[@]}" \
      >"$DIR/logs/format.log" 2>&1 || die "kafka storage format failed: see $DIR/logs/format.log"
  fi
  log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT$([ "$SECURE" = 1 ] && echo ' (SASL_SSL)') (logs: $DIR/logs/server.log)"
  # java itself is the background process, so the pid file names the broker (stop kills it).
  nohup java "${JAVA_OPTS[@]}" kafka.Kafka "$DIR/server.properties" >"$DIR/logs/stdout.log" 2>&1 </dev/null &
  echo $! > "$PIDFILE"
  wait_port "$KAFKA_PORT" 90 || { tail -n 30 "$DIR/logs/server.log" >&2 || true; die "kafka did not open port $KAFKA_PORT in 90 s"; }
}

stop() {
  if pid_alive "$PIDFILE"; then
    local pid; pid="$(cat "$PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    log "kafka stopped"
  fi
  rm -f "$PIDFILE"
}

status() {
  if pid_alive "$PIDFILE" && port_open "$KAFKA_PORT"; then echo "running pid=$(cat "$PIDFILE") port=$KAFKA_PORT"; else echo "stopped"; return 3; fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) tail -n "${2:-100}" "$DIR/logs/server.log" ;;
  *) echo "usage: $0 fetch|start|stop|status|logs [N]" >&2; exit 2 ;;
esac
