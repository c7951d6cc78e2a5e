#!/usr/bin/env bash
# Puts every base image the Dockerfiles use into the project's registry under
# localhost:5000/mirror/... and pins each by sha256 digest in
# ci/base-images.lock, which the build scripts read (ci/lib.sh).
#
# Usage: ci/mirror_base_images.sh --offline|--from-upstream [--refresh]
#   --offline        build equivalents here from Debian's packages (debootstrap)
#                    and this host's Rust toolchain; needs no container registry
#   --from-upstream  copy the official images, by tag, from Docker Hub (or from
#                    UPSTREAM_REGISTRY, e.g. a company pull-through cache)
#   --refresh        rebuild or recopy even when the mirror is up to date
# Either way the build tools (docker/Dockerfile's build_tools stage, on the
# pinned rust image) are built here and pinned with the bases.
#
# Warm runs take about a second: an image is skipped when the registry holds
# its tag at exactly the digest the lock pins, from the same source and the
# same recipe (ci/base-images/*, host toolchain). Without a lock (a fresh
# clone), an offline image the registry already holds for the same recipe
# is adopted rather than rebuilt.
set -euo pipefail
CI_SCRIPT_NAME=mirror_base_images
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASE_IMAGES_DIR="$CI_REPO_ROOT/ci/base-images"
UPSTREAM_REGISTRY="${UPSTREAM_REGISTRY:-docker.io/library}"
DEBIAN_SUITE=bookworm
# The official debian image's configuration, which docker import cannot infer.
DEBIAN_IMAGE_CHANGES=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'CMD ["bash"]'
)

usage_error() {
    ci_die "$1 (usage: ci/mirror_base_images.sh --offline|--from-upstream [--refresh])"
}

mode=""
refresh=false
for arg in "$@"; do
    case $arg in
        --offline) mode=offline ;;
        --from-upstream) mode=upstream ;;
        --refresh) refresh=true ;;
        -h | --help) sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) usage_error "unknown option $arg" ;;
    esac
done
[[ -n $mode ]] || usage_error "choose where the images come from"

ci_require_engine
ci_require_registry

# Where an image comes from: the mode chosen, except for the build tools,
# which have no upstream and are always built here.
image_source() {
    case $1 in
        build-tools:*) printf 'built' ;;
        *) printf '%s' "$mode" ;;
    esac
}

# docker/Dockerfile's build_tools stage, the build tools image's whole recipe.
build_tools_stage() {
    awk '$1 == "FROM" { in_stage = ($NF == "build_tools") } in_stage' "$CI_REPO_ROOT/docker/Dockerfile"
}

# Field N of the lock line for an upstream image, empty when absent.
locked_field() {
    [[ -f $CI_BASE_IMAGES_LOCK ]] || return 0
    awk -v up="$1" -v n="$2" '$1 == up { print $n }' "$CI_BASE_IMAGES_LOCK"
}

# Identifies what an image is made from, so editing a recipe (or changing
# the host toolchain) rebuilds it: a short hash of its inputs.
recipe_id() {
    local upstream=$1 rust_ref=$2
    if [[ $(image_source "$upstream") == upstream ]]; then
        printf '%s' "-"
        return
    fi
    {
        case $upstream in
            build-tools:*) build_tools_stage && printf '%s\n' "$rust_ref" ;;
            debian:*) cat "$BASE_IMAGES_DIR/debian_rootfs.sh" ;;
            rust:*)
                cat "$BASE_IMAGES_DIR/rust.Dockerfile"
                rustup_bin_path >/dev/null && "$(rustup_bin_path)" run "$(ci_rust_version)" rustc -vV
                ;;
            postgres:*) cat "$BASE_IMAGES_DIR/postgres.Dockerfile" "$BASE_IMAGES_DIR/postgres-entrypoint.sh" ;;
        esac
    } | sha256sum | cut -c1-16
}

is_up_to_date() {
    local upstream=$1 mirrored=$2 recipe=$3 locked_ref
    locked_ref=$(locked_field "$upstream" 2)
    [[ -n $locked_ref ]] || return 1
    [[ "$(locked_field "$upstream" 3)" == "$(image_source "$upstream")" ]] || return 1
    [[ "$(locked_field "$upstream" 4)" == "$recipe" ]] || return 1
    [[ "$(ci_registry_digest "$mirrored")" == "${locked_ref##*@}" ]]
}

push_and_pin() {
    local mirrored=$1 digest
    docker push -q "$mirrored" >/dev/null || ci_die "could not push $mirrored to $CI_REGISTRY: see the registry log"
    digest=$(ci_registry_digest "$mirrored")
    [[ $digest == sha256:* ]] || ci_die "the registry reports no digest for $mirrored after pushing it"
    printf '%s@%s' "$mirrored" "$digest"
}

offline_debian() {
    local mirrored=$1 workdir
    workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/debian-rootfs.XXXXXX")
    # debootstrap leaves root-owned files; cleaning up needs root as well.
    # shellcheck disable=SC2064 # the path is fixed now, on purpose
    trap "ci_as_root rm -rf '$workdir'; trap - RETURN" RETURN
    ci_log "building $mirrored with debootstrap ($DEBIAN_SUITE, minbase, slimmed)"
    ci_as_root "$BASE_IMAGES_DIR/debian_rootfs.sh" "$DEBIAN_SUITE" "$workdir/rootfs" ||
        ci_die "debootstrap of $DEBIAN_SUITE failed: see its output above"
    ci_as_root tar --numeric-owner --xattrs --xattrs-include='*' -C "$workdir/rootfs" -c . |
        docker import "${DEBIAN_IMAGE_CHANGES[@]}" - "$mirrored" >/dev/null ||
        ci_die "docker import of the $DEBIAN_SUITE root filesystem failed"
    push_and_pin "$mirrored"
}

offline_build() {
    local mirrored=$1 dockerfile=$2
    shift 2
    ci_log "building $mirrored from ci/base-images/$dockerfile"
    docker buildx build --load --provenance=false --sbom=false \
        -f "$BASE_IMAGES_DIR/$dockerfile" -t "$mirrored" "$@" "$BASE_IMAGES_DIR" >&2 ||
        ci_die "building $mirrored failed: see the build output above"
    push_and_pin "$mirrored"
}

# The build_tools stage on the pinned rust image. Its only input is the
# stage itself, so the build context is an empty directory.
built_tools() {
    local mirrored=$1 rust_ref=$2 context secret=()
    context=$(mktemp -d)
    # shellcheck disable=SC2064 # the path is fixed now, on purpose
    trap "rm -rf '$context'; trap - RETURN" RETURN
    ci_ca_secret_args secret
    ci_log "building $mirrored from docker/Dockerfile's build_tools stage"
    docker buildx build --load --provenance=false --sbom=false --target build_tools \
        --build-arg "RUST_IMAGE=$rust_ref" "${secret[@]}" \
        -f "$CI_REPO_ROOT/docker/Dockerfile" -t "$mirrored" "$context" >&2 ||
        ci_die "building $mirrored failed: see the build output above"
    push_and_pin "$mirrored"
}

rustup_bin_path() {
    local rustup
    rustup=$(command -v rustup || printf '%s' "$HOME/.cargo/bin/rustup")
    [[ -x $rustup ]] && printf '%s' "$rustup"
}

offline_rust() {
    local mirrored=$1 debian_ref=$2 version rustup sysroot host_triple stage
    version=$(ci_rust_version)
    rustup=$(rustup_bin_path) || ci_die "rustup not found: run ci/bootstrap_host.sh"
    sysroot=$("$rustup" run "$version" rustc --print sysroot 2>/dev/null) ||
        ci_die "Rust toolchain $version is not installed here: run ci/bootstrap_host.sh"
    host_triple=$("$rustup" run "$version" rustc -vV | sed -n 's/^host: //p')
    # The rustup binary alone, resolved from whatever links point at it.
    stage=$(mktemp -d)
    # shellcheck disable=SC2064 # the path is fixed now, on purpose
    trap "rm -rf '$stage'; trap - RETURN" RETURN
    cp "$(readlink -f "$rustup")" "$stage/rustup"
    offline_build "$mirrored" rust.Dockerfile \
        --build-arg "DEBIAN_IMAGE=$debian_ref" \
        --build-arg "RUST_VERSION=$version" \
        --build-arg "RUST_HOST_TRIPLE=$host_triple" \
        --build-context "toolchain=$(readlink -f "$sysroot")" \
        --build-context "rustup=$stage"
}

# ANCHOR: from_upstream
# Copies the whole upstream image index (all platforms) registry to registry;
# the mirror then serves the very digest upstream published.
from_upstream() {
    local upstream=$1 mirrored=$2 source="$UPSTREAM_REGISTRY/$1" upstream_digest digest
    ci_log "copying $source to $mirrored"
    upstream_digest=$(docker buildx imagetools inspect --format '{{json .Manifest}}' "$source" | jq -r .digest) ||
        ci_die "could not read $source: check network access to $UPSTREAM_REGISTRY, or use --offline"
    docker buildx imagetools create --tag "$mirrored" "$source@$upstream_digest" >&2 ||
        ci_die "could not copy $source to $mirrored: see the output above"
    digest=$(ci_registry_digest "$mirrored")
    [[ $digest == sha256:* ]] || ci_die "the registry reports no digest for $mirrored after copying it"
    if [[ $digest != "$upstream_digest" ]]; then
        # A single-platform upstream is wrapped in a new index by imagetools.
        ci_log "note: $upstream is $upstream_digest upstream, $digest in the mirror (re-indexed)"
    fi
    printf '%s@%s' "$mirrored" "$digest"
}
# ANCHOR_END: from_upstream

# The registry remembers which recipe built each offline image through a
# second tag, <tag>-<recipe>. A clone that has no lock yet (a fresh checkout,
# a CI run) adopts that image instead of building it again: debootstrap is
# not reproducible, so a rebuild would change the digest and turn every
# build cache keyed on it cold.
recipe_tag() {
    printf '%s-%s' "$1" "$2"
}

# Points TAG of REPO at the manifest DIGEST, byte for byte (a copy through
# imagetools would wrap a single manifest in a new index: a new digest).
registry_tag_digest() {
    local repo=$1 digest=$2 tag=$3 manifest media_type
    manifest=$(mktemp)
    # shellcheck disable=SC2064 # the path is fixed now, on purpose
    trap "rm -f '$manifest'; trap - RETURN" RETURN
    media_type=$(curl -fsS --max-time 10 -D - -o "$manifest" \
        -H 'Accept: application/vnd.oci.image.index.v1+json' \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$CI_REGISTRY/v2/$repo/manifests/$digest" |
        tr -d '\r' | awk 'tolower($1) == "content-type:" { print $2 }') ||
        ci_die "could not read $repo@$digest from $CI_REGISTRY: see the registry log"
    curl -fsS --max-time 10 -X PUT -H "Content-Type: $media_type" --data-binary "@$manifest" \
        "http://$CI_REGISTRY/v2/$repo/manifests/$tag" >/dev/null ||
        ci_die "could not tag $repo@$digest as $tag in $CI_REGISTRY: see the registry log"
}

# Records which recipe built the pinned image REF (mirrored@digest).
remember_recipe() {
    local ref=$1 recipe=$2 name=${1%@*} digest=${1##*@} repo tag
    [[ $recipe != - ]] || return 0
    name=${name#"$CI_REGISTRY"/}
    repo=${name%:*} tag=${name##*:}
    [[ "$(ci_registry_digest "$CI_REGISTRY/$repo:$(recipe_tag "$tag" "$recipe")")" == "$digest" ]] && return 0
    registry_tag_digest "$repo" "$digest" "$(recipe_tag "$tag" "$recipe")"
}

# Prints mirrored@digest of the image the registry holds for this recipe,
# re-pointing the plain tag at it; fails when there is none.
adopt_from_registry() {
    local mirrored=$1 recipe=$2 name repo tag digest
    [[ $recipe != - ]] || return 1
    name=${mirrored#"$CI_REGISTRY"/}
    repo=${name%:*} tag=${name##*:}
    digest=$(ci_registry_digest "$mirrored-$recipe")
    [[ $digest == sha256:* ]] || return 1
    [[ "$(ci_registry_digest "$mirrored")" == "$digest" ]] || registry_tag_digest "$repo" "$digest" "$tag"
    printf '%s@%s' "$mirrored" "$digest"
}

mirror_one() {
    local upstream=$1 mirrored=$2 debian_ref=$3 rust_ref=$4
    if [[ $upstream == build-tools:* ]]; then
        built_tools "$mirrored" "$rust_ref"
        return
    fi
    if [[ $mode == upstream ]]; then
        from_upstream "$upstream" "$mirrored"
        return
    fi
    case $upstream in
        debian:*) offline_debian "$mirrored" ;;
        rust:*) offline_rust "$mirrored" "$debian_ref" ;;
        postgres:*) offline_build "$mirrored" postgres.Dockerfile --build-arg "DEBIAN_IMAGE=$debian_ref" ;;
        *) ci_die "no offline recipe for $upstream: add one to ci/mirror_base_images.sh" ;;
    esac
}

# ANCHOR: lock_format
write_lock() {
    local tmp
    tmp=$(mktemp "$CI_BASE_IMAGES_LOCK.XXXXXX")
    {
        printf '%s\n' \
            "# Base images mirrored into the project's registry and pinned by digest." \
            "# Written by ci/mirror_base_images.sh; read through ci/lib.sh by every build." \
            "# Specific to this host (offline images are built here): not committed." \
            "# One image per line, four fields separated by spaces:" \
            "#   <upstream name> <mirrored name>@sha256:<digest> <source: offline|upstream|built> <recipe>" \
            "# where <recipe> hashes the recipe's inputs (- for upstream copies)."
        printf '%s\n' "$@"
    } >"$tmp"
    mv "$tmp" "$CI_BASE_IMAGES_LOCK"
}
# ANCHOR_END: lock_format

main() {
    local lines=() upstream arg mirrored recipe ref debian_ref="" rust_ref="" debian_rebuilt=false changed=0
    while read -r upstream arg; do
        mirrored=$(ci_mirror_name "$upstream")
        recipe=$(recipe_id "$upstream" "$rust_ref")
        # Images built on the debian base follow it when it changes.
        if ! $refresh && ! { $debian_rebuilt && [[ $mode == offline ]]; } &&
            is_up_to_date "$upstream" "$mirrored" "$recipe"; then
            ref=$(locked_field "$upstream" 2)
            ci_log "$upstream: up to date ($ref)"
        elif ! $refresh && ! $debian_rebuilt && ref=$(adopt_from_registry "$mirrored" "$recipe"); then
            ci_log "$upstream: the registry already holds it for this recipe ($ref)"
            changed=$((changed + 1))
        else
            ref=$(mirror_one "$upstream" "$mirrored" "$debian_ref" "$rust_ref")
            ci_log "$upstream: mirrored as $ref"
            changed=$((changed + 1))
            [[ $upstream == debian:* ]] && debian_rebuilt=true
        fi
        remember_recipe "$ref" "$recipe"
        [[ $upstream == debian:* ]] && debian_ref=$ref
        [[ $upstream == rust:* ]] && rust_ref=$ref
        lines+=("$upstream $ref $(image_source "$upstream") $recipe")
    done < <(ci_base_images)

    if ((changed == 0)); then
        ci_log "all base images up to date; nothing changed"
        return
    fi
    write_lock "${lines[@]}"
    ci_log "pinned $changed image(s) in ${CI_BASE_IMAGES_LOCK#"$CI_REPO_ROOT"/}"
}

main
