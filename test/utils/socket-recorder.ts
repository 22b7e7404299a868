import WebSocket from 'ws';
import type { WebSocketConstructor } from 'pokegate/client';

/** A graphql-transport-ws message as it crossed the socket. */
export interface Message {
  readonly type: string;
  readonly id?: string;
  readonly payload?: unknown;
}

export type OperationKind = 'query' | 'mutation' | 'subscription';

export interface Frame {
  /** Index of the socket in `sockets`. */
  readonly socket: number;
  /** `in`: handed to the client (after any hold); `out`: sent by it. */
  readonly direction: 'in' | 'out';
  readonly message: Message;
  /** The operation the message belongs to, when it has an id. */
  readonly kind?: OperationKind;
}

export interface RecordedSocket {
  readonly readyState: number;
}

/**
 * The transport of a client under test: real `ws` sockets that record every
 * message, can hold incoming ones back, and can drop or refuse connections as
 * a network would.
 */
export interface SocketRecorder {
  /** Pass as `webSocketImpl`. */
  readonly WebSocket: WebSocketConstructor;
  readonly frames: readonly Frame[];
  readonly sockets: readonly RecordedSocket[];
  /** Messages held back now. */
  readonly held: number;
  /**
   * Holds back the incoming messages `match` selects until the returned
   * function is called; that delivers them in order and stops holding.
   */
  hold(match: (message: Message, kind: OperationKind | undefined) => boolean): () => void;
  /** Points new sockets at a port where nothing listens (true), or back at the server. */
  refuse(refusing: boolean): void;
  /** Drops every open socket without a close handshake, as a lost network would (the client sees 1006). */
  dropAll(): void;
  /** Outgoing `subscribe` messages for operations of `kind`, in order. */
  sent(kind: OperationKind, socket?: number): Frame[];
  /** Incoming `next` messages of the client's subscriptions: the pokes handed to it. */
  pokes(socket?: number): Frame[];
}

const refusedUrl = 'ws://127.0.0.1:1/graphql';

export function createSocketRecorder(): SocketRecorder {
  const frames: Frame[] = [];
  const sockets: (RecordedSocket & { drop(): void })[] = [];
  const kinds = new Map<string, OperationKind>();
  let refusing = false;
  let holding: ((message: Message, kind: OperationKind | undefined) => boolean) | undefined;
  let held: { deliver: () => void }[] = [];

  const kindOf = (message: Message): OperationKind | undefined => {
    if (message.id === undefined) return undefined;
    return kinds.get(message.id);
  };

  class RecordingWebSocket {
    static readonly CONNECTING = WebSocket.CONNECTING;
    static readonly OPEN = WebSocket.OPEN;
    static readonly CLOSING = WebSocket.CLOSING;
    static readonly CLOSED = WebSocket.CLOSED;

    onopen: ((event: unknown) => void) | null = null;
    onclose: ((event: unknown) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: string }) => void) | null = null;
    readonly #inner: WebSocket;
    readonly #index: number;

    constructor(url: string, protocols?: string | string[]) {
      this.#index = sockets.length;
      sockets.push(this);
      this.#inner = new WebSocket(refusing ? refusedUrl : url, protocols);
      this.#inner.onopen = (event) => this.onopen?.(event);
      this.#inner.onclose = (event) => this.onclose?.(event);
      this.#inner.onerror = (event) => this.onerror?.(event);
      this.#inner.onmessage = (event) => {
        if (typeof event.data !== 'string') throw new Error('graphql-transport-ws sends text frames only');
        const data = event.data;
        const message = JSON.parse(data) as Message;
        const deliver = (): void => {
          if (this.#inner.readyState !== WebSocket.OPEN) return;
          const kind = kindOf(message);
          frames.push({ socket: this.#index, direction: 'in', message, ...(kind ? { kind } : {}) });
          this.onmessage?.({ data });
        };
        if (holding?.(message, kindOf(message)) === true) held.push({ deliver });
        else deliver();
      };
    }

    get readyState(): number {
      return this.#inner.readyState;
    }

    send(data: string): void {
      const message = JSON.parse(data) as Message;
      if (message.type === 'subscribe' && message.id !== undefined) {
        const query = (message.payload as { query: string }).query.trimStart();
        const kind = /^(query|mutation|subscription)\b/.exec(query)?.[1] as OperationKind | undefined;
        kinds.set(message.id, kind ?? 'query');
      }
      const kind = kindOf(message);
      frames.push({ socket: this.#index, direction: 'out', message, ...(kind ? { kind } : {}) });
      this.#inner.send(data);
    }

    close(code?: number, reason?: string): void {
      this.#inner.close(code, reason);
    }

    drop(): void {
      this.#inner.terminate();
    }
  }

  return {
    WebSocket: RecordingWebSocket,
    frames,
    sockets,
    get held() {
      return held.length;
    },
    hold(match) {
      holding = match;
      return () => {
        holding = undefined;
        const release = held;
        held = [];
        for (const message of release) message.deliver();
      };
    },
    refuse(value) {
      refusing = value;
    },
    dropAll() {
      for (const socket of sockets) {
        if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.drop();
      }
    },
    sent: (kind, socket) =>
      frames.filter(
        (frame) =>
          frame.direction === 'out' &&
          frame.message.type === 'subscribe' &&
          frame.kind === kind &&
          (socket === undefined || frame.socket === socket),
      ),
    pokes: (socket) =>
      frames.filter(
        (frame) =>
          frame.direction === 'in' &&
          frame.message.type === 'next' &&
          frame.kind === 'subscription' &&
          (socket === undefined || frame.socket === socket),
      ),
  };
}
