#!/usr/bin/zsh -f
# tests/packaging/zsh_completion.zsh: the zsh completion, typed into a real
# interactive zsh.
#
#   zsh_completion.zsh FUNCTION_DIR 'LINE=>EXPECTED' ...
#
# Starts zsh in a pseudo-terminal with FUNCTION_DIR first in fpath, types each
# LINE followed by TAB, and compares the completed line with EXPECTED (the
# siphon on PATH, and the plugins it loads, supply the names). Prints one line
# per case and "zsh: N passed, M failed"; exits 1 on any failure.
zmodload zsh/zpty

fndir=$1
shift
passed=0
failed=0

zpty -b z "env -i HOME=${TMPDIR:-/tmp} TERM=xterm PATH=$PATH \
    ${SIPHON_PLUGIN_PATH:+SIPHON_PLUGIN_PATH=$SIPHON_PLUGIN_PATH} \
    ${SIPHON_PLUGIN_SYSTEM_PATH+SIPHON_PLUGIN_SYSTEM_PATH=$SIPHON_PLUGIN_SYSTEM_PATH} zsh -f -i"
zpty -w z "PS1='> '; fpath=($fndir \$fpath); autoload -U compinit; compinit -u; setopt nobeep"

for case in "$@"; do
  input=${case%%=>*}
  zpty -w -n z "$input"$'\t'
  sleep 1.5
  # Back to the start of the line and print what completion made of it.
  zpty -w -n z $'\C-aprint -r -- RESULT: \n'
  sleep 0.5
done
zpty -w z 'print MARK-END'
zpty -r -t z out '*MARK-END*'
zpty -d z

results=("${(@f)$(print -r -- "$out" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
    grep -a '^RESULT: ' | sed 's/^RESULT: //; s/ *$//')}")
i=1
for case in "$@"; do
  expected=${case#*=>}
  got=${results[i]}
  if [[ $got == "$expected" ]]; then
    (( passed++ ))
    print -r -- "ok   - '${case%%=>*}' completes to '$expected'"
  else
    (( failed++ ))
    print -r -- "FAIL - '${case%%=>*}' completes to '$got', expected '$expected'"
  fi
  (( i++ ))
done
print "zsh: $passed passed, $failed failed"
(( failed == 0 ))
