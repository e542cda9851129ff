// Runs GraphQL operations through the npm `graphql-ws` client, as a front end would.
// Input (stdin, JSON): {"url": "ws://...", "connectionParams": {...} | null, "headers": {...},
//                       "operations": [{"query": "...", "variables": {...}}]}
// Output (stdout, JSON): {"results": [{"data": ..., "errors": ...} | {"clientError": "..."}]}
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));

// Browsers cannot set handshake headers; Node can, and bearer tokens may travel that way.
class WebSocketWithHeaders extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers: input.headers || {} });
  }
}

const client = createClient({
  url: input.url,
  webSocketImpl: WebSocketWithHeaders,
  lazy: true,
  retryAttempts: 0,
  connectionParams: input.connectionParams,
});

function run(operation) {
  return new Promise((resolve) => {
    const found = [];
    client.subscribe(operation, {
      next: (value) => found.push(value),
      error: (error) => {
        const text = Array.isArray(error)
          ? JSON.stringify(error)
          : (error && (error.reason || error.message)) || String(error);
        resolve({ clientError: text, code: error && error.code, errors: Array.isArray(error) ? error : undefined });
      },
      complete: () => resolve(found.length === 1 ? found[0] : { results: found }),
    });
  });
}

const results = [];
for (const operation of input.operations) {
  results.push(await run(operation));
}
await client.dispose();
process.stdout.write(JSON.stringify({ results }));
