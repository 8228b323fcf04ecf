// The third-party images engine local runs, each pinned by the digest of its multi-architecture image index, so a
// laptop on arm64 and one on amd64 pull the same release for their own platform, and a moved tag can never change
// what runs (or show a change in a preview). No Docker engine or registry is reachable where this was written, so
// each digest was taken from public sources that pulled it, and the source is named beside it. To move a pin:
// `docker buildx imagetools inspect <repo>:<tag>` prints the index digest; change tag and digest together.

/** A published image pinned by its index digest. */
export interface PinnedImage {
    readonly repository: string;
    /** The release the digest was published as, for people (and to check the tests' jars against). */
    readonly tag: string;
    /** `sha256:<64 hex>` of the multi-architecture image index. */
    readonly digest: string;
}

/**
 * `repository@sha256:...`: what `docker.RemoteImage` pulls. The digest alone: with `name:tag@digest` Docker ignores the
 * tag anyway, and the Docker CLI is moving to refuse that form.
 */
export function pinnedName(image: PinnedImage): string {
    return `${image.repository}@${image.digest}`;
}

/**
 * Apache Kafka 3.9.1, the official `apache/kafka` image (KRaft; configured from KAFKA_* variables, see kafka.ts).
 * 3.9.1 is the broker line the tests run from Maven Central jars (scripts/lib.sh KAFKA_BROKER_VERSION).
 * Digest: the same `apache/kafka:3.9.1@sha256:4ceccc57...` in ten independent public repositories' compose files,
 * CI scripts and Testcontainers tests (code index search for "apache/kafka:3.9.1@sha256"), among them a benchmark
 * run on an arm64 Mac and CI on linux/amd64, so it is the multi-architecture index. Authority:
 * https://hub.docker.com/r/apache/kafka/tags?name=3.9.1
 */
export const KAFKA_IMAGE: PinnedImage = {
    repository: "apache/kafka",
    tag: "3.9.1",
    digest: "sha256:4ceccc577f03f51f6af8dbfda55194d0d892f4fa7913ffbded567ce3895622ed",
};

/**
 * SeaweedFS 4.48 (Apache-2.0), the object store: `weed mini` runs master, volume, filer, the S3 API and an admin
 * console in one container. Digest: `chrislusf/seaweedfs:4.48@sha256:4e61d15f...`, recorded in ten public
 * repositories, several stating it is the multi-architecture index ("docker buildx imagetools inspect": linux/amd64
 * and linux/arm64 manifests; source revision 530be3e3) resolved by both tags `4.48` and `latest` on 2026-09-30/10-01.
 * Authority: https://hub.docker.com/r/chrislusf/seaweedfs/tags?name=4.48
 */
export const SEAWEEDFS_IMAGE: PinnedImage = {
    repository: "chrislusf/seaweedfs",
    tag: "4.48",
    digest: "sha256:4e61d15fd35994cb1e43e1e553dff106794841fd9a99ade2fc8c8bfce4d7872d",
};

/**
 * Prometheus 3.13.3 (the LTS line), engine local's metrics store. Digest: `prom/prometheus:v3.13.3@sha256:6976aa8a...`,
 * the same OCI index digest in ten independent public repositories (code index search for
 * "6976aa8a60fec930796ce5772b8d12da7a318a5daa8d40d69c"): Dockerfiles `FROM prom/prometheus:v3.13.3@sha256:...`, compose
 * files, and inventories that state it is the multi-architecture index. Authority:
 * https://hub.docker.com/r/prom/prometheus/tags?name=v3.13.3
 */
export const PROMETHEUS_IMAGE: PinnedImage = {
    repository: "prom/prometheus",
    tag: "v3.13.3",
    digest: "sha256:6976aa8a60fec930796ce5772b8d12da7a318a5daa8d40d69c5c7819a05eeed7",
};

/**
 * Grafana OSS 13.2.2, engine local's dashboards. Digest: `grafana/grafana:13.2.2@sha256:ac461fb3...`, recorded in ten
 * public repositories (code index search for "ac461fb352abc50da10a51c7d02462e9c05488f11f53f14b3a"), several stating it
 * is the manifest list (linux/amd64, linux/arm64, linux/arm/v7) Docker Hub served for the tag in September 2026.
 * Authority: https://hub.docker.com/r/grafana/grafana/tags?name=13.2.2
 */
export const GRAFANA_IMAGE: PinnedImage = {
    repository: "grafana/grafana",
    tag: "13.2.2",
    digest: "sha256:ac461fb352abc50da10a51c7d02462e9c05488f11f53f14b3ad79a8145f638a0",
};

/** The repository name of the locally built consumer image (never pushed); its tag is the build context's content hash. */
export const LOCAL_CONSUMER_REPOSITORY = "spark-streaming-consumer";
