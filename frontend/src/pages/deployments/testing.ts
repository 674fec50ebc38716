// Test helpers of the deployment pages: SSE frames and streamed responses.
import type { DeploymentEvent } from "./sse";

export function event(seq: number, overrides: Partial<DeploymentEvent> = {}): DeploymentEvent {
  return {
    seq,
    type: "log",
    phase: "provision",
    status: "stdout",
    message: `line ${seq}`,
    ts: "2026-01-01T10:00:00Z",
    data: {},
    ...overrides,
  };
}

export function frame(e: DeploymentEvent): string {
  return `id: ${e.seq}\r\ndata: ${JSON.stringify(e)}\r\n\r\n`;
}

/** A text/event-stream response delivering `chunks` one read at a time, then closing or failing like a dropped network. */
export function sseResponse(chunks: string[], end: "close" | "error" = "close"): Response {
  const encoder = new TextEncoder();
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index < chunks.length) {
        controller.enqueue(encoder.encode(chunks[index++]));
      } else if (end === "error") {
        controller.error(new TypeError("network error"));
      } else {
        controller.close();
      }
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}
