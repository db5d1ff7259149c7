import { connect, type Socket } from "node:net";

/** A response read off a raw socket: the status, the headers (lower-case names), the body. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connecting to the end of the response. */
  ms: number;
}

/**
 * Sends bytes on a fresh TCP connection and reads until the server closes it or `waitMs` passes,
 * for what an HTTP client library would never send: partial bodies, bad bytes, repeated headers.
 */
export function rawExchange(
  port: number,
  parts: (string | Buffer)[],
  opts: { waitMs?: number; keepOpen?: boolean } = {},
): Promise<RawResponse | undefined> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket: Socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks), performance.now() - started));
    };
    const timer = setTimeout(finish, opts.waitMs ?? 5000);
    socket.on("data", (d) => {
      chunks.push(d);
      // A complete response with a Content-Length ends the exchange even on a kept-alive socket.
      const parsed = parseResponse(Buffer.concat(chunks), 0);
      if (
        parsed &&
        Buffer.byteLength(parsed.body) >= Number(parsed.headers["content-length"] ?? Infinity)
      )
        finish();
    });
    socket.on("end", finish);
    socket.on("error", (err) => {
      // The server may answer and close before all was sent (a 413 for a huge body).
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ECONNRESET" || code === "EPIPE") finish();
      else reject(err);
    });
    socket.on("connect", () => {
      for (const p of parts) socket.write(p);
    });
  });
}

function parseResponse(bytes: Buffer, ms: number): RawResponse | undefined {
  let text = bytes.toString("utf8");
  // Interim answers (100 Continue) come before the response.
  while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes("\r\n\r\n")) {
    text = text.slice(text.indexOf("\r\n\r\n") + 4);
  }
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(end + 4), ms };
}

/** Opens a connection and keeps it open without sending anything, until `close`. */
export function openIdle(port: number): Promise<{ socket: Socket; received: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    socket.on("data", (d) => {
      got += d.toString("utf8");
    });
    socket.on("error", () => {});
    socket.once("connect", () => resolve({ socket, received: () => got }));
    socket.once("error", reject);
  });
}
