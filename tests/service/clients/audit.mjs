// The GraphQL-over-HTTP conformance audit of npm `graphql-http` against a live server.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql  ->  JSON list of {id, name, status, reason}
import { auditServer } from "graphql-http";

const url = process.argv[2];
const results = await auditServer({ url });
const rows = [];
for (const result of results) {
  const row = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    row.reason = result.reason;
  }
  rows.push(row);
}
process.stdout.write(JSON.stringify(rows));
