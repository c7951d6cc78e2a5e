#!/usr/bin/env bash
# Renames the service everywhere, to adopt the template under your own name.
#
# Usage: ci/rename.sh NEW_NAME
#   NEW_NAME  the new package name: lower-case words of letters and digits
#             joined by '_' or '-', starting with a letter (billing_api, billing-api)
#   -h        show this help
#
# Every form of the current name (the package that has a
# [package.metadata.container] table) is rewritten in every tracked file:
#   package name   order_book   -> billing-api    binary, images, directories
#   Rust crate     order_book:: -> billing_api::  paths and `use` lines
#   kebab-case     order-book   -> billing-api
#   process name   the first 15 bytes, which is all the kernel keeps
#   CamelCase      OrderBook    -> BillingApi     type names
#   UPPER_CASE     ORDER_BOOK   -> BILLING_API    environment variables
# Paths named after it are moved with git mv, Cargo.lock is updated offline,
# and the run ends by checking that no old-name literal is left outside the
# lines ci/rename-allowlist keeps (each with its reason).
# It needs a clean git tree, so that `git diff` shows exactly the rename and
# `git reset --hard && git clean -fd` undoes it; it commits nothing.
set -euo pipefail
CI_SCRIPT_NAME=rename
# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALLOWLIST=ci/rename-allowlist
# Names a crate cannot take: Rust's keywords and the crates every build has.
RESERVED=(
    as async await break const continue crate dyn else enum extern false fn for if impl in
    let loop match mod move mut pub ref return self static struct super trait true type unsafe
    use where while abstract become box "do" final macro override priv typeof unsized virtual yield
    try gen std core alloc proc_macro test build
)

usage() {
    sed -n '4,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
    -h | --help) sed -n '2,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    "") ci_die "name the service's new name (usage: ci/rename.sh NEW_NAME)" ;;
esac
(($# == 1)) || ci_die "one name only (usage: ci/rename.sh NEW_NAME)"
new=$1

# ANCHOR: validate
[[ $new =~ ^[a-z][a-z0-9]*([_-][a-z0-9]+)*$ ]] ||
    ci_die "'$new' is not a usable name: use lower-case letters and digits in words joined by one '_' or '-', starting with a letter (e.g. billing_api)"
((${#new} <= 64)) || ci_die "'$new' is longer than 64 characters: choose a shorter name"
for word in "${RESERVED[@]}"; do
    [[ ${new//-/_} != "$word" ]] || ci_die "'$new' is reserved in Rust: choose another name"
done
command -v git >/dev/null || ci_die "git not found: install git"
command -v perl >/dev/null || ci_die "perl not found: install Debian's perl-base"
git -C "$CI_REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
    ci_die "$CI_REPO_ROOT is not a git checkout: the rename works on tracked files only"
[[ -z "$(git -C "$CI_REPO_ROOT" status --porcelain)" ]] ||
    ci_die "the working tree has uncommitted changes: commit or stash them first, so the rename stands alone in git diff"

old=$(ci_service_name)
[[ $new != "$old" ]] || ci_die "the service is already called $old"
metadata=$(cargo metadata --no-deps --offline --format-version 1 --manifest-path "$CI_REPO_ROOT/Cargo.toml")
while read -r member; do
    [[ ${member//-/_} != "${new//-/_}" ]] ||
        ci_die "the workspace already has a package called $member: choose another name"
done < <(jq -r '.packages[].name' <<<"$metadata")
old_dir=$(jq -r --arg name "$old" \
    '.packages[] | select(.name == $name) | .manifest_path | rtrimstr("/Cargo.toml")' <<<"$metadata")
old_dir=${old_dir#"$CI_REPO_ROOT"/}
new_dir=$(dirname "$old_dir")/$new
new_dir=${new_dir#./}
[[ ! -e $CI_REPO_ROOT/$new_dir ]] || ci_die "$new_dir already exists: choose another name or move it away"
# ANCHOR_END: validate

# The rewriting rules, shared by the rewrite, the path moves and the final
# check: one alternation of the old name's forms, each mapped to the new
# name's matching form.
# shellcheck disable=SC2016 # Perl code, expanded by Perl
RULES='
sub forms {
    my @words = split /[-_]/, shift;
    return (snake => join("_", @words), kebab => join("-", @words),
            camel => join("", map { ucfirst } @words), upper => uc join("_", @words));
}
my ($old, $new) = @ENV{qw(RENAME_OLD RENAME_NEW)};
my %o = forms($old);
my %n = forms($new);
$n{package} = $new;
$n{process} = substr($new, 0, 15);
# Longest first, so a form that contains another wins.
my %kind = ($o{snake} => "snake", $o{kebab} => "kebab", $old => "package");
my @plain = sort { length($b) <=> length($a) } keys %kind;
my $plain = join "|", map { quotemeta } @plain;
my $process = length($old) > 15 ? quotemeta(substr($old, 0, 15)) : undef;
# A form stands alone when no letter or digit touches it; an escape such as
# \n in a string literal counts as a separator too.
my $start = qr{(?: (?<![A-Za-z0-9]) | (?<=\\[nrt]) )}x;
our $pattern = qr{
    $start (?<camel> \Q$o{camel}\E ) (?![a-z0-9])
  | $start (?<upper> \Q$o{upper}\E ) (?![A-Za-z0-9])
  | $start (?<plain> $plain ) (?![A-Za-z0-9])
  @{[ defined $process ? "| $start (?<process> $process ) (?![A-Za-z0-9])" : "" ]}
}x;
sub replacement {
    my ($before, $after) = @_;
    my $plain = $+{plain};
    return $n{camel} if defined $+{camel};
    return $n{upper} if defined $+{upper};
    return $n{process} if defined $+{process};
    # A Rust path or `use`/`extern crate` names the library crate, whose
    # name is always snake_case; everything else names the package.
    return $n{snake} if $after =~ /^::/ || $before =~ /(?:\buse|\bextern crate|\bpub use)\s+$/;
    return $n{kebab} if $kind{$plain} eq "kebab" && $o{kebab} ne $old;
    return $n{package};
}
sub rename_line {
    my $line = shift;
    $line =~ s{$pattern}{ replacement(substr($line, 0, $-[0]), substr($line, $+[0])) }ge;
    return $line;
}
'

# Lines of tracked files the rename keeps, as "path<TAB>text" pairs.
# shellcheck disable=SC2016
ALLOWED='
our %allowed;
if (open my $list, "<", $ENV{RENAME_ALLOWLIST}) {
    while (my $entry = <$list>) {
        chomp $entry;
        next if $entry =~ /^\s*(#|$)/;
        my ($path, $text) = split /\t/, $entry, 2;
        die "error: $ENV{RENAME_ALLOWLIST}:$.: expected PATH<TAB>TEXT\n" unless defined $text;
        push @{ $allowed{$path} }, $text;
    }
}
sub allowed { my ($path, $line) = @_; grep { index($line, $_) >= 0 } @{ $allowed{$path} // [] } }
'

export RENAME_OLD=$old RENAME_NEW=$new RENAME_ALLOWLIST=$CI_REPO_ROOT/$ALLOWLIST
cd "$CI_REPO_ROOT"
trap 'ci_log "stopped half-way: git reset --hard && git clean -fd restores the tree"' ERR

# ANCHOR: rewrite
# Text files only (grep -I skips binary ones); the allowlist keeps its lines.
mapfile -d '' files < <(git ls-files -z)
changed=$(printf '%s\0' "${files[@]}" | perl -0 -ne "BEGIN { $RULES $ALLOWED }"'
    chomp; my $path = $_;
    # Never this script: bash reads it as it runs.
    next if $path eq "ci/rename-allowlist" || $path eq "ci/rename.sh";
    next if -l $path || !-f $path || -B $path;
    open my $in, "<", $path or die "error: cannot read $path: $!\n";
    my @lines = <$in>; close $in;
    my @out = map { allowed($path, $_) ? $_ : rename_line($_) } @lines;
    next if join("", @out) eq join("", @lines);
    my $mode = (stat $path)[2];
    open my $fh, ">", $path or die "error: cannot write $path: $!\n";
    print $fh @out; close $fh; chmod $mode & 07777, $path;
    $count++;
    END { print $count // 0, "\n" }')
ci_log "rewrote $changed files"

# The service's directory first, then any other path named after it.
git mv "$old_dir" "$new_dir"
moved=1
while IFS= read -r -d '' path; do
    target=$(perl -e "$RULES"' print rename_line($ARGV[0])' "$path")
    [[ $target != "$path" ]] || continue
    mkdir -p "$(dirname "$target")"
    git mv "$path" "$target"
    moved=$((moved + 1))
done < <(git ls-files -z)
ci_log "moved $old_dir to $new_dir and $((moved - 1)) other paths"
# ANCHOR_END: rewrite

# The lockfile's entries were renamed in place; cargo re-sorts them and
# checks that every manifest agrees, without the network.
cargo update --workspace --offline --quiet ||
    ci_die "cargo could not update Cargo.lock offline: see its message above"
fuzz_manifest=$new_dir/fuzz/Cargo.toml
if [[ -f $fuzz_manifest ]] &&
    ! cargo update --workspace --offline --quiet --manifest-path "$fuzz_manifest" 2>/dev/null; then
    ci_log "$new_dir/fuzz/Cargo.lock was renamed in place; cargo fuzz re-sorts it on its next online build"
fi

# A name of another length moves line breaks: rustfmt lays the sources out
# again, so the lint stage's format check passes on the renamed tree.
cargo fmt --all ||
    ci_die "cargo fmt could not format the renamed sources: install rustfmt (rustup component add rustfmt)"

# ANCHOR: leftovers
leftovers=$(git ls-files -z | perl -0 -ne "BEGIN { $RULES $ALLOWED }"'
    chomp; my $path = $_;
    next if $path eq "ci/rename-allowlist" || !-f $path || -B $path;
    print "$path: path still holds the old name\n" if $path =~ $pattern;
    open my $in, "<", $path or next;
    while (my $line = <$in>) {
        print "$path:$.: $line" if $line =~ $pattern && !allowed($path, $line);
    }')
if [[ -n $leftovers ]]; then
    printf '%s\n' "$leftovers" >&2
    ci_die "the old name $old is still on the lines above: rename them by hand or list them in $ALLOWLIST with a reason"
fi
# ANCHOR_END: leftovers

trap - ERR
ci_log "renamed $old to $new; review with git status and git diff, then commit"
