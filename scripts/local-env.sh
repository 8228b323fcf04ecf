# The local stack's Pulumi settings, shared by local-up.sh and local-down.sh (sourced, not run).
# shellcheck shell=bash disable=SC2034  # variables are for the scripts that source this

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_STACK=local

die() { echo "error: $*" >&2; exit 1; }

command -v pulumi >/dev/null || die "the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/"
command -v docker >/dev/null || die "docker is not installed: https://docs.docker.com/get-docker/"

# A file backend inside the project (gitignored): no Pulumi Cloud login. Set PULUMI_BACKEND_URL to use another.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$REPO_ROOT/.pulumi-state}"
if [[ "$PULUMI_BACKEND_URL" == "file://$REPO_ROOT/.pulumi-state" ]]; then
  mkdir -p "$REPO_ROOT/.pulumi-state"
fi
# Pulumi.local.yaml carries the encryption salt of the empty passphrase; set PULUMI_CONFIG_PASSPHRASE to use another
# (then remove its encryptionsalt line first, and Pulumi writes a new one).
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
export PULUMI_SKIP_UPDATE_CHECK=true
