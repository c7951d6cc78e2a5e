#!/usr/bin/env bash
# The main job on a developer's host: prepare the host for everything the
# tests need (ci/setup.sh), build the runner image and start the service in
# it, read-only, with its ports published on 127.0.0.1 only.
#
# Usage: ci/up.sh [--down]
#   --down   stop and remove the container started by an earlier run
#
# Host ports default to the container's (3000 HTTP, 8081 gRPC, 8053 DNS);
# set SD_HTTP_PORT, SD_GRPC_PORT or SD_DNS_PORT to publish elsewhere.
# MIRROR_SOURCE=upstream mirrors the official base images instead of
# building offline equivalents.
set -euo pipefail
CI_SCRIPT_NAME=up
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICE=$(ci_service_name)
CONTAINER=$SERVICE
HTTP_PORT=${SD_HTTP_PORT:-3000}
GRPC_PORT=${SD_GRPC_PORT:-8081}
DNS_PORT=${SD_DNS_PORT:-8053}
READY_TIMEOUT_SECS=30

case "${1:-}" in
    "") ;;
    --down)
        docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
        ci_log "removed container $CONTAINER"
        exit 0
        ;;
    *) ci_die "unknown argument $1 (usage: ci/up.sh [--down])" ;;
esac

"$CI_REPO_ROOT/ci/setup.sh" "--${MIRROR_SOURCE:-offline}"

# build_images.sh prints "TARGET IMAGE_ID TAG..." per image; the first tag
# names the commit.
read -r _ _ image _ < <("$CI_REPO_ROOT/ci/build_images.sh" -l -t runner)
[[ -n ${image:-} ]] || ci_die "ci/build_images.sh reported no image: see its output above"

docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
docker run -d --name "$CONTAINER" \
    --read-only --tmpfs /tmp \
    -p "127.0.0.1:$HTTP_PORT:3000" \
    -p "127.0.0.1:$GRPC_PORT:8081" \
    -p "127.0.0.1:$DNS_PORT:8053/udp" \
    -p "127.0.0.1:$DNS_PORT:8053/tcp" \
    "$image" >/dev/null ||
    ci_die "could not start $image: free the host ports or set SD_HTTP_PORT, SD_GRPC_PORT, SD_DNS_PORT"

service_ready() {
    curl -fsS --max-time 1 "http://127.0.0.1:$HTTP_PORT/ready" >/dev/null 2>&1
}
ci_wait_for "$SERVICE on 127.0.0.1:$HTTP_PORT" "$READY_TIMEOUT_SECS" service_ready ||
    ci_die "the service did not become ready in ${READY_TIMEOUT_SECS}s: see docker logs $CONTAINER"

cat <<EOF
$SERVICE is running ($image) in container $CONTAINER.
Try it:
  curl -XPUT http://localhost:$HTTP_PORT/service -d '{"name": "webapp", "attributes": {"attr-1": "value-1"}}'
  curl -XPUT http://localhost:$HTTP_PORT/service/webapp/register -d '{"ip": "127.0.0.1", "tags": []}'
  curl -XPUT http://localhost:$HTTP_PORT/service/webapp/ports -d '{"http": {"protocol": "tcp", "port": 8000}}'
  dig -p$DNS_PORT @127.0.0.1 _http._tcp.webapp.svc.cluster.local SRV
  docker exec -ti $CONTAINER $SERVICE remote_console
Stop it with: ci/up.sh --down
EOF
