# Pinned versions for the project's runtime and engine; sourced by the other scripts.
# The CLI must be at least as new as the @pulumi/pulumi npm package (package.json pins the same).
PULUMI_VERSION=3.259.0
# sdk/nodejs/cmd/pulumi-language-nodejs/v3 has no tags: pseudo-version of the v3.259.0 commit.
PULUMI_LANGUAGE_NODEJS_PSEUDO=v3.0.0-20260820084410-a05d88f24d05
NODE_VERSION=24.21.0
NODE_MIN_MAJOR=22
PUSHPLANE_CACHE="${PUSHPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pushplane}"
# Lints the GitHub Actions workflows of examples/gitops in the test suite (built from its Go module).
ACTIONLINT_VERSION=v1.7.12
