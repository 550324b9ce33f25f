/**
 * HTTP/1.1 over a raw TCP socket, for what `fetch` cannot do: send any
 * `Host` header, send a body in chunks and stop, see whether the server
 * closes the connection.
 *
 * @module
 */
import net from "node:net";

/** A parsed response and what became of the connection. */
export interface RawResponse {
  /** The status code. */
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body (de-chunked when chunked). */
  body: string;
  /** True when the server ended the connection (within `waitForCloseMs`). */
  closed: boolean;
}

/** What to send and how long to wait. */
export interface RawRequestOptions {
  /** Wait this long for the server to close the connection after the response (0: do not wait). */
  waitForCloseMs?: number;
  /** Give up on the response after this long. */
  timeoutMs?: number;
}

function parse(text: string): { status: number; headers: Record<string, string>; body: string } | undefined {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, headEnd).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = text.slice(headEnd + 4);
  if (headers["content-length"] !== undefined) {
    const length = Number(headers["content-length"]);
    return rest.length >= length ? { status, headers, body: rest.slice(0, length) } : undefined;
  }
  if (headers["transfer-encoding"]?.includes("chunked")) {
    let body = "";
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(rest.slice(at, lineEnd), 16);
      if (size === 0) return { status, headers, body };
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  return { status, headers, body: rest };
}

/**
 * Sends `request` (the raw bytes, head and body) to `port` on 127.0.0.1 and
 * resolves with the first response once it is complete, and, with
 * `waitForCloseMs`, once the server closed the connection or that time
 * passed. Rejects when no complete response arrives within `timeoutMs`.
 */
export function rawRequest(port: number, request: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const { waitForCloseMs = 0, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let parsed: ReturnType<typeof parse>;
    let closed = false;
    let closeTimer: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(
      () => finish(new Error(`no complete response within ${timeoutMs} ms: ${text.slice(0, 200)}`)),
      timeoutMs,
    );
    const finish = (error?: Error) => {
      clearTimeout(timer);
      if (closeTimer) clearTimeout(closeTimer);
      socket.destroy();
      if (error) reject(error);
      else resolve({ ...parsed!, closed });
    };
    const check = () => {
      if (parsed) return;
      parsed = parse(text);
      if (!parsed) return;
      if (waitForCloseMs === 0 || closed) return finish();
      closeTimer = setTimeout(() => finish(), waitForCloseMs);
    };
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      check();
    });
    const ended = () => {
      closed = true;
      if (!parsed) parsed = parse(text);
      if (parsed) finish();
      else finish(new Error(`connection closed before a complete response: ${JSON.stringify(text.slice(0, 200))}`));
    };
    socket.on("end", ended);
    socket.on("close", () => !closed && ended());
    socket.on("error", () => {});
    socket.write(request);
  });
}

/** One chunk of a chunked body. */
export const chunk = (data: string): string => `${data.length.toString(16)}\r\n${data}\r\n`;
