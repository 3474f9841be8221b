#!/usr/bin/env bash
# Validates Kubernetes manifests against the Kubernetes OpenAPI schemas, offline, with kubernetes-validate
# (PyPI; it carries the schemas of every Kubernetes release). kubeconform is a Go binary from GitHub releases,
# which this project's machines cannot fetch; kubernetes-validate checks the same schemas.
#
#   scripts/k8s-validate.sh FILE...      # exit 0 when every document of every file is valid
#
# Installs kubernetes-validate into a virtualenv under ${XDG_CACHE_HOME:-~/.cache}/slprod/k8s-validate once.
# Env: SLPROD_K8S_VERSION (default 1.33.0), the Kubernetes release whose schemas apply.
set -euo pipefail

version="${SLPROD_K8S_VERSION:-1.33.0}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/slprod/k8s-validate"
if [[ ! -x "$venv/bin/kubernetes-validate" ]]; then
    echo "k8s-validate: installing kubernetes-validate into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0" >&2
fi
"$venv/bin/kubernetes-validate" --strict --kubernetes-version "$version" "$@"
