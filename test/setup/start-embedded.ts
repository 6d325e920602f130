// Child process for embedded.db.test.ts: starts (or connects to) the embedded server of a data
// folder, prints what it got as one JSON line, and exits without stopping a server it did not
// start. Usage: node --import tsx test/setup/start-embedded.ts DATA_DIR PORT
import { pino } from "pino";
import { startEmbeddedPostgres } from "../../server/db/embedded";

const [dataDir, port] = process.argv.slice(2);
if (!dataDir || !port) {
  process.stderr.write("usage: start-embedded.ts DATA_DIR PORT\n");
  process.exit(2);
}

const server = await startEmbeddedPostgres({ dataDir, port: Number(port), logger: pino({ level: "silent" }) });
process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, startedHere: server.startedHere })}\n`);
process.exit(0);
