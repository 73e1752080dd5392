#!/usr/bin/env bash
# Checks client/cli/vkspay-completion.bash against the binary's own help, so
# the completion cannot drift from the CLI: every subcommand, every option of
# every subcommand and every global option completes, and options with a
# fixed set of values ({a,b,c} in the help) complete to exactly that set.
# Usage: completion_test.sh VKSPAY_BIN COMPLETION_SCRIPT
set -uo pipefail
bin=$1
script=$2
# shellcheck disable=SC1090
source "$script" || { echo "FAIL: $script does not source"; exit 1; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# complete WORD... : COMPREPLY for the command line "vkspay WORD..." (the last
# word is the one being completed), one per line, sorted.
complete_words() {
  COMP_WORDS=(vkspay "$@")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _vkspay
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

contains() {  # contains LIST WORD
  grep -qxF -- "$2" <<<"$1"
}

subs=$("$bin" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[[ -n "$subs" ]] || { echo "FAIL: no subcommands in vkspay --help"; exit 1; }
got=$(complete_words "")
for s in $subs; do contains "$got" "$s" || fail "subcommand $s does not complete"; done

globals=$("$bin" --help | sed -n '/^Options:/,/^$/p' | grep -oE '^ +(-[a-z],)?--[a-z-]+' | sed 's/.*--/--/')
got=$(complete_words "--")
for g in $globals; do contains "$got" "$g" || fail "global option $g does not complete"; done

for s in $subs; do
  help=$("$bin" "$s" --help)
  opts=$(sed -n '/^Options:/,/^$/p' <<<"$help" | grep -oE '^ +(-[a-z],)?--[a-z-]+' | sed 's/.*--/--/' | grep -vx -- --help)
  got=$(complete_words "$s" "--")
  for o in $opts; do contains "$got" "$o" || fail "vkspay $s $o does not complete"; done
  for g in $globals; do
    [[ "$g" == --version ]] && continue
    contains "$got" "$g" || fail "vkspay $s: global option $g does not complete after the subcommand"
  done
  # Options with a fixed set of values: --name TEXT:{a,b,c}
  while read -r opt set; do
    [[ -n "$opt" ]] || continue
    want=$(tr ',' '\n' <<<"$set" | sort)
    got_values=$(complete_words "$s" "$opt" "")
    [[ "$got_values" == "$want" ]] || fail "vkspay $s $opt completes to [$(echo $got_values)], the help says [$(echo $want)]"
  done < <(sed -n '/^Options:/,/^$/p' <<<"$help" | grep -oE -- '--[a-z-]+ TEXT:\{[^}]*\}' | sed -E 's/ TEXT:\{(.*)\}/ \1/')
done

# clock's own subcommands, and a global option (with its value) before the subcommand.
got=$(complete_words clock "")
for w in advance reset; do contains "$got" "$w" || fail "vkspay clock $w does not complete"; done
got=$(complete_words --base-url http://127.0.0.1:9 web)
[[ "$got" == webpay ]] || fail "vkspay --base-url URL web completes to [$got], want webpay"
got=$(complete_words --timeout 3 pay --ch)
[[ "$got" == --channel ]] || fail "vkspay --timeout 3 pay --ch completes to [$got], want --channel"

if (( failures > 0 )); then
  echo "$failures failure(s)"
  exit 1
fi
echo "completion ok: $(wc -w <<<"$subs") subcommands, $(wc -w <<<"$globals") global options"
