#!/usr/bin/env bash
# Fetch the consumer's JVM dependencies (jobs/streaming-consumer/jvm-dependencies.txt) into a folder.
#
#   fetch-jars.sh DEST_DIR SPARK_JARS_DIR [--skip-not-on-emr] [--spark-version X.Y.Z]
#
# --spark-version moves every org.apache.spark artifact of the list to that version (the EMR engine's jars follow
# the cluster's Spark). DEST_DIR/.manifest lists what was kept: "group:artifact:version<TAB>file.jar" per line.
#
# Used by the Dockerfile (it lives here, inside the image's build context) and, through
# scripts/fetch-jars.sh, by the tests: the image and the tests get the same jars.
# Dependencies are resolved transitively, then two kinds of jar are dropped:
#  - any artifact Spark already ships in SPARK_JARS_DIR (whatever its version): two versions of
#    jackson or netty on one classpath break Spark in ways that only show at run time;
#  - the cloud modules spark-hadoop-cloud pulls in (Azure, GCS, Aliyun, OpenStack) that this job never uses.
# Re-running with an unchanged list is a no-op (stamp file holds the list's hash).
set -euo pipefail
JOB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "error: $*" >&2; exit 1; }

# shellcheck source-path=SCRIPTDIR source=mvn-resolve.sh
source "$JOB_DIR/mvn-resolve.sh"


usage="usage: fetch-jars.sh DEST_DIR SPARK_JARS_DIR [--skip-not-on-emr] [--spark-version X.Y.Z]"
dest=${1:?$usage}
spark_jars=${2:?$usage}
shift 2
skip_emr=false
spark_version=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-not-on-emr) skip_emr=true; shift ;;
    --spark-version) spark_version=${2:?$usage}; shift 2 ;;
    *) die "$usage; got '$1'" ;;
  esac
done
[[ -d "$spark_jars" ]] || die "Spark jars folder '$spark_jars' does not exist"
list="$JOB_DIR/jvm-dependencies.txt"

EXCLUDED_GROUPS=" com.google.cloud.bigdataoss com.aliyun com.aliyun.oss com.microsoft.azure org.jdom \
  org.codehaus.jettison stax org.ini4j io.opentracing javax.xml.bind javax.activation org.eclipse.jetty \
  org.wildfly.openssl io.netty "
# netty-nio-client: the async HTTP client of AWS SDK v2; MSK IAM auth uses the sync (Apache) client,
# and leaving it out keeps a second netty off the classpath.
EXCLUDED_ARTIFACTS=" hadoop-azure hadoop-azure-datalake hadoop-aliyun hadoop-openstack hadoop-cloud-storage \
  hadoop-annotations netty-nio-client "

coords=()
while read -r coord tag _; do
  [[ -z "$coord" || "$coord" == \#* ]] && continue
  [[ "$tag" == "not-on-emr" && $skip_emr == true ]] && continue
  [[ -z "$tag" || "$tag" == "not-on-emr" ]] || die "$list: unknown tag '$tag' after $coord"
  if [[ -n "$spark_version" && "$coord" == org.apache.spark:* ]]; then
    coord="${coord%:*}:$spark_version"
  fi
  coords+=("$coord")
done <"$list"

stamp="$dest/.stamp"
want="$( (cat "$list" "${BASH_SOURCE[0]}"; echo "$skip_emr $spark_version"; ls "$spark_jars") | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "jars up to date in $dest"
  exit 0
fi

resolved="$(mvn_resolve "${coords[@]}")"
rm -rf "$dest" && mkdir -p "$dest"
while IFS=$'\t' read -r gav path; do
  IFS=: read -r g a _ <<<"$gav"
  [[ "$EXCLUDED_GROUPS" == *" $g "* || "$EXCLUDED_ARTIFACTS" == *" $a "* ]] && continue
  if compgen -G "$spark_jars/$a-[0-9]*.jar" >/dev/null; then continue; fi
  cp "$path" "$dest/"
  printf '%s\t%s\n' "$gav" "$(basename "$path")" >>"$dest/.manifest"
done <<<"$resolved"
echo "$want" >"$stamp"
echo "fetched $(find "$dest" -name "*.jar" | wc -l) jars into $dest"
