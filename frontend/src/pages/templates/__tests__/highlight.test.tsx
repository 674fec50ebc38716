import { render } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";

import { CodeBlock } from "../components/CodeBlock";
import { languageOf, tokenize } from "../components/highlight";

const types = (code: string, lang: "bash" | "yaml") =>
  tokenize(code, lang)
    .filter((t) => t.type !== "plain")
    .map((t) => [t.type, t.text]);

describe("highlighter", () => {
  it("tokenizes shell: comments, keywords, strings, variables, numbers", () => {
    const code = '#!/bin/bash\nif [ -n "$HOME" ]; then echo ${USER} \'x#y\' 42 # done\nfi\ncurl a#b';
    expect(types(code, "bash")).toEqual([
      ["comment", "#!/bin/bash"],
      ["keyword", "if"],
      ["string", '"$HOME"'],
      ["keyword", "then"],
      ["variable", "${USER}"],
      ["string", "'x#y'"],
      ["number", "42"],
      ["comment", "# done"],
      ["keyword", "fi"],
    ]);
    // Everything is kept: the tokens put back together are the input.
    expect(tokenize(code, "bash").map((t) => t.text).join("")).toBe(code);
  });

  it("tokenizes YAML: keys, strings, literals, numbers, comments", () => {
    const code = 'name: web # the name\nservices:\n  - port: 80\n    secure: true\n    url: "http://x:1"\n';
    expect(types(code, "yaml")).toEqual([
      ["key", "name"],
      ["comment", "# the name"],
      ["key", "services"],
      ["key", "port"],
      ["number", "80"],
      ["key", "secure"],
      ["literal", "true"],
      ["key", "url"],
      ["string", '"http://x:1"'],
    ]);
    expect(tokenize(code, "yaml").map((t) => t.text).join("")).toBe(code);
  });

  it("does not colour digits inside words", () => {
    expect(types("os:\n  template: debian-12-standard\nscripts:\n- 10-setup.sh\n", "yaml")).toEqual([
      ["key", "os"],
      ["key", "template"],
      ["key", "scripts"],
    ]);
    expect(types("bash 10-setup.sh x1 v2.0", "bash")).toEqual([]);
  });

  it("guesses the language from the path or shebang", () => {
    expect(languageOf("template.yaml")).toBe("yaml");
    expect(languageOf("scripts/10-install.sh")).toBe("bash");
    expect(languageOf("scripts/setup", "#!/usr/bin/env bash\n")).toBe("bash");
    expect(languageOf("files/app.conf", "x=1")).toBe("plain");
  });

  it("renders markup in code as text, never as HTML", () => {
    const evil = 'echo "<img src=x onerror=alert(1)>" <script>alert(2)</script>';
    const { container } = render(
      <MantineProvider>
        <CodeBlock code={evil} language="bash" label="evil.sh" />
      </MantineProvider>,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("pre")!.textContent).toBe(evil);
    expect(container.querySelector('[data-token="string"]')!.textContent).toBe('"<img src=x onerror=alert(1)>"');
  });
});
