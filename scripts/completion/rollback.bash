# bash completion for rollback(1): subcommands, options, plan names from the plan search
# path (`rollback list --json`) and, after --target, the targets of the plan on the line
# (`rollback targets PLAN --json`). Installed as
# /usr/share/bash-completion/completions/rollback.

_rollback_names() {
  # The "name" of each object in a JSON array, without jq.
  grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

_rollback_complete() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null; then
    _init_completion || return
  else
    cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
  fi
  local commands="run backup validate list targets rehearse check watch resume history schema version"
  local global_opts="--help --version --plans-dir --trust-plans-dir --state-dir --json --verbose --quiet"
  local run_opts="--target --dry-run --yes --var --vars --reason --operator --report --since"

  # What the line says so far: where plans and state are, the vars, the command and plan.
  local -a pass=()
  local command="" plan="" i w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    case $w in
      --plans-dir | --state-dir | --vars | --var)
        pass+=("$w" "${words[i+1]}"); ((i++)); continue ;;
      --target | --reason | --operator | --report | --since | --for | --interval | --run | --limit)
        ((i++)); continue ;;
      -*) continue ;;
    esac
    if [[ -z $command && -z $plan && " $commands " == *" $w "* ]]; then
      command=$w
    elif [[ -z $plan ]]; then
      plan=$w
    fi
  done

  case $prev in
    --plans-dir | --state-dir)
      COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --vars | --report)
      COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --var | --reason | --operator | --for | --interval | --run | --limit)
      return ;;
    --target)
      [[ -n $plan ]] || return
      COMPREPLY=($(compgen -W "latest previous $(rollback "${pass[@]}" targets "$plan" --json 2>/dev/null | _rollback_names)" -- "$cur"))
      return ;;
  esac

  if [[ $cur == -* ]]; then
    local opts="$global_opts"
    case $command in
      "" | run | backup) opts+=" $run_opts" ;;
      rehearse) opts+=" --target --var --vars --reason --operator --report" ;;
      check) opts+=" --auto --var --vars --reason --operator --report" ;;
      watch) opts+=" --for --interval --run --var --vars" ;;
      targets) opts+=" --var --vars" ;;
      resume) opts+=" --yes --allow-changed-plan" ;;
      history) opts+=" --limit" ;;
    esac
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi

  local plans
  case $command in
    "")
      [[ -n $plan ]] && return
      plans=$(rollback "${pass[@]}" list --json 2>/dev/null | _rollback_names)
      COMPREPLY=($(compgen -W "$commands $plans" -- "$cur")) ;;
    run | backup | targets | rehearse | check | watch | validate)
      [[ -n $plan && $command != validate ]] && return
      plans=$(rollback "${pass[@]}" list --json 2>/dev/null | _rollback_names)
      COMPREPLY=($(compgen -W "$plans" -- "$cur"))
      [[ $cur == */* || $cur == .* ]] && COMPREPLY+=($(compgen -f -- "$cur")) ;;
  esac
}
complete -F _rollback_complete rollback
