#!/usr/bin/env bash
# Destroy the local stack: every container, the network and (the local stack being disposable) the data volumes.
#   npm run local:down [-- pulumi destroy flags]
# Pulled and built images stay in Docker's image store (keepLocally), so the next local:up starts fast.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=local-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/local-env.sh"

cd "$REPO_ROOT"
if ! pulumi stack select "$LOCAL_STACK" >/dev/null 2>&1; then
  echo "no local stack in $PULUMI_BACKEND_URL; nothing to destroy"
  exit 0
fi
pulumi destroy --stack "$LOCAL_STACK" --yes "$@"
