#!/usr/bin/env bash
# Reruns the whole JMH suite with reduced iterations (about 6 to 8 minutes on 2 cores, always under
# 15) and prints the results as Markdown, every figure beside its baseline and every design
# target with the measured ratio. Run from anywhere:
#
#   jmh-benchmarks/run.sh                 # build the jar, run, print
#   jmh-benchmarks/run.sh --out FILE      # ... and write the Markdown to FILE too
#   SKIP_BUILD=1 jmh-benchmarks/run.sh    # reuse jmh-benchmarks/target/benchmarks.jar
#
# Needs a JDK 21+ (JAVA_HOME, else java on PATH) and, to build, Maven 3.8.7+. The full-length run of
# any one benchmark is java -jar jmh-benchmarks/target/benchmarks.jar <Name> (see each class's Javadoc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JAVA=java
if [[ -n "${JAVA_HOME:-}" ]]; then
  JAVA="$JAVA_HOME/bin/java"
fi
major=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [[ -z "$major" || "$major" -lt 21 ]]; then
  echo "run.sh: needs a JDK 21 or newer, found '${major:-none}' ($JAVA); set JAVA_HOME" >&2
  exit 1
fi

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mvn -B -q -DskipTests package -pl jmh-benchmarks -am
fi
exec "$JAVA" -cp jmh-benchmarks/target/benchmarks.jar dev.cumulus.benchmarks.Suite "$@"
