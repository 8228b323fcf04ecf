#!/usr/bin/env bash
# Deploy (or update) the local stack on this machine's Docker engine: npm run local:up [-- pulumi up flags]
#
# No AWS account and no Pulumi Cloud account: the state lives in .pulumi-state/ inside the project (gitignored),
# and the stack's secrets (the object store's generated key) are encrypted with an empty passphrase unless
# PULUMI_CONFIG_PASSPHRASE says otherwise. Needs the Pulumi CLI, Docker (with buildx), and `npm ci` done.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=local-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-env.sh"

docker info >/dev/null 2>&1 || die "the Docker engine is not running (docker info failed); start Docker Desktop or the docker service"
docker buildx version >/dev/null 2>&1 || die "docker buildx is missing; the consumer image is built with it (Docker Desktop has it; on Linux install docker-buildx-plugin)"
[[ -d "$REPO_ROOT/node_modules/@pulumi/docker" ]] || die "node_modules is missing; run npm ci first"

cd "$REPO_ROOT"
pulumi stack select --create --secrets-provider passphrase "$LOCAL_STACK" >/dev/null
pulumi up --stack "$LOCAL_STACK" --yes "$@"
echo
echo "The platform is up. Where to look:"
pulumi stack output --stack "$LOCAL_STACK" uiUrls --json
echo "Data:        $(pulumi stack output --stack "$LOCAL_STACK" outputLocation)"
echo "Dead letter: $(pulumi stack output --stack "$LOCAL_STACK" deadLetterLocation)"
echo "Send an event: $(pulumi stack output --stack "$LOCAL_STACK" produceCommand)"
