// The live event stream of one deployment as React state. Events are appended to a ref and published at most
// once per animation frame, so a replay of thousands of lines costs a handful of renders, not thousands.
import { useEffect, useRef, useState } from "react";

import { type DeploymentEvent, followDeploymentEvents, type StreamState } from "./sse";

export interface EventStream {
  /** Every event received so far, in seq order (the same array, appended in place; watch `version`). */
  events: DeploymentEvent[];
  version: number;
  state: StreamState;
  error: unknown;
}

const schedule: (callback: () => void) => void =
  typeof requestAnimationFrame === "function" ? (cb) => requestAnimationFrame(cb) : (cb) => setTimeout(cb, 16);

export function useEventStream(
  deploymentId: string | undefined,
  onBatch?: (events: DeploymentEvent[]) => void,
  /** Change it to start over (a retried deployment streams again from its first event). */
  restartKey = 0,
): EventStream {
  const eventsRef = useRef<DeploymentEvent[]>([]);
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<StreamState>("connecting");
  const [error, setError] = useState<unknown>(null);
  const onBatchRef = useRef(onBatch);
  onBatchRef.current = onBatch;

  useEffect(() => {
    if (!deploymentId) return;
    eventsRef.current = [];
    setState("connecting");
    setVersion(0);
    setError(null);
    let pending: DeploymentEvent[] = [];
    let scheduled = false;
    let live = true;
    const flush = () => {
      scheduled = false;
      if (!live || pending.length === 0) return;
      const batch = pending;
      pending = [];
      for (const event of batch) eventsRef.current.push(event);
      setVersion((v) => v + 1);
      onBatchRef.current?.(batch);
    };
    const stop = followDeploymentEvents({
      deploymentId,
      onEvents: (events) => {
        pending.push(...events);
        if (!scheduled) {
          scheduled = true;
          schedule(flush);
        }
      },
      onState: (next, failure) => {
        if (next === "ended") flush(); // the terminal event is shown before the "ended" state
        setState(next);
        setError(failure ?? null);
      },
    });
    return () => {
      live = false;
      stop();
    };
  }, [deploymentId, restartKey]);

  return { events: eventsRef.current, version, state, error };
}
