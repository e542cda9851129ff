// Composes Apollo Federation v2 subgraphs into a supergraph with npm `@apollo/composition`,
// as a router's build step (rover) would.
// Usage: node compose.mjs NAME=PATH.graphql [NAME=PATH.graphql ...]
// Output (stdout, JSON): {"ok": true, "supergraph": "..."} or {"ok": false, "errors": ["..."]}
import { readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const services = process.argv.slice(2).map((spec) => {
  const [name, path] = spec.split("=", 2);
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(readFileSync(path, "utf8")) };
});
const result = composeServices(services);
const output = result.errors
  ? { ok: false, errors: result.errors.map((error) => error.message) }
  : { ok: true, supergraph: result.supergraphSdl };
process.stdout.write(JSON.stringify(output));
