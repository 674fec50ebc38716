// A small Server-Sent Events client over fetch: we control Last-Event-ID on every reconnect (EventSource only
// resends the id it saw last and cannot be told to stop on a 204 after a network drop), and events are
// de-duplicated by their seq so a reconnect never shows a line twice or skips one.
import { api, type Schemas, toApiError } from "../../api/client";

export type DeploymentEvent = Schemas["DeploymentEventOut"];

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Incremental text/event-stream parser (WHATWG rules): feed chunks, get complete messages back. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private eventType = "";
  private lastId: string | null = null;

  feed(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const char = this.buffer[i];
      if (char !== "\n" && char !== "\r") continue;
      // A lone trailing "\r" may be the first half of "\r\n": wait for the next chunk.
      if (char === "\r" && i === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, i), out);
      if (char === "\r" && this.buffer[i + 1] === "\n") i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push({ id: this.lastId, event: this.eventType || "message", data: this.data.join("\n") });
      this.data = [];
      this.eventType = "";
      return;
    }
    if (line.startsWith(":")) return; // a comment: the server's keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.eventType = value;
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
  }
}

export type StreamState = "connecting" | "open" | "reconnecting" | "ended" | "error";

export interface EventStreamOptions {
  deploymentId: string;
  /** Events with a seq at or below this were already seen (resume point). */
  afterSeq?: number;
  onEvents: (events: DeploymentEvent[]) => void;
  onState?: (state: StreamState, error?: unknown) => void;
  /** Delay before reconnect attempt n (1, 2, …); exponential with jitter by default. */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export function defaultBackoff(attempt: number): number {
  const base = Math.min(15_000, 500 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A 4xx other than 408/429 will not get better by retrying. */
function isFatal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * Follow a deployment's events until its terminal `result`, a 204 (nothing more will come) or a fatal error.
 * Reconnects with backoff after a network drop, sending the last seq as Last-Event-ID. Returns a stop function.
 */
export function followDeploymentEvents(options: EventStreamOptions): () => void {
  const controller = new AbortController();
  const { signal } = controller;
  const backoff = options.backoffMs ?? defaultBackoff;
  const sleep = options.sleep ?? abortableSleep;
  let lastSeq = options.afterSeq ?? 0;
  const setState = (state: StreamState, error?: unknown) => {
    if (!signal.aborted) options.onState?.(state, error);
  };

  // Returns true when the stream is over for good.
  async function connectOnce(): Promise<{ done: boolean; received: boolean }> {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastSeq > 0) headers["Last-Event-ID"] = String(lastSeq);
    const { response, error } = await api.GET("/api/v1/deployments/{deployment_id}/events", {
      params: { path: { deployment_id: options.deploymentId } },
      headers,
      parseAs: "stream",
      signal,
      cache: "no-store",
    });
    if (response.status === 204) return { done: true, received: false };
    if (!response.ok) {
      const failure = toApiError(response.status, error);
      if (isFatal(response.status)) throw Object.assign(failure, { fatal: true });
      throw failure;
    }
    if (!response.body) throw new Error("The event stream has no body");
    setState("open");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    let received = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { done: false, received };
      const fresh: DeploymentEvent[] = [];
      let finished = false;
      for (const message of parser.feed(value)) {
        if (message.event === "closed") {
          throw Object.assign(new Error("You no longer have access to this deployment"), { fatal: true });
        }
        if (message.event !== "message") continue;
        const event = JSON.parse(message.data) as DeploymentEvent;
        if (event.seq <= lastSeq) continue; // replayed after a reconnect: already shown
        lastSeq = event.seq;
        fresh.push(event);
        if (event.type === "result") finished = true;
      }
      if (fresh.length > 0) {
        received = true;
        options.onEvents(fresh);
      }
      if (finished) {
        await reader.cancel().catch(() => undefined);
        return { done: true, received };
      }
    }
  }

  async function run(): Promise<void> {
    let attempt = 0;
    setState("connecting");
    while (!signal.aborted) {
      try {
        const { done, received } = await connectOnce();
        if (done) {
          setState("ended");
          return;
        }
        // The server closed a stream without the terminal event (a restart, a proxy timeout): resume.
        attempt = received ? 0 : attempt;
      } catch (error) {
        if (signal.aborted) return;
        if ((error as { fatal?: boolean }).fatal) {
          setState("error", error);
          return;
        }
      }
      attempt += 1;
      setState("reconnecting");
      await sleep(backoff(attempt), signal);
    }
  }

  void run();
  return () => controller.abort();
}
