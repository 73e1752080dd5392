# bash completion for vkspay (the VksPay / vkspay-sandbox command line).
# Installed as share/bash-completion/completions/vkspay; to try it from a
# build tree: `source client/cli/vkspay-completion.bash`.
#
# Completes subcommands, each subcommand's options (and the global ones, which
# go before or after the subcommand), and the values of the options that take
# a fixed set (--pay-chnl, --outcome, --state, --status, --fail, ...).
# client/cli/completion_test.sh checks it against `vkspay SUB --help`, so a new
# subcommand or option that is not added here fails the tests.

_vkspay_global_opts="--base-url --merchantno --key --control-token --cacert --timeout --json --help --version"

_vkspay_sub_opts() {
  case "$1" in
    sign) echo "--body --number --show-key" ;;
    webpay) echo "--total-fee --notify-url --out-trade-no --subject --body --attach --return-url --pay-chnl" ;;
    micropay) echo "--total-fee --auth-code --pay-chnl --client-ip --cashier --kuantai --source --pay-cate --out-trade-no --subject --attach --notify-url" ;;
    query) echo "" ;;
    refund) echo "--refund-fee --out-refund-no" ;;
    refund-query) echo "" ;;
    pay) echo "--channel --outcome" ;;
    listen) echo "--host --port --path --forward-to --fail --fail-first --fail-rate --seed --timeout-ms --threads --merchant-key --quiet" ;;
    notifications) echo "--order --state --limit" ;;
    resend) echo "--failed --since" ;;
    orders) echo "--status --limit --offset" ;;
    refunds) echo "" ;;
    reset) echo "" ;;
    clock) echo "" ;;
  esac
}

_vkspay() {
  local cur prev subs sub="" nested="" i word
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev=""
  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
  subs="sign webpay micropay query refund refund-query pay listen notifications resend orders refunds reset clock"

  # The subcommand is the first word that is not an option or an option's value.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="${COMP_WORDS[i]}"
    case "$word" in
      --base-url|--merchantno|--key|--control-token|--cacert|--timeout) (( i++ )); continue ;;
      -*) continue ;;
    esac
    if [[ -z "$sub" ]]; then
      sub="$word"
    elif [[ "$sub" == clock && -z "$nested" ]]; then
      nested="$word"
    fi
  done

  # Values of the options that take a fixed set.
  case "$prev" in
    --pay-chnl|--channel) COMPREPLY=( $(compgen -W "wxpay alipay auto" -- "$cur") ); return 0 ;;
    --cacert) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    --outcome) COMPREPLY=( $(compgen -W "success fail cancel" -- "$cur") ); return 0 ;;
    --state) COMPREPLY=( $(compgen -W "pending acked failed blocked" -- "$cur") ); return 0 ;;
    --status) COMPREPLY=( $(compgen -W "NOTPAY USERPAYING SUCCESS REFUND CLOSED PAYERROR" -- "$cur") ); return 0 ;;
    --fail) COMPREPLY=( $(compgen -W "none ok 500 fail500 timeout wrong-body" -- "$cur") ); return 0 ;;
    --base-url|--forward-to|--notify-url|--return-url)
      COMPREPLY=( $(compgen -W "http://127.0.0.1:8080 http://127.0.0.1:9000/notify" -- "$cur") )
      return 0 ;;
    --merchantno|--key|--control-token|--timeout|--total-fee|--out-trade-no|--subject|--body|\
    --attach|--auth-code|--client-ip|--cashier|--kuantai|--source|--pay-cate|--refund-fee|\
    --out-refund-no|--host|--port|--path|--fail-first|--fail-rate|--seed|--timeout-ms|--threads|\
    --merchant-key|--order|--limit|--offset|--since)
      return 0 ;;  # a value of the user's own
  esac

  if [[ -z "$sub" ]]; then
    if [[ "$cur" == -* ]]; then
      COMPREPLY=( $(compgen -W "$_vkspay_global_opts" -- "$cur") )
    else
      COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
    fi
    return 0
  fi
  if [[ "$sub" == clock && -z "$nested" && "$cur" != -* ]]; then
    COMPREPLY=( $(compgen -W "advance reset" -- "$cur") )
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_vkspay_sub_opts "$sub") $_vkspay_global_opts" -- "$cur") )
  fi
  return 0
}

complete -F _vkspay vkspay
