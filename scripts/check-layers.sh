#!/bin/sh
# check-layers.sh LAYER...: common/ is built in layers, lowest first (see
# docs/ARCHITECTURE.md). A module may include headers of its own layer and of
# the layers below it, never of a layer above, and never a program's header.
# Prints each violation as FILE: includes HEADER (LAYER) and exits 1.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: check-layers.sh LAYER..." >&2; exit 2; }

# The layer of every header in common/, as "name.h rank layer".
map=$(mktemp)
trap 'rm -f "$map"' EXIT
rank=0
for layer in "$@"; do
  [ -d "common/$layer" ] || { echo "check-layers: no folder common/$layer" >&2; exit 2; }
  for h in common/"$layer"/*.h; do
    [ -e "$h" ] && echo "$(basename "$h") $rank $layer" >>"$map"
  done
  rank=$((rank + 1))
done
# Every file of common/ must sit in a named layer.
stray=$(find common -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \))
if [ -n "$stray" ]; then
  echo "check-layers: files outside any layer: $stray"
  exit 1
fi

bad=0
rank=0
for layer in "$@"; do
  for f in common/"$layer"/*.c common/"$layer"/*.h; do
    [ -e "$f" ] || continue
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
      line=$(awk -v h="$inc" '$1 == h' "$map")
      if [ -z "$line" ]; then
        echo "$f: includes $inc, which is not a header of common/"
        bad=1
        continue
      fi
      r=$(echo "$line" | cut -d' ' -f2)
      l=$(echo "$line" | cut -d' ' -f3)
      if [ "$r" -gt "$rank" ]; then
        echo "$f: includes $inc ($l), a layer above $layer"
        bad=1
      fi
    done
  done
  rank=$((rank + 1))
done
[ "$bad" -eq 0 ] || exit 1
echo "layers: $* (each includes only itself and those below)"
