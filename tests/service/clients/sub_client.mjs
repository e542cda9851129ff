// Subscribes through the npm `graphql-ws` client, as a front end would, and prints what it
// receives as JSON lines, each with a receive timestamp `at` (ms since the Unix epoch).
// Input (stdin, JSON): {"url": "ws://...", "connectionParams": {...} | null, "headers": {...},
//   "subscriptions": [{"query": "...", "variables": {...}}], "events": N, "timeoutMs": T}
// Output lines: {"type": "connected"}, {"type": "next", "sub": i, "payload": ...},
//   {"type": "error", "sub": i, "errors": [...]}, {"type": "complete", "sub": i},
//   {"type": "closed", "code": c, "reason": "..."}, and last {"type": "done", "why": "..."}.
// It exits after N "next" messages in all, after T ms, or when every subscription has ended.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));

const now = () => performance.timeOrigin + performance.now();
const print = (line) => process.stdout.write(JSON.stringify({ ...line, at: now() }) + "\n");

// Browsers cannot set handshake headers; Node can (the token normally travels in connectionParams).
class WebSocketWithHeaders extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers: input.headers || {} });
  }
}

let received = 0;
let open = input.subscriptions.length;
let client;

function finish(why) {
  print({ type: "done", why });
  Promise.resolve(client && client.dispose()).finally(() => process.exit(0));
}

client = createClient({
  url: input.url,
  webSocketImpl: WebSocketWithHeaders,
  lazy: false,
  retryAttempts: 0,
  connectionParams: input.connectionParams,
  on: {
    connected: () => print({ type: "connected" }),
    closed: (event) => {
      print({ type: "closed", code: event.code, reason: event.reason });
      if (open > 0) finish("closed");
    },
  },
  onNonLazyError: () => {},
});

input.subscriptions.forEach((operation, sub) => {
  client.subscribe(operation, {
    next: (payload) => {
      print({ type: "next", sub, payload });
      received += 1;
      if (input.events && received >= input.events) finish("count");
    },
    error: (error) => {
      const errors = Array.isArray(error) ? error : undefined;
      const message = errors ? undefined : (error && (error.reason || error.message)) || String(error);
      print({ type: "error", sub, errors, message, code: error && error.code });
      open -= 1;
      if (open === 0) finish("ended");
    },
    complete: () => {
      print({ type: "complete", sub });
      open -= 1;
      if (open === 0) finish("ended");
    },
  });
});

setTimeout(() => finish("timeout"), input.timeoutMs || 10000);
