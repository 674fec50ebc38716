import { MantineProvider } from "@mantine/core";
import { act, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { theme } from "../../theme";
import { appendLines, isAtBottom, type LogLine, visibleWindow } from "./logLines";
import { LogView, ROW_HEIGHT } from "./LogView";
import { event } from "./testing";

function linesOf(count: number, from = 1): LogLine[] {
  const lines: LogLine[] = [];
  appendLines(lines, Array.from({ length: count }, (_, i) => event(from + i)));
  return lines;
}

/** jsdom has no layout: give the log element a viewport of 400 px over rows of ROW_HEIGHT. */
function fakeLayout(el: HTMLElement, lines: LogLine[]) {
  let top = 0;
  const max = () => Math.max(0, lines.length * ROW_HEIGHT - 400);
  Object.defineProperty(el, "clientHeight", { configurable: true, get: () => 400 });
  Object.defineProperty(el, "scrollHeight", { configurable: true, get: () => lines.length * ROW_HEIGHT });
  Object.defineProperty(el, "scrollTop", {
    configurable: true,
    get: () => top,
    set: (value: number) => {
      top = Math.max(0, Math.min(value, max()));
    },
  });
  return { max };
}

describe("log scroll maths", () => {
  it("windows the rows around the scroll position", () => {
    expect(visibleWindow(0, 400, 20, 5000, 10)).toEqual({ start: 0, end: 30 });
    expect(visibleWindow(20 * 1000, 400, 20, 5000, 10)).toEqual({ start: 990, end: 1030 });
    expect(visibleWindow(20 * 4990, 400, 20, 5000, 10)).toEqual({ start: 4980, end: 5000 });
  });

  it("is at the bottom within a small slack", () => {
    expect(isAtBottom(600, 400, 1000)).toBe(true);
    expect(isAtBottom(590, 400, 1000)).toBe(true);
    expect(isAtBottom(100, 400, 1000)).toBe(false);
    expect(isAtBottom(0, 400, 100)).toBe(true); // shorter than the view
  });

  it("splits multi-line messages into rows and labels phases", () => {
    const lines: LogLine[] = [];
    appendLines(lines, [event(1, { message: "a\nb" }), event(2, { type: "phase", status: "running", message: "create started", phase: "create" })]);
    expect(lines.map((l) => l.text)).toEqual(["a", "b", "[create] create started"]);
    expect(lines[2]?.kind).toBe("phase");
  });
});

describe("LogView", () => {
  it("renders 5,000 lines as a small window and pauses following when scrolled up", async () => {
    const lines = linesOf(5000);
    const view = (version: number) => (
      <MantineProvider theme={theme}>
        <LogView lines={lines} version={version} />
      </MantineProvider>
    );
    const { rerender } = render(view(0));
    const log = screen.getByRole("log", { name: "Deployment log" });
    const { max } = fakeLayout(log, lines);

    // Following: new lines keep the view at the bottom, showing the last rows only.
    lines.push(...linesOf(10, 5001));
    rerender(view(1));
    expect(log.scrollTop).toBe(max());
    expect(screen.getByText("line 5010")).toBeInTheDocument();
    expect(log.querySelectorAll("[data-kind]").length).toBeLessThan(100);
    expect(screen.queryByRole("button", { name: "Jump to latest" })).not.toBeInTheDocument();

    // The user scrolls up: following pauses and new lines no longer move the view.
    log.scrollTop = 0;
    fireEvent.scroll(log);
    expect(log).toHaveAttribute("data-following", "false");
    expect(screen.getByText("line 1")).toBeInTheDocument();
    lines.push(...linesOf(10, 5011));
    rerender(view(2));
    expect(log.scrollTop).toBe(0);
    expect(screen.queryByText("line 5020")).not.toBeInTheDocument();

    // "Jump to latest" resumes following.
    await userEvent.setup().click(screen.getByRole("button", { name: "Jump to latest" }));
    expect(log.scrollTop).toBe(max());
    expect(screen.getByText("line 5020")).toBeInTheDocument();
    expect(log).toHaveAttribute("data-following", "true");
    act(() => {
      lines.push(...linesOf(5, 5021));
      rerender(view(3));
    });
    expect(log.scrollTop).toBe(max());
  });
});
