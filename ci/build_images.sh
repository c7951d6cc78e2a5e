#!/usr/bin/env bash
# Builds the project's images from docker/Dockerfile with docker buildx.
#
# Usage: ci/build_images.sh [-l] [-p] [-t TARGET]... [-r REGISTRY] [-b BRANCH]
#   -l           load the images into the local engine
#   -p           push the images to REGISTRY
#   -t TARGET    the Dockerfile stage to build; repeat for several (default: runner)
#   -r REGISTRY  registry (and optional namespace) naming the images (default: localhost:5000)
#   -b BRANCH    branch for the branch tag (default: the checked-out branch)
#   -h           show this help
#
# Every image is tagged REGISTRY/IMAGE:COMMIT and REGISTRY/IMAGE:BRANCH, never
# latest; IMAGE is service_discovery for the runner stage and
# service_discovery-TARGET for the others. COMMIT gets a "-dirty" suffix when
# the working tree has uncommitted changes. The branch tag and main serve as
# cache sources; the inline cache is written into every image.
# Prints one line per image on stdout: TARGET IMAGE_ID TAG...
set -euo pipefail
CI_SCRIPT_NAME=build_images
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERFILE="$CI_REPO_ROOT/docker/Dockerfile"
IMAGE=service_discovery
DEFAULT_TARGET=runner
DEFAULT_BRANCH=main

usage() {
    sed -n '4,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
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

# ANCHOR: options
parse_options() {
    local option
    OPTIND=1
    while getopts ':lpt:r:b:h' option; do
        case $option in
            l) load=true ;;
            p) push=true ;;
            t) targets+=("$OPTARG") ;;
            r) registry=${OPTARG%/} ;;
            b) branch=$OPTARG ;;
            h) usage; exit 0 ;;
            :) usage_error "option -$OPTARG needs a value" ;;
            *) usage_error "unknown option -$OPTARG" ;;
        esac
    done
    shift $((OPTIND - 1))
    (($# == 0)) || usage_error "unexpected argument $1"
    ((${#targets[@]} > 0)) || targets=("$DEFAULT_TARGET")
    [[ -n $registry ]] || usage_error "-r needs a registry, such as localhost:5000"
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

# Where the finished image goes: the local engine, the registry, or both.
output_options() {
    local -n out=$1
    if $load && $push; then
        out+=(--output 'type=image,push=true')
    elif $load; then
        out+=(--load)
    elif $push; then
        out+=(--push)
    fi
}

# ANCHOR: build_target
build_target() {
    local target=$1 commit=$2 branch_tag=$3 name options=() tags=() iid_file image_id
    name=$(image_name "$target")
    tags=("$name:$commit")
    [[ -z $branch_tag ]] || tags+=("$name:$branch_tag")

    options=(--file "$DOCKERFILE" --target "$target" --build-arg "GIT_COMMIT=$commit")
    ci_build_args options
    local tag
    for tag in "${tags[@]}"; do
        options+=(--tag "$tag")
    done
    # Layers that hit are downloaded from the branch's last image or main's.
    options+=(--cache-from "type=registry,ref=$name:${branch_tag:-$DEFAULT_BRANCH}")
    [[ $branch_tag == "$DEFAULT_BRANCH" ]] || options+=(--cache-from "type=registry,ref=$name:$DEFAULT_BRANCH")
    options+=(--cache-to type=inline)
    output_options options

    iid_file=$(mktemp)
    ci_log "building $target as ${tags[*]}"
    if ! docker buildx build "${options[@]}" --iidfile "$iid_file" "$CI_REPO_ROOT" >&2; then
        rm -f "$iid_file"
        ci_die "building target $target failed: see the build output above"
    fi
    image_id=$(<"$iid_file")
    rm -f "$iid_file"
    printf '%s %s %s\n' "$target" "$image_id" "${tags[*]}"
}
# ANCHOR_END: build_target

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

    for target in "${targets[@]}"; do
        build_target "$target" "$commit" "$branch_tag"
    done
}

main "$@"
