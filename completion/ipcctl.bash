# bash completion for ipcctl(1).
#
# Commands, types and ops come from `ipcctl --list-commands`, options and
# their fixed values from ipcctl's option table (`ipcctl --describe`), each
# command's arguments from its help line (`ipcctl CMD --help`), so a new op
# in ops.def or a new option completes with nothing to change here. Arguments named NAME complete to
# the daemon's objects (the NAME column of `ipcctl ls`, tab-separated when
# piped; for TYPE OP only objects of that type), TYPE and --type to the
# types, --sort and --color to their values, and kill-client's ID and PID to
# the connections of `ipcctl clients`. The types are those of the ops listed
# (the list below is only for an ipcctl that lists none). The daemon asked is the one the line names with
# -s/--socket, else the default ($IPCD_SOCKET, ...).

_ipcctl_types='queue list dict ns value array lock semaphore event condition barrier'

# _ipcctl_options PROG: PROG's option table into _ipcctl_opt_names (every
# short and long name), _ipcctl_opt_arg[NAME] (what its value is called; unset
# for a flag) and _ipcctl_opt_choices[NAME] (its values, when they are a set).
_ipcctl_options()
{
	local kind short long arg choices rest n
	_ipcctl_opt_names=()
	declare -gA _ipcctl_opt_arg=() _ipcctl_opt_choices=()
	while IFS=$'\t' read -r kind short long arg choices rest; do
		[[ $kind == option ]] || continue
		for n in $short $long; do
			[[ $n == - ]] && continue
			_ipcctl_opt_names+=("$n")
			[[ $arg != - ]] && _ipcctl_opt_arg[$n]=$arg
			[[ $choices != - ]] && _ipcctl_opt_choices[$n]=$choices
		done
	done < <("$1" --describe 2>/dev/null)
}

# _ipcctl_match WORD CANDIDATE...: the candidate equal to WORD, else the only
# one it is a prefix of (ipcctl's own rule); nothing if none or ambiguous.
_ipcctl_match()
{
	local w=$1 c found= n=0
	shift
	for c in "$@"; do
		[[ $c == "$w" ]] && { printf '%s\n' "$c"; return; }
		[[ $c == "$w"* ]] && { found=$c; n=$((n + 1)); }
	done
	((n == 1)) && printf '%s\n' "$found"
}

# _ipcctl_add CUR WORD...: append to COMPREPLY each WORD starting with CUR,
# quoted for the shell.
_ipcctl_add()
{
	local cur=$1 w
	shift
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$w")")
	done
}

_ipcctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]}
	COMPREPLY=()
	_ipcctl_options "$prog"

	case $prev in
	-s | --socket)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac
	if [[ -n $prev && -n ${_ipcctl_opt_choices[$prev]+x} ]]; then
		_ipcctl_add "$cur" ${_ipcctl_opt_choices[$prev]}
		return
	fi
	[[ -n $prev && -n ${_ipcctl_opt_arg[$prev]+x} ]] && return   # a free value

	# The words before the cursor that are not options, and the socket.
	local -a pos=() sock=()
	local i w only_pos=
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $only_pos ]]; then
			case $w in
			--) only_pos=1; continue ;;
			-s | --socket) sock=(-s "${COMP_WORDS[i + 1]}"); i=$((i + 1)); continue ;;
			--socket=*) sock=(-s "${w#--socket=}"); continue ;;
			-[0-9]* | -.[0-9]*) ;;   # a negative number is a value
			-*) [[ -n ${_ipcctl_opt_arg[$w]+x} ]] && i=$((i + 1)); continue ;;
			esac
		fi
		pos+=("$w")
	done

	if [[ -z $only_pos && $cur == -* && $cur != -[0-9]* ]]; then
		_ipcctl_add "$cur" "${_ipcctl_opt_names[@]}"
		return
	fi

	local -a lines=() top=()
	local line types=
	while IFS= read -r line; do
		lines+=("$line")
		if [[ $line != *' '* ]]; then
			top+=("$line")
		elif [[ " $types " != *" ${line%% *} "* ]]; then
			types+=" ${line%% *}"   # the types, from their ops
		fi
	done < <("$prog" --list-commands 2>/dev/null)
	[[ -n $types ]] && _ipcctl_types=${types# }

	if ((${#pos[@]} == 0)); then
		_ipcctl_add "$cur" "${top[@]}" $_ipcctl_types help
		return
	fi

	# The command: TYPE OP, or a top-level word.
	local first type= cmd
	first=$(_ipcctl_match "${pos[0]}" "${top[@]}" $_ipcctl_types help)
	[[ -z $first ]] && return
	local -a args=("${pos[@]:1}")
	if [[ " $_ipcctl_types " == *" $first "* ]]; then
		type=$first
		local -a ops=()
		for line in "${lines[@]}"; do
			[[ $line == "$type "* ]] && ops+=("${line#"$type "}")
		done
		if ((${#args[@]} == 0)); then
			_ipcctl_add "$cur" "${ops[@]}"
			return
		fi
		cmd=$(_ipcctl_match "${args[0]}" "${ops[@]}")
		[[ -z $cmd ]] && return
		cmd="$type $cmd"
		args=("${args[@]:1}")
	elif [[ $first == help ]]; then
		((${#args[@]} == 0)) && _ipcctl_add "$cur" $_ipcctl_types
		return
	else
		cmd=$first
	fi

	# What the command's usage calls the argument under the cursor.
	local what=
	if [[ $cmd == kill-client ]]; then
		case ${#args[@]}:${args[0]-} in
		0:*) what=ID; _ipcctl_add "$cur" pid id ;;
		1:pid) what=PID ;;
		1:id) what=ID ;;
		esac
	else
		local head
		head=$("$prog" $cmd --help 2>/dev/null | head -n 1)
		head=${head#  }
		head=${head%%  *}
		local -a usage=()
		read -r -a usage <<<"${head//[\[\]]/}"
		local nwords
		read -r -a nwords <<<"$cmd"
		what=${usage[${#nwords[@]} + ${#args[@]}]-}
	fi

	case $what in
	NAME)
		local name t rest header=1
		while IFS=$'\t' read -r name t rest; do
			((header)) && { header=0; continue; }
			[[ -n $type && $t != "$type" ]] && continue
			_ipcctl_add "$cur" "$name"
		done < <("$prog" "${sock[@]}" ls 2>/dev/null)
		;;
	TYPE)
		_ipcctl_add "$cur" $_ipcctl_types
		;;
	ID | PID)
		local col=1
		[[ $what == PID ]] && col=2
		local -a vals=()
		while IFS=$'\t' read -r -a line; do
			[[ ${line[0]} == ID ]] && continue
			vals+=("${line[col - 1]}")
		done < <("$prog" "${sock[@]}" clients 2>/dev/null)
		_ipcctl_add "$cur" "${vals[@]}"
		;;
	esac
}

complete -F _ipcctl ipcctl
