#!/usr/bin/env sh
# Vendors the chart dependencies (file://) in order: the library chart into every service chart,
# then the service charts into the umbrella chart. Run before helm lint/template/install of the
# umbrella chart (skaffold.yaml, tilt/Tiltfile and k8s/up.sh do). HELM selects the helm binary.
set -eu
HELM="${HELM:-helm}"
cd "$(dirname "$0")"
for chart in */Chart.yaml; do
  dir="${chart%/Chart.yaml}"
  [ "$dir" = cinema ] && continue
  grep -q '^dependencies:' "$chart" || continue
  "$HELM" dependency build "$dir" >/dev/null
done
"$HELM" dependency build cinema >/dev/null
echo "chart dependencies built"
