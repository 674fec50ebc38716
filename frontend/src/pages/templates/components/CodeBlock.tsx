// Highlighted code as React text spans; colours are Mantine variables so dark mode just works.
import { Box, ScrollArea } from "@mantine/core";
import { memo, useMemo } from "react";

import { type Language, tokenize, type TokenType } from "./highlight";

const COLORS: Record<TokenType, string | undefined> = {
  comment: "var(--mantine-color-dimmed)",
  string: "var(--mantine-color-green-text)",
  keyword: "var(--mantine-color-violet-text)",
  variable: "var(--mantine-color-orange-text)",
  number: "var(--mantine-color-cyan-text)",
  key: "var(--mantine-color-blue-text)",
  literal: "var(--mantine-color-grape-text)",
  plain: undefined,
};

export const CodeBlock = memo(function CodeBlock({
  code,
  language,
  label,
}: {
  code: string;
  language: Language;
  label: string;
}) {
  const tokens = useMemo(() => tokenize(code, language), [code, language]);
  return (
    <ScrollArea.Autosize mah={600} type="auto">
      <Box
        component="pre"
        aria-label={label}
        m={0}
        p="sm"
        ff="monospace"
        fz="sm"
        bg="var(--mantine-color-default-hover)"
        style={{ borderRadius: "var(--mantine-radius-sm)", whiteSpace: "pre" }}
      >
        <code>
          {tokens.map((token, index) =>
            token.type === "plain" ? (
              token.text
            ) : (
              <span key={index} data-token={token.type} style={{ color: COLORS[token.type] }}>
                {token.text}
              </span>
            ),
          )}
        </code>
      </Box>
    </ScrollArea.Autosize>
  );
});
