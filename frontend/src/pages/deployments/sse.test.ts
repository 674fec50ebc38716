import { json, stubFetch } from "../../test/render";
import { type DeploymentEvent, followDeploymentEvents, SseParser, type StreamState } from "./sse";
import { event, frame, sseResponse } from "./testing";

describe("SseParser", () => {
  it("parses events split across chunks, with CRLF, comments and multi-line data", () => {
    const parser = new SseParser();
    expect(parser.feed(": ping\r\n\r\nid: 7\r\nda")).toEqual([]);
    expect(parser.feed("ta: one\r")).toEqual([]);
    // The "\r" above and this "\n" are one line break, not two (no premature dispatch).
    expect(parser.feed("\ndata:two\r\n")).toEqual([]);
    expect(parser.feed("\r\nevent: closed\ndata: {}\n\n")).toEqual([
      { id: "7", event: "message", data: "one\ntwo" },
      { id: "7", event: "closed", data: "{}" },
    ]);
  });

  it("ignores a block without data and keeps the last id", () => {
    const parser = new SseParser();
    expect(parser.feed("id: 3\n\ndata: x\n\n")).toEqual([{ id: "3", event: "message", data: "x" }]);
  });
});

function follow(deploymentId = "d1") {
  const seqs: number[] = [];
  const states: StreamState[] = [];
  let resolveEnd: () => void = () => {};
  const ended = new Promise<void>((resolve) => (resolveEnd = resolve));
  let lastError: unknown = null;
  const stop = followDeploymentEvents({
    deploymentId,
    backoffMs: () => 0,
    onEvents: (events: DeploymentEvent[]) => seqs.push(...events.map((e) => e.seq)),
    onState: (state, error) => {
      states.push(state);
      if (state === "ended" || state === "error") {
        lastError = error;
        resolveEnd();
      }
    },
  });
  return { seqs, states, ended, stop, error: () => lastError };
}

describe("followDeploymentEvents", () => {
  it("reconnects after a network drop with Last-Event-ID, without a gap or a duplicate", async () => {
    let call = 0;
    const calls = stubFetch({
      "GET /api/v1/deployments/d1/events": () => {
        call += 1;
        if (call === 1) return sseResponse([frame(event(1)), frame(event(2))], "error");
        if (call === 2) return Promise.reject(new TypeError("offline"));
        // The server replays from Last-Event-ID; seq 2 again must not be shown twice.
        return sseResponse([frame(event(2)) + frame(event(3)), frame(event(4, { type: "result", status: "succeeded" }))]);
      },
    });
    const run = follow();
    await run.ended;
    expect(run.seqs).toEqual([1, 2, 3, 4]);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.headers.get("Last-Event-ID")).toBeNull();
    expect(calls[1]?.headers.get("Last-Event-ID")).toBe("2");
    expect(calls[2]?.headers.get("Last-Event-ID")).toBe("2");
    expect(calls[0]?.headers.get("Accept")).toBe("text/event-stream");
    expect(run.states).toContain("reconnecting");
    expect(run.states.at(-1)).toBe("ended");
  });

  it("resumes when the server closes the stream before the result, and stops on 204", async () => {
    let call = 0;
    const calls = stubFetch({
      "GET /api/v1/deployments/d1/events": () => {
        call += 1;
        if (call === 1) return sseResponse([frame(event(1)) + ": keep-alive\r\n\r\n"]);
        return new Response(null, { status: 204 });
      },
    });
    const run = follow();
    await run.ended;
    expect(run.seqs).toEqual([1]);
    expect(calls[1]?.headers.get("Last-Event-ID")).toBe("1");
    expect(run.states.at(-1)).toBe("ended");
  });

  it("gives up on a 404 and on a 'closed' notice (access revoked)", async () => {
    stubFetch({ "GET /api/v1/deployments/gone/events": () => json({ error: "not_found", detail: "Deployment not found" }, 404) });
    const missing = follow("gone");
    await missing.ended;
    expect(missing.states.at(-1)).toBe("error");
    expect(String(missing.error())).toContain("Deployment not found");

    stubFetch({
      "GET /api/v1/deployments/d1/events": () =>
        sseResponse([frame(event(1)), 'event: closed\r\ndata: {"reason": "access_revoked"}\r\n\r\n']),
    });
    const revoked = follow();
    await revoked.ended;
    expect(revoked.seqs).toEqual([1]);
    expect(revoked.states.at(-1)).toBe("error");
  });

  it("stops reading when stopped", async () => {
    let calls = 0;
    stubFetch({
      "GET /api/v1/deployments/d1/events": () => {
        calls += 1;
        return sseResponse([frame(event(1))], "error");
      },
    });
    const run = follow();
    await vi.waitFor(() => expect(run.seqs).toEqual([1]));
    run.stop();
    const before = calls;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBeLessThanOrEqual(before + 1);
  });
});
