// A small tokenizer for shell scripts and YAML. It only splits text into typed pieces; the view renders
// them as React text (never HTML), so whatever a script contains can never become markup.

export type TokenType = "comment" | "string" | "keyword" | "variable" | "number" | "key" | "literal" | "plain";
export type Language = "bash" | "yaml" | "plain";

export interface Token {
  type: TokenType;
  text: string;
}

const BASH_KEYWORDS = new Set([
  "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "function",
  "in", "return", "local", "export", "readonly", "set", "unset", "shift", "exit", "break", "continue",
  "source", "declare", "trap", "select",
]);

// One alternation per token kind; `y` (sticky) makes every match start where the previous ended.
const BASH_RE =
  /(#[^\n]*)|('[^']*'?)|("(?:[^"\\]|\\[\s\S])*"?)|(\$\{[^}\n]*\}?|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9@#?$!*-])|([A-Za-z_][A-Za-z0-9_.-]*)|(\d+(?=[\s;|&)]|$))|(\s+)|([\s\S])/my;

const YAML_RE =
  /(#[^\n]*)|('(?:[^'\n]|'')*'?)|("(?:[^"\\\n]|\\.)*"?)|([^\s#:'"\-][^:#\n]*?(?=:(?:[ \t]|$)))|((?:true|false|null|yes|no|on|off|~)(?=[\s,\]}]|$))|(-?\d+(?:\.\d+)?(?=[\s,\]}]|$))|([^\s#'",\[\]{}]+)|(\s+)|([\s\S])/my;

function push(out: Token[], type: TokenType, text: string): void {
  const last = out[out.length - 1];
  // Merge neighbours of the same kind: fewer spans to render.
  if (last && last.type === type) last.text += text;
  else out.push({ type, text });
}

function scan(code: string, re: RegExp, classify: (m: RegExpExecArray, prev: string) => TokenType | null): Token[] {
  const out: Token[] = [];
  re.lastIndex = 0;
  while (re.lastIndex < code.length) {
    const start = re.lastIndex;
    const m = re.exec(code);
    if (!m) break;
    const type = classify(m, start > 0 ? code[start - 1]! : "\n");
    if (type === null) {
      // Not a token here after all (e.g. "#" inside a word): take one character as plain text.
      push(out, "plain", code[start]!);
      re.lastIndex = start + 1;
      continue;
    }
    push(out, type, m[0]);
  }
  return out;
}

const startsToken = (prev: string) => /\s|[;|&(]/.test(prev);

export function tokenize(code: string, language: Language): Token[] {
  if (language === "bash") {
    return scan(code, BASH_RE, (m, prev) => {
      if (m[1] !== undefined) return startsToken(prev) ? "comment" : null;
      if (m[2] !== undefined || m[3] !== undefined) return "string";
      if (m[4] !== undefined) return "variable";
      if (m[5] !== undefined) return BASH_KEYWORDS.has(m[5]) ? "keyword" : "plain";
      if (m[6] !== undefined) return startsToken(prev) || /[=<>]/.test(prev) ? "number" : null;
      return "plain";
    });
  }
  if (language === "yaml") {
    return scan(code, YAML_RE, (m, prev) => {
      if (m[1] !== undefined) return startsToken(prev) ? "comment" : null;
      if (m[2] !== undefined || m[3] !== undefined) return "string";
      if (m[4] !== undefined) return "key";
      if (m[5] !== undefined) return "literal";
      if (m[6] !== undefined) return "number";
      return "plain";
    });
  }
  return code ? [{ type: "plain", text: code }] : [];
}

export function languageOf(path: string, content?: string | null): Language {
  const lower = path.toLowerCase();
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  if (/\.(sh|bash)$/.test(lower)) return "bash";
  if (content && /^#!.*\b(ba|da|z)?sh\b/.test(content)) return "bash";
  return "plain";
}
