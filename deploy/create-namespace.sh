#!/bin/sh
# Create the namespace and register reelflow's search attributes (idempotent).
set -eu
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}"; do sleep 2; done
temporal operator namespace describe -n "$NAMESPACE" --address "${TEMPORAL_ADDRESS}" \
  || temporal operator namespace create -n "$NAMESPACE" --retention 720h --address "${TEMPORAL_ADDRESS}"
register() {
  temporal operator search-attribute list -n "$NAMESPACE" --address "${TEMPORAL_ADDRESS}" | grep -q "^ *$1 " \
    || temporal operator search-attribute create -n "$NAMESPACE" --address "${TEMPORAL_ADDRESS}" --name "$1" --type "$2"
}
register VideoStatus Keyword
register VideoProgress Int
register VideoModel Keyword
register VideoProviderJobId Keyword
echo "namespace $NAMESPACE ready"
