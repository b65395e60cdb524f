# bash completion for siphon(1)                               -*- shell-script -*-
#
# Plugin, stream and sink names come from the plugins siphon itself loads
# (`siphon plugins list --json`), so they follow SIPHON_PLUGIN_PATH and
# whatever is installed.

# Prints "KIND NAME" for every loaded stream and sink, and "plugin NAME" for
# every plugin, reading the indented JSON `siphon plugins list --json` writes.
_siphon_components()
{
    "${1:-siphon}" plugins list --json 2>/dev/null | awk '
        /"components": \[\]/ { next }
        /"components": \[/ { in_comp = 1; next }
        in_comp && /^ *\]/ { in_comp = 0; next }
        /"kind": "/ { kind = $0; sub(/.*"kind": "/, "", kind); sub(/".*/, "", kind); next }
        /"name": "/ {
            name = $0; sub(/.*"name": "/, "", name); sub(/".*/, "", name)
            print (in_comp ? kind : "plugin"), name
        }'
}

# Completes the current word from the names of one kind ("stream", "sink",
# "plugin", or "any").
_siphon_names()
{
    local kind=$1 prog=$2 word=$3
    local names
    if [[ $kind == any ]]; then
        names=$(_siphon_components "$prog" | awk '{ print $2 }' | sort -u)
    else
        names=$(_siphon_components "$prog" | awk -v k="$kind" '$1 == k { print $2 }')
    fi
    COMPREPLY=($(compgen -W "$names" -- "$word"))
}

_siphon()
{
    local cur prev prog=$1
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}

    local commands="run discover check plugins about help"
    local shared="--config --catalog --properties --state --select --sink --log-level --quiet --help"

    # The value of an option that takes one.
    case $prev in
        -c | --config | --catalog | --properties | -p | -s | --state)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --sink)
            _siphon_names sink "$prog" "$cur"
            return
            ;;
        --select)
            # A comma-separated list: complete the part after the last comma.
            local head="" tail=$cur
            if [[ $cur == *,* ]]; then
                head=${cur%,*},
                tail=${cur##*,}
            fi
            local names
            names=$(_siphon_components "$prog" | awk '$1 == "stream" { print $2 }')
            COMPREPLY=($(compgen -P "$head" -W "$names" -- "$tail"))
            compopt -o nospace 2>/dev/null
            return
            ;;
        --log-level)
            COMPREPLY=($(compgen -W "debug info warn error" -- "$cur"))
            return
            ;;
        --format)
            COMPREPLY=($(compgen -W "json markdown" -- "$cur"))
            return
            ;;
        --atleast-version)
            return
            ;;
    esac

    if ((COMP_CWORD == 1)); then
        if [[ $cur == -* ]]; then
            # The Singer tap calling convention: siphon --config C --discover ...
            COMPREPLY=($(compgen -W "--help --version --config --discover --catalog
                --properties --state --about --format" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local command=${COMP_WORDS[1]}
    case $command in
        run | discover | check)
            COMPREPLY=($(compgen -W "$shared" -- "$cur"))
            ;;
        about)
            COMPREPLY=($(compgen -W "$shared --format" -- "$cur"))
            ;;
        plugins)
            local sub=${COMP_WORDS[2]}
            if ((COMP_CWORD == 2)); then
                COMPREPLY=($(compgen -W "list inspect exists --json --strict --help" -- "$cur"))
                return
            fi
            case $sub in
                list | --json | --strict)
                    COMPREPLY=($(compgen -W "--json --strict --help" -- "$cur"))
                    ;;
                inspect)
                    if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--json --help" -- "$cur"))
                    else
                        _siphon_names any "$prog" "$cur"
                    fi
                    ;;
                exists)
                    if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--atleast-version --help" -- "$cur"))
                    else
                        _siphon_names any "$prog" "$cur"
                    fi
                    ;;
            esac
            ;;
        -*)
            COMPREPLY=($(compgen -W "--config --discover --catalog --properties --state
                --about --format --select --sink --log-level --quiet --help" -- "$cur"))
            ;;
    esac
}
complete -F _siphon siphon
