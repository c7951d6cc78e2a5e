#!/usr/bin/env bash
# Builds the project's images from docker/Dockerfile with docker buildx.
#
# Usage: ci/build_images.sh [-l] [-p] [-t TARGET]... [-r REGISTRY] [-b BRANCH] [-c CACHE] [-n] [-s] [-R]
#   -l           load the images into the local engine
#   -p           push the images to REGISTRY
#   -t TARGET    the Dockerfile stage to build; repeat for several (default: runner)
#   -r REGISTRY  registry (and optional namespace) naming the images (default: localhost:5000)
#   -b BRANCH    branch for the branch tag (default: the checked-out branch)
#   -c CACHE     also export the cache of every stage (mode=max) to the repository CACHE, and read it back
#   -n           refresh: rebuild every step from freshly pulled bases (--no-cache --pull), for OS fixes
#   -s           stage by stage, the old way: the builder stage first, tagged builder-CHECKSUM, as a cache source
#   -R           reproducible release images: runner and runner-minimal get no inline cache record
#   -h           show this help
#
# Every image is tagged REGISTRY/IMAGE:COMMIT and REGISTRY/IMAGE:BRANCH, never
# latest; IMAGE is the service's package name (see ci_service_name in
# ci/lib.sh) for the runner stage and IMAGE-TARGET for the others. COMMIT gets a "-dirty" suffix when
# the working tree has uncommitted changes. The branch tag and main serve as
# cache sources; the inline cache is written into every image.
# With -c, the cache of every stage goes to CACHE:TARGET-BRANCH, and a build
# reads its own target's and the runner's, of BRANCH and of main: a machine
# with an empty build cache then reuses the intermediate stages too, not only
# the image's own layers (inline cache holds no more than those).
# With -n nothing is read from any cache, so the OS packages and toolchain
# are installed anew; what it builds becomes the cache of later builds.
# With -s the builder stage is built on its own first and tagged
# REGISTRY/IMAGE:builder-CHECKSUM, where CHECKSUM covers every Cargo.toml and
# Cargo.lock; every later build reads it with --cache-from. This is how
# caching worked before caches knew about stages; -c does it better.
# BUILD_NETWORK=host gives RUN steps the host's network instead of the
# engine's bridge, for an engine whose bridge reaches no crate registry.
# The release images, runner and runner-minimal, are dated by the commit,
# so their layers are the same on every machine. With -R so is their
# configuration, which then leaves out the inline cache record: it holds
# the time it was written. A release build uses -R with -c, and later
# builds find its cache in CACHE instead of in the image.
# Prints one line per image on stdout: TARGET IMAGE_ID TAG...
set -euo pipefail
CI_SCRIPT_NAME=build_images
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERFILE="$CI_REPO_ROOT/docker/Dockerfile"
IMAGE=$(ci_service_name)
PORTS=$(ci_service_ports)
DEFAULT_TARGET=runner
DEFAULT_BRANCH=main
# The stage -s builds first and tags by the manifests' checksum.
DEPENDENCY_STAGE=builder

usage() {
    sed -n '4,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

usage_error() {
    printf 'error: %s\n' "$1" >&2
    usage >&2
    exit 1
}

load=false
push=false
targets=()
registry=$CI_REGISTRY
branch=""
cache_given=false
cache_repo=""
refresh=false
by_stage=false
reproducible=false
# Set by -s: REGISTRY/IMAGE:builder-CHECKSUM.
dependency_ref=""

# ANCHOR: options
parse_options() {
    local option
    OPTIND=1
    while getopts ':lpt:r:b:c:nsRh' option; do
        case $option in
            l) load=true ;;
            p) push=true ;;
            t) targets+=("$OPTARG") ;;
            r) registry=${OPTARG%/} ;;
            b) branch=$OPTARG ;;
            c) cache_given=true cache_repo=${OPTARG%/} ;;
            n) refresh=true ;;
            s) by_stage=true ;;
            R) reproducible=true ;;
            h) usage; exit 0 ;;
            :) usage_error "option -$OPTARG needs a value" ;;
            *) usage_error "unknown option -$OPTARG" ;;
        esac
    done
    shift $((OPTIND - 1))
    (($# == 0)) || usage_error "unexpected argument $1"
    ((${#targets[@]} > 0)) || targets=("$DEFAULT_TARGET")
    [[ -n $registry ]] || usage_error "-r needs a registry, such as localhost:5000"
    if $cache_given; then
        [[ -n $cache_repo ]] || usage_error "-c needs a repository, such as localhost:5000/$IMAGE-cache"
        [[ ${cache_repo##*/} != *:* && $cache_repo != *@* ]] ||
            usage_error "-c takes a repository without tag or digest (got $cache_repo): the script adds TARGET-BRANCH tags"
    fi
}
# ANCHOR_END: options

# The stages docker/Dockerfile defines, in order.
dockerfile_stages() {
    awk 'toupper($1) == "FROM" && toupper($(NF - 1)) == "AS" { print $NF }' "$DOCKERFILE"
}

check_targets() {
    local target stages
    stages=$(dockerfile_stages)
    for target in "${targets[@]}"; do
        grep -qxF -- "$target" <<<"$stages" ||
            usage_error "unknown target $target (stages: $(tr '\n' ' ' <<<"$stages"))"
    done
}

# A tag may hold letters, digits, '_', '.' and '-', and not start with '.' or
# '-': anything else becomes '-' (feature/x -> feature-x).
sanitise_tag() {
    local tag
    tag=$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '-')
    tag=${tag#[.-]}
    printf '%s' "${tag:0:128}"
}

git_commit() {
    local commit
    commit=$(git -C "$CI_REPO_ROOT" rev-parse --verify HEAD 2>/dev/null) ||
        ci_die "no git commit to tag the images with: run from a git checkout with at least one commit"
    if [[ -n "$(git -C "$CI_REPO_ROOT" status --porcelain 2>/dev/null)" ]]; then
        commit+="-dirty"
    fi
    printf '%s' "$commit"
}

git_branch() {
    git -C "$CI_REPO_ROOT" symbolic-ref --quiet --short HEAD 2>/dev/null || true
}

image_name() {
    local target=$1
    if [[ $target == "$DEFAULT_TARGET" ]]; then
        printf '%s/%s' "$registry" "$IMAGE"
    else
        printf '%s/%s-%s' "$registry" "$IMAGE" "$target"
    fi
}

# ANCHOR: reproducible
# The images that ship are reproducible: with -R the same commit gives the
# same manifest digest on any machine, cold or warm. Every timestamp in them
# is the commit's time: SOURCE_DATE_EPOCH sets the image's creation date and
# history, and rewrite-timestamp clamps each file's modification time in
# the layers to it. -R also leaves out the inline cache record, which holds
# the time it was written (-c keeps the cache). The engine's own image store cannot take a rewritten
# image straight from the build (it unpacks as it stores, and the two
# exclude each other), so a release image goes through an OCI archive:
# docker load and docker push keep its manifest, hence its digest, as built.
# Only the release images pay for the rewrite, which recompresses the layers
# that change: the others hold gigabytes of build output that no one deploys.
RELEASE_TARGETS=(runner runner-minimal)

is_release_target() {
    local target=$1 release
    for release in "${RELEASE_TARGETS[@]}"; do
        [[ $target == "$release" ]] && return 0
    done
    return 1
}

source_date_epoch() {
    git -C "$CI_REPO_ROOT" log -1 --format=%ct 2>/dev/null ||
        ci_die "no commit to date the images with: run from a git checkout with at least one commit"
}

# Where the finished image goes: the local engine, the registry, or both; a
# release image first goes to the OCI archive ARCHIVE (see publish_archive).
output_options() {
    local -n out=$1
    local target=$2 archive=$3
    if is_release_target "$target" && { $load || $push; }; then
        out+=(--output "type=oci,dest=$archive,rewrite-timestamp=true")
    elif $load && $push; then
        out+=(--output 'type=image,push=true')
    elif $load; then
        out+=(--load)
    elif $push; then
        out+=(--push)
    fi
}

# Loads a release image's archive into the engine and pushes its tags. The
# engine keeps them, as it keeps every image it builds and pushes itself.
publish_archive() {
    local archive=$1 tag
    shift
    docker load --quiet --input "$archive" >/dev/null ||
        ci_die "the engine could not load the image archive the build wrote"
    if $push; then
        for tag in "$@"; do
            docker push --quiet "$tag" >/dev/null || ci_die "could not push $tag: see the registry's log"
        done
    fi
}
# ANCHOR_END: reproducible

# ANCHOR: cache_options
# Where a build reads cached layers from and where it writes them. With -R
# a release image gets no inline cache record.
cache_options() {
    # shellcheck disable=SC2178 # a nameref to the caller's array
    local -n cache_out=$1
    local target=$2 name=$3 branch_tag=$4 commit=$5
    if $refresh; then
        # Nothing comes from any cache and every base is fetched again, so
        # OS packages and the toolchain are installed anew (C8).
        cache_out+=(--no-cache --pull)
    else
        # Layers that hit are downloaded from the branch's last image or main's.
        cache_out+=(--cache-from "type=registry,ref=$name:${branch_tag:-$DEFAULT_BRANCH}")
        [[ $branch_tag == "$DEFAULT_BRANCH" ]] || cache_out+=(--cache-from "type=registry,ref=$name:$DEFAULT_BRANCH")
        # The full caches of this target and of the runner, which every
        # pipeline builds, so e.g. a tester build on a new machine finds the
        # toolchain stage there.
        if [[ -n $cache_repo ]]; then
            local source_target source_branch
            for source_target in $(printf '%s\n' "$target" "$DEFAULT_TARGET" | awk '!seen[$0]++'); do
                for source_branch in $(printf '%s\n' "${branch_tag:-$DEFAULT_BRANCH}" "$DEFAULT_BRANCH" | awk '!seen[$0]++'); do
                    cache_out+=(--cache-from "type=registry,ref=$cache_repo:$(cache_tag "$source_target" "$source_branch")")
                done
            done
        fi
        [[ -z $dependency_ref ]] || cache_out+=(--cache-from "type=registry,ref=$dependency_ref")
    fi
    { $reproducible && is_release_target "$target"; } || cache_out+=(--cache-to type=inline)
    # mode=max: every stage's layers, not only those of the image (CI4).
    [[ -z $cache_repo ]] ||
        cache_out+=(--cache-to "type=registry,ref=$cache_repo:$(cache_tag "$target" "${branch_tag:-$commit}"),mode=max")
}
# ANCHOR_END: cache_options

cache_tag() {
    sanitise_tag "$1-$2"
}

# ANCHOR: manifests_checksum
# The old way's name for the dependency image (-s): it changes exactly when
# a manifest or the lockfile does, whatever else changes.
# Every Cargo.toml counts, members or not: one too many only costs a new tag.
manifests_checksum() {
    local manifests=()
    [[ -f $CI_REPO_ROOT/Cargo.lock ]] || ci_die "no Cargo.lock at the repository root: run cargo generate-lockfile and commit it"
    mapfile -t manifests < <(cd "$CI_REPO_ROOT" &&
        find . \( -name target -o -name .git \) -prune -o -name Cargo.toml -print | LC_ALL=C sort)
    (cd "$CI_REPO_ROOT" && sha256sum Cargo.lock "${manifests[@]}") | sha256sum | cut -c1-16
}
# ANCHOR_END: manifests_checksum

# ANCHOR: build_target
# Builds one stage, tagged with every TAG given; prints TARGET IMAGE_ID TAG...
build_image() {
    local target=$1 commit=$2 branch_tag=$3
    shift 3
    local tags=("$@") name options=() tag metadata_file archive image_id
    name=$(image_name "$target")

    # No provenance attestation: it records the build's start and end times,
    # so every rebuild, even one taken wholly from the cache, would get a
    # new image id. Without it the same inputs give the same image.
    options=(--file "$DOCKERFILE" --target "$target" --build-arg "GIT_COMMIT=$commit" --build-arg "SERVICE=$IMAGE" --build-arg "PORTS=$PORTS" --build-arg "SOURCE_DATE_EPOCH=$(source_date_epoch)" --provenance=false)
    ci_build_args options
    [[ -z ${BUILD_NETWORK:-} ]] || options+=(--network "$BUILD_NETWORK")
    for tag in "${tags[@]}"; do
        options+=(--tag "$tag")
    done
    cache_options options "$target" "$name" "$branch_tag" "$commit"
    metadata_file=$(mktemp)
    archive=$(mktemp)
    output_options options "$target" "$archive"

    ci_log "building $target as ${tags[*]}"
    if ! docker buildx build "${options[@]}" --metadata-file "$metadata_file" "$CI_REPO_ROOT" >&2; then
        rm -f "$metadata_file" "$archive"
        ci_die "building target $target failed: see the build output above"
    fi
    [[ ! -s $archive ]] || publish_archive "$archive" "${tags[@]}"
    image_id=$(image_id_of "${tags[0]}" "$metadata_file")
    rm -f "$metadata_file" "$archive"
    printf '%s %s %s\n' "$target" "$image_id" "${tags[*]}"
}

# The id to report: the engine's own id for a loaded image (whichever image
# store it uses); the manifest digest the registry serves for a pushed one;
# the config digest for a build that stays in the cache.
image_id_of() {
    local tag=$1 metadata_file=$2 id key=containerimage.config.digest
    if $load; then
        id=$(docker image inspect --format '{{.Id}}' "$tag") ||
            ci_die "the engine does not know $tag although it was loaded"
        printf '%s' "$id"
        return
    fi
    if $push; then
        key=containerimage.digest
    fi
    id=$(jq -r --arg key "$key" '.[$key] // empty' "$metadata_file") ||
        ci_die "buildx wrote an unreadable metadata file for $tag"
    [[ $id == sha256:* ]] || ci_die "buildx reported no $key for $tag"
    printf '%s' "$id"
}

# A target's image, tagged with the commit and the branch.
build_target() {
    local target=$1 commit=$2 branch_tag=$3 name tags=()
    name=$(image_name "$target")
    tags=("$name:$commit")
    [[ -z $branch_tag ]] || tags+=("$name:$branch_tag")
    build_image "$target" "$commit" "$branch_tag" "${tags[@]}"
}
# ANCHOR_END: build_target

# ANCHOR: by_stage
# The old way (-s): the dependency stage is built, tagged by the manifests'
# checksum and pushed on its own, so another machine finds it by name; it
# also carries the commit and branch tags when it is one of the targets.
build_dependency_stage() {
    local commit=$1 branch_tag=$2 target tags=("$dependency_ref")
    for target in "${targets[@]}"; do
        [[ $target != "$DEPENDENCY_STAGE" ]] && continue
        tags+=("$(image_name "$target"):$commit")
        [[ -z $branch_tag ]] || tags+=("$(image_name "$target"):$branch_tag")
        break
    done
    build_image "$DEPENDENCY_STAGE" "$commit" "$branch_tag" "${tags[@]}"
}
# ANCHOR_END: by_stage

main() {
    parse_options "$@"
    check_targets
    ci_engine_answers || ci_die "Docker engine not reachable: run ci/bootstrap_host.sh"
    # The project's own registry is checked up front; another one answers
    # (or not) when buildx pushes to it.
    if $push && [[ $registry == "$CI_REGISTRY"* ]] && ! ci_registry_answers; then
        ci_die "registry $CI_REGISTRY not answering: run ci/bootstrap_host.sh"
    fi

    local commit branch_tag target
    commit=$(git_commit)
    [[ -n $branch ]] || branch=$(git_branch)
    if [[ -n $branch ]]; then
        branch_tag=$(sanitise_tag "$branch")
        [[ -n $branch_tag ]] || usage_error "-b $branch leaves nothing usable as a tag"
    else
        branch_tag=""
        ci_log "detached HEAD and no -b BRANCH: tagging with the commit only"
    fi
    $load || $push || ci_log "neither -l nor -p: the result stays in the build cache only"

    if $by_stage; then
        dependency_ref="$registry/$IMAGE:$DEPENDENCY_STAGE-$(manifests_checksum)"
        ci_log "stage by stage: the $DEPENDENCY_STAGE stage is $dependency_ref"
        $push || ci_log "without -p the $DEPENDENCY_STAGE image reaches no other machine"
        build_dependency_stage "$commit" "$branch_tag"
    fi
    for target in "${targets[@]}"; do
        if $by_stage && [[ $target == "$DEPENDENCY_STAGE" ]]; then
            continue
        fi
        build_target "$target" "$commit" "$branch_tag"
    done
}

main "$@"
