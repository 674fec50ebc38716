# shellcheck shell=sh
# forge-shield toolchain paths (installed as /etc/profile.d/forge-shield.sh).
for dir in "$HOME/.local/bin" "$HOME/.cargo/bin" "$HOME/.foundry/bin" /usr/local/go/bin "$HOME/go/bin"; do
  case ":$PATH:" in
    *":$dir:"*) ;;
    *) [ -d "$dir" ] && PATH="$dir:$PATH" ;;
  esac
done
export PATH
export GOPATH="$HOME/go"
export EDITOR="${EDITOR:-vi}"
alias ll='ls -alF'
